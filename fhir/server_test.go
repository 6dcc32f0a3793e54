package fhir

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/internal/syncbuf"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
)

// syncBuffer is a log sink safe for the server's concurrent writes.
type syncBuffer = syncbuf.Buffer

type testEnv struct {
	eng  *fakeEngine
	srv  *Server
	ts   *httptest.Server
	reg  *prometheus.Registry
	logs *syncBuffer
}

// newTestEnv serves a Server over a real loopback listener, with a pinned
// clock and a counting UUID source.
func newTestEnv(t *testing.T, eng *fakeEngine, opts Options) *testEnv {
	t.Helper()
	env := newEngineEnv(t, eng, opts)
	env.eng = eng
	return env
}

// newEngineEnv is newTestEnv for any engine (the real one in the golden
// suite); env.eng stays nil.
func newEngineEnv(t *testing.T, eng Engine, opts Options) *testEnv {
	t.Helper()
	env := &testEnv{reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	opts.Registerer = env.reg
	opts.Logger = slog.New(slog.NewJSONHandler(env.logs, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	srv, err := NewServer(eng, opts)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	srv.now = func() time.Time { return fakeTime }
	srv.newUUID = func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	}
	env.srv = srv
	env.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(env.ts.Close)
	return env
}

// do sends one request; contentType "" sends none.
func (e *testEnv) do(t *testing.T, method, path, contentType, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

const fhirJSON = "application/fhir+json"

func decodeBundle(t *testing.T, b []byte) fm.Bundle {
	t.Helper()
	var head struct{ ResourceType string }
	if err := json.Unmarshal(b, &head); err != nil || head.ResourceType != "Bundle" {
		t.Fatalf("not a Bundle (%v): %s", err, b)
	}
	bu, err := fm.UnmarshalBundle(b)
	if err != nil {
		t.Fatalf("decoding Bundle: %v\n%s", err, b)
	}
	return bu
}

func decodeOutcome(t *testing.T, b []byte) fm.OperationOutcome {
	t.Helper()
	var head struct{ ResourceType string }
	if err := json.Unmarshal(b, &head); err != nil || head.ResourceType != "OperationOutcome" {
		t.Fatalf("not an OperationOutcome (%v): %s", err, b)
	}
	oo, err := fm.UnmarshalOperationOutcome(b)
	if err != nil {
		t.Fatalf("decoding OperationOutcome: %v\n%s", err, b)
	}
	if len(oo.Issue) == 0 {
		t.Fatalf("OperationOutcome without issues: %s", b)
	}
	return oo
}

// gradeOf returns the match-grade code of an entry.
func gradeOf(e fm.BundleEntry) string {
	if e.Search == nil {
		return ""
	}
	for _, x := range e.Search.Extension {
		if x.Url == MatchGradeURL && x.ValueCode != nil {
			return *x.ValueCode
		}
	}
	return ""
}

func hasExplanation(e fm.BundleEntry) bool {
	if e.Search == nil {
		return false
	}
	for _, x := range e.Search.Extension {
		if x.Url == MatchExplanationURL {
			return true
		}
	}
	return false
}

func mkMatch(id string, p float64, g scoring.Grade) matcher.Match {
	return matcher.Match{
		ID:          id,
		Resource:    json.RawMessage(`{"resourceType":"Patient","id":"` + id + `"}`),
		Probability: p,
		Grade:       g,
		Explanation: []scoring.ComparisonResult{
			{Comparison: "given_name", Level: "exact", Weight: 4.25},
			{Comparison: "birth_date", Level: "missing", Weight: 0},
		},
	}
}

const (
	patientJSON = `{"resourceType":"Patient","name":[{"family":"Chalmers","given":["Peter"]}],"birthDate":"1974-12-25","gender":"male"}`
)

func params(parts ...string) string {
	return `{"resourceType":"Parameters","parameter":[` + strings.Join(parts, ",") + `]}`
}

const resourceParam = `{"name":"resource","resource":` + patientJSON + `}`

func TestMatch(t *testing.T) {
	certain1 := mkMatch("a", 0.999, scoring.GradeCertain)
	certain2 := mkMatch("b", 0.998, scoring.GradeCertain)
	probable := mkMatch("c", 0.8, scoring.GradeProbable)
	probable2 := mkMatch("d", 0.7, scoring.GradeProbable)
	possible := mkMatch("e", 0.3, scoring.GradePossible)
	tests := []struct {
		name      string
		matches   []matcher.Match
		query     string
		body      string
		wantIDs   []string
		wantOpts  matcher.MatchOptions
		wantGrade []string
		explain   bool
	}{
		{"bare patient", []matcher.Match{certain1, probable, possible}, "", patientJSON,
			[]string{"a", "c", "e"}, matcher.MatchOptions{}, []string{"certain", "probable", "possible"}, false},
		{"parameters resource", []matcher.Match{probable, possible}, "", params(resourceParam),
			[]string{"c", "e"}, matcher.MatchOptions{}, []string{"probable", "possible"}, false},
		{"IDIPatient name", []matcher.Match{probable}, "", params(`{"name":"IDIPatient","resource":` + patientJSON + `}`),
			[]string{"c"}, matcher.MatchOptions{}, nil, false},
		{"count valueInteger", []matcher.Match{certain1, probable, possible}, "", params(resourceParam, `{"name":"count","valueInteger":2}`),
			[]string{"a", "c"}, matcher.MatchOptions{Count: 2}, nil, false},
		{"count valuePositiveInt", []matcher.Match{certain1, probable, possible}, "", params(resourceParam, `{"name":"count","valuePositiveInt":1}`),
			[]string{"a"}, matcher.MatchOptions{Count: 1}, nil, false},
		{"count capped", []matcher.Match{certain1}, "", params(resourceParam, `{"name":"count","valueInteger":100000}`),
			[]string{"a"}, matcher.MatchOptions{Count: maxCount}, nil, false},
		{"onlyCertain one certain", []matcher.Match{certain1, probable}, "", params(resourceParam, `{"name":"onlyCertainMatches","valueBoolean":true}`),
			[]string{"a"}, matcher.MatchOptions{OnlyCertain: true}, []string{"certain"}, false},
		{"onlyCertain two certain is empty", []matcher.Match{certain1, certain2}, "", params(resourceParam, `{"name":"onlyCertainMatches","valueBoolean":true}`),
			nil, matcher.MatchOptions{OnlyCertain: true}, nil, false},
		{"onlyCertain none certain is empty", []matcher.Match{probable}, "", params(resourceParam, `{"name":"onlyCertainMatches","valueBoolean":true}`),
			nil, matcher.MatchOptions{OnlyCertain: true}, nil, false},
		{"onlyCertain false", []matcher.Match{probable}, "", params(resourceParam, `{"name":"onlyCertainMatches","valueBoolean":false}`),
			[]string{"c"}, matcher.MatchOptions{}, nil, false},
		{"onlySingle clear best", []matcher.Match{certain1, probable, possible}, "", params(resourceParam, `{"name":"onlySingleMatch","valueBoolean":true}`),
			[]string{"a"}, matcher.MatchOptions{OnlySingle: true}, nil, false},
		{"onlySingle tie in grade", []matcher.Match{probable, probable2}, "", params(resourceParam, `{"name":"onlySingleMatch","valueBoolean":true}`),
			nil, matcher.MatchOptions{OnlySingle: true}, nil, false},
		{"onlySingle lone match", []matcher.Match{possible}, "", params(resourceParam, `{"name":"onlySingleMatch","valueBoolean":true}`),
			[]string{"e"}, matcher.MatchOptions{OnlySingle: true}, nil, false},
		{"onlySingle with count", []matcher.Match{probable, possible}, "", params(resourceParam, `{"name":"onlySingleMatch","valueBoolean":true}`, `{"name":"count","valueInteger":5}`),
			[]string{"c"}, matcher.MatchOptions{OnlySingle: true, Count: 5}, nil, false},
		{"no match", nil, "", patientJSON, nil, matcher.MatchOptions{}, nil, false},
		{"explain parameter", []matcher.Match{certain1}, "", params(resourceParam, `{"name":"explain","valueBoolean":true}`),
			[]string{"a"}, matcher.MatchOptions{Explain: true}, nil, true},
		{"explain query", []matcher.Match{certain1}, "?_explain=true", patientJSON,
			[]string{"a"}, matcher.MatchOptions{Explain: true}, nil, true},
		{"explain query false", []matcher.Match{certain1}, "?_explain=false", patientJSON,
			[]string{"a"}, matcher.MatchOptions{}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := newFakeEngine()
			eng.matches = tc.matches
			env := newTestEnv(t, eng, Options{})
			resp, body := env.do(t, "POST", "/fhir/Patient/$match"+tc.query, fhirJSON, tc.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != contentType {
				t.Errorf("Content-Type %q", ct)
			}
			if eng.lastOpts != tc.wantOpts {
				t.Errorf("engine options %+v, want %+v", eng.lastOpts, tc.wantOpts)
			}
			if eng.lastRec.Family != "chalmers" {
				t.Errorf("engine got record %+v", eng.lastRec)
			}
			b := decodeBundle(t, body)
			if b.Type != fm.BundleTypeSearchset {
				t.Errorf("type %v", b.Type)
			}
			if b.Total == nil || *b.Total != len(tc.wantIDs) {
				t.Errorf("total %v, want %d", b.Total, len(tc.wantIDs))
			}
			var ids []string
			for i, e := range b.Entry {
				if e.FullUrl == nil || !strings.HasPrefix(*e.FullUrl, env.ts.URL+"/fhir/Patient/") {
					t.Errorf("entry %d fullUrl %v", i, e.FullUrl)
					continue
				}
				id := strings.TrimPrefix(*e.FullUrl, env.ts.URL+"/fhir/Patient/")
				ids = append(ids, id)
				var res struct{ ResourceType, ID string }
				if err := json.Unmarshal(e.Resource, &res); err != nil || res.ResourceType != "Patient" || res.ID != id {
					t.Errorf("entry %d resource %s", i, e.Resource)
				}
				if e.Search == nil || e.Search.Mode == nil || *e.Search.Mode != fm.SearchEntryModeMatch || e.Search.Score == nil {
					t.Errorf("entry %d search %+v", i, e.Search)
				}
				if i < len(tc.wantGrade) && gradeOf(e) != tc.wantGrade[i] {
					t.Errorf("entry %d grade %q, want %q", i, gradeOf(e), tc.wantGrade[i])
				}
				if hasExplanation(e) != tc.explain {
					t.Errorf("entry %d explanation present=%v, want %v", i, hasExplanation(e), tc.explain)
				}
			}
			if strings.Join(ids, ",") != strings.Join(tc.wantIDs, ",") {
				t.Errorf("ids %v, want %v", ids, tc.wantIDs)
			}
		})
	}
}

func TestMatchScoresAndExplanation(t *testing.T) {
	eng := newFakeEngine()
	eng.matches = []matcher.Match{mkMatch("a", 0.9876543219, scoring.GradeCertain)}
	env := newTestEnv(t, eng, Options{BaseURL: "https://mpi.example.org/"})
	_, body := env.do(t, "POST", "/fhir/Patient/$match?_explain=1", "", patientJSON)
	b := decodeBundle(t, body)
	if len(b.Entry) != 1 {
		t.Fatalf("entries %d", len(b.Entry))
	}
	e := b.Entry[0]
	if *e.FullUrl != "https://mpi.example.org/fhir/Patient/a" {
		t.Errorf("fullUrl %s (BaseURL ignored?)", *e.FullUrl)
	}
	if e.Search.Score.String() != "0.987654" {
		t.Errorf("score %s", e.Search.Score.String())
	}
	var expl *fm.Extension
	for i := range e.Search.Extension {
		if e.Search.Extension[i].Url == MatchExplanationURL {
			expl = &e.Search.Extension[i]
		}
	}
	if expl == nil || len(expl.Extension) != 2 {
		t.Fatalf("explanation %+v", expl)
	}
	given := expl.Extension[0]
	if given.Url != "given_name" || len(given.Extension) != 2 ||
		given.Extension[0].Url != "level" || *given.Extension[0].ValueString != "exact" ||
		given.Extension[1].Url != "weight" || given.Extension[1].ValueDecimal.String() != "4.25" {
		t.Errorf("given_name explanation %+v", given)
	}
}

func TestErrors(t *testing.T) {
	big := `{"resourceType":"Patient","name":[{"family":"` + strings.Repeat("x", 2048) + `"}]}`
	tests := []struct {
		name        string
		method      string
		path        string
		ct          string
		body        string
		status      int
		code        string
		diagContain string
		allow       string
	}{
		{"malformed JSON", "POST", "/fhir/Patient/$match", fhirJSON, `{"resourceType":`, 400, "structure", "malformed JSON", ""},
		{"not an object", "POST", "/fhir/Patient/$match", fhirJSON, `[1,2]`, 400, "structure", "", ""},
		{"empty body", "POST", "/fhir/Patient/$match", fhirJSON, ``, 400, "required", "empty", ""},
		{"missing resourceType", "POST", "/fhir/Patient/$match", fhirJSON, `{"name":[]}`, 400, "required", "resourceType", ""},
		{"wrong resourceType", "POST", "/fhir/Patient/$match", fhirJSON, `{"resourceType":"Observation"}`, 400, "invalid", "expected Parameters or Patient", ""},
		{"parameters without resource", "POST", "/fhir/Patient/$match", fhirJSON, params(`{"name":"count","valueInteger":3}`), 400, "required", "resource", ""},
		{"resource param empty", "POST", "/fhir/Patient/$match", fhirJSON, params(`{"name":"resource"}`), 400, "required", "no resource", ""},
		{"resource not a Patient", "POST", "/fhir/Patient/$match", fhirJSON, params(`{"name":"resource","resource":{"resourceType":"Person"}}`), 400, "invalid", "expected Patient", ""},
		{"resource twice", "POST", "/fhir/Patient/$match", fhirJSON, params(resourceParam, resourceParam), 400, "invalid", "more than once", ""},
		{"count zero", "POST", "/fhir/Patient/$match", fhirJSON, params(resourceParam, `{"name":"count","valueInteger":0}`), 400, "invalid", "positive integer", ""},
		{"count negative", "POST", "/fhir/Patient/$match", fhirJSON, params(resourceParam, `{"name":"count","valueInteger":-3}`), 400, "invalid", "positive integer", ""},
		{"count string", "POST", "/fhir/Patient/$match", fhirJSON, params(resourceParam, `{"name":"count","valueString":"3"}`), 400, "invalid", "positive integer", ""},
		{"count fraction", "POST", "/fhir/Patient/$match", fhirJSON, params(resourceParam, `{"name":"count","valueInteger":1.5}`), 400, "structure", "", ""},
		{"onlyCertain not boolean", "POST", "/fhir/Patient/$match", fhirJSON, params(resourceParam, `{"name":"onlyCertainMatches","valueString":"yes"}`), 400, "invalid", "valueBoolean", ""},
		{"unknown parameter", "POST", "/fhir/Patient/$match", fhirJSON, params(resourceParam, `{"name":"onlyCertainMatch","valueBoolean":true}`), 400, "not-supported", "unknown parameter", ""},
		{"bad _explain", "POST", "/fhir/Patient/$match?_explain=maybe", fhirJSON, patientJSON, 400, "invalid", "_explain", ""},
		{"patient field wrong type", "POST", "/fhir/Patient/$match", fhirJSON, `{"resourceType":"Patient","name":"Smith"}`, 400, "structure", "name", ""},
		{"bad gender code", "POST", "/fhir/Patient/$match", fhirJSON, `{"resourceType":"Patient","gender":"robot"}`, 400, "structure", "", ""},
		{"JSON sent as XML", "POST", "/fhir/Patient/$match", "application/fhir+xml", patientJSON, 400, "structure", "root element", ""},
		{"turtle media type", "POST", "/fhir/Patient/$match", "application/fhir+turtle", patientJSON, 415, "not-supported", "Content-Type", ""},
		{"text media type", "POST", "/fhir/Patient", "text/plain", patientJSON, 415, "not-supported", "", ""},
		{"bad media type", "POST", "/fhir/Patient", "a/b/c;;", patientJSON, 415, "not-supported", "", ""},
		{"too large", "POST", "/fhir/Patient/$match", fhirJSON, big, 413, "too-long", "1024", ""},
		{"GET on $match", "GET", "/fhir/Patient/$match", "", "", 405, "not-supported", "", "POST"},
		{"DELETE on $idi-match", "DELETE", "/fhir/Patient/$idi-match", "", "", 405, "not-supported", "", "POST"},
		{"POST on instance", "POST", "/fhir/Patient/abc", fhirJSON, patientJSON, 405, "not-supported", "", "GET, HEAD, PUT, DELETE"},
		{"unknown operation", "POST", "/fhir/Patient/$everything", fhirJSON, patientJSON, 404, "not-found", "operation", ""},
		{"unknown operation GET", "GET", "/fhir/Patient/$everything", "", "", 404, "not-found", "operation", ""},
		{"DELETE metadata", "DELETE", "/fhir/metadata", "", "", 405, "not-supported", "", "GET, HEAD"},
		{"PATCH patient", "PATCH", "/fhir/Patient/abc", fhirJSON, `{}`, 405, "not-supported", "", ""},
		{"unknown path", "GET", "/fhir/Observation/1", "", "", 404, "not-found", "no route", ""},
		{"unknown root", "GET", "/nothing", "", "", 404, "not-found", "", ""},
		{"invalid id", "GET", "/fhir/Patient/a_b", "", "", 400, "invalid", "valid FHIR id", ""},
		{"too long id", "GET", "/fhir/Patient/" + strings.Repeat("a", 65), "", "", 400, "invalid", "valid FHIR id", ""},
		{"missing patient", "GET", "/fhir/Patient/nobody", "", "", 404, "not-found", "not found", ""},
		{"delete missing", "DELETE", "/fhir/Patient/nobody", "", "", 404, "not-found", "", ""},
		{"PUT id mismatch", "PUT", "/fhir/Patient/p1", fhirJSON, `{"resourceType":"Patient","id":"p2","birthDate":"2000-01-01"}`, 400, "invalid", "id", ""},
		{"PUT wrong type", "PUT", "/fhir/Patient/p1", fhirJSON, `{"resourceType":"Bundle","type":"batch"}`, 400, "invalid", "expected Patient", ""},
		{"PUT engine invalid", "PUT", "/fhir/Patient/p1", fhirJSON, `{"resourceType":"Patient"}`, 400, "invalid", "no name", ""},
		{"POST create bad id", "POST", "/fhir/Patient", fhirJSON, `{"resourceType":"Patient","id":"a b"}`, 400, "invalid", "", ""},
		{"bundle not bundle", "POST", "/fhir", fhirJSON, patientJSON, 400, "invalid", "batch or transaction", ""},
		{"bundle wrong type", "POST", "/fhir", fhirJSON, `{"resourceType":"Bundle","type":"searchset"}`, 400, "not-supported", "", ""},
		{"bundle no type", "POST", "/fhir", fhirJSON, `{"resourceType":"Bundle"}`, 400, "required", "type", ""},
		{"bundle malformed", "POST", "/fhir", fhirJSON, `{"resourceType":"Bundle","entry":{}}`, 400, "structure", "", ""},
		{"transaction with DELETE", "POST", "/fhir", fhirJSON, `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Patient/x"}}]}`, 400, "not-supported", "DELETE", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := newFakeEngine()
			env := newTestEnv(t, eng, Options{MaxBodyBytes: 1024})
			resp, body := env.do(t, tc.method, tc.path, tc.ct, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != contentType {
				t.Errorf("Content-Type %q", ct)
			}
			oo := decodeOutcome(t, body)
			is := oo.Issue[0]
			if is.Severity != fm.IssueSeverityError {
				t.Errorf("severity %s", is.Severity.Code())
			}
			if is.Code.Code() != tc.code {
				t.Errorf("code %s, want %s (%s)", is.Code.Code(), tc.code, *is.Diagnostics)
			}
			if is.Diagnostics == nil || *is.Diagnostics == "" || !strings.Contains(*is.Diagnostics, tc.diagContain) {
				t.Errorf("diagnostics %v should mention %q", is.Diagnostics, tc.diagContain)
			}
			if tc.allow != "" && resp.Header.Get("Allow") != tc.allow {
				t.Errorf("Allow %q, want %q", resp.Header.Get("Allow"), tc.allow)
			}
			if eng.calls != 0 && tc.status != 200 {
				t.Errorf("engine Match called %d times for a bad request", eng.calls)
			}
		})
	}
}

func TestMediaTypesAccepted(t *testing.T) {
	for _, ct := range []string{"", fhirJSON, "application/json", "application/fhir+json; charset=utf-8", "application/json;charset=UTF-8", "application/json+fhir"} {
		env := newTestEnv(t, newFakeEngine(), Options{})
		resp, body := env.do(t, "POST", "/fhir/Patient/$match", ct, patientJSON)
		if resp.StatusCode != 200 {
			t.Errorf("Content-Type %q: status %d %s", ct, resp.StatusCode, body)
		}
	}
}

func TestEngineErrors(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{matcher.ErrInvalid, 400, "invalid"},
		{matcher.ErrClosed, 503, "transient"},
		{errBoom, 500, "exception"},
	}
	for _, tc := range tests {
		eng := newFakeEngine()
		eng.matchErr = tc.err
		env := newTestEnv(t, eng, Options{})
		resp, body := env.do(t, "POST", "/fhir/Patient/$match", fhirJSON, patientJSON)
		if resp.StatusCode != tc.status {
			t.Errorf("%v: status %d, want %d", tc.err, resp.StatusCode, tc.status)
		}
		oo := decodeOutcome(t, body)
		if oo.Issue[0].Code.Code() != tc.code {
			t.Errorf("%v: code %s", tc.err, oo.Issue[0].Code.Code())
		}
		if strings.Contains(string(body), "disk on fire") {
			t.Errorf("internal cause leaked to the client: %s", body)
		}
	}
}

func TestPanicRecovered(t *testing.T) {
	eng := newFakeEngine()
	eng.panicMsg = "Chalmers 1974-12-25"
	env := newTestEnv(t, eng, Options{})
	resp, body := env.do(t, "POST", "/fhir/Patient/$match", fhirJSON, patientJSON)
	if resp.StatusCode != 500 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	oo := decodeOutcome(t, body)
	if oo.Issue[0].Code.Code() != "exception" || oo.Issue[0].Severity != fm.IssueSeverityFatal {
		t.Errorf("issue %+v", oo.Issue[0])
	}
	logs := env.logs.String()
	if !strings.Contains(logs, "panic serving request") {
		t.Errorf("panic not logged: %s", logs)
	}
	// "1974-12-25", not "1974": hex addresses in the stack may hold 1974.
	if strings.Contains(logs, "Chalmers") || strings.Contains(logs, "1974-12-25") {
		t.Errorf("patient data in logs: %s", logs)
	}
	// The server still serves.
	eng.mu.Lock()
	eng.panicMsg = ""
	eng.mu.Unlock()
	if resp, _ := env.do(t, "POST", "/fhir/Patient/$match", fhirJSON, patientJSON); resp.StatusCode != 200 {
		t.Errorf("after panic: status %d", resp.StatusCode)
	}
}

// dropTime removes the timestamp from test log lines, so that checks that
// no patient data reached the log cannot trip over the clock's digits.
func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
