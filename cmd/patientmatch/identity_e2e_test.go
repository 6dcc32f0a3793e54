package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The identity scenarios of issue 18, end to end against the real server:
// near-duplicates become one task, no-match is never proposed again, match
// makes one identity, unmerge restores two with history, $merge links the
// records, and all of it survives a restart and a SIGKILL.

// reviewPatient is a test patient as a FHIR Patient JSON object; with
// full it has an address and a phone, otherwise only name, sex and birth
// date (which scores probable against the full record, not certain).
func reviewPatient(id, family, given, birth string, full bool) map[string]any {
	p := map[string]any{"resourceType": "Patient", "id": id, "gender": "female", "birthDate": birth,
		"name": []any{map[string]any{"family": family, "given": []string{given}}}}
	if full {
		p["address"] = []any{map[string]any{"line": []string{"12 Alder St"}, "city": "Springfield", "state": "IL", "postalCode": "62704"}}
		p["telecom"] = []any{map[string]any{"system": "phone", "value": "217-555-0142"}}
	}
	return p
}

type reviewTask struct {
	ID, Left, Right, Grade, Status string
	Score                          float64
}

func (s *e2eServer) put(t *testing.T, p map[string]any) {
	t.Helper()
	r := s.do(t, "PUT", "/fhir/Patient/"+p["id"].(string), p, "", "")
	if r.status != 200 && r.status != 201 {
		t.Fatalf("PUT %s: %d %s", p["id"], r.status, r.body)
	}
}

func (s *e2eServer) tasks(t *testing.T, query string) []reviewTask {
	t.Helper()
	r := s.do(t, "GET", "/review?"+query, nil, "", "")
	wantStatus(t, "GET /review", r, 200)
	var ts []reviewTask
	if err := json.Unmarshal(r.body, &ts); err != nil {
		t.Fatalf("GET /review: not a JSON list: %v\n%s", err, r.body)
	}
	return ts
}

// taskFor returns the tasks (any of them in ts) about patients a and b.
func taskFor(ts []reviewTask, a, b string) []reviewTask {
	var out []reviewTask
	for _, x := range ts {
		if (x.Left == "Patient/"+a && x.Right == "Patient/"+b) || (x.Left == "Patient/"+b && x.Right == "Patient/"+a) {
			out = append(out, x)
		}
	}
	return out
}

func (s *e2eServer) decide(t *testing.T, task, decision string) map[string]any {
	t.Helper()
	r := s.do(t, "POST", "/review/"+task+"/decision", map[string]any{"decision": decision}, "application/json", "")
	wantStatus(t, "decision "+decision, r, 200)
	return r.json(t)
}

// personOf returns the Person id of patient p and its linked patients.
func (s *e2eServer) personOf(t *testing.T, p string) (string, []string) {
	t.Helper()
	r := s.do(t, "GET", "/fhir/Person?patient=Patient/"+p, nil, "", "")
	wantStatus(t, "Person search", r, 200)
	var b struct {
		Entry []struct {
			Resource struct {
				ID   string `json:"id"`
				Link []struct {
					Target struct{ Reference string } `json:"target"`
				} `json:"link"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil || len(b.Entry) != 1 {
		t.Fatalf("Person?patient=Patient/%s: want one entry: %v %s", p, err, r.body)
	}
	var links []string
	for _, l := range b.Entry[0].Resource.Link {
		links = append(links, strings.TrimPrefix(l.Target.Reference, "Patient/"))
	}
	slices.Sort(links)
	return b.Entry[0].Resource.ID, links
}

// waitTask polls the open queue until a task about a and b shows up
// (linking is synchronous with the write, so the first poll should do).
func (s *e2eServer) waitTask(t *testing.T, a, b string) reviewTask {
	t.Helper()
	var ts []reviewTask
	if !eventually(func() bool {
		ts = taskFor(s.tasks(t, "status=open&_count=1000"), a, b)
		return len(ts) > 0
	}) {
		t.Fatalf("no task for %s–%s; queue: %+v", a, b, s.tasks(t, "_count=1000"))
	}
	if len(ts) != 1 {
		t.Fatalf("%d open tasks for %s–%s, want one", len(ts), a, b)
	}
	return ts[0]
}

func TestIdentityReviewE2E(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, serveConfig{data: dir})

	// Two near-duplicates → exactly one task, two identities.
	s.put(t, reviewPatient("ra", "Quenneville", "Rosalind", "1971-03-14", true))
	s.put(t, reviewPatient("rb", "Quenville", "Rosalind", "1971-03-14", false))
	task := s.waitTask(t, "ra", "rb")
	if task.Grade != "probable" && task.Grade != "possible" {
		t.Fatalf("task grade %q", task.Grade)
	}
	if all := s.tasks(t, "status=open&_count=1000"); len(all) != 1 {
		t.Fatalf("queue holds %d tasks, want 1: %+v", len(all), all)
	}
	if pa, _ := s.personOf(t, "ra"); pa == mustPerson(s, t, "rb") {
		t.Fatal("a probable pair was linked automatically")
	}

	// no-match → a third similar record, and updates, do not re-propose it.
	s.decide(t, task.ID, "no-match")
	s.put(t, reviewPatient("rc", "Quenneville", "Rosa", "1971-03-14", false))
	s.put(t, reviewPatient("rb", "Quenville", "Rosalind", "1971-03-14", true)) // an update of rb
	for _, st := range []string{"open", "deferred", "matched"} {
		if got := taskFor(s.tasks(t, "status="+st+"&_count=1000"), "ra", "rb"); len(got) != 0 {
			t.Fatalf("ra–rb proposed again after no-match (%s): %+v", st, got)
		}
	}
	if got := taskFor(s.tasks(t, "status=no-match"), "ra", "rb"); len(got) != 1 {
		t.Fatalf("the no-match decision is not listed: %+v", got)
	}

	// match → one identity.
	s.put(t, reviewPatient("wa", "Wexford", "Ignatia", "1958-09-30", true))
	s.put(t, reviewPatient("wb", "Wexfort", "Ignatia", "1958-09-30", false))
	wt := s.waitTask(t, "wa", "wb")
	wbPerson := mustPerson(s, t, "wb")
	res := s.decide(t, wt.ID, "match")
	if res["task"].(map[string]any)["status"] != "matched" {
		t.Fatalf("decision answer %v", res)
	}
	pw, links := s.personOf(t, "wa")
	if !slices.Equal(links, []string{"wa", "wb"}) {
		t.Fatalf("after match Person/%s links %v, want wa and wb", pw, links)
	}
	if r := s.do(t, "GET", "/fhir/Person/"+pw, nil, "", ""); r.status != 200 || !strings.Contains(string(r.body), `"Patient/wb"`) {
		t.Fatalf("GET Person/%s: %d %s", pw, r.status, r.body)
	}

	// unmerge → two again, wb under its old Person id, with history.
	r := s.do(t, "POST", "/fhir/Patient/$unmerge", map[string]any{"resourceType": "Parameters", "parameter": []any{
		map[string]any{"name": "patient", "valueReference": map[string]any{"reference": "Patient/wb"}}}}, "", "")
	wantStatus(t, "$unmerge", r, 200)
	if got := mustPerson(s, t, "wb"); got != wbPerson {
		t.Fatalf("unmerge put wb in Person/%s, want its old Person/%s", got, wbPerson)
	}
	if _, links := s.personOf(t, "wa"); !slices.Equal(links, []string{"wa"}) {
		t.Fatalf("after unmerge wa's Person links %v", links)
	}
	hist := s.do(t, "GET", "/review/history?patient=Patient/wb", nil, "", "")
	wantStatus(t, "history", hist, 200)
	for _, kind := range []string{`"kind":"decide"`, `"kind":"merge"`, `"kind":"unmerge"`, `"by":"steward:local"`} {
		if !strings.Contains(string(hist.body), kind) {
			t.Fatalf("history of wb lacks %s: %s", kind, hist.body)
		}
	}

	// $merge of two unrelated records: replaced-by, one identity.
	s.put(t, reviewPatient("ma", "Abernathy", "Colette", "1990-01-02", true))
	s.put(t, reviewPatient("mb", "Zimmerman", "Otto", "1944-12-24", false))
	r = s.do(t, "POST", "/fhir/Patient/$merge", map[string]any{"resourceType": "Parameters", "parameter": []any{
		map[string]any{"name": "source-patient", "valueReference": map[string]any{"reference": "Patient/mb"}},
		map[string]any{"name": "target-patient", "valueReference": map[string]any{"reference": "Patient/ma"}}}}, "", "")
	wantStatus(t, "$merge", r, 200)
	src := s.do(t, "GET", "/fhir/Patient/mb", nil, "", "")
	if !strings.Contains(string(src.body), `"replaced-by"`) || !strings.Contains(string(src.body), `"Patient/ma"`) {
		t.Fatalf("merged-away Patient lacks link replaced-by Patient/ma: %s", src.body)
	}
	if _, links := s.personOf(t, "ma"); !slices.Equal(links, []string{"ma", "mb"}) {
		t.Fatalf("after $merge Person links %v", links)
	}
	// Bad input: OperationOutcome, nothing changed.
	bad := s.do(t, "POST", "/fhir/Patient/$merge", map[string]any{"resourceType": "Parameters"}, "", "")
	wantStatus(t, "$merge without patients", bad, 400)
	wantOutcome(t, "$merge without patients", bad)
	wantStatus(t, "decision on a missing task", s.do(t, "POST", "/review/nope/decision", map[string]any{"decision": "match"}, "application/json", ""), 404)
	// Under --auth none a form post (which a web page can send cross-site
	// without a CORS preflight) is refused before routing: 415.
	wantStatus(t, "a form-encoded decision", s.do(t, "POST", "/review/"+wt.ID+"/decision", "decision=match", "application/x-www-form-urlencoded", ""), 415)

	// Restart keeps all of it.
	before := identitySnapshot(t, s, "ra", "rb", "rc", "wa", "wb", "ma", "mb")
	if err := s.stop(e2eHangGuard); err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, serveConfig{data: dir})
	if after := identitySnapshot(t, s2, "ra", "rb", "rc", "wa", "wb", "ma", "mb"); after != before {
		t.Fatalf("after restart:\n%s\nbefore:\n%s", after, before)
	}
}

func mustPerson(s *e2eServer, t *testing.T, p string) string {
	id, _ := s.personOf(t, p)
	return id
}

// identitySnapshot describes the identities of ps and every task.
func identitySnapshot(t *testing.T, s *e2eServer, ps ...string) string {
	var b strings.Builder
	for _, p := range ps {
		id, links := s.personOf(t, p)
		fmt.Fprintf(&b, "%s → Person/%s %v\n", p, id, links)
	}
	for _, st := range []string{"open", "matched", "no-match", "deferred"} {
		for _, x := range s.tasks(t, "status="+st+"&_count=1000") {
			fmt.Fprintf(&b, "task %s %s %s %s\n", x.ID, x.Left, x.Right, x.Status)
		}
	}
	return b.String()
}

// identityChildEnv makes the test binary a serve process the parent kills.
const identityChildEnv = "PATIENTMATCH_IDENTITY_CHILD_DIR"

// TestIdentityServeChild is the child of TestIdentityKillAfterDecision: a
// real server on the data folder, printing its address.
func TestIdentityServeChild(t *testing.T) {
	dir := os.Getenv(identityChildEnv)
	if dir == "" {
		t.Skip("child process of TestIdentityKillAfterDecision only")
	}
	env := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	c := serveConfig{data: dir, httpAddr: "127.0.0.1:0", auth: "none", maxBody: 1 << 20}
	err := serve(context.Background(), env, c, func(h, _ string) { fmt.Printf("ready http://%s\n", h) })
	fmt.Println("serve returned:", err)
}

// TestIdentityKillAfterDecision: SIGKILL right after a decision's
// acknowledgement (and after one more acknowledged write) loses nothing.
func TestIdentityKillAfterDecision(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdentityServeChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), identityChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	child := &e2eServer{stopped: true}
	for sc.Scan() {
		if base, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
			child.httpBase = base
			break
		}
	}
	if child.httpBase == "" {
		t.Fatal("child server did not start")
	}
	child.put(t, reviewPatient("ka", "Quenneville", "Rosalind", "1971-03-14", true))
	child.put(t, reviewPatient("kb", "Quenville", "Rosalind", "1971-03-14", false))
	task := child.waitTask(t, "ka", "kb")
	child.decide(t, task.ID, "match") // acknowledged
	child.put(t, reviewPatient("kc", "Abernathy", "Colette", "1990-01-02", true))
	if err := cmd.Process.Kill(); err != nil { // SIGKILL, no chance to flush
		t.Fatal(err)
	}
	_ = cmd.Wait()

	s := startServer(t, serveConfig{data: dir})
	if _, links := s.personOf(t, "ka"); !slices.Equal(links, []string{"ka", "kb"}) {
		t.Fatalf("the match decided before SIGKILL is lost: ka's Person links %v", links)
	}
	if got := taskFor(s.tasks(t, "status=matched"), "ka", "kb"); len(got) != 1 {
		t.Fatalf("the decided task is lost: %+v", s.tasks(t, "status=open"))
	}
	// kc's automatic identity may not have reached the disk; the restart
	// catches up from the store's changelog (in the background).
	var r httpResult
	if !eventually(func() bool {
		r = s.do(t, "GET", "/fhir/Person?patient=Patient/kc", nil, "", "")
		return strings.Contains(string(r.body), `"Patient/kc"`)
	}) {
		t.Fatalf("kc, written after the decision, has no identity after restart: %s", r.body)
	}
}
