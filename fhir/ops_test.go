package fhir

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

func TestMetadata(t *testing.T) {
	env := newTestEnv(t, newFakeEngine(), Options{Version: "1.2.3"})
	resp, body := env.do(t, "GET", "/fhir/metadata", "", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != contentType {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var cs fm.CapabilityStatement
	if err := json.Unmarshal(body, &cs); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if !strings.Contains(string(body), `"resourceType":"CapabilityStatement"`) {
		t.Error("no resourceType")
	}
	if cs.FhirVersion != fm.FHIRVersion4_0_1 || cs.Kind != fm.CapabilityStatementKindInstance ||
		cs.Software == nil || *cs.Software.Version != "1.2.3" {
		t.Errorf("header %+v", cs)
	}
	if len(cs.Rest) != 1 || cs.Rest[0].Mode != fm.RestfulCapabilityModeServer || len(cs.Rest[0].Resource) != 1 {
		t.Fatalf("rest %+v", cs.Rest)
	}
	res := cs.Rest[0].Resource[0]
	if res.Type != fm.ResourceTypePatient {
		t.Errorf("resource type %s", res.Type.Code())
	}
	var inter []string
	for _, i := range res.Interaction {
		inter = append(inter, i.Code.Code())
	}
	if strings.Join(inter, ",") != "read,vread,update,delete,create,search-type,history-instance" {
		t.Errorf("interactions %v", inter)
	}
	var ops []string
	for _, o := range res.Operation {
		ops = append(ops, o.Name)
	}
	if strings.Join(ops, ",") != "match,idi-match" {
		t.Errorf("operations %v", ops)
	}
	if !slices.Contains(cs.Format, "application/fhir+json") || !slices.Contains(cs.Format, "application/fhir+xml") {
		t.Errorf("formats %v", cs.Format)
	}
	var params []string
	for _, p := range res.SearchParam {
		params = append(params, p.Name)
	}
	for _, want := range searchParamNames {
		if !slices.Contains(params, want) {
			t.Errorf("search parameter %s not listed: %v", want, params)
		}
	}
	if res.Versioning == nil || *res.Versioning != fm.ResourceVersionPolicyVersionedUpdate || res.ReadHistory == nil || !*res.ReadHistory {
		t.Errorf("versioning %v, readHistory %v", res.Versioning, res.ReadHistory)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	eng := newFakeEngine()
	env := newTestEnv(t, eng, Options{})
	if resp, body := env.do(t, "GET", "/healthz", "", ""); resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "ok" {
		t.Errorf("healthz %d %q", resp.StatusCode, body)
	}
	if resp, _ := env.do(t, "GET", "/readyz", "", ""); resp.StatusCode != 200 {
		t.Errorf("readyz %d", resp.StatusCode)
	}
	eng.mu.Lock()
	eng.pingErr = errBoom
	eng.mu.Unlock()
	if resp, body := env.do(t, "GET", "/readyz", "", ""); resp.StatusCode != 503 || strings.Contains(string(body), "fire") {
		t.Errorf("readyz with a failing engine: %d %q", resp.StatusCode, body)
	}
}

func TestMetrics(t *testing.T) {
	eng := newFakeEngine()
	env := newTestEnv(t, eng, Options{})
	env.do(t, "PUT", "/fhir/Patient/p1", fhirJSON, patientJSON)
	env.do(t, "PUT", "/fhir/Patient/p2", fhirJSON, patientJSON)
	env.do(t, "GET", "/fhir/Patient/p1", "", "")
	env.do(t, "GET", "/fhir/Patient/nobody", "", "")
	env.do(t, "GET", "/random/path/12345", "", "")

	if got := counterValue(t, env.srv.metrics.requests.WithLabelValues("PUT /fhir/Patient/{id}", "201")); got != 2 {
		t.Errorf("PUT 201 count %v", got)
	}
	if got := counterValue(t, env.srv.metrics.requests.WithLabelValues("GET /fhir/Patient/{id}", "404")); got != 1 {
		t.Errorf("GET 404 count %v", got)
	}
	if got := counterValue(t, env.srv.metrics.requests.WithLabelValues(unmatchedRoute, "404")); got != 1 {
		t.Errorf("unmatched count %v", got)
	}
	resp, body := env.do(t, "GET", "/metrics", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("metrics status %d", resp.StatusCode)
	}
	text := string(body)
	for _, want := range []string{
		"patientmatch_patients 2",
		`patientmatch_http_request_duration_seconds_count{route="GET /fhir/Patient/{id}"} 2`,
		`patientmatch_http_requests_total{code="201",route="PUT /fhir/Patient/{id}"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, leak := range []string{"p1", "nobody", "12345"} {
		if strings.Contains(text, leak) {
			t.Errorf("/metrics holds a raw path part %q", leak)
		}
	}
}

func TestLogsHoldNoPatientData(t *testing.T) {
	env := newTestEnv(t, newFakeEngine(), Options{})
	env.do(t, "PUT", "/fhir/Patient/secret-id-42", fhirJSON, patientJSON)
	env.do(t, "POST", "/fhir/Patient/$match", fhirJSON, patientJSON)
	env.do(t, "POST", "/fhir/Patient/$match", fhirJSON, `{"resourceType":"Patient","name":"Chalmers"}`)
	logs := env.logs.String()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3:\n%s", len(lines), logs)
	}
	var rec struct {
		Method, Route string
		Status        int
		Duration      float64
	}
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Method != "PUT" || rec.Route != "PUT /fhir/Patient/{id}" || rec.Status != 201 {
		t.Errorf("log line %s", lines[0])
	}
	// The whole log is searched for the birth date, its keys and strings
	// for the rest: a number such as "duration":19744 holds "1974"
	// without holding a birth date.
	if strings.Contains(logs, "1974-12-25") {
		t.Errorf("logs hold the birth date:\n%s", logs)
	}
	texts := logStrings(t, lines)
	for _, leak := range []string{"secret-id-42", "Chalmers", "Peter", "1974"} {
		if strings.Contains(texts, leak) {
			t.Errorf("logs hold %q:\n%s", leak, logs)
		}
	}
}

// logStrings returns every key and string value of the JSON log lines,
// one a line.
func logStrings(t *testing.T, lines []string) string {
	t.Helper()
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			b.WriteString(v + "\n")
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for k, e := range v {
				b.WriteString(k + "\n")
				walk(e)
			}
		}
	}
	for _, l := range lines {
		var v any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, l)
		}
		walk(v)
	}
	return b.String()
}

func TestMountAndUse(t *testing.T) {
	eng := newFakeEngine()
	env := newTestEnv(t, eng, Options{})
	srv := env.srv
	srv.Mount("POST /match/claims", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	srv.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer ok" {
				writeError(w, &Error{Status: 401, Code: fm.IssueTypeLogin, Diagnostics: "no token", Err: ErrBadRequest})
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	h := srv.Handler()
	do := func(method, path, auth string) int {
		req, _ := http.NewRequest(method, "http://x"+path, strings.NewReader(patientJSON))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, req)
		return rec.status
	}
	if got := do("POST", "/match/claims", ""); got != 401 {
		t.Errorf("unauthenticated mount: %d", got)
	}
	if got := do("POST", "/match/claims", "Bearer ok"); got != http.StatusTeapot {
		t.Errorf("mounted handler: %d", got)
	}
	if got := do("POST", "/fhir/Patient/$match", "Bearer ok"); got != 200 {
		t.Errorf("match behind auth: %d", got)
	}
	if got := counterValue(t, srv.metrics.requests.WithLabelValues("POST /match/claims", "401")); got != 1 {
		t.Errorf("rejected request not counted: %v", got)
	}
}

type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return len(b), nil
}
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}

func TestOptionsValidate(t *testing.T) {
	bad := Options{BaseURL: "mpi.example.org?x", MaxBodyBytes: -1, Registerer: prometheus.WrapRegistererWithPrefix("x_", prometheus.NewRegistry())}
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"absolute", "query", "MaxBodyBytes", "Gatherer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %q", err, want)
		}
	}
	if _, err := NewServer(newFakeEngine(), bad); err == nil {
		t.Error("NewServer accepted bad options")
	}
	if _, err := NewServer(nil, Options{}); err == nil {
		t.Error("NewServer accepted a nil engine")
	}
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("zero Options: %v", err)
	}
	// Two servers on one registry collide; the second must fail, not panic.
	reg := prometheus.NewRegistry()
	if _, err := NewServer(newFakeEngine(), Options{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewServer(newFakeEngine(), Options{Registerer: reg}); err == nil {
		t.Error("second server on the same registry did not fail")
	}
}

// TestBaseURLNeverFromHost is issue 14 item 7: without a configured base
// URL, Location is built from the address the connection reached, not from
// the client's Host header (Host: evil.example used to be echoed).
func TestBaseURLNeverFromHost(t *testing.T) {
	env := newTestEnv(t, newFakeEngine(), Options{})
	req, _ := http.NewRequest("PUT", env.ts.URL+"/fhir/Patient/p1", strings.NewReader(patientJSON))
	req.Host = "evil.example"
	resp, err := env.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Location"); got != env.ts.URL+"/fhir/Patient/p1/_history/1" {
		t.Errorf("Location %q", got)
	}
}

// counterValue reads a counter without the testutil package (whose diff
// dependency is not in go.sum).
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
