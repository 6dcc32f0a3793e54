package fhir

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// searchFixture stores a few patients chosen so that each parameter has
// a hit and a near miss.
func searchFixture(t *testing.T) *testEnv {
	t.Helper()
	env := newTestEnv(t, newFakeEngine(), Options{})
	patients := map[string]string{
		"a1": `{"resourceType":"Patient","name":[{"family":"Marché","given":["Bénédicte"]}],"gender":"female","birthDate":"1980-03-16",
		        "identifier":[{"system":"urn:oid:1.2.36.146.595.217.0.1","value":"12345"}],
		        "telecom":[{"system":"phone","value":"(208) 440-8482"},{"system":"email","value":"B.Marche@Example.org"}],
		        "address":[{"postalCode":"SW1A 1AA"}]}`,
		"a2": `{"resourceType":"Patient","name":[{"family":"Marchetti","given":["Ben"]},{"use":"maiden","family":"Windsor"}],"gender":"male","birthDate":"1980-03",
		        "identifier":[{"system":"urn:other","value":"12345"}]}`,
		"a3": `{"resourceType":"Patient","name":[{"family":"Smith","given":["Ann","Marie"]}],"gender":"female","birthDate":"1975",
		        "identifier":[{"value":"777"}],"telecom":[{"system":"phone","value":"+1 208 555 0100"}]}`,
		"a4": `{"resourceType":"Patient","name":[{"family":"Smith","given":["John"]}],"gender":"male","birthDate":"1990-12-31"}`,
	}
	for id, body := range patients {
		resp, b := env.do(t, "PUT", "/fhir/Patient/"+id, fhirJSON, body)
		if resp.StatusCode != 201 {
			t.Fatalf("PUT %s: %d %s", id, resp.StatusCode, b)
		}
	}
	return env
}

// searchIDs runs a search and returns the ids found, in order.
func searchIDs(t *testing.T, env *testEnv, query string) ([]string, fm.Bundle) {
	t.Helper()
	resp, body := env.do(t, "GET", "/fhir/Patient?"+query, "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("search %s: %d %s", query, resp.StatusCode, body)
	}
	b := decodeBundle(t, body)
	if b.Type != fm.BundleTypeSearchset {
		t.Fatalf("search %s: Bundle.type %v", query, b.Type)
	}
	var ids []string
	for _, e := range b.Entry {
		var p struct{ ID string }
		if err := json.Unmarshal(e.Resource, &p); err != nil {
			t.Fatal(err)
		}
		if e.Search == nil || e.Search.Mode == nil || *e.Search.Mode != fm.SearchEntryModeMatch || e.FullUrl == nil || !strings.HasSuffix(*e.FullUrl, "/fhir/Patient/"+p.ID) {
			t.Errorf("entry %s lacks search.mode=match or fullUrl", p.ID)
		}
		ids = append(ids, p.ID)
	}
	return ids, b
}

func TestSearchParameters(t *testing.T) {
	env := searchFixture(t)
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"a1", "a2", "a3", "a4"}},
		{"_id=a3", []string{"a3"}},
		{"_id=a3,a1,zz", []string{"a1", "a3"}},
		{"family=marche", []string{"a1", "a2"}},              // folded starts-with: Marché, Marchetti
		{"family=MARCHÉ", []string{"a1", "a2"}},              // case and accents ignored
		{"family:exact=Marché", []string{"a1"}},              // exact
		{"family:exact=marché", nil},                         // exact is case-sensitive
		{"family:contains=chett", []string{"a2"}},            // substring
		{"family=windsor", []string{"a2"}},                   // any name, not only the first
		{"family=smith&given=ann", []string{"a3"}},           // AND
		{"given=marie", []string{"a3"}},                      // any given name
		{"family=smith,windsor", []string{"a2", "a3", "a4"}}, // OR
		{"gender=male", []string{"a2", "a4"}},
		{"gender=http://hl7.org/fhir/administrative-gender|female", []string{"a1", "a3"}},
		{"birthdate=1980-03-16", []string{"a1"}},
		{"birthdate=1980-03", []string{"a1", "a2"}}, // eq: a range contains both
		{"birthdate=eq1980", []string{"a1", "a2"}},
		{"birthdate=ge1980-03-16", []string{"a1", "a2", "a4"}},
		{"birthdate=gt1980-03-16", []string{"a2", "a4"}}, // 1980-03 reaches past the 16th
		{"birthdate=lt1976", []string{"a3"}},
		{"birthdate=le1975-06-01", []string{"a3"}},
		{"birthdate=ge1976&birthdate=le1985", []string{"a1", "a2"}},
		{"birthdate=ne1980-03-16", []string{"a2", "a3", "a4"}},
		{"identifier=urn:oid:1.2.36.146.595.217.0.1|12345", []string{"a1"}},
		{"identifier=12345", []string{"a1", "a2"}},
		{"identifier=|777", []string{"a3"}},
		{"identifier=urn:other|", []string{"a2"}},
		{"identifier=urn:other|777", nil},
		{"telecom=2084408482", []string{"a1"}}, // phone normalized
		{"telecom=phone|(208) 440-8482", []string{"a1"}},
		{"telecom=email|b.marche@example.org", []string{"a1"}}, // e-mail case-insensitive
		{"telecom=email|2084408482", nil},
		{"address-postalcode=sw1a", []string{"a1"}},
		{"address-postalcode=SW1A1AA", []string{"a1"}},
		{"family=nobody", nil},
	}
	for _, c := range cases {
		got, b := searchIDs(t, env, escapeQuery(c.query))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.query, got, c.want)
		}
		if b.Total == nil || *b.Total != len(c.want) {
			t.Errorf("%s: total %v, want %d", c.query, b.Total, len(c.want))
		}
	}
}

// escapeQuery URL-encodes the values of a readable query string.
func escapeQuery(q string) string {
	if q == "" {
		return ""
	}
	var parts []string
	for _, kv := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		parts = append(parts, k+"="+url.QueryEscape(v))
	}
	return strings.Join(parts, "&")
}

func TestSearchPaging(t *testing.T) {
	env := newTestEnv(t, newFakeEngine(), Options{})
	for i := range 7 {
		body := fmt.Sprintf(`{"resourceType":"Patient","name":[{"family":"Page","given":["P%d"]}]}`, i)
		if resp, b := env.do(t, "PUT", fmt.Sprintf("/fhir/Patient/p%d", i), fhirJSON, body); resp.StatusCode != 201 {
			t.Fatalf("PUT: %d %s", resp.StatusCode, b)
		}
	}
	var all []string
	next := "/fhir/Patient?family=page&_count=3"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		resp, body := env.do(t, "GET", next, "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", next, resp.StatusCode, body)
		}
		b := decodeBundle(t, body)
		next = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				u, err := url.Parse(l.Url)
				if err != nil {
					t.Fatal(err)
				}
				if u.Query().Get("family") != "page" || u.Query().Get("_count") != "3" {
					t.Fatalf("next link lost the criteria: %s", l.Url)
				}
				next = u.RequestURI()
			}
		}
		if len(b.Entry) > 3 {
			t.Fatalf("page of %d entries with _count=3", len(b.Entry))
		}
		if next != "" && b.Total != nil {
			t.Errorf("a paged result claims total %d", *b.Total)
		}
		for _, e := range b.Entry {
			all = append(all, (*e.FullUrl)[strings.LastIndex(*e.FullUrl, "/")+1:])
		}
	}
	if want := []string{"p0", "p1", "p2", "p3", "p4", "p5", "p6"}; !slices.Equal(all, want) {
		t.Fatalf("pages gave %v, want %v", all, want)
	}
}

func TestSearchErrors(t *testing.T) {
	env := searchFixture(t)
	cases := []struct{ query, inDiag string }{
		{"famly=smith", "unknown search parameter"},
		{"birthdate=xx1980", "prefix"},
		{"birthdate=1980-13-01", "birthdate must be a date"},
		{"birthdate=16.03.1980", "birthdate must be a date"},
		{"gender=robot", "gender must be"},
		{"_count=0", "_count"},
		{"_count=abc", "_count"},
		{"family=", "empty value"},
		{"family:phonetic=smith", "modifier"},
		{"gender:exact=male", "modifier"},
		{"_id=bad%20id", "valid FHIR id"},
		{"_cursor=%20", "cursor"},
	}
	for _, c := range cases {
		resp, body := env.do(t, "GET", "/fhir/Patient?"+c.query, "", "")
		if resp.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400: %s", c.query, resp.StatusCode, body)
			continue
		}
		oo := decodeOutcome(t, body)
		if d := oo.Issue[0].Diagnostics; d == nil || !strings.Contains(*d, c.inDiag) {
			t.Errorf("%s: diagnostics %v, want %q", c.query, d, c.inDiag)
		}
	}
	// Prefer: handling=lenient ignores an unknown parameter.
	resp, body := env.doH(t, "GET", "/fhir/Patient?famly=smith&gender=male", map[string]string{"Prefer": "handling=lenient"}, "")
	if resp.StatusCode != 200 || len(decodeBundle(t, []byte(body)).Entry) != 2 {
		t.Errorf("lenient search: %d %s", resp.StatusCode, body)
	}
}

func TestSearchPostForm(t *testing.T) {
	env := searchFixture(t)
	resp, body := env.do(t, "POST", "/fhir/Patient/_search?gender=female", "application/x-www-form-urlencoded", "family=smith")
	if resp.StatusCode != 200 {
		t.Fatalf("POST _search: %d %s", resp.StatusCode, body)
	}
	b := decodeBundle(t, body)
	if len(b.Entry) != 1 || !strings.HasSuffix(*b.Entry[0].FullUrl, "/a3") {
		t.Fatalf("POST _search found %d entries", len(b.Entry))
	}
}

func TestSearchDeletedNotFound(t *testing.T) {
	env := searchFixture(t)
	if resp, _ := env.do(t, "DELETE", "/fhir/Patient/a3", "", ""); resp.StatusCode != 204 {
		t.Fatal("delete failed")
	}
	for _, q := range []string{"family=smith", "_id=a3"} {
		got, _ := searchIDs(t, env, q)
		if slices.Contains(got, "a3") {
			t.Errorf("%s found the deleted a3: %v", q, got)
		}
	}
}
