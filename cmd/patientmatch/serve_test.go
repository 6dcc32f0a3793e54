package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	pmv1 "github.com/patientmatch/patientmatch/api/patientmatch/v1"
	"github.com/patientmatch/patientmatch/grpcapi"
	"github.com/patientmatch/patientmatch/matcher"
)

// The people of the end-to-end scenarios. Peter and Jane are spouses (one
// household: address, phone, family name); Liam and Noah are twins (same
// birth date, address and phone, different given names); Oscar is deleted
// during the test; Rosa and Ines arrive in a transaction Bundle.
var (
	e2ePeter = person{id: "pm-peter", family: "Chalmers", given: []string{"Peter", "James"}, gender: "male", birth: "1974-12-25",
		line: "534 Erewhon St", city: "Pleasantville", state: "VT", postal: "05401",
		phone: "802-555-0147", email: "peter.chalmers@example.net", ssn: "531-24-7719"}
	e2eJane = person{id: "pm-jane", family: "Chalmers", given: []string{"Jane", "Marie"}, gender: "female", birth: "1976-03-02",
		line: "534 Erewhon St", city: "Pleasantville", state: "VT", postal: "05401",
		phone: "802-555-0147", email: "jane.m.chalmers@example.org", ssn: "531-24-8802"}
	e2eLiam = person{id: "pm-liam", family: "Okonkwo", given: []string{"Liam"}, gender: "male", birth: "2011-06-15",
		line: "88 Birchwood Ave", city: "Fairview", state: "OR", postal: "97024", phone: "503-555-0182"}
	e2eNoah = person{id: "pm-noah", family: "Okonkwo", given: []string{"Noah"}, gender: "male", birth: "2011-06-15",
		line: "88 Birchwood Ave", city: "Fairview", state: "OR", postal: "97024", phone: "503-555-0182"}
	e2eOscar = person{id: "pm-oscar", family: "Delgado", given: []string{"Oscar"}, gender: "male", birth: "1959-09-09",
		line: "17 Harbor Rd", city: "Mystic", state: "CT", postal: "06355", phone: "860-555-0110"}
	e2eRosa = person{id: "pm-rosa", family: "Whitfield", given: []string{"Rosa"}, gender: "female", birth: "1988-01-30",
		line: "2 Quarry Ln", city: "Barre", state: "VT", postal: "05641", phone: "802-555-0911"}
	e2eInes = person{id: "pm-ines", family: "Marquez", given: []string{"Ines"}, gender: "female", birth: "1992-11-04",
		line: "40 Canal St", city: "Lowell", state: "MA", postal: "01852", phone: "978-555-0133"}
)

// petersTypo is how a registration clerk might type Peter: a nickname, a
// dropped letter in the family name, no middle name, no identifier, no e-mail.
func petersTypo() person {
	p := e2ePeter
	p.id, p.given, p.family, p.ssn, p.email = "", []string{"Pete"}, "Chalmrs", "", ""
	return p
}

// asQuery drops p's id so it can be sent as a $match input.
func asQuery(p person) person { p.id = ""; return p }

const e2eIssuer = "https://idp.example.test"

// claimsAnswer is the JSON answer of POST /match/claims.
type claimsAnswer struct {
	Decision   string  `json:"decision"`
	Patient    string  `json:"patient"`
	FHIRUser   string  `json:"fhirUser"`
	Score      float64 `json:"score"`
	Grade      string  `json:"grade"`
	LinkStatus string  `json:"link_status"`
	Candidates []struct {
		Patient string  `json:"patient"`
		Score   float64 `json:"score"`
		Grade   string  `json:"grade"`
	} `json:"candidates"`
}

func postClaims(t *testing.T, s *e2eServer, body map[string]any) claimsAnswer {
	t.Helper()
	r := s.do(t, http.MethodPost, "/match/claims", body, "application/json", "")
	wantStatus(t, "/match/claims", r, http.StatusOK)
	var a claimsAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("/match/claims answer: %v\n%s", err, r.body)
	}
	return a
}

// idp is the OpenID provider the claims scenarios trust.
type idp struct {
	key  *rsa.PrivateKey
	jwks string
}

func (p idp) token(t *testing.T, sub string, lifetime time.Duration, extra map[string]any) string {
	t.Helper()
	return signJWT(t, jose.RS256, p.key, "idp-1", timeClaims(e2eIssuer, sub, lifetime, extra))
}

// TestServeE2E runs the server as `patientmatch serve --demo` would, with a
// trusted ID-token issuer, then drives HTTP, /match/claims and gRPC against it,
// stops it, restarts it on the same data folder and checks what survived.
func TestServeE2E(t *testing.T) {
	dir := t.TempDir()
	demo, demoIDs := writeDemoFile(t, dir, 40)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	op := idp{key: key, jwks: writeJWKS(t, dir, "idp.jwks.json", "idp-1", jose.RS256, &key.PublicKey)}
	cfg := serveConfig{
		data:       filepath.Join(dir, "data"),
		demo:       true,
		demoFile:   demo,
		auth:       "none",
		trust:      multiFlag{e2eIssuer + "=" + op.jwks},
		idTokenAud: multiFlag{"patientmatch"},
		maxBody:    32 << 10,
	}
	srv := startServer(t, cfg)
	if !strings.Contains(srv.log.String(), "demo patients loaded") {
		t.Errorf("first start on an empty folder did not log the demo load")
	}

	if !t.Run("HTTP/put-get", func(t *testing.T) { testPutGet(t, srv, demoIDs) }) {
		t.FailNow()
	}
	t.Run("HTTP/match", func(t *testing.T) { testHTTPMatch(t, srv) })
	t.Run("HTTP/twins", func(t *testing.T) { testHTTPTwins(t, srv) })
	t.Run("HTTP/onlyCertainMatches", func(t *testing.T) { testOnlyCertain(t, srv) })
	t.Run("HTTP/delete", func(t *testing.T) { testHTTPDelete(t, srv) })
	t.Run("HTTP/transaction", func(t *testing.T) { testTransaction(t, srv) })
	t.Run("HTTP/errors", func(t *testing.T) { testHTTPErrors(t, srv) })
	t.Run("HTTP/operations", func(t *testing.T) { testOperations(t, srv) })
	t.Run("Claims/link", func(t *testing.T) { testClaimsLink(t, srv, op) })
	t.Run("Claims/invalid-token", func(t *testing.T) { testClaimsInvalidToken(t, srv, op) })
	t.Run("Claims/twins", func(t *testing.T) { testClaimsTwins(t, srv, op) })
	t.Run("GRPC/match-get", func(t *testing.T) { testGRPCMatchGet(t, srv) })
	t.Run("GRPC/twins", func(t *testing.T) { testGRPCTwins(t, srv) })
	t.Run("GRPC/health-reflection", func(t *testing.T) { testGRPCHealthReflection(t, srv) })
	t.Run("GRPC/stream", func(t *testing.T) { testGRPCStream(t, srv) })
	t.Run("GRPC/agrees-with-HTTP", func(t *testing.T) { testGRPCAgreesWithHTTP(t, srv) })

	// Patient data must never reach the log: no demographics from requests,
	// ID tokens or the store.
	for _, secret := range []string{"Chalmers", "Chalmrs", "Okonkwo", "Erewhon", "802-555-0147", e2ePeter.ssn} {
		if strings.Contains(srv.log.String(), secret) {
			t.Errorf("server log contains patient data %q", secret)
		}
	}

	// Graceful shutdown: serve returns nil once its context ends, without
	// waiting out its budget for an idle keep-alive HTTP connection or an
	// open gRPC connection (it would log that it cut them off).
	_, gc := dialGRPC(t, srv.grpcAddr)
	if _, err := gc.Get(rpcCtx(t, ""), &pmv1.GetRequest{Id: e2eJane.id}); err != nil {
		t.Fatalf("Get before shutdown: %v", err)
	}
	wantStatus(t, "GET before shutdown", srv.do(t, http.MethodGet, "/fhir/Patient/"+e2eJane.id, nil, "", ""), http.StatusOK)
	start := time.Now()
	if err := srv.stop(e2eHangGuard); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
	t.Logf("serve returned %v after cancel", time.Since(start).Round(time.Millisecond))
	if strings.Contains(srv.log.String(), "graceful stop cut short") {
		t.Errorf("idle connections held up the graceful stop until its budget ran out")
	}

	// Restart on the same folder: the store, the index and the identity links
	// are all still there, and the demo is not loaded again.
	srv2 := startServer(t, cfg)
	t.Run("Restart", func(t *testing.T) { testRestart(t, srv2, op) })
	if strings.Contains(srv2.log.String(), "demo patients loaded") {
		t.Errorf("restart reloaded the demo into a non-empty store")
	}
	if err := srv2.stop(e2eHangGuard); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}

	// The folder reopens cleanly outside the server, holding what the API
	// left there.
	eng, err := matcher.Open(cfg.data, matcher.Options{})
	if err != nil {
		t.Fatalf("reopening the data folder: %v", err)
	}
	defer eng.Close()
	ctx := context.Background()
	if _, err := eng.Get(ctx, e2eJane.id); err != nil {
		t.Errorf("Jane after restart: %v", err)
	}
	for _, gone := range []string{e2ePeter.id, e2eOscar.id} {
		if _, err := eng.Get(ctx, gone); !errors.Is(err, matcher.ErrNotFound) {
			t.Errorf("deleted %s: Get error %v, want ErrNotFound", gone, err)
		}
	}
	// 40 demo + Jane, Liam, Noah, Rosa, Ines (Peter and Oscar deleted).
	if got, want := eng.Len(), len(demoIDs)+5; got != want {
		t.Errorf("reopened store holds %d patients, want %d", got, want)
	}
}

func testPutGet(t *testing.T, s *e2eServer, demoIDs []string) {
	for _, p := range []person{e2ePeter, e2eJane, e2eLiam, e2eNoah, e2eOscar} {
		r := s.do(t, http.MethodPut, "/fhir/Patient/"+p.id, p.patient(), "", "")
		wantStatus(t, "PUT "+p.id, r, http.StatusCreated)
		if got := r.header.Get("ETag"); got != `W/"1"` {
			t.Errorf("PUT %s: ETag %q, want W/\"1\"", p.id, got)
		}
		if got, want := r.header.Get("Location"), s.httpBase+"/fhir/Patient/"+p.id+"/_history/1"; got != want {
			t.Errorf("PUT %s: Location %q, want %q", p.id, got, want)
		}
		if id, _ := r.json(t)["id"].(string); id != p.id {
			t.Errorf("PUT %s: body id %q", p.id, id)
		}
	}
	// The same body again changes nothing: 200, same version.
	r := s.do(t, http.MethodPut, "/fhir/Patient/"+e2ePeter.id, e2ePeter.patient(), "application/json", "")
	wantStatus(t, "PUT again", r, http.StatusOK)
	if got := r.header.Get("ETag"); got != `W/"1"` {
		t.Errorf("identical PUT: ETag %q, want W/\"1\" (unchanged)", got)
	}

	r = s.do(t, http.MethodGet, "/fhir/Patient/"+e2eJane.id, nil, "", "")
	wantStatus(t, "GET jane", r, http.StatusOK)
	if r.header.Get("ETag") == "" {
		t.Errorf("GET without ETag")
	}
	var got struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		BirthDate    string `json:"birthDate"`
		Name         []struct {
			Family string   `json:"family"`
			Given  []string `json:"given"`
		} `json:"name"`
		Meta struct {
			VersionID string `json:"versionId"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.ResourceType != "Patient" || got.ID != e2eJane.id || got.BirthDate != e2eJane.birth ||
		len(got.Name) != 1 || got.Name[0].Family != e2eJane.family || !slices.Equal(got.Name[0].Given, e2eJane.given) || got.Meta.VersionID != "1" {
		t.Errorf("GET jane returned %s", r.body)
	}
	// The demo load went through the same store.
	wantStatus(t, "GET demo patient", s.do(t, http.MethodGet, "/fhir/Patient/"+demoIDs[0], nil, "", ""), http.StatusOK)
}

func testHTTPMatch(t *testing.T, s *e2eServer) {
	entries := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", matchParams(petersTypo().patient(), nil), "", ""))
	if len(entries) == 0 {
		t.Fatalf("no match for a typo'd Peter")
	}
	if entries[0].ID != e2ePeter.id {
		t.Fatalf("best match for a typo'd Peter is %s (%s %.4f), want %s; all: %+v", entries[0].ID, entries[0].Grade, entries[0].Score, e2ePeter.id, entries)
	}
	if g := entries[0].Grade; g != "certain" && g != "probable" {
		t.Errorf("typo'd Peter graded %s, want probable or certain", g)
	}
	for _, e := range entries[1:] {
		if e.Grade == "certain" {
			t.Errorf("%s is also certain for a typo'd Peter", e.ID)
		}
	}
	// A bare Patient body is accepted as well and answers the same.
	bare := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", petersTypo().patient(), "application/json", ""))
	if len(bare) != len(entries) || bare[0].ID != entries[0].ID || bare[0].Grade != entries[0].Grade {
		t.Errorf("bare Patient answer %+v differs from Parameters answer %+v", bare, entries)
	}
	// The exact record with its SSN is certain for Peter and not for his
	// spouse, whatever household fields they share.
	exact := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", matchParams(asQuery(e2ePeter).patient(), nil), "", ""))
	if len(exact) == 0 || exact[0].ID != e2ePeter.id || exact[0].Grade != "certain" {
		t.Fatalf("exact Peter: %+v, want %s certain first", exact, e2ePeter.id)
	}
	for _, e := range exact {
		if e.ID == e2eJane.id && (e.Grade == "certain" || e.Grade == "probable") {
			t.Errorf("spouse graded %s for Peter", e.Grade)
		}
	}
	// count caps the entries.
	one := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", matchParams(petersTypo().patient(), map[string]any{"count": 1}), "", ""))
	if len(one) != 1 || one[0].ID != e2ePeter.id {
		t.Errorf("count 1: %+v", one)
	}
	// Nobody like this: 200 with an empty searchset.
	stranger := person{family: "Zyxwvut", given: []string{"Quintavius"}, gender: "other", birth: "1901-02-03",
		line: "1 Nowhere Pl", city: "Atlantis", state: "HI", postal: "96999"}
	if none := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", matchParams(stranger.patient(), nil), "", "")); len(none) != 0 {
		t.Errorf("a stranger matched %+v", none)
	}
}

func testHTTPTwins(t *testing.T, s *e2eServer) {
	for _, tc := range []struct{ self, twin person }{{e2eLiam, e2eNoah}, {e2eNoah, e2eLiam}} {
		entries := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", matchParams(asQuery(tc.self).patient(), nil), "", ""))
		if len(entries) == 0 || entries[0].ID != tc.self.id {
			t.Errorf("%s's own record: best %+v, want %s first", tc.self.given[0], entries, tc.self.id)
			continue
		}
		for _, e := range entries {
			if e.ID == tc.twin.id && e.Grade == "certain" {
				t.Errorf("twin %s graded certain for %s (score %v)", tc.twin.id, tc.self.id, e.Score)
			}
		}
		// Explained, the twin's entry names the rule that holds it at
		// possible; the exact match's has no cap part.
		r := s.do(t, http.MethodPost, "/fhir/Patient/$match?_explain=true", matchParams(asQuery(tc.self).patient(), nil), "", "")
		explained := searchset(t, s.httpBase, r)
		caps := explanationCaps(t, r)
		if got := gradeOf(explained, tc.twin.id); got != "possible" || caps[tc.twin.id] != "twins" {
			t.Errorf("twin %s for %s: grade %q cap %q, want possible capped by twins", tc.twin.id, tc.self.id, got, caps[tc.twin.id])
		}
		if got := gradeOf(explained, tc.self.id); got != "certain" || caps[tc.self.id] != "" {
			t.Errorf("%s's own record: grade %q cap %q, want certain without a cap", tc.self.id, got, caps[tc.self.id])
		}
	}
}

// gradeOf is the grade of id's entry, "" when it is not in the answer.
func gradeOf(entries []matchEntry, id string) string {
	for _, e := range entries {
		if e.ID == id {
			return e.Grade
		}
	}
	return ""
}

// testGRPCTwins: gRPC names the twins cap as HTTP does, and only when the
// explanation is asked for.
func testGRPCTwins(t *testing.T, s *e2eServer) {
	_, c := dialGRPC(t, s.grpcAddr)
	for _, explain := range []bool{true, false} {
		resp, err := c.Match(rpcCtx(t, ""), &pmv1.MatchRequest{Subject: &pmv1.MatchRequest_Demographics{Demographics: asQuery(e2eNoah).demographics()}, Explain: explain})
		if err != nil {
			t.Fatalf("Match: %v", err)
		}
		byID := map[string]*pmv1.Match{}
		for _, m := range resp.Matches {
			byID[m.Id] = m
		}
		noah, liam := byID[e2eNoah.id], byID[e2eLiam.id]
		if noah == nil || liam == nil {
			t.Fatalf("explain %v: matches %v, want Noah and his twin Liam", explain, resp.Matches)
		}
		wantCap := ""
		if explain {
			wantCap = "twins"
		}
		if liam.Grade != pmv1.Grade_GRADE_POSSIBLE || liam.Cap != wantCap {
			t.Errorf("explain %v: twin Liam graded %v cap %q, want possible, cap %q", explain, liam.Grade, liam.Cap, wantCap)
		}
		if noah.Grade != pmv1.Grade_GRADE_CERTAIN || noah.Cap != "" {
			t.Errorf("explain %v: Noah graded %v cap %q, want certain without a cap", explain, noah.Grade, noah.Cap)
		}
	}
}

// testOnlyCertain checks ITI-119's onlyCertainMatches against the plain
// answer to the same query: exactly the one certain entry when there is one,
// nothing when there are none or several.
func testOnlyCertain(t *testing.T, s *e2eServer) {
	queries := map[string]person{"exact Peter": asQuery(e2ePeter), "typo Peter": petersTypo(), "Liam": asQuery(e2eLiam), "Jane": asQuery(e2eJane)}
	sawOne := false
	for name, q := range queries {
		plain := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", matchParams(q.patient(), nil), "", ""))
		only := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", matchParams(q.patient(), map[string]any{"onlyCertainMatches": true}), "", ""))
		var certain []string
		for _, e := range plain {
			if e.Grade == "certain" {
				certain = append(certain, e.ID)
			}
		}
		switch {
		case len(certain) == 1:
			sawOne = true
			if len(only) != 1 || only[0].ID != certain[0] || only[0].Grade != "certain" {
				t.Errorf("%s: onlyCertainMatches gave %+v, want just %s", name, only, certain[0])
			}
		default:
			if len(only) != 0 {
				t.Errorf("%s: %d certain in the plain answer, but onlyCertainMatches gave %+v (want none)", name, len(certain), only)
			}
		}
	}
	if !sawOne {
		t.Errorf("no query had exactly one certain match: the check above proved nothing")
	}
}

func testHTTPDelete(t *testing.T, s *e2eServer) {
	q := matchParams(asQuery(e2eOscar).patient(), nil)
	before := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", q, "", ""))
	if len(before) == 0 || before[0].ID != e2eOscar.id {
		t.Fatalf("Oscar before delete: %+v", before)
	}
	wantStatus(t, "DELETE", s.do(t, http.MethodDelete, "/fhir/Patient/"+e2eOscar.id, nil, "", ""), http.StatusNoContent)
	r := s.do(t, http.MethodGet, "/fhir/Patient/"+e2eOscar.id, nil, "", "")
	wantStatus(t, "GET deleted", r, http.StatusNotFound)
	if code := wantOutcome(t, "GET deleted", r); code != "not-found" {
		t.Errorf("GET deleted: issue code %q, want not-found", code)
	}
	for _, e := range searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", q, "", "")) {
		if e.ID == e2eOscar.id {
			t.Errorf("$match still returns deleted %s", e.ID)
		}
	}
	r = s.do(t, http.MethodDelete, "/fhir/Patient/"+e2eOscar.id, nil, "", "")
	wantStatus(t, "DELETE again", r, http.StatusNotFound)
	wantOutcome(t, "DELETE again", r)
}

func testTransaction(t *testing.T, s *e2eServer) {
	entry := func(p person) map[string]any {
		return map[string]any{
			"fullUrl":  "urn:uuid:" + p.id,
			"resource": p.patient(),
			"request":  map[string]any{"method": "PUT", "url": "Patient/" + p.id},
		}
	}
	// A bad entry fails the whole Bundle: nothing of it is stored.
	notPatient := map[string]any{"resource": map[string]any{"resourceType": "Observation", "id": "o1"},
		"request": map[string]any{"method": "PUT", "url": "Patient/o1"}}
	remove := map[string]any{"request": map[string]any{"method": "DELETE", "url": "Patient/" + e2eJane.id}}
	for name, entries := range map[string][]any{
		"an Observation":        {entry(e2eRosa), notPatient},
		"a repeated id":         {entry(e2eRosa), entry(e2eInes), entry(e2eRosa)},
		"a DELETE":              {entry(e2eRosa), remove},
		"a conditional request": {entry(e2eRosa), map[string]any{"resource": e2eInes.patient(), "request": map[string]any{"method": "PUT", "url": "Patient?identifier=x"}}},
	} {
		r := s.do(t, http.MethodPost, "/fhir", map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries}, "", "")
		wantStatus(t, "transaction with "+name, r, http.StatusBadRequest)
		wantOutcome(t, "transaction with "+name, r)
	}
	for _, id := range []string{e2eRosa.id, e2eInes.id} {
		wantStatus(t, id+" after failed transactions", s.do(t, http.MethodGet, "/fhir/Patient/"+id, nil, "", ""), http.StatusNotFound)
	}
	wantStatus(t, "Jane after a refused transaction DELETE", s.do(t, http.MethodGet, "/fhir/Patient/"+e2eJane.id, nil, "", ""), http.StatusOK)

	r := s.do(t, http.MethodPost, "/fhir", map[string]any{"resourceType": "Bundle", "type": "transaction",
		"entry": []any{entry(e2eRosa), entry(e2eInes)}}, "", "")
	wantStatus(t, "transaction", r, http.StatusOK)
	var resp struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			Response struct {
				Status   string `json:"status"`
				Location string `json:"location"`
			} `json:"response"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(r.body, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.ResourceType != "Bundle" || resp.Type != "transaction-response" || len(resp.Entry) != 2 {
		t.Fatalf("transaction answer: %s", r.body)
	}
	for i, e := range resp.Entry {
		if !strings.HasPrefix(e.Response.Status, "201") {
			t.Errorf("entry %d: status %q, want 201", i, e.Response.Status)
		}
		if !strings.Contains(e.Response.Location, "Patient/"+[]string{e2eRosa.id, e2eInes.id}[i]) {
			t.Errorf("entry %d: location %q", i, e.Response.Location)
		}
	}
	for _, p := range []person{e2eRosa, e2eInes} {
		wantStatus(t, "GET "+p.id, s.do(t, http.MethodGet, "/fhir/Patient/"+p.id, nil, "", ""), http.StatusOK)
	}
	got := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", matchParams(asQuery(e2eInes).patient(), nil), "", ""))
	if len(got) == 0 || got[0].ID != e2eInes.id {
		t.Errorf("a patient stored by transaction is not matched: %+v", got)
	}
}

func testHTTPErrors(t *testing.T, s *e2eServer) {
	big := e2eRosa.patient()
	big["text"] = map[string]any{"status": "generated", "div": "<div>" + strings.Repeat("x", 40<<10) + "</div>"}
	tests := []struct {
		name, method, path string
		body               any
		contentType        string
		status             int
		code               string
	}{
		{"malformed JSON", http.MethodPost, "/fhir/Patient/$match", `{"resourceType":"Parameters",`, "", 400, "structure"},
		{"wrong resourceType", http.MethodPut, "/fhir/Patient/x1", `{"resourceType":"Observation","id":"x1"}`, "", 400, "invalid"},
		{"wrong resourceType to $match", http.MethodPost, "/fhir/Patient/$match", `{"resourceType":"Observation"}`, "", 400, "invalid"},
		{"id mismatch", http.MethodPut, "/fhir/Patient/x1", `{"resourceType":"Patient","id":"x2"}`, "", 400, "invalid"},
		{"unknown parameter", http.MethodPost, "/fhir/Patient/$match", matchParams(e2eRosa.patient(), map[string]any{"onlyCertainMatch": true}), "", 400, "not-supported"},
		{"unsupported media type", http.MethodPost, "/fhir/Patient/$match", `resource=Patient`, "application/x-www-form-urlencoded", 415, "not-supported"},
		{"Turtle (not served; XML is, see fhirrest_e2e_test.go)", http.MethodPut, "/fhir/Patient/x1", `[a fhir:Patient]`, "application/fhir+turtle", 415, "not-supported"},
		{"XML that is not FHIR", http.MethodPut, "/fhir/Patient/x1", `<Patient xmlns="http://hl7.org/fhir"><shoeSize value="9"/></Patient>`, "application/fhir+xml", 400, "structure"},
		{"body over max-body", http.MethodPut, "/fhir/Patient/big", big, "", 413, "too-long"},
		{"wrong method on a patient", http.MethodPatch, "/fhir/Patient/" + e2eJane.id, `{}`, "", 405, "not-supported"},
		{"wrong method on $match", http.MethodGet, "/fhir/Patient/$match", nil, "", 405, "not-supported"},
		{"unknown patient", http.MethodGet, "/fhir/Patient/nobody-here", nil, "", 404, "not-found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, tc.method, tc.path, tc.body, tc.contentType, "")
			wantStatus(t, tc.name, r, tc.status)
			if code := wantOutcome(t, tc.name, r); code != tc.code {
				t.Errorf("issue code %q, want %q", code, tc.code)
			}
			if tc.status == 405 && r.header.Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
		})
	}
	// Nothing of the rejected writes was stored.
	for _, id := range []string{"x1", "x2", "big"} {
		wantStatus(t, "GET "+id, s.do(t, http.MethodGet, "/fhir/Patient/"+id, nil, "", ""), http.StatusNotFound)
	}
}

func testOperations(t *testing.T, s *e2eServer) {
	wantStatus(t, "/readyz", s.do(t, http.MethodGet, "/readyz", nil, "", ""), http.StatusOK)
	wantStatus(t, "/healthz", s.do(t, http.MethodGet, "/healthz", nil, "", ""), http.StatusOK)
	r := s.do(t, http.MethodGet, "/fhir/metadata", nil, "", "")
	wantStatus(t, "/fhir/metadata", r, http.StatusOK)
	if rt, _ := r.json(t)["resourceType"].(string); rt != "CapabilityStatement" {
		t.Errorf("metadata is a %q", rt)
	}
	r = s.do(t, http.MethodGet, "/metrics", nil, "", "")
	wantStatus(t, "/metrics", r, http.StatusOK)
	for _, want := range []string{"patientmatch_http_requests_total", "patientmatch_http_request_duration_seconds", "patientmatch_patients "} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Earlier subtests answered $match with 200 and 404s: both are counted.
	if !strings.Contains(string(r.body), `code="404"`) || !strings.Contains(string(r.body), `code="200"`) {
		t.Errorf("/metrics does not count requests by status code")
	}
}

func testClaimsLink(t *testing.T, s *e2eServer, op idp) {
	tok := op.token(t, "user-peter", 5*time.Minute, e2ePeter.oidcClaims())
	a := postClaims(t, s, map[string]any{"id_token": tok, "link": true})
	if a.Decision != "match" || a.Patient != "Patient/"+e2ePeter.id {
		t.Fatalf("first login: %+v, want match with Patient/%s", a, e2ePeter.id)
	}
	if want := s.httpBase + "/fhir/Patient/" + e2ePeter.id; a.FHIRUser != want {
		t.Errorf("fhirUser %q, want %q", a.FHIRUser, want)
	}
	if a.Grade != "certain" || a.LinkStatus != "created" {
		t.Errorf("first login: grade %q link_status %q, want certain/created", a.Grade, a.LinkStatus)
	}
	// The fhirUser URL is the patient's real address on this server.
	wantStatus(t, "GET fhirUser", s.do(t, http.MethodGet, strings.TrimPrefix(a.FHIRUser, s.httpBase), nil, "", ""), http.StatusOK)

	// Later logins with the same iss and sub need no demographics.
	bare := op.token(t, "user-peter", 5*time.Minute, nil)
	a = postClaims(t, s, map[string]any{"id_token": bare})
	if a.Decision != "linked" || a.Patient != "Patient/"+e2ePeter.id || a.LinkStatus != "existing" {
		t.Errorf("second login: %+v, want linked to %s", a, e2ePeter.id)
	}
	// Another subject from the same issuer is not linked.
	other := postClaims(t, s, map[string]any{"id_token": op.token(t, "user-someone-else", 5*time.Minute, e2eRosa.oidcClaims())})
	if other.Decision == "linked" {
		t.Errorf("a different sub was answered from Peter's link: %+v", other)
	}
	// Claims without a token cannot link.
	c := postClaims(t, s, map[string]any{"claims": e2eJane.oidcClaims(), "link": true})
	if c.LinkStatus != "requires_id_token" {
		t.Errorf("claims-only link request: link_status %q, want requires_id_token", c.LinkStatus)
	}
	if c.Decision == "match" && c.Patient != "Patient/"+e2eJane.id {
		t.Errorf("Jane's claims matched %s", c.Patient)
	}
}

func testClaimsInvalidToken(t *testing.T, s *e2eServer, op idp) {
	forged, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		// Peter is linked, and his claims would match: an expired token must
		// still disclose nothing.
		"expired":      op.token(t, "user-peter", -10*time.Minute, e2ePeter.oidcClaims()),
		"wrong key":    signJWT(t, jose.RS256, forged, "idp-1", timeClaims(e2eIssuer, "user-peter", 5*time.Minute, e2ePeter.oidcClaims())),
		"wrong issuer": signJWT(t, jose.RS256, op.key, "idp-1", timeClaims("https://evil.example.test", "user-peter", 5*time.Minute, e2ePeter.oidcClaims())),
		"garbage":      "not.a.jwt",
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			r := s.do(t, http.MethodPost, "/match/claims", map[string]any{"id_token": tok, "link": true}, "application/json", "")
			wantStatus(t, name, r, http.StatusUnauthorized)
			body := r.json(t)
			if body["error"] != "invalid_token" {
				t.Errorf("error %v, want invalid_token", body["error"])
			}
			for _, leak := range []string{"Patient", e2ePeter.id, "Chalmers", "fhirUser", "candidates"} {
				if strings.Contains(string(r.body), leak) {
					t.Errorf("401 body discloses %q: %s", leak, r.body)
				}
			}
		})
	}
}

func testClaimsTwins(t *testing.T, s *e2eServer, op idp) {
	for _, tc := range []struct{ self, twin person }{{e2eLiam, e2eNoah}, {e2eNoah, e2eLiam}} {
		sub := "user-" + tc.self.id
		a := postClaims(t, s, map[string]any{"id_token": op.token(t, sub, 5*time.Minute, tc.self.oidcClaims()), "link": true})
		switch a.Decision {
		case "match":
			if a.Patient != "Patient/"+tc.self.id {
				t.Errorf("%s's claims matched %s", tc.self.id, a.Patient)
			}
		case "ambiguous":
			if a.Patient != "" || a.FHIRUser != "" || a.LinkStatus == "created" {
				t.Errorf("ambiguous answer names a patient or links: %+v", a)
			}
		default:
			t.Errorf("%s's claims: decision %q, want match or ambiguous", tc.self.id, a.Decision)
		}
		if a.Patient == "Patient/"+tc.twin.id {
			t.Errorf("%s's claims handed out the twin %s", tc.self.id, tc.twin.id)
		}
		for _, c := range a.Candidates {
			if c.Patient == "Patient/"+tc.twin.id && c.Grade == "certain" {
				t.Errorf("twin %s is a certain candidate for %s", tc.twin.id, tc.self.id)
			}
		}
		// Whatever was decided, a later bare login never lands on the twin.
		b := postClaims(t, s, map[string]any{"id_token": op.token(t, sub, 5*time.Minute, nil)})
		if b.Patient == "Patient/"+tc.twin.id {
			t.Errorf("%s's later login linked to the twin", tc.self.id)
		}
	}
}

func testGRPCMatchGet(t *testing.T, s *e2eServer) {
	_, c := dialGRPC(t, s.grpcAddr)
	resp, err := c.Match(rpcCtx(t, ""), &pmv1.MatchRequest{Subject: &pmv1.MatchRequest_Demographics{Demographics: petersTypo().demographics()}})
	if err != nil {
		t.Fatalf("Match: %v", err)
	}
	if len(resp.Matches) == 0 || resp.Matches[0].Id != e2ePeter.id {
		t.Fatalf("Match typo'd Peter: %v", resp.Matches)
	}
	if g := resp.Matches[0].Grade; g != pmv1.Grade_GRADE_CERTAIN && g != pmv1.Grade_GRADE_PROBABLE {
		t.Errorf("grade %v", g)
	}
	var stored struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(resp.Matches[0].ResourceJson), &stored); err != nil || stored.ID != e2ePeter.id {
		t.Errorf("resource_json of the match: %v %q", err, resp.Matches[0].ResourceJson)
	}

	g, err := c.Get(rpcCtx(t, ""), &pmv1.GetRequest{Id: e2eJane.id})
	if err != nil || g.Patient.GetId() != e2eJane.id || g.Patient.GetVersionId() != 1 {
		t.Errorf("Get jane: %v %v", g, err)
	}
	for _, id := range []string{"nobody-here", e2eOscar.id /* deleted over HTTP */} {
		_, err = c.Get(rpcCtx(t, ""), &pmv1.GetRequest{Id: id})
		if status.Code(err) != codes.NotFound {
			t.Errorf("Get %s: %v, want NotFound", id, err)
		}
	}
	_, err = c.Match(rpcCtx(t, ""), &pmv1.MatchRequest{Subject: &pmv1.MatchRequest_PatientJson{PatientJson: `{"resourceType":"Patient",`}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("Match with broken JSON: %v, want InvalidArgument", err)
	}
}

func testGRPCHealthReflection(t *testing.T, s *e2eServer) {
	cc, _ := dialGRPC(t, s.grpcAddr)
	hc := healthpb.NewHealthClient(cc)
	for _, svc := range []string{"", grpcapi.ServiceName} {
		resp, err := hc.Check(rpcCtx(t, ""), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health %q: %v %v", svc, resp, err)
		}
	}
	stream, err := reflectpb.NewServerReflectionClient(cc).ServerReflectionInfo(rpcCtx(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectpb.ServerReflectionRequest{MessageRequest: &reflectpb.ServerReflectionRequest_ListServices{ListServices: "*"}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, svc := range resp.GetListServicesResponse().GetService() {
		names = append(names, svc.Name)
	}
	if !slices.Contains(names, "patientmatch.v1.PatientMatch") || !slices.Contains(names, "grpc.health.v1.Health") {
		t.Errorf("reflection lists %v", names)
	}
	_ = stream.CloseSend()
}

// testGRPCStream sends 500 matches over one MatchStream, cycling through a few
// people, and checks the answers come back in order, each equal to what a
// unary Match says for the same request.
func testGRPCStream(t *testing.T, s *e2eServer) {
	_, c := dialGRPC(t, s.grpcAddr)
	people := []person{petersTypo(), asQuery(e2eLiam), asQuery(e2eNoah), asQuery(e2eJane), asQuery(e2eRosa)}
	want := make([]*pmv1.MatchResponse, len(people))
	for i, p := range people {
		resp, err := c.Match(rpcCtx(t, ""), &pmv1.MatchRequest{Subject: &pmv1.MatchRequest_Demographics{Demographics: p.demographics()}, Count: 3})
		if err != nil || len(resp.Matches) == 0 {
			t.Fatalf("unary Match %d: %v %v", i, resp, err)
		}
		want[i] = resp
	}
	if want[1].Matches[0].Id != e2eLiam.id || want[2].Matches[0].Id != e2eNoah.id {
		t.Fatalf("unary twins: %s, %s", want[1].Matches[0].Id, want[2].Matches[0].Id)
	}

	const n = 500
	stream, err := c.MatchStream(rpcCtx(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	sendErr := make(chan error, 1)
	go func() {
		for i := range n {
			req := &pmv1.MatchStreamRequest{RequestId: fmt.Sprintf("r%03d", i), Match: &pmv1.MatchRequest{
				Subject: &pmv1.MatchRequest_Demographics{Demographics: people[i%len(people)].demographics()}, Count: 3}}
			if i%97 == 13 { // a bad request now and then: answered in place, the stream goes on
				req.Match = &pmv1.MatchRequest{Subject: &pmv1.MatchRequest_PatientJson{PatientJson: "{"}}
			}
			if err := stream.Send(req); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- stream.CloseSend()
	}()
	start := time.Now()
	for i := range n {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("Recv %d: %v", i, err)
		}
		if want := fmt.Sprintf("r%03d", i); resp.RequestId != want {
			t.Fatalf("response %d has request_id %q: out of order", i, resp.RequestId)
		}
		if i%97 == 13 {
			if resp.GetError() == nil || codes.Code(resp.GetError().Code) != codes.InvalidArgument {
				t.Errorf("response %d: %v, want an InvalidArgument item error", i, resp)
			}
			continue
		}
		got, exp := resp.GetMatch().GetMatches(), want[i%len(people)].Matches
		if len(got) != len(exp) {
			t.Fatalf("response %d: %d matches, unary gave %d", i, len(got), len(exp))
		}
		for j := range got {
			if got[j].Id != exp[j].Id || got[j].Grade != exp[j].Grade || math.Abs(got[j].Probability-exp[j].Probability) > 1e-9 {
				t.Fatalf("response %d match %d: %s %v %v, unary gave %s %v %v", i, j, got[j].Id, got[j].Grade, got[j].Probability, exp[j].Id, exp[j].Grade, exp[j].Probability)
			}
		}
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("after %d responses: %v, want EOF", n, err)
	}
	if err := <-sendErr; err != nil {
		t.Errorf("send: %v", err)
	}
	t.Logf("MatchStream: %d requests in %v", n, time.Since(start).Round(time.Millisecond))
}

func testGRPCAgreesWithHTTP(t *testing.T, s *e2eServer) {
	_, c := dialGRPC(t, s.grpcAddr)
	for _, q := range []person{petersTypo(), asQuery(e2eLiam), asQuery(e2eJane), asQuery(e2ePeter)} {
		pj, err := json.Marshal(q.patient())
		if err != nil {
			t.Fatal(err)
		}
		h := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", pj, "", ""))
		g, err := c.Match(rpcCtx(t, ""), &pmv1.MatchRequest{Subject: &pmv1.MatchRequest_PatientJson{PatientJson: string(pj)}})
		if err != nil {
			t.Fatalf("gRPC Match: %v", err)
		}
		if len(h) == 0 || len(h) != len(g.Matches) {
			t.Fatalf("%s: HTTP %d entries, gRPC %d", q.given[0], len(h), len(g.Matches))
		}
		for i := range h {
			m := g.Matches[i]
			if h[i].ID != m.Id || h[i].Grade != gradeName(m.Grade) || math.Abs(h[i].Score-m.Probability) > 1e-6 {
				t.Errorf("%s #%d: HTTP %s %s %v, gRPC %s %s %v", q.given[0], i, h[i].ID, h[i].Grade, h[i].Score, m.Id, gradeName(m.Grade), m.Probability)
			}
		}
	}
}

// countLinks lists the identity links to one patient over GET /match/links.
func countLinks(t *testing.T, s *e2eServer, id string) int {
	t.Helper()
	r := s.do(t, http.MethodGet, "/match/links?patient="+id, nil, "", "")
	wantStatus(t, "GET /match/links", r, http.StatusOK)
	var l struct {
		Links []struct {
			Issuer  string `json:"iss"`
			Patient string `json:"patient"`
		} `json:"links"`
	}
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatalf("links: %v\n%s", err, r.body)
	}
	for _, x := range l.Links {
		if x.Issuer != e2eIssuer || !strings.HasSuffix(x.Patient, id) {
			t.Errorf("GET /match/links?patient=%s lists %+v", id, x)
		}
	}
	return len(l.Links)
}

// testRestart runs on the second server, started on the first one's folder.
func testRestart(t *testing.T, s *e2eServer, op idp) {
	r := s.do(t, http.MethodGet, "/fhir/Patient/"+e2ePeter.id, nil, "", "")
	wantStatus(t, "GET peter after restart", r, http.StatusOK)
	if r.header.Get("ETag") != `W/"1"` {
		t.Errorf("Peter's version after restart: %q", r.header.Get("ETag"))
	}
	got := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", matchParams(petersTypo().patient(), nil), "", ""))
	if len(got) == 0 || got[0].ID != e2ePeter.id {
		t.Errorf("the index lost Peter across a restart: %+v", got)
	}
	// The link made before the restart still answers.
	a := postClaims(t, s, map[string]any{"id_token": op.token(t, "user-peter", 5*time.Minute, nil)})
	if a.Decision != "linked" || a.Patient != "Patient/"+e2ePeter.id {
		t.Fatalf("after restart: %+v, want linked to %s", a, e2ePeter.id)
	}
	if want := s.httpBase + "/fhir/Patient/" + e2ePeter.id; a.FHIRUser != want {
		t.Errorf("fhirUser after restart %q, want %q (the new address)", a.FHIRUser, want)
	}

	if n := countLinks(t, s, e2ePeter.id); n != 1 {
		t.Errorf("GET /match/links?patient=%s after restart: %d links, want 1", e2ePeter.id, n)
	}

	// Peter is deleted: his link is stale, the token's claims are matched
	// afresh, and the answer says so.
	wantStatus(t, "DELETE peter", s.do(t, http.MethodDelete, "/fhir/Patient/"+e2ePeter.id, nil, "", ""), http.StatusNoContent)
	a = postClaims(t, s, map[string]any{"id_token": op.token(t, "user-peter", 5*time.Minute, e2ePeter.oidcClaims())})
	if a.LinkStatus != "stale_link_removed" {
		t.Errorf("after deleting the linked patient: link_status %q, want stale_link_removed (%+v)", a.LinkStatus, a)
	}
	if a.Decision == "linked" || a.Patient == "Patient/"+e2ePeter.id {
		t.Errorf("a deleted patient is still handed out: %+v", a)
	}
	if a.Patient == "Patient/"+e2eJane.id {
		t.Errorf("Peter's claims fell through to his spouse: %+v", a)
	}
	// The stale link is gone for good.
	if n := countLinks(t, s, e2ePeter.id); n != 0 {
		t.Errorf("stale link still listed: %d", n)
	}
	a = postClaims(t, s, map[string]any{"id_token": op.token(t, "user-peter", 5*time.Minute, e2ePeter.oidcClaims())})
	if a.LinkStatus != "" || a.Decision == "linked" {
		t.Errorf("second call after the delete: %+v", a)
	}
}

// TestServeE2EAuthJWT runs the server with --auth jwt: SMART Backend Services
// access tokens (ES384, from a JWKS file) guard both HTTP and gRPC.
func TestServeE2EAuthJWT(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks := writeJWKS(t, dir, "as.jwks.json", "as-1", jose.ES384, &key.PublicKey)
	s := startServer(t, serveConfig{data: filepath.Join(dir, "data"), auth: "jwt", authJWKS: jwks,
		authIssuer: "https://as.example.test", audience: "patientmatch"})

	tok := func(lifetime time.Duration, scope string) string {
		return signJWT(t, jose.ES384, key, "as-1", timeClaims("https://as.example.test", "backend-1", lifetime, map[string]any{"scope": scope}))
	}
	read, write := tok(5*time.Minute, "system/Patient.rs"), tok(5*time.Minute, "system/Patient.cud")
	other, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged := signJWT(t, jose.ES384, other, "as-1", timeClaims("https://as.example.test", "backend-1", 5*time.Minute, map[string]any{"scope": "system/Patient.cruds"}))
	match := matchParams(asQuery(e2eRosa).patient(), nil)

	tests := []struct {
		name, method, path string
		body               any
		bearer             string
		status             int
	}{
		{"no token: $match", http.MethodPost, "/fhir/Patient/$match", match, "", 401},
		{"no token: GET", http.MethodGet, "/fhir/Patient/" + e2eRosa.id, nil, "", 401},
		{"no token: claims", http.MethodPost, "/match/claims", map[string]any{"claims": e2eRosa.oidcClaims()}, "", 401},
		{"no token: links", http.MethodGet, "/match/links", nil, "", 401},
		{"read scope: delete a link", http.MethodDelete, "/match/links?iss=x&sub=y", nil, read, 403},
		{"forged token", http.MethodPost, "/fhir/Patient/$match", match, forged, 401},
		{"expired token", http.MethodPost, "/fhir/Patient/$match", match, tok(-10*time.Minute, "system/Patient.rs"), 401},
		{"read scope: PUT", http.MethodPut, "/fhir/Patient/" + e2eRosa.id, e2eRosa.patient(), read, 403},
		{"write scope: PUT", http.MethodPut, "/fhir/Patient/" + e2eRosa.id, e2eRosa.patient(), write, 201},
		{"read scope: $match", http.MethodPost, "/fhir/Patient/$match", match, read, 200},
		{"read scope: GET", http.MethodGet, "/fhir/Patient/" + e2eRosa.id, nil, read, 200},
		{"write scope: $match", http.MethodPost, "/fhir/Patient/$match", match, write, 403},
		{"read scope: DELETE", http.MethodDelete, "/fhir/Patient/" + e2eRosa.id, nil, read, 403},
		{"open: readyz", http.MethodGet, "/readyz", nil, "", 200},
		{"open: metadata", http.MethodGet, "/fhir/metadata", nil, "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, tc.method, tc.path, tc.body, "", tc.bearer)
			wantStatus(t, tc.name, r, tc.status)
			switch {
			case tc.status == 401:
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 without a Bearer challenge: %q", r.header.Get("WWW-Authenticate"))
				}
			case tc.status == 403 && strings.HasPrefix(tc.path, "/fhir"):
				wantOutcome(t, tc.name, r)
			}
			if tc.status == 401 && strings.HasPrefix(tc.path, "/fhir") {
				wantOutcome(t, tc.name, r)
			}
		})
	}
	// The $match that went through found the patient the write stored.
	got := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", match, "", read))
	if len(got) == 0 || got[0].ID != e2eRosa.id {
		t.Errorf("authorized $match: %+v", got)
	}

	cc, c := dialGRPC(t, s.grpcAddr)
	req := &pmv1.MatchRequest{Subject: &pmv1.MatchRequest_Demographics{Demographics: asQuery(e2eRosa).demographics()}}
	if _, err := c.Match(rpcCtx(t, ""), req); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC Match without token: %v, want Unauthenticated", err)
	}
	if _, err := c.Match(rpcCtx(t, forged), req); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC Match with a forged token: %v, want Unauthenticated", err)
	}
	if resp, err := c.Match(rpcCtx(t, read), req); err != nil || len(resp.Matches) == 0 || resp.Matches[0].Id != e2eRosa.id {
		t.Errorf("gRPC Match with read scope: %v %v", resp, err)
	}
	pj, _ := json.Marshal(e2eInes.patient())
	if _, err := c.Upsert(rpcCtx(t, read), &pmv1.UpsertRequest{PatientJson: string(pj)}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("gRPC Upsert with read scope: %v, want PermissionDenied", err)
	}
	if _, err := c.Get(rpcCtx(t, read), &pmv1.GetRequest{Id: e2eInes.id}); status.Code(err) != codes.NotFound {
		t.Errorf("the refused Upsert stored something: Get %v", err)
	}
	if resp, err := healthpb.NewHealthClient(cc).Check(rpcCtx(t, ""), &healthpb.HealthCheckRequest{}); err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health checks must not need a token: %v %v", resp, err)
	}
	if strings.Contains(s.log.String(), read) {
		t.Errorf("the server log holds a bearer token")
	}
}

func TestServeConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		c     serveConfig
		valid bool
	}{
		{"none on loopback", serveConfig{auth: "none", httpAddr: "127.0.0.1:8080", grpcAddr: "127.0.0.1:9090"}, true},
		{"none on localhost and ::1", serveConfig{auth: "none", httpAddr: "localhost:8080", grpcAddr: "[::1]:9090"}, true},
		{"none on 127.0.0.2", serveConfig{auth: "none", httpAddr: "127.0.0.2:8080"}, true},
		{"none, gRPC only", serveConfig{auth: "none", grpcAddr: "127.0.0.1:9090"}, true},
		{"none on all interfaces", serveConfig{auth: "none", httpAddr: "0.0.0.0:8080", grpcAddr: "127.0.0.1:9090"}, false},
		{"none with empty host", serveConfig{auth: "none", httpAddr: ":8080"}, false},
		{"none with gRPC on a LAN address", serveConfig{auth: "none", httpAddr: "127.0.0.1:8080", grpcAddr: "192.168.1.20:9090"}, false},
		{"none on all IPv6 interfaces", serveConfig{auth: "none", httpAddr: "[::]:8080"}, false},
		{"none on a host name", serveConfig{auth: "none", httpAddr: "mpi.example.org:8080"}, false},
		{"none with no port", serveConfig{auth: "none", httpAddr: "127.0.0.1"}, false},
		{"jwt on all interfaces", serveConfig{auth: "jwt", authJWKS: "keys.json", authIssuer: "https://as", audience: "https://mpi", httpAddr: "0.0.0.0:8080", grpcAddr: ":9090"}, true},
		{"jwt without a key set", serveConfig{auth: "jwt", authIssuer: "https://as", audience: "https://mpi", httpAddr: "0.0.0.0:8080"}, false},
		{"jwt without an issuer", serveConfig{auth: "jwt", authJWKS: "keys.json", audience: "https://mpi", httpAddr: "0.0.0.0:8080"}, false},
		{"jwt without an audience", serveConfig{auth: "jwt", authJWKS: "keys.json", authIssuer: "https://as", httpAddr: "0.0.0.0:8080"}, false},
		{"trusted issuer without ID-token audience", serveConfig{auth: "none", httpAddr: "127.0.0.1:8080", trust: multiFlag{"https://idp=keys.json"}}, false},
		{"trusted issuer with ID-token audience", serveConfig{auth: "none", httpAddr: "127.0.0.1:8080", trust: multiFlag{"https://idp=keys.json"}, idTokenAud: multiFlag{"app"}}, true},
		{"unknown auth", serveConfig{auth: "basic", httpAddr: "127.0.0.1:8080"}, false},
		{"empty auth", serveConfig{httpAddr: "127.0.0.1:8080"}, false},
		{"cert without key", serveConfig{auth: "none", httpAddr: "127.0.0.1:8080", tlsCert: "c.pem"}, false},
		{"key without cert", serveConfig{auth: "none", httpAddr: "127.0.0.1:8080", tlsKey: "k.pem"}, false},
		{"nothing to serve", serveConfig{auth: "none"}, false},
		{"bounded, no burst wait", serveConfig{auth: "none", httpAddr: "127.0.0.1:8080", admission: admissionFlags{maxInFlight: 2, queueWait: time.Millisecond, interval: time.Second}}, true},
		{"bounded, burst wait below queue wait", serveConfig{auth: "none", httpAddr: "127.0.0.1:8080", admission: admissionFlags{maxInFlight: 2, queueWait: 5 * time.Millisecond, burstWait: time.Millisecond, interval: time.Second}}, false},
		{"bounded, no interval", serveConfig{auth: "none", httpAddr: "127.0.0.1:8080", admission: admissionFlags{maxInFlight: 2, burstWait: time.Second}}, false},
		{"unbounded, no interval", serveConfig{auth: "none", httpAddr: "127.0.0.1:8080", admission: admissionFlags{}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.validate()
			if tc.valid && err != nil {
				t.Errorf("validate: %v", err)
			}
			if !tc.valid {
				var ue *usageError
				if !errors.As(err, &ue) {
					t.Errorf("validate: %v, want a usage error", err)
				}
			}
		})
	}

	// The command line refuses before opening anything: exit status 2 and a
	// message naming the address, and no data folder created.
	dir := filepath.Join(t.TempDir(), "never-created")
	env, _, stderr := testEnv()
	code := run(context.Background(), env, []string{"serve", "--data", dir, "--auth", "none", "--http", "0.0.0.0:0", "--grpc", "127.0.0.1:0"})
	if code != 2 {
		t.Errorf("serve --auth none --http 0.0.0.0:0: exit %d, want 2 (stderr %q)", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "0.0.0.0:0") {
		t.Errorf("the refusal does not name the address: %q", stderr.String())
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused serve touched its data folder: %v", err)
	}
}
