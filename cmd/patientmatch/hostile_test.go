package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	pmv1 "github.com/patientmatch/patientmatch/api/patientmatch/v1"
)

// hostileBodies are request bodies an attacker or a broken client sends.
func hostileBodies() []string {
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	deepObj := strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
	var ids []string
	for i := range 150 {
		ids = append(ids, fmt.Sprintf(`{"system":"urn:x","value":"V%05d"}`, i))
	}
	return []string{
		``, `null`, `[]`, `{}`, `"x"`, `12`, `{`, deep, deepObj,
		`{"resourceType":"Patient"}`,
		`{"resourceType":"Patient","birthDate":"yesterday","name":[{"family":"X"}]}`,
		`{"resourceType":"Patient","birthDate":99999,"name":"x"}`,
		`{"resourceType":"Patient","name":[{"family":"X"}],"identifier":[` + strings.Join(ids, ",") + `]}`,
		`{"resourceType":"Patient","name":[{"family":"` + strings.Repeat("A", 200000) + `"}]}`,
		"{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"\xff\xfe\"}]}",
		`{"resourceType":"Patient","id":"../../etc/passwd","name":[{"family":"X"}]}`,
		`{"resourceType":"Patient","gender":"robot","name":[{"family":"X"}]}`,
		`{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Parameters"}}]}`,
		`{"resourceType":"Parameters","parameter":[{"name":"count","valueInteger":-5}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"PATCH","url":"Patient/x"}}]}`,
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"DELETE","url":"Patient/../x"}}]}`,
		`{"claims":{"birthdate":"` + strings.Repeat("9", 1000) + `"}}`,
		`{"id_token":"a.b.c"}`,
		`{"id_token":"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}`,
		`{"claims":{},"id_token":"x"}`,
		`{"decision":"maybe"}`,
	}
}

// TestHostileInput is issue 14's hostile-input suite: hundreds of malformed
// requests against every HTTP endpoint and gRPC method of the real server.
// None may answer 5xx / INTERNAL / UNKNOWN or crash it, and it must still
// serve correctly afterwards.
func TestHostileInput(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	op := idp{key: key, jwks: writeJWKS(t, dir, "idp.jwks.json", "idp-1", jose.RS256, &key.PublicKey)}
	cfg := serveConfig{data: filepath.Join(dir, "data"), auth: "none",
		trust: multiFlag{e2eIssuer + "=" + op.jwks}, idTokenAud: multiFlag{"patientmatch"}}
	cfg.security.auditFile = filepath.Join(dir, "audit.jsonl")
	s := startServer(t, cfg)
	seedPeople(t, s, "", e2ePeter, e2eRosa)

	endpoints := []struct{ method, path string }{
		{"POST", "/fhir/Patient/$match"}, {"POST", "/fhir/Patient/$idi-match"}, {"PUT", "/fhir/Patient/h1"},
		{"POST", "/fhir/Patient"}, {"POST", "/fhir"}, {"POST", "/match/claims"}, {"POST", "/fhir/Patient/$merge"},
		{"POST", "/review/x/decision"}, {"POST", "/fhir/Patient/pm-rosa"}, {"PUT", "/fhir/Patient/$match"},
		{"POST", "/fhir/Person"}, {"DELETE", "/match/links"},
	}
	n, fivexx := 0, 0
	client := &http.Client{Timeout: e2eHangGuard}
	send := func(method, path, ct string, body string, hdr map[string]string) {
		n++
		req, err := http.NewRequest(method, s.httpBase+path, strings.NewReader(body))
		if err != nil {
			t.Fatalf("request %s %q: %v", method, path, err)
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			// A closed connection for an oversized header block is an
			// answer too; anything else means the server is gone.
			if strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "EOF") {
				return
			}
			t.Fatalf("%s %q: %v", method, path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			fivexx++
			t.Errorf("%s %q (%s, %d bytes): status %d", method, truncateForLog(path), ct, len(body), resp.StatusCode)
		}
	}
	for _, e := range endpoints {
		for _, b := range hostileBodies() {
			send(e.method, e.path, "application/fhir+json", b, nil)
		}
		send(e.method, e.path, "text/plain", `{"resourceType":"Patient"}`, nil)
		send(e.method, e.path, "application/fhir+json; charset=ebcdic", `{}`, nil)
		send(e.method, e.path, "", `{}`, map[string]string{"Origin": "http://evil.example"})
	}
	paths := []string{"/", "/fhir", "/fhir/", "/fhir/Patient", "/fhir/Patient/", "/fhir/Patient/%00", "/fhir/Patient/" + strings.Repeat("a", 5000),
		"/fhir/Patient/../../x", "/fhir//Patient/pm-rosa", "/fhir/Patient/pm-rosa/_history/abc", "/fhir/Patient/pm-rosa/_history/99999999999999999999",
		"/fhir/Patient?identifier=" + strings.Repeat("|", 500), "/fhir/Patient?_count=-1", "/fhir/Patient?birthdate=yesterday", "/fhir/Patient?_count=99999999999",
		"/fhir/Person?patient=Patient/../x", "/fhir/Person/" + strings.Repeat("x", 100), "/match/links?_count=0", "/match/links?_offset=-3",
		"/match/links?patient=" + strings.Repeat("%", 3), "/review?_count=abc", "/review/", "/metrics?x=" + strings.Repeat("y", 3000),
		"/fhir/metadata?_format=xml", "/fhir/Patient/$match?_explain=maybe", "/healthz/../readyz", "/%2e%2e/fhir"}
	for _, p := range paths {
		for _, m := range []string{"GET", "HEAD", "DELETE", "OPTIONS", "PATCH", "TRACE"} {
			send(m, p, "", "", nil)
		}
	}
	for _, hdr := range []map[string]string{
		{"X-Junk": strings.Repeat("a", 100<<10)},
		{"Host": "evil.example"},
		{"Sec-Fetch-Site": "cross-site"},
		{"Accept": strings.Repeat("application/*;q=", 100)},
		{"If-Match": `W/"not-a-number"`},
		{"Authorization": "Bearer " + strings.Repeat("x.", 40000)},
		{"Content-Length": "99999999999"},
		{"X-Forwarded-For": "1.2.3.4, evil", "X-Forwarded-Host": "evil.example"},
	} {
		for _, e := range endpoints[:4] {
			send(e.method, e.path, "application/fhir+json", `{"resourceType":"Patient","name":[{"family":"X"}]}`, hdr)
		}
	}

	g := hostileGRPC(t, s)
	t.Logf("hostile suite: %d HTTP requests (%d 5xx), %d gRPC calls", n, fivexx, g)
	if n+g < 300 {
		t.Errorf("only %d hostile requests", n+g)
	}

	// Still healthy, still right.
	wantStatus(t, "healthz after", s.do(t, "GET", "/healthz", nil, "", ""), 200)
	wantStatus(t, "readyz after", s.do(t, "GET", "/readyz", nil, "", ""), 200)
	r := s.do(t, "POST", "/fhir/Patient/$match", matchParams(e2eRosa.patient(), nil), "", "")
	wantStatus(t, "$match after", r, 200)
	if !strings.Contains(string(r.body), `"pm-rosa"`) {
		t.Errorf("Rosa no longer matches after the hostile suite: %s", r.body)
	}
	if err := s.stop(e2eHangGuard); err != nil {
		t.Fatal(err)
	}
	env, _, stderr := testEnv()
	if code := run(context.Background(), env, []string{"audit", "verify", cfg.security.auditFile}); code != 0 {
		t.Errorf("audit trail after the hostile suite does not verify: %s", stderr.String())
	}
}

func truncateForLog(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// hostileGRPC sends malformed calls to every PatientMatch method and
// returns how many; INTERNAL and UNKNOWN are failures.
func hostileGRPC(t *testing.T, s *e2eServer) int {
	_, c := dialGRPC(t, s.grpcAddr)
	n := 0
	check := func(what string, err error) {
		n++
		switch status.Code(err) {
		case codes.Internal, codes.Unknown, codes.Unavailable:
			t.Errorf("gRPC %s: %v", what, err)
		}
	}
	var ids []*pmv1.Identifier
	for i := range 150 {
		ids = append(ids, &pmv1.Identifier{Value: fmt.Sprint("V", i)})
	}
	demos := []*pmv1.Demographics{
		{}, {Family: strings.Repeat("x", 100000)}, {BirthDate: "yesterday"}, {BirthDate: "99999-01-01"},
		{Given: make([]string, 500)}, {Identifiers: ids}, {Identifiers: []*pmv1.Identifier{{}}},
		{Sex: pmv1.Sex(99)}, {Family: "\u0000\u202e"}, {Address: &pmv1.Address{Lines: make([]string, 200)}},
		{Phone: strings.Repeat("9", 5000)}, {Email: "@@@"},
	}
	for _, d := range demos {
		for _, count := range []int32{-1, 0, 1, 1 << 30} {
			_, err := c.Match(rpcCtx(t, ""), &pmv1.MatchRequest{Subject: &pmv1.MatchRequest_Demographics{Demographics: d}, Count: count, MinGrade: pmv1.Grade(count)})
			check("Match", err)
		}
	}
	for _, b := range hostileBodies() {
		_, err := c.Match(rpcCtx(t, ""), &pmv1.MatchRequest{Subject: &pmv1.MatchRequest_PatientJson{PatientJson: strings.ToValidUTF8(b, "?")}})
		check("Match patient_json", err)
		_, err = c.Upsert(rpcCtx(t, ""), &pmv1.UpsertRequest{PatientJson: strings.ToValidUTF8(b, "?")})
		check("Upsert", err)
		_, err = c.MatchClaims(rpcCtx(t, ""), &pmv1.MatchClaimsRequest{Identity: &pmv1.MatchClaimsRequest_IdToken{IdToken: strings.ToValidUTF8(b, "?")}, Link: true})
		check("MatchClaims id_token", err)
	}
	for _, claims := range []map[string]any{{}, {"birthdate": "x"}, {"address": 5}, {"email_verified": "perhaps", "email": "a@b"}, {"given_name": strings.Repeat("z", 50000)}} {
		st, err := structpb.NewStruct(claims)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.MatchClaims(rpcCtx(t, ""), &pmv1.MatchClaimsRequest{Identity: &pmv1.MatchClaimsRequest_Claims{Claims: st}})
		check("MatchClaims claims", err)
	}
	for _, id := range []string{"", "../x", strings.Repeat("a", 65), "a b", "$match", "pm-rosa\x00"} {
		_, err := c.Get(rpcCtx(t, ""), &pmv1.GetRequest{Id: strings.ToValidUTF8(id, "?")})
		check("Get", err)
		_, err = c.Delete(rpcCtx(t, ""), &pmv1.DeleteRequest{Id: strings.ToValidUTF8(id, "?") + "-nope"})
		check("Delete", err)
	}
	stream, err := c.MatchStream(rpcCtx(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range demos {
		if err := stream.Send(&pmv1.MatchStreamRequest{RequestId: fmt.Sprint(i), Match: &pmv1.MatchRequest{Subject: &pmv1.MatchRequest_Demographics{Demographics: d}}}); err != nil {
			t.Fatal(err)
		}
		n++
	}
	_ = stream.Send(&pmv1.MatchStreamRequest{RequestId: "nil"})
	n++
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			check("MatchStream", err)
			break
		}
	}
	return n
}
