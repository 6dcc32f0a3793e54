package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/fhir/fhirxml"
)

// End-to-end tests of the FHIR REST conventions against the real server
// and engine: PDQm search, vread and _history, If-Match, FHIR XML.

// req sends one request with headers to s.
func (s *e2eServer) req(t *testing.T, method, path, body string, hdr map[string]string) httpResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eHangGuard)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequestWithContext(ctx, method, s.httpBase+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return httpResult{status: resp.StatusCode, header: resp.Header, body: raw}
}

var fhirJSONHdr = map[string]string{"Content-Type": "application/fhir+json"}

// bundleIDs returns the Patient ids of a searchset's entries and its links.
func bundleIDs(t *testing.T, r httpResult) ([]string, map[string]string, *int) {
	t.Helper()
	var b struct {
		Type  string                           `json:"type"`
		Total *int                             `json:"total"`
		Link  []struct{ Relation, URL string } `json:"link"`
		Entry []struct {
			Resource struct{ ID string } `json:"resource"`
		} `json:"entry"`
	}
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, e := range b.Entry {
		ids = append(ids, e.Resource.ID)
	}
	links := map[string]string{}
	for _, l := range b.Link {
		links[l.Relation] = l.URL
	}
	return ids, links, b.Total
}

// startDemoServer serves a part of the demo patients: the first 300, and
// every Grand, Singh and 1980 birth the tests look for (smaller than the
// whole set, so a loaded machine starts it quickly).
func startDemoServer(t *testing.T) *e2eServer {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/demo/patients.ndjson")
	if err != nil {
		t.Skipf("demo data absent: %v", err)
	}
	var keep []string
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if i < 300 || strings.Contains(line, `"Grand"`) || strings.Contains(line, `"Singh"`) || strings.Contains(line, `"1980-`) {
			keep = append(keep, line)
		}
	}
	demo := filepath.Join(t.TempDir(), "demo.ndjson")
	if err := os.WriteFile(demo, []byte(strings.Join(keep, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServer(t, serveConfig{data: filepath.Join(t.TempDir(), "data"), demo: true, demoFile: demo})
}

func TestE2ESearch(t *testing.T) {
	s := startDemoServer(t)
	cases := []struct {
		query string
		want  []string
	}{
		{"family=grand&birthdate=1966-07-24", []string{"p6sq80l0g", "p76jyfwh9", "p9xp2vgys"}},
		{"family=GRAND&given=edw", []string{"p76jyfwh9", "p9xp2vgys"}},
		{"identifier=" + url.QueryEscape("http://hl7.org/fhir/sid/us-ssn|194-12-7383"), []string{"pcpuabkyu"}},
		{"telecom=" + url.QueryEscape("phone|(208) 440-8482"), []string{"p6sq80l0g", "p9xp2vgys"}},
		{"_id=pcpuabkyu,p9xp2vgys", []string{"p9xp2vgys", "pcpuabkyu"}},
		{"family=singh&given=amber&gender=female&birthdate=ge1980&birthdate=lt1981&address-postalcode=01153", []string{"pcpuabkyu"}},
		{"family=nosuchname", []string{}},
	}
	for _, c := range cases {
		ids, _, total := bundleIDs(t, s.req(t, "GET", "/fhir/Patient?"+c.query, "", nil))
		if !slices.Equal(ids, c.want) {
			t.Errorf("%s: %v, want %v", c.query, ids, c.want)
		}
		if total == nil || *total != len(c.want) {
			t.Errorf("%s: total %v", c.query, total)
		}
	}
	// Paging through every female patient born in 1980 gives each once,
	// in id order, as one unpaged search does.
	all, _, _ := bundleIDs(t, s.req(t, "GET", "/fhir/Patient?gender=female&birthdate=1980&_count=200", "", nil))
	var paged []string
	next := "/fhir/Patient?gender=female&birthdate=1980&_count=3"
	for pages := 0; next != ""; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		ids, links, _ := bundleIDs(t, s.req(t, "GET", next, "", nil))
		paged = append(paged, ids...)
		next = ""
		if l := links["next"]; l != "" {
			u, err := url.Parse(l)
			if err != nil {
				t.Fatal(err)
			}
			next = u.RequestURI()
		}
	}
	if len(all) < 4 || !slices.Equal(all, paged) || !slices.IsSorted(all) {
		t.Fatalf("paged %v\nunpaged %v", paged, all)
	}
	if r := s.req(t, "GET", "/fhir/Patient?famly=grand", "", nil); r.status != 400 || !strings.Contains(string(r.body), "unknown search parameter") {
		t.Errorf("misspelt parameter: %d %s", r.status, r.body)
	}
}

func TestE2EHistoryAndIfMatch(t *testing.T) {
	s := startServer(t, serveConfig{data: filepath.Join(t.TempDir(), "data")})
	put := func(given, ifMatch string) httpResult {
		hdr := map[string]string{"Content-Type": "application/fhir+json"}
		if ifMatch != "" {
			hdr["If-Match"] = ifMatch
		}
		return s.req(t, "PUT", "/fhir/Patient/h1", `{"resourceType":"Patient","name":[{"family":"Hist","given":["`+given+`"]}],"birthDate":"1970-01-01"}`, hdr)
	}
	r := put("Ann", "")
	wantStatus(t, "create", r, 201)
	loc := r.header.Get("Location")
	if !strings.HasSuffix(loc, "/fhir/Patient/h1/_history/1") || r.header.Get("ETag") != `W/"1"` {
		t.Fatalf("create: Location %q ETag %q", loc, r.header.Get("ETag"))
	}
	// The Location of a write is served (vread).
	u, _ := url.Parse(loc)
	if r := s.req(t, "GET", u.Path, "", nil); r.status != 200 || r.header.Get("ETag") != `W/"1"` || !strings.Contains(string(r.body), `"Ann"`) {
		t.Fatalf("vread of the Location: %d %s", r.status, r.body)
	}
	// If-Match with the wrong version: 412, nothing written.
	r = put("Anne", `W/"7"`)
	wantStatus(t, "stale If-Match", r, 412)
	if code := wantOutcome(t, "stale If-Match", r); code != "conflict" {
		t.Errorf("stale If-Match issue code %q", code)
	}
	if r := s.req(t, "GET", "/fhir/Patient/h1", "", nil); r.header.Get("ETag") != `W/"1"` || !strings.Contains(string(r.body), `"Ann"`) {
		t.Fatalf("a 412 changed the patient: %s %s", r.header.Get("ETag"), r.body)
	}
	wantStatus(t, "If-Match 1", put("Anne", `W/"1"`), 200)
	wantStatus(t, "If-Match garbage", put("Annie", `"seven"`), 400)
	wantStatus(t, "If-Match on an old version", put("Annie", `W/"1"`), 412)
	if r := s.req(t, "DELETE", "/fhir/Patient/h1", "", map[string]string{"If-Match": `W/"1"`}); r.status != 412 {
		t.Fatalf("stale conditional delete: %d %s", r.status, r.body)
	}
	if r := s.req(t, "DELETE", "/fhir/Patient/h1", "", map[string]string{"If-Match": `W/"2"`}); r.status != 204 {
		t.Fatalf("conditional delete: %d %s", r.status, r.body)
	}

	// vread: version 1 and 2 are kept, 3 is the delete (410).
	for v, want := range map[string]string{"1": `"Ann"`, "2": `"Anne"`} {
		r := s.req(t, "GET", "/fhir/Patient/h1/_history/"+v, "", nil)
		if r.status != 200 || !strings.Contains(string(r.body), want) || r.header.Get("ETag") != `W/"`+v+`"` {
			t.Errorf("vread %s: %d %s %s", v, r.status, r.header.Get("ETag"), r.body)
		}
	}
	wantStatus(t, "vread of the delete", s.req(t, "GET", "/fhir/Patient/h1/_history/3", "", nil), 410)
	wantStatus(t, "vread of a version never stored", s.req(t, "GET", "/fhir/Patient/h1/_history/4", "", nil), 404)
	wantStatus(t, "vread bad vid", s.req(t, "GET", "/fhir/Patient/h1/_history/x", "", nil), 400)

	r = s.req(t, "GET", "/fhir/Patient/h1/_history", "", nil)
	var hb struct {
		Type  string `json:"type"`
		Total int    `json:"total"`
		Entry []struct {
			Request  struct{ Method string } `json:"request"`
			Response struct {
				Status string `json:"status"`
				Etag   string `json:"etag"`
			} `json:"response"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(r.body, &hb); err != nil || hb.Type != "history" || hb.Total != 3 || len(hb.Entry) != 3 {
		t.Fatalf("history: %v %s", err, r.body)
	}
	var got []string
	for _, e := range hb.Entry {
		got = append(got, e.Request.Method+" "+e.Response.Status+" "+e.Response.Etag)
	}
	want := []string{`DELETE 204 No Content W/"3"`, `PUT 200 OK W/"2"`, `PUT 201 Created W/"1"`}
	if !slices.Equal(got, want) || len(hb.Entry[0].Resource) != 0 || !strings.Contains(string(hb.Entry[2].Resource), `"Ann"`) {
		t.Fatalf("history entries %v, want %v\n%s", got, want, r.body)
	}
	wantStatus(t, "history of a never-stored id", s.req(t, "GET", "/fhir/Patient/nobody/_history", "", nil), 404)
}

func TestE2EXML(t *testing.T) {
	s := startServer(t, serveConfig{data: filepath.Join(t.TempDir(), "data")})
	// The FHIR specification's own Patient example, in XML, stored and read
	// back in XML: the same Patient (the server adds meta).
	spec, err := os.ReadFile("../../fhir/fhirxml/testdata/spec/patient-example.xml")
	if err != nil {
		t.Fatal(err)
	}
	xmlHdr := map[string]string{"Content-Type": "application/fhir+xml", "Accept": "application/fhir+xml"}
	r := s.req(t, "PUT", "/fhir/Patient/example", string(spec), xmlHdr)
	if r.status != 201 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/fhir+xml") {
		t.Fatalf("PUT XML: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	r = s.req(t, "GET", "/fhir/Patient/example?_format=xml", "", nil)
	if r.status != 200 || !strings.HasPrefix(string(r.body), `<Patient xmlns="http://hl7.org/fhir">`) {
		t.Fatalf("GET _format=xml: %d %s", r.status, r.body)
	}
	for _, want := range []string{`<family value="Chalmers"/>`, `<birthDate value="1974-12-25"/>`,
		`<family value="du Marché"/>`, `<active value="true"/>`, `<rank value="1"/>`, `<deceasedBoolean value="false"/>`} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("XML read lacks %s", want)
		}
	}
	// The JSON read of the XML write has the spec example's JSON form,
	// except the primitive extensions (_birthDate, contact name _family),
	// which the store does not keep (it stores the samply R4 model; see
	// fhir/README.md, Limits).
	r = s.req(t, "GET", "/fhir/Patient/example", "", nil)
	back, err := fhirxml.XMLToJSON(spec)
	if err != nil {
		t.Fatal(err)
	}
	var stored, original map[string]any
	if err := json.Unmarshal(r.body, &stored); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(back, &original); err != nil {
		t.Fatal(err)
	}
	dropPrimitiveExtensions(original)
	for k, v := range original {
		if k == "meta" {
			continue
		}
		if sv, _ := json.Marshal(stored[k]); string(sv) != asJSON(t, v) {
			t.Errorf("stored %s = %s, want %s", k, sv, asJSON(t, v))
		}
	}
	// $match in XML both ways; errors in XML; 406 and 415.
	params := `<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="resource"/><resource><Patient>` +
		`<name><family value="Chalmers"/><given value="Peter"/></name><birthDate value="1974-12-25"/></Patient></resource></parameter></Parameters>`
	r = s.req(t, "POST", "/fhir/Patient/$match", params, xmlHdr)
	if r.status != 200 || !strings.HasPrefix(string(r.body), `<Bundle xmlns="http://hl7.org/fhir">`) || !strings.Contains(string(r.body), `/fhir/Patient/example"/>`) {
		t.Fatalf("$match in XML: %d %s", r.status, r.body)
	}
	r = s.req(t, "GET", "/fhir/Patient/nobody", "", map[string]string{"Accept": "application/fhir+xml"})
	if r.status != 404 || !strings.HasPrefix(string(r.body), "<OperationOutcome") {
		t.Fatalf("404 in XML: %d %s", r.status, r.body)
	}
	wantStatus(t, "Accept text/html", s.req(t, "GET", "/fhir/metadata", "", map[string]string{"Accept": "text/html"}), 406)
	wantStatus(t, "Content-Type text/plain", s.req(t, "POST", "/fhir/Patient", "x", map[string]string{"Content-Type": "text/plain"}), 415)
	r = s.req(t, "GET", "/fhir/Patient?family=chalmers", "", map[string]string{"Accept": "application/fhir+xml"})
	if r.status != 200 || !strings.Contains(string(r.body), `<type value="searchset"/>`) {
		t.Fatalf("search in XML: %d %s", r.status, r.body)
	}
}

// dropPrimitiveExtensions deletes the "_name" members of v, recursively.
func dropPrimitiveExtensions(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			if strings.HasPrefix(k, "_") {
				delete(v, k)
				continue
			}
			dropPrimitiveExtensions(c)
		}
	case []any:
		for _, c := range v {
			dropPrimitiveExtensions(c)
		}
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestE2EMetrics(t *testing.T) {
	s := startDemoServer(t)
	// Other parts of the server (the identities package, working in the
	// background after the demo load) call Match too, so the engine's
	// counts must rise by at least what these requests add; the claims
	// decisions come from these requests alone.
	before := metricValues(t, s)
	match := `{"resourceType":"Patient","name":[{"family":"Singh","given":["Amber"]}],"birthDate":"1980-03-16","telecom":[{"system":"email","value":"singha607@gmail.com"}]}`
	wantStatus(t, "$match", s.req(t, "POST", "/fhir/Patient/$match", match, fhirJSONHdr), 200)
	wantStatus(t, "$match nobody", s.req(t, "POST", "/fhir/Patient/$match", `{"resourceType":"Patient","name":[{"family":"Zzyzx","given":["Qqq"]}],"birthDate":"1901-01-01"}`, fhirJSONHdr), 200)
	claims := `{"claims":{"given_name":"Amber","family_name":"Singh","birthdate":"1980-03-16","email":"singha607@gmail.com","email_verified":true}}`
	wantStatus(t, "claims", s.req(t, "POST", "/match/claims", claims, map[string]string{"Content-Type": "application/json"}), 200)
	after := metricValues(t, s)
	for name, want := range map[string]float64{
		`patientmatch_match_results_total{grade="certain"}`:         2, // $match and the claims
		`patientmatch_match_queries_total{top_grade="certain"}`:     2,
		`patientmatch_match_queries_total{top_grade="none"}`:        1,
		`patientmatch_match_candidates_count`:                       3,
		`patientmatch_claims_decisions_total{decision="match"}`:     1,
		`patientmatch_claims_decisions_total{decision="ambiguous"}`: 0,
	} {
		got := after[name] - before[name]
		exact := strings.HasPrefix(name, "patientmatch_claims_")
		if (exact && got != want) || got < want {
			t.Errorf("%s rose by %v, want %v", name, got, want)
		}
	}
	if _, ok := after[`patientmatch_build_info`]; !ok {
		t.Errorf("/metrics has no patientmatch_build_info")
	}
}

// metricValues reads /metrics into name{labels} → value; build_info is
// stored under its bare name.
func metricValues(t *testing.T, s *e2eServer) map[string]float64 {
	t.Helper()
	r := s.req(t, "GET", "/metrics", "", nil)
	out := map[string]float64{}
	for _, line := range strings.Split(string(r.body), "\n") {
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndex(line, " ")
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		name := line[:i]
		if strings.HasPrefix(name, "patientmatch_build_info{") {
			name = "patientmatch_build_info"
		}
		out[name] = v
	}
	return out
}
