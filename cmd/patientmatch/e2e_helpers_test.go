package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patientmatch/patientmatch/internal/testsets"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pmv1 "github.com/patientmatch/patientmatch/api/patientmatch/v1"
	"github.com/patientmatch/patientmatch/internal/syncbuf"
)

// The end-to-end tests run the real server (serve) in-process on loopback
// ports chosen by the kernel, against a t.TempDir() data folder, and talk to
// it only through real clients: net/http and a gRPC client over TCP. This file
// holds the plumbing; serve_test.go holds the scenarios.

// lockedBuffer collects the server's log; slog writes from many goroutines.
type lockedBuffer = syncbuf.Buffer

// e2eServer is one running serve(...) call.
type e2eServer struct {
	httpBase string // http://127.0.0.1:PORT
	grpcAddr string
	log      *lockedBuffer
	cancel   context.CancelFunc
	done     chan error    // serve's result
	exited   chan struct{} // closed when serve has returned
	stopped  bool
	stopErr  error
}

// Guards against a hang in the end-to-end tests. They bound waits that end
// by themselves unless the server is broken, and are never speed bounds: a
// heavily loaded machine under the race detector is slow, not wrong.
const (
	e2eStartGuard = 5 * time.Minute // serve's start, demo load included
	e2eHangGuard  = 2 * time.Minute // one request, call or shutdown
)

// startServer runs serve with c (its addresses are forced to loopback port 0)
// and returns once both listeners are bound. The server is stopped at the end
// of the test if the test has not stopped it, and the test does not end
// while serve runs: its data folder (a t.TempDir) must not be removed under
// an engine still closing (that crashed a whole test binary once, with the
// server cancelled during its demo load).
func startServer(t testing.TB, c serveConfig) *e2eServer {
	t.Helper()
	if c.httpAddr == "" {
		c.httpAddr = "127.0.0.1:0"
	}
	if c.grpcAddr == "" {
		c.grpcAddr = "127.0.0.1:0"
	}
	if c.auth == "" {
		c.auth = "none"
	}
	if c.maxBody == 0 {
		c.maxBody = 1 << 20
	}
	if err := c.validate(); err != nil {
		t.Fatalf("serveConfig.validate: %v", err)
	}
	logs := &lockedBuffer{}
	env := &cliEnv{
		stdin:  strings.NewReader(""),
		stdout: io.Discard,
		stderr: logs,
		getenv: func(string) string { return "" },
	}
	ctx, cancel := context.WithCancel(context.Background())
	type addrs struct{ h, g string }
	ready := make(chan addrs, 1)
	s := &e2eServer{log: logs, cancel: cancel, done: make(chan error, 1), exited: make(chan struct{})}
	go func() {
		defer close(s.exited)
		s.done <- serve(ctx, env, c, func(h, g string) { ready <- addrs{h, g} })
	}()
	// Registered before the test can fail, so it runs on every way out.
	t.Cleanup(func() {
		if !s.stopped {
			if err := s.stop(e2eHangGuard); err != nil {
				t.Errorf("stopping server at cleanup: %v", err)
			}
		}
		cancel()
		select {
		case <-s.exited:
		case <-time.After(e2eStartGuard):
			t.Errorf("serve still running %v after it was stopped", e2eStartGuard)
		}
		if t.Failed() {
			t.Logf("server log (last lines):\n%s", tail(logs.String(), 40))
		}
	})
	select {
	case a := <-ready:
		s.httpBase, s.grpcAddr = "http://"+a.h, a.g
	case err := <-s.done:
		s.stopped, s.stopErr = true, err
		t.Fatalf("serve returned before it was ready: %v\nlog:\n%s", err, logs.String())
	// A hang guard, not a speed bound: on a shared machine (load average
	// 30 to 46 on 2 cores seen) under the race detector, opening a data
	// folder and loading demo patients took over 20s.
	case <-time.After(e2eStartGuard):
		t.Fatalf("serve not ready after %v\nlog:\n%s", e2eStartGuard, logs.String())
	}
	return s
}

// eventually polls cond every 100 ms until it holds, and reports whether
// it did before e2eHangGuard passed. It is for conditions that come by
// themselves (a node applying a write, a background catch-up): the guard
// ends a test whose condition never comes, and says nothing of speed.
// A count of polls was such a bound once, and a loaded machine under the
// race detector can be slower than any count chosen on a quiet one.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(e2eHangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stop cancels the server's context and waits up to within for serve to
// return; it returns serve's error, or a timeout error.
func (s *e2eServer) stop(within time.Duration) error {
	if s.stopped {
		return s.stopErr
	}
	s.stopped = true
	s.cancel()
	select {
	case err := <-s.done:
		s.stopErr = err
	case <-time.After(within):
		s.stopErr = fmt.Errorf("serve did not return within %v of cancel", within)
	}
	return s.stopErr
}

// httpResult is a finished HTTP exchange.
type httpResult struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic map, failing the test if it is not a
// JSON object.
func (r httpResult) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object (status %d): %v\n%s", r.status, err, r.body)
	}
	return m
}

// do sends one request to the server. body may be nil, a string, []byte or
// any value (marshalled to JSON). contentType "" sends application/fhir+json
// when there is a body; bearer "" sends no Authorization header.
func (s *e2eServer) do(t *testing.T, method, path string, body any, contentType, bearer string) httpResult {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal request: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), e2eHangGuard)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.httpBase+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if rd != nil {
		if contentType == "" {
			contentType = "application/fhir+json"
		}
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return httpResult{status: resp.StatusCode, header: resp.Header, body: raw}
}

// wantStatus fails the test unless r has status want.
func wantStatus(t *testing.T, what string, r httpResult, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d; body: %s", what, r.status, want, r.body)
	}
}

// wantOutcome checks that r is a FHIR OperationOutcome with an error or fatal
// issue, and returns its first issue code.
func wantOutcome(t *testing.T, what string, r httpResult) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		t.Errorf("%s: Content-Type %q, want application/fhir+json", what, ct)
	}
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Severity    string `json:"severity"`
			Code        string `json:"code"`
			Diagnostics string `json:"diagnostics"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(r.body, &oo); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", what, err, r.body)
	}
	if oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		t.Fatalf("%s: want an OperationOutcome with issues, got %s", what, r.body)
	}
	if sev := oo.Issue[0].Severity; sev != "error" && sev != "fatal" {
		t.Errorf("%s: issue severity %q, want error or fatal", what, sev)
	}
	if oo.Issue[0].Code == "" {
		t.Errorf("%s: issue without code: %s", what, r.body)
	}
	return oo.Issue[0].Code
}

// matchEntry is one entry of a $match searchset, reduced to what tests check.
type matchEntry struct {
	FullURL string
	ID      string
	Score   float64
	Grade   string
}

// searchset decodes a $match answer and checks its invariants: a searchset
// Bundle whose total equals its entry count, every entry with mode "match",
// an absolute fullUrl naming the resource, a score in (0,1], one match-grade,
// ordered by non-increasing score.
func searchset(t *testing.T, base string, r httpResult) []matchEntry {
	t.Helper()
	wantStatus(t, "$match", r, http.StatusOK)
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Total        *int   `json:"total"`
		Entry        []struct {
			FullURL  string `json:"fullUrl"`
			Resource struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			} `json:"resource"`
			Search struct {
				Mode      string   `json:"mode"`
				Score     *float64 `json:"score"`
				Extension []struct {
					URL       string `json:"url"`
					ValueCode string `json:"valueCode"`
				} `json:"extension"`
			} `json:"search"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("$match answer is not JSON: %v\n%s", err, r.body)
	}
	if b.ResourceType != "Bundle" || b.Type != "searchset" {
		t.Fatalf("$match answer is %s/%s, want Bundle/searchset", b.ResourceType, b.Type)
	}
	if b.Total == nil || *b.Total != len(b.Entry) {
		t.Errorf("$match total %v, want %d (the entry count)", b.Total, len(b.Entry))
	}
	out := make([]matchEntry, 0, len(b.Entry))
	for i, e := range b.Entry {
		if e.Resource.ResourceType != "Patient" || e.Resource.ID == "" {
			t.Fatalf("entry %d: resource %s/%q, want a Patient with id", i, e.Resource.ResourceType, e.Resource.ID)
		}
		if want := base + "/fhir/Patient/" + e.Resource.ID; e.FullURL != want {
			t.Errorf("entry %d: fullUrl %q, want %q", i, e.FullURL, want)
		}
		if e.Search.Mode != "match" {
			t.Errorf("entry %d: search.mode %q, want match", i, e.Search.Mode)
		}
		if e.Search.Score == nil || *e.Search.Score <= 0 || *e.Search.Score > 1 {
			t.Errorf("entry %d: score %v, want in (0,1]", i, e.Search.Score)
		}
		var grade string
		for _, x := range e.Search.Extension {
			if x.URL == "http://hl7.org/fhir/StructureDefinition/match-grade" {
				if grade != "" {
					t.Errorf("entry %d: two match-grade extensions", i)
				}
				grade = x.ValueCode
			}
		}
		switch grade {
		case "certain", "probable", "possible":
		default:
			t.Errorf("entry %d: match-grade %q, want certain|probable|possible", i, grade)
		}
		me := matchEntry{FullURL: e.FullURL, ID: e.Resource.ID, Grade: grade}
		if e.Search.Score != nil {
			me.Score = *e.Search.Score
		}
		if i > 0 && me.Score > out[i-1].Score {
			t.Errorf("entry %d: score %v above the previous %v: not ordered most likely first", i, me.Score, out[i-1].Score)
		}
		out = append(out, me)
	}
	return out
}

// matchParams wraps a Patient into $match Parameters with extra parameters
// (name → valueBoolean or valueInteger).
func matchParams(p map[string]any, extra map[string]any) map[string]any {
	params := []any{map[string]any{"name": "resource", "resource": p}}
	for name, v := range extra {
		switch v := v.(type) {
		case bool:
			params = append(params, map[string]any{"name": name, "valueBoolean": v})
		case int:
			params = append(params, map[string]any{"name": name, "valueInteger": v})
		}
	}
	return map[string]any{"resourceType": "Parameters", "parameter": params}
}

// person is a test patient, written once and used in every API's shape.
type person struct {
	id, family      string
	given           []string
	gender, birth   string
	line, city      string
	state, postal   string
	phone, email    string
	ssn             string
	phoneUnverified bool
}

// patient is p as a FHIR Patient resource (a JSON object).
func (p person) patient() map[string]any {
	m := map[string]any{
		"resourceType": "Patient",
		"name":         []any{map[string]any{"family": p.family, "given": p.given}},
		"gender":       p.gender,
		"birthDate":    p.birth,
		"address": []any{map[string]any{
			"line": []string{p.line}, "city": p.city, "state": p.state, "postalCode": p.postal, "country": "US",
		}},
	}
	if p.id != "" {
		m["id"] = p.id
	}
	var tel []any
	if p.phone != "" {
		tel = append(tel, map[string]any{"system": "phone", "value": p.phone})
	}
	if p.email != "" {
		tel = append(tel, map[string]any{"system": "email", "value": p.email})
	}
	if len(tel) > 0 {
		m["telecom"] = tel
	}
	if p.ssn != "" {
		m["identifier"] = []any{map[string]any{
			"type":   map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "SS"}}},
			"system": "http://hl7.org/fhir/sid/us-ssn",
			"value":  p.ssn,
		}}
	}
	return m
}

// demographics is p as gRPC structured demographics.
func (p person) demographics() *pmv1.Demographics {
	sex := pmv1.Sex_SEX_UNSPECIFIED
	switch p.gender {
	case "male":
		sex = pmv1.Sex_SEX_MALE
	case "female":
		sex = pmv1.Sex_SEX_FEMALE
	}
	d := &pmv1.Demographics{
		Family: p.family, Given: p.given, BirthDate: p.birth, Sex: sex,
		Address: &pmv1.Address{Lines: []string{p.line}, City: p.city, State: p.state, PostalCode: p.postal, Country: "US"},
		Phone:   p.phone, Email: p.email,
	}
	if p.ssn != "" {
		d.Identifiers = []*pmv1.Identifier{{System: "http://hl7.org/fhir/sid/us-ssn", TypeCode: "SS", Value: p.ssn}}
	}
	return d
}

// oidcClaims is p as OpenID Connect standard claims.
func (p person) oidcClaims() map[string]any {
	c := map[string]any{
		"given_name":  strings.Join(p.given, " "),
		"family_name": p.family,
		"birthdate":   p.birth,
		"gender":      p.gender,
		"address": map[string]any{
			"street_address": p.line, "locality": p.city, "region": p.state, "postal_code": p.postal, "country": "US",
		},
	}
	if p.phone != "" {
		c["phone_number"] = p.phone
		c["phone_number_verified"] = !p.phoneUnverified
	}
	if p.email != "" {
		c["email"] = p.email
		c["email_verified"] = true
	}
	return c
}

// writeDemoFile writes the first n patients of the bundled demo data (a
// realistic background population for the scorer's term frequencies and
// blocking) into dir and returns the file and the ids it holds. It skips the
// test when the bundled demo data is absent.
func writeDemoFile(t *testing.T, dir string, n int) (string, []string) {
	t.Helper()
	src := filepath.Join(testsets.ModuleRoot(t), "testdata", "demo", "patients.ndjson")
	f, err := os.Open(src)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("bundled demo data %s absent", src)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	var ids []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for len(ids) < n && sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var p struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(line, &p); err != nil || p.ID == "" {
			t.Fatalf("demo line %d unreadable: %v", len(ids)+1, err)
		}
		ids = append(ids, p.ID)
		out.Write(line)
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "demo.ndjson")
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, ids
}

// writeJWKS writes the public half of key as a one-key JWKS file.
func writeJWKS(t *testing.T, dir, name, kid string, alg jose.SignatureAlgorithm, pub crypto.PublicKey) string {
	t.Helper()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Algorithm: string(alg), Use: "sig"}}}
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// signJWT signs claims as a compact JWT with key, alg and kid.
func signJWT(t *testing.T, alg jose.SignatureAlgorithm, key crypto.Signer, kid string, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return tok
}

// timeClaims returns iss, sub, aud and times valid now for lifetime (negative
// lifetime: expired that long ago), merged with extra.
func timeClaims(iss, sub string, lifetime time.Duration, extra map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": iss, "sub": sub, "aud": "patientmatch", "iat": now.Add(-time.Minute).Unix()}
	if lifetime >= 0 {
		c["exp"] = now.Add(lifetime).Unix()
	} else {
		c["iat"] = now.Add(2 * lifetime).Unix()
		c["exp"] = now.Add(lifetime).Unix()
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// dialGRPC connects a PatientMatch client over TCP without TLS.
func dialGRPC(t testing.TB, addr string) (*grpc.ClientConn, pmv1.PatientMatchClient) {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc, pmv1.NewPatientMatchClient(cc)
}

// rpcCtx is a call context with a deadline and, when bearer is set, the
// authorization metadata.
func rpcCtx(t *testing.T, bearer string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eHangGuard)
	t.Cleanup(cancel)
	if bearer != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+bearer)
	}
	return ctx
}

// gradeName maps a gRPC grade to the FHIR code.
func gradeName(g pmv1.Grade) string {
	switch g {
	case pmv1.Grade_GRADE_CERTAIN:
		return "certain"
	case pmv1.Grade_GRADE_PROBABLE:
		return "probable"
	case pmv1.Grade_GRADE_POSSIBLE:
		return "possible"
	}
	return ""
}

// explanationCaps decodes an explained $match answer into each entry's cap
// part (the match-explanation extension's {"url": "cap", "valueCode": rule};
// "" when the entry has none), by patient id. It fails the test when an
// entry has no explanation, or when a part of it is not a valid FHIR
// Extension (a url, then a value[x] or nested extensions, never both).
func explanationCaps(t *testing.T, r httpResult) map[string]string {
	t.Helper()
	wantStatus(t, "$match", r, http.StatusOK)
	var b struct {
		Entry []struct {
			Resource struct {
				ID string `json:"id"`
			} `json:"resource"`
			Search struct {
				Extension []map[string]json.RawMessage `json:"extension"`
			} `json:"search"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("$match answer is not JSON: %v\n%s", err, r.body)
	}
	caps := make(map[string]string, len(b.Entry))
	for _, e := range b.Entry {
		var parts []map[string]json.RawMessage
		found := false
		for _, x := range e.Search.Extension {
			if string(x["url"]) == `"http://patientmatch.dev/fhir/StructureDefinition/match-explanation"` {
				found = true
				if err := json.Unmarshal(x["extension"], &parts); err != nil {
					t.Fatalf("%s: explanation parts: %v", e.Resource.ID, err)
				}
			}
		}
		if !found {
			t.Fatalf("%s: no match-explanation extension in an explained answer", e.Resource.ID)
		}
		caps[e.Resource.ID] = ""
		for _, p := range parts {
			wantExtension(t, e.Resource.ID, p)
			if string(p["url"]) == `"cap"` {
				var rule string
				if err := json.Unmarshal(p["valueCode"], &rule); err != nil || rule == "" {
					t.Fatalf("%s: cap part without a valueCode: %v", e.Resource.ID, p)
				}
				caps[e.Resource.ID] = rule
			}
		}
	}
	return caps
}

// wantExtension fails the test unless x is a FHIR Extension: a url and
// either one value[x] or nested extensions (each one an Extension too).
func wantExtension(t *testing.T, where string, x map[string]json.RawMessage) {
	t.Helper()
	values, nested := 0, x["extension"] != nil
	for k := range x {
		if strings.HasPrefix(k, "value") {
			values++
		} else if k != "url" && k != "extension" {
			t.Errorf("%s: extension %v has an unknown key %q", where, x, k)
		}
	}
	if x["url"] == nil || (values == 1) == nested || values > 1 {
		t.Errorf("%s: extension %v: want a url and either one value[x] or nested extensions", where, x)
	}
	if nested {
		var sub []map[string]json.RawMessage
		if err := json.Unmarshal(x["extension"], &sub); err != nil {
			t.Fatalf("%s: nested extensions: %v", where, err)
		}
		for _, s := range sub {
			wantExtension(t, where, s)
		}
	}
}
