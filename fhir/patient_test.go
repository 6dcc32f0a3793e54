package fhir

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

func TestPatientCRUD(t *testing.T) {
	eng := newFakeEngine()
	env := newTestEnv(t, eng, Options{})
	base := env.ts.URL + "/fhir/Patient/"

	steps := []struct {
		name     string
		method   string
		path     string
		body     string
		status   int
		etag     string
		location string
	}{
		{"create by PUT", "PUT", "/fhir/Patient/p1", patientJSON, 201, `W/"1"`, base + "p1/_history/1"},
		{"read", "GET", "/fhir/Patient/p1", "", 200, `W/"1"`, ""},
		{"update by PUT with id", "PUT", "/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1","birthDate":"1974-12-25"}`, 200, `W/"2"`, base + "p1/_history/2"},
		{"read v2", "GET", "/fhir/Patient/p1", "", 200, `W/"2"`, ""},
		{"delete", "DELETE", "/fhir/Patient/p1", "", 204, "", ""},
		{"read deleted", "GET", "/fhir/Patient/p1", "", 404, "", ""},
		{"delete again", "DELETE", "/fhir/Patient/p1", "", 404, "", ""},
		{"recreate", "PUT", "/fhir/Patient/p1", patientJSON, 201, `W/"3"`, base + "p1/_history/3"},
	}
	for _, st := range steps {
		resp, body := env.do(t, st.method, st.path, fhirJSON, st.body)
		if resp.StatusCode != st.status {
			t.Fatalf("%s: status %d, want %d: %s", st.name, resp.StatusCode, st.status, body)
		}
		if got := resp.Header.Get("ETag"); got != st.etag {
			t.Errorf("%s: ETag %q, want %q", st.name, got, st.etag)
		}
		if got := resp.Header.Get("Location"); got != st.location {
			t.Errorf("%s: Location %q, want %q", st.name, got, st.location)
		}
		switch {
		case st.status == 204:
			if len(body) != 0 {
				t.Errorf("%s: 204 with body %s", st.name, body)
			}
		case st.status >= 400:
			decodeOutcome(t, body)
		default:
			p, err := fm.UnmarshalPatient(body)
			if err != nil || p.Id == nil || *p.Id != "p1" || p.Meta == nil || p.Meta.VersionId == nil {
				t.Errorf("%s: body %s (%v)", st.name, body, err)
			} else if `W/"`+*p.Meta.VersionId+`"` != st.etag {
				t.Errorf("%s: meta.versionId %s does not agree with ETag %s", st.name, *p.Meta.VersionId, st.etag)
			}
		}
	}
	if eng.Len() != 1 {
		t.Errorf("engine holds %d patients", eng.Len())
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCreateAssignsID(t *testing.T) {
	eng := newFakeEngine()
	env := newTestEnv(t, eng, Options{})
	env.srv.newUUID = randomUUID // the real source
	resp, body := env.do(t, "POST", "/fhir/Patient", fhirJSON, `{"resourceType":"Patient","id":"client-chosen","birthDate":"2001-02-03"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	p, err := fm.UnmarshalPatient(body)
	if err != nil || p.Id == nil {
		t.Fatalf("body %s", body)
	}
	if !uuidRE.MatchString(*p.Id) {
		t.Errorf("id %q is not a random UUID", *p.Id)
	}
	if want := env.ts.URL + "/fhir/Patient/" + *p.Id + "/_history/1"; resp.Header.Get("Location") != want {
		t.Errorf("Location %q, want %q", resp.Header.Get("Location"), want)
	}
	if _, err := eng.Get(t.Context(), "client-chosen"); err == nil {
		t.Error("the client's id was used for a create")
	}
	// Two creates get two ids.
	_, body2 := env.do(t, "POST", "/fhir/Patient", fhirJSON, patientJSON)
	p2, _ := fm.UnmarshalPatient(body2)
	if p2.Id == nil || *p2.Id == *p.Id {
		t.Errorf("second create reused id %v", p2.Id)
	}
}

func TestRandomUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		u := randomUUID()
		if !uuidRE.MatchString(u) || seen[u] {
			t.Fatalf("bad or repeated UUID %q", u)
		}
		seen[u] = true
	}
}

type responseEntry struct {
	status, location, etag string
	outcomeCode            string
}

func responses(t *testing.T, b fm.Bundle) []responseEntry {
	t.Helper()
	var out []responseEntry
	for i, e := range b.Entry {
		if e.Response == nil {
			t.Fatalf("entry %d has no response", i)
		}
		r := responseEntry{status: e.Response.Status}
		if e.Response.Location != nil {
			r.location = *e.Response.Location
		}
		if e.Response.Etag != nil {
			r.etag = *e.Response.Etag
		}
		if len(e.Response.Outcome) > 0 {
			oo := decodeOutcome(t, e.Response.Outcome)
			r.outcomeCode = oo.Issue[0].Code.Code()
		}
		out = append(out, r)
	}
	return out
}

func bundleOf(typ string, entries ...string) string {
	return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`
}

func putEntry(id, body string) string {
	return `{"resource":` + body + `,"request":{"method":"PUT","url":"Patient/` + id + `"}}`
}

func TestBatch(t *testing.T) {
	eng := newFakeEngine()
	env := newTestEnv(t, eng, Options{})
	base := env.ts.URL + "/fhir/Patient/"
	env.do(t, "PUT", "/fhir/Patient/old", fhirJSON, patientJSON)

	body := bundleOf("batch",
		putEntry("a", patientJSON),
		putEntry("old", patientJSON),
		`{"resource":`+patientJSON+`,"request":{"method":"POST","url":"Patient"}}`,
		`{"request":{"method":"DELETE","url":"Patient/old"}}`,
		`{"request":{"method":"DELETE","url":"Patient/ghost"}}`,
		putEntry("b", `{"resourceType":"Patient"}`),          // engine: invalid
		putEntry("c", `{"resourceType":"Observation"}`),      // not a Patient
		`{"resource":`+patientJSON+`}`,                       // no request
		`{"request":{"method":"GET","url":"Patient/a"}}`,     // unsupported
		`{"request":{"method":"PUT","url":"Observation/1"}}`, // other type
		putEntry("d", `{"resourceType":"Patient","id":"e"}`), // id mismatch
	)
	resp, rb := env.do(t, "POST", "/fhir", fhirJSON, body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, rb)
	}
	b := decodeBundle(t, rb)
	if b.Type != fm.BundleTypeBatchResponse {
		t.Errorf("type %s", b.Type.Code())
	}
	got := responses(t, b)
	want := []responseEntry{
		{"201 Created", base + "a/_history/1", `W/"1"`, ""},
		{"200 OK", base + "old/_history/2", `W/"2"`, ""},
		{"201 Created", base + "00000000-0000-4000-8000-000000000002/_history/1", `W/"1"`, ""},
		{"204 No Content", "", "", ""},
		{"404 Not Found", "", "", "not-found"},
		{"400 Bad Request", "", "", "invalid"},
		{"400 Bad Request", "", "", "invalid"},
		{"400 Bad Request", "", "", "required"},
		{"400 Bad Request", "", "", "not-supported"},
		{"400 Bad Request", "", "", "not-supported"},
		{"400 Bad Request", "", "", "invalid"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d responses, want %d: %s", len(got), len(want), rb)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := eng.Get(t.Context(), "old"); err == nil {
		t.Error("batch DELETE did not delete")
	}
}

func TestTransaction(t *testing.T) {
	t.Run("all stored", func(t *testing.T) {
		eng := newFakeEngine()
		env := newTestEnv(t, eng, Options{})
		base := env.ts.URL + "/fhir/Patient/"
		env.do(t, "PUT", "/fhir/Patient/old", fhirJSON, patientJSON)
		resp, rb := env.do(t, "POST", "/fhir", fhirJSON, bundleOf("transaction",
			putEntry("a", patientJSON), putEntry("old", patientJSON),
			`{"fullUrl":"urn:uuid:x","resource":`+patientJSON+`,"request":{"method":"POST","url":"Patient"}}`))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, rb)
		}
		b := decodeBundle(t, rb)
		if b.Type != fm.BundleTypeTransactionResponse {
			t.Errorf("type %s", b.Type.Code())
		}
		got := responses(t, b)
		want := []responseEntry{
			{"201 Created", base + "a/_history/1", `W/"1"`, ""},
			{"200 OK", base + "old/_history/2", `W/"2"`, ""},
			{"201 Created", base + "00000000-0000-4000-8000-000000000001/_history/1", `W/"1"`, ""},
		}
		if len(got) != len(want) {
			t.Fatalf("responses %+v", got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		if eng.Len() != 3 {
			t.Errorf("engine holds %d", eng.Len())
		}
	})
	failures := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"one bad entry", bundleOf("transaction", putEntry("a", patientJSON), putEntry("b", `{"resourceType":"Observation"}`)), 400, "invalid"},
		{"engine rejects one", bundleOf("transaction", putEntry("a", patientJSON), putEntry("b", `{"resourceType":"Patient"}`)), 400, "invalid"},
		{"same id twice", bundleOf("transaction", putEntry("a", patientJSON), putEntry("a", patientJSON)), 400, "invalid"},
		{"delete", bundleOf("transaction", putEntry("a", patientJSON), `{"request":{"method":"DELETE","url":"Patient/a"}}`), 400, "not-supported"},
		{"conditional", bundleOf("transaction", `{"resource":`+patientJSON+`,"request":{"method":"PUT","url":"Patient?identifier=x"}}`), 400, "not-supported"},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			eng := newFakeEngine()
			env := newTestEnv(t, eng, Options{})
			resp, rb := env.do(t, "POST", "/fhir", fhirJSON, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d: %s", resp.StatusCode, rb)
			}
			if oo := decodeOutcome(t, rb); oo.Issue[0].Code.Code() != tc.code {
				t.Errorf("code %s", oo.Issue[0].Code.Code())
			}
			if eng.Len() != 0 {
				t.Errorf("a failed transaction stored %d patients", eng.Len())
			}
		})
	}
	t.Run("engine failure", func(t *testing.T) {
		eng := newFakeEngine()
		eng.batchErr = errBoom
		env := newTestEnv(t, eng, Options{})
		resp, rb := env.do(t, "POST", "/fhir", fhirJSON, bundleOf("transaction", putEntry("a", patientJSON)))
		if resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("status %d: %s", resp.StatusCode, rb)
		}
		decodeOutcome(t, rb)
	})
	t.Run("empty", func(t *testing.T) {
		env := newTestEnv(t, newFakeEngine(), Options{})
		resp, rb := env.do(t, "POST", "/fhir", fhirJSON, bundleOf("transaction"))
		if resp.StatusCode != 200 || len(decodeBundle(t, rb).Entry) != 0 {
			t.Fatalf("status %d: %s", resp.StatusCode, rb)
		}
	})
}

// TestDollarRoutes checks the ServeMux pattern rules for "$" in a literal
// segment: the operations win over {id}, and "$" ids never reach read.
func TestDollarRoutes(t *testing.T) {
	env := newTestEnv(t, newFakeEngine(), Options{})
	for _, path := range []string{"/fhir/Patient/$match", "/fhir/Patient/$idi-match"} {
		_, pattern := env.srv.mux.Handler(mustRequest(t, "POST", path))
		if pattern != "POST "+path {
			t.Errorf("POST %s routed to %q", path, pattern)
		}
	}
	_, pattern := env.srv.mux.Handler(mustRequest(t, "GET", "/fhir/Patient/$match"))
	if pattern != "GET /fhir/Patient/$match" {
		t.Errorf("GET $match routed to %q", pattern)
	}
	_, pattern = env.srv.mux.Handler(mustRequest(t, "GET", "/fhir/Patient/p1"))
	if pattern != "GET /fhir/Patient/{id}" {
		t.Errorf("GET p1 routed to %q", pattern)
	}
}

func mustRequest(t *testing.T, method, path string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, "http://x"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReadReturnsStoredJSON(t *testing.T) {
	eng := newFakeEngine()
	env := newTestEnv(t, eng, Options{})
	env.do(t, "PUT", "/fhir/Patient/p1", fhirJSON, patientJSON)
	_, body := env.do(t, "GET", "/fhir/Patient/p1", "", "")
	sp, _ := eng.Get(t.Context(), "p1")
	var a, b any
	if json.Unmarshal(body, &a) != nil || json.Unmarshal(sp.Resource, &b) != nil {
		t.Fatal("bad JSON")
	}
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	if string(aj) != string(bj) {
		t.Errorf("GET body differs from the stored resource:\n%s\n%s", aj, bj)
	}
}
