package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pmv1 "github.com/patientmatch/patientmatch/api/patientmatch/v1"
	"github.com/patientmatch/patientmatch/identity"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
)

// TestIdentityGRPC: the review loop over gRPC — list, decide, unmerge,
// merge — on the real server.
func TestIdentityGRPC(t *testing.T) {
	s := startServer(t, serveConfig{data: t.TempDir()})
	s.put(t, reviewPatient("ga", "Quenneville", "Rosalind", "1971-03-14", true))
	s.put(t, reviewPatient("gb", "Quenville", "Rosalind", "1971-03-14", false))
	s.put(t, reviewPatient("gc", "Zimmerman", "Otto", "1944-12-24", false))
	conn, _ := dialGRPC(t, s.grpcAddr)
	c := pmv1.NewIdentitiesClient(conn)
	ctx := context.Background()

	list, err := c.ListTasks(ctx, &pmv1.ListTasksRequest{})
	if err != nil || list.GetTotal() != 1 || len(list.GetTasks()) != 1 {
		t.Fatalf("ListTasks: %v %v", list, err)
	}
	task := list.GetTasks()[0]
	before, err := c.GetPerson(ctx, &pmv1.GetPersonRequest{Key: &pmv1.GetPersonRequest_PatientId{PatientId: "gb"}})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := c.Decide(ctx, &pmv1.DecideRequest{TaskId: task.GetId(), Decision: pmv1.ReviewDecision_REVIEW_DECISION_MATCH})
	if err != nil || dec.GetTask().GetStatus() != "matched" || dec.GetLeft().GetId() != dec.GetRight().GetId() || len(dec.GetLeft().GetLinks()) != 2 {
		t.Fatalf("Decide match: %v %v", dec, err)
	}
	un, err := c.Unmerge(ctx, &pmv1.UnmergeRequest{PatientId: "gb"})
	if err != nil || un.GetRestored().GetId() != before.GetId() || len(un.GetRemaining().GetLinks()) != 1 {
		t.Fatalf("Unmerge: %v %v (want gb back in Person/%s)", un, err, before.GetId())
	}
	m, err := c.Merge(ctx, &pmv1.MergeRequest{SourcePatientId: "gc", TargetPatientId: "ga"})
	if err != nil || len(m.GetPerson().GetLinks()) != 2 {
		t.Fatalf("Merge: %v %v", m, err)
	}
	if r := s.do(t, "GET", "/fhir/Patient/gc", nil, "", ""); !strings.Contains(string(r.body), `"replaced-by"`) {
		t.Fatalf("gRPC Merge did not set replaced-by on the source: %s", r.body)
	}
	for name, call := range map[string]func() error{
		"unknown task": func() error {
			_, err := c.Decide(ctx, &pmv1.DecideRequest{TaskId: "nope", Decision: pmv1.ReviewDecision_REVIEW_DECISION_MATCH})
			return err
		},
		"no decision": func() error {
			_, err := c.Decide(ctx, &pmv1.DecideRequest{TaskId: task.GetId()})
			return err
		},
		"lone record": func() error {
			s.put(t, reviewPatient("gd", "Lonely", "Ann", "2001-01-01", false))
			_, err := c.Unmerge(ctx, &pmv1.UnmergeRequest{PatientId: "gd"})
			return err
		},
	} {
		want := map[string]codes.Code{"unknown task": codes.NotFound, "no decision": codes.InvalidArgument, "lone record": codes.FailedPrecondition}[name]
		if got := status.Code(call()); got != want {
			t.Errorf("%s: code %v, want %v", name, got, want)
		}
	}
}

// TestDedupeStored: `dedupe --data` gives a bulk-loaded store its
// identities and review tasks, in the log, before any server runs.
func TestDedupeStored(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(t.TempDir(), "p.ndjson")
	var lines []string
	for _, p := range []map[string]any{
		reviewPatient("da", "Quenneville", "Rosalind", "1971-03-14", true),
		reviewPatient("db", "Quenville", "Rosalind", "1971-03-14", false),
		reviewPatient("dc", "Zimmerman", "Otto", "1944-12-24", false),
	} {
		b, _ := json.Marshal(p)
		lines = append(lines, string(b))
	}
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, "load", "--data", dir, "--progress=false", in); err != nil {
		t.Fatalf("load: %v\n%s", err, out)
	}
	out, err := runCLI(t, "dedupe", "--data", dir, "--progress=false")
	if err != nil || !strings.Contains(out, "3 stored patients linked: 3 identities, 1 open review tasks") {
		t.Fatalf("dedupe --data: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "dedupe", "--data", filepath.Join(dir, "missing")); err == nil {
		t.Fatalf("dedupe --data on a missing folder succeeded: %s", out)
	}
	// The log holds it: a service opened without catching up sees it.
	eng, err := matcher.Open(dir, matcher.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	svc, err := openIdentityService(context.Background(), eng, nil, identity.Options{CatchUpWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if sum := svc.Stats(); sum.Identities != 3 || sum.Patients != 3 || sum.OpenTasks != 1 {
		t.Fatalf("after dedupe --data the log holds %+v", sum)
	}
	if ts, _ := svc.Tasks(identity.StatusOpen, "", 0, 10); len(ts) != 1 || ts[0].Right != "db" && ts[0].Left != "db" {
		t.Fatalf("tasks %+v", ts)
	}
}

// runCLI runs the command line with args; the error carries the exit code.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	env, stdout, stderr := testEnv()
	code := run(context.Background(), env, args)
	out := stdout.String() + stderr.String()
	if code != 0 {
		return out, fmt.Errorf("exit status %d", code)
	}
	return out, nil
}

// TestIdentityCapabilityStatement: a server with identities lists what
// they add in GET /fhir/metadata — the Person resource and its search by
// patient, and the $merge and $unmerge operations on Patient — beside
// Patient and its $match.
func TestIdentityCapabilityStatement(t *testing.T) {
	s := startServer(t, serveConfig{data: t.TempDir()})
	r := s.do(t, "GET", "/fhir/metadata", nil, "", "")
	wantStatus(t, "GET /fhir/metadata", r, 200)
	var cs struct {
		Rest []struct {
			Resource []struct {
				Type        string
				Interaction []struct{ Code string }
				SearchParam []struct{ Name string }
				Operation   []struct{ Name string }
			}
		}
	}
	if err := json.Unmarshal(r.body, &cs); err != nil || len(cs.Rest) != 1 {
		t.Fatalf("metadata: %v\n%s", err, r.body)
	}
	types := map[string]int{}
	for i, res := range cs.Rest[0].Resource {
		types[res.Type] = i
	}
	pi, ok1 := types["Patient"]
	ri, ok2 := types["Person"]
	if !ok1 || !ok2 {
		t.Fatalf("metadata lists %v, want Patient and Person", types)
	}
	var ops []string
	for _, o := range cs.Rest[0].Resource[pi].Operation {
		ops = append(ops, o.Name)
	}
	for _, want := range []string{"match", "merge", "unmerge"} {
		if !slices.Contains(ops, want) {
			t.Errorf("Patient operations %v lack %q", ops, want)
		}
	}
	person := cs.Rest[0].Resource[ri]
	var params, codes []string
	for _, p := range person.SearchParam {
		params = append(params, p.Name)
	}
	for _, c := range person.Interaction {
		codes = append(codes, c.Code)
	}
	if !slices.Contains(params, "patient") || !slices.Contains(codes, "read") || !slices.Contains(codes, "search-type") {
		t.Errorf("Person: search params %v, interactions %v; want patient, read and search-type", params, codes)
	}
	// What the statement promises is served.
	s.put(t, reviewPatient("cap1", "Quenneville", "Rosalind", "1971-03-14", true))
	wantStatus(t, "GET /fhir/Person?patient=Patient/cap1", s.do(t, "GET", "/fhir/Person?patient=Patient/cap1", nil, "", ""), 200)
}

// TestReviewGradeFlag: --review-grade takes possible or probable, nothing
// else; an unknown grade is refused before anything is opened (exit 2, no
// data folder created).
func TestReviewGradeFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want scoring.Grade
		ok   bool
	}{
		{"possible", scoring.GradePossible, true},
		{"probable", scoring.GradeProbable, true},
		{"certain", scoring.GradeNone, false},
		{"none", scoring.GradeNone, false},
		{"", scoring.GradeNone, false},
	} {
		var f reviewGradeFlag
		err := f.Set(tc.in)
		if (err == nil) != tc.ok || f.g != tc.want {
			t.Errorf("Set(%q) = %v, grade %v; want ok %v, grade %v", tc.in, err, f.g, tc.ok, tc.want)
		}
	}
	if got := (&reviewGradeFlag{}).String(); got != "possible" {
		t.Errorf("default shown as %q, want possible", got)
	}
	for _, cmd := range []string{"serve", "dedupe"} {
		dir := filepath.Join(t.TempDir(), "never-created")
		env, _, stderr := testEnv()
		code := run(context.Background(), env, []string{cmd, "--data", dir, "--review-grade", "certain"})
		if code != 2 {
			t.Errorf("%s --review-grade certain: exit %d, want 2 (stderr %q)", cmd, code, stderr.String())
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s --review-grade certain created the data folder: %v", cmd, err)
		}
	}
}
