package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	pmv1 "github.com/patientmatch/patientmatch/api/patientmatch/v1"
	"github.com/patientmatch/patientmatch/audit"
)

// TestServeE2EAuditListsWhatWasReturned: the audit record of a $match lists
// exactly the patients the reply returned, with their grades, whatever
// onlySingleMatch, onlyCertainMatches and count cut away; the same for a
// gRPC Match with count. (With onlySingleMatch the server used to ask the
// engine for two matches and keep one, and the trail listed both.)
func TestServeE2EAuditListsWhatWasReturned(t *testing.T) {
	dir := t.TempDir()
	auditFile := filepath.Join(dir, "audit.jsonl")
	cfg := serveConfig{data: filepath.Join(dir, "data"), auth: "none"}
	cfg.security.auditFile = auditFile
	s := startServer(t, cfg)
	seedPeople(t, s, "", e2ePeter, e2eJane, e2eLiam, e2eNoah, e2eRosa, e2eInes)

	twins := asQuery(e2eLiam).patient() // without a given name, both twins alike
	twins["name"] = []any{map[string]any{"family": e2eLiam.family}}
	queries := map[string]map[string]any{"Peter": asQuery(e2ePeter).patient(), "typo Peter": petersTypo().patient(), "Liam": asQuery(e2eLiam).patient(), "twins": twins}
	options := []map[string]any{
		nil,
		{"onlySingleMatch": true},
		{"onlySingleMatch": true, "count": 1},
		{"onlyCertainMatches": true},
		{"count": 1},
	}
	type sent struct {
		what string
		got  []audit.Patient
	}
	var httpSent []sent
	var cutToOne, cutToNone bool // onlySingleMatch answers shorter than the plain one
	names := []string{"Peter", "typo Peter", "Liam", "twins"}
	for _, name := range names {
		var plain int
		for _, opt := range options {
			entries := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", matchParams(queries[name], opt), "", ""))
			got := make([]audit.Patient, len(entries))
			for i, e := range entries {
				got[i] = audit.Patient{ID: e.ID, Action: "matched", Grade: e.Grade}
			}
			httpSent = append(httpSent, sent{fmt.Sprintf("%s %v", name, opt), got})
			switch {
			case opt == nil:
				plain = len(entries)
			case opt["onlySingleMatch"] == true && plain >= 2 && len(entries) == 1:
				cutToOne = true
			case opt["onlySingleMatch"] == true && plain >= 2 && len(entries) == 0:
				cutToNone = true
			}
		}
	}
	if !cutToOne || !cutToNone {
		t.Fatalf("the data no longer exercise onlySingleMatch (an answer cut to one: %v, to none: %v)", cutToOne, cutToNone)
	}
	_, gc := dialGRPC(t, s.grpcAddr)
	resp, err := gc.Match(rpcCtx(t, ""), &pmv1.MatchRequest{Subject: &pmv1.MatchRequest_Demographics{Demographics: asQuery(e2ePeter).demographics()}, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	var grpcSent []audit.Patient
	for _, m := range resp.GetMatches() {
		grpcSent = append(grpcSent, audit.Patient{ID: m.GetId(), Action: "matched", Grade: gradeName(m.GetGrade())})
	}
	if len(grpcSent) != 1 {
		t.Fatalf("gRPC Match count 1 returned %d", len(grpcSent))
	}
	// A claims decision no_match hides its near misses from the caller;
	// the trail must not list them either. Peter with a birth date one
	// day off and nothing else: a near miss, not a match.
	nearMiss := map[string]any{"claims": map[string]any{"given_name": "Peter", "family_name": e2ePeter.family, "birthdate": "1974-12-26"}}
	if q := searchset(t, s.httpBase, s.do(t, http.MethodPost, "/fhir/Patient/$match", matchParams(map[string]any{"resourceType": "Patient", "birthDate": "1974-12-26",
		"name": []any{map[string]any{"family": e2ePeter.family, "given": []string{"Peter"}}}}, nil), "", "")); len(q) == 0 {
		t.Fatal("the near-miss claims have no near miss ($match finds nobody)")
	}
	cr := s.do(t, http.MethodPost, "/match/claims", nearMiss, "application/json", "")
	var claimsReply struct {
		Decision   string
		Candidates []any
	}
	if err := json.Unmarshal(cr.body, &claimsReply); err != nil || claimsReply.Decision != "no_match" || len(claimsReply.Candidates) != 0 {
		t.Fatalf("near-miss claims: %d %s (want no_match without candidates)", cr.status, cr.body)
	}
	if err := s.stop(e2eHangGuard); err != nil {
		t.Fatal(err)
	}

	var httpTrail, grpcTrail [][]audit.Patient
	var claimsTrail []audit.Entry
	data, err := os.ReadFile(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e audit.Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		switch e.Operation {
		case "POST /fhir/Patient/$match":
			httpTrail = append(httpTrail, e.Patients)
			if e.Count != len(e.Patients) {
				t.Errorf("audit record counts %d patients and lists %d", e.Count, len(e.Patients))
			}
		case "/patientmatch.v1.PatientMatch/Match":
			grpcTrail = append(grpcTrail, e.Patients)
		case "POST /match/claims":
			claimsTrail = append(claimsTrail, e)
		}
	}
	if len(claimsTrail) != 1 || len(claimsTrail[0].Patients) != 0 || claimsTrail[0].Count != 0 {
		t.Errorf("the no_match claims decision's audit records %+v; want one listing no patient", claimsTrail)
	}
	httpTrail = httpTrail[:len(httpTrail)-1] // the near-miss $match
	if len(httpTrail) != len(httpSent) {
		t.Fatalf("%d $match audit records for %d requests", len(httpTrail), len(httpSent))
	}
	for i, s := range httpSent {
		if !slices.Equal(httpTrail[i], s.got) {
			t.Errorf("$match %s returned %v, audit record lists %v", s.what, s.got, httpTrail[i])
		}
	}
	if len(grpcTrail) != 1 || !slices.Equal(grpcTrail[0], grpcSent) {
		t.Errorf("gRPC Match count 1 returned %v, audit records %v", grpcSent, grpcTrail)
	}
}
