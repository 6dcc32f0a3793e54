package identity

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// fakeEngine stands in for matcher.Engine: Match answers from a table of
// pair grades among the stored patients, so tests state exactly which
// pairs are certain, probable or possible.
type fakeEngine struct {
	mu     sync.Mutex
	seq    uint64
	live   map[string]uint64 // id → seq of its last write
	dead   map[string]uint64
	grades map[pair]scoring.Grade
	obs    matcher.Observer
	// gate, when set, holds every Match until it is closed (only the
	// Match of gateID when that is set, and after its answer is made);
	// entered is told (if there is room) each time a Match waits at it.
	gate, entered chan struct{}
	gateID        string
	// matched lists the patients Match was asked about, in order.
	matched []string
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{live: map[string]uint64{}, dead: map[string]uint64{}, grades: map[pair]scoring.Grade{}}
}

// hold makes every Match wait until gate is closed; entered hears of
// each Match that waits (if it has room).
func (f *fakeEngine) hold() (gate, entered chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate, f.entered = make(chan struct{}), make(chan struct{}, 1)
	return f.gate, f.entered
}

func (f *fakeEngine) grade(a, b string, g scoring.Grade) { f.grades[pairOf(a, b)] = g }

func (f *fakeEngine) Match(_ context.Context, q record.Record, opts matcher.MatchOptions) ([]matcher.Match, error) {
	f.mu.Lock()
	gate, entered, gateID := f.gate, f.entered, f.gateID
	f.matched = append(f.matched, q.ID)
	f.mu.Unlock()
	if gate != nil && gateID == "" {
		wait(gate, entered)
	}
	out := f.ranked(q.ID, opts.Count)
	if gate != nil && gateID == q.ID {
		// A Match of one patient sees the patients stored when it began
		// (as a real index snapshot does) and is then held.
		wait(gate, entered)
	}
	return out, nil
}

func wait(gate, entered chan struct{}) {
	select {
	case entered <- struct{}{}:
	default:
	}
	<-gate
}

// ranked is the stored patients matched to q, best first, at most count.
func (f *fakeEngine) ranked(q string, count int) []matcher.Match {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []matcher.Match
	for id := range f.live {
		g := f.grades[pairOf(q, id)]
		if id == q {
			g = scoring.GradeCertain
		}
		if g == scoring.GradeNone {
			continue
		}
		out = append(out, matcher.Match{ID: id, Grade: g, Probability: 0.5 + float64(g)/8})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Probability != out[j].Probability {
			return out[i].Probability > out[j].Probability
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > count {
		out = out[:count]
	}
	return out
}

func (f *fakeEngine) Changes(ctx context.Context, after uint64, fn func(matcher.Written) error) error {
	f.mu.Lock()
	var ws []matcher.Written
	for id, seq := range f.live {
		if seq > after {
			ws = append(ws, matcher.Written{Seq: seq, ID: id, Record: &record.Record{ID: id}})
		}
	}
	for id, seq := range f.dead {
		if seq > after {
			ws = append(ws, matcher.Written{Seq: seq, ID: id})
		}
	}
	f.mu.Unlock()
	slices.SortFunc(ws, func(a, b matcher.Written) int { return int(a.Seq) - int(b.Seq) })
	for _, w := range ws {
		if err := fn(w); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeEngine) LastSeq() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seq
}

// write stores ids (each a new version) and tells the observer, as the
// engine does.
func (f *fakeEngine) write(t *testing.T, ids ...string) {
	t.Helper()
	f.mu.Lock()
	var ws []matcher.Written
	for _, id := range ids {
		f.seq++
		f.live[id] = f.seq
		delete(f.dead, id)
		ws = append(ws, matcher.Written{Seq: f.seq, ID: id, Record: &record.Record{ID: id}})
	}
	obs := f.obs
	f.mu.Unlock()
	if obs != nil {
		obs.Written(context.Background(), ws)
	}
}

func (f *fakeEngine) remove(t *testing.T, id string) {
	t.Helper()
	f.mu.Lock()
	f.seq++
	delete(f.live, id)
	f.dead[id] = f.seq
	ws := []matcher.Written{{Seq: f.seq, ID: id}}
	obs := f.obs
	f.mu.Unlock()
	if obs != nil {
		obs.Written(context.Background(), ws)
	}
}

// counter returns a NewID giving id1, id2, ...
func counter(prefix string) func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("%s%d", prefix, n)
	}
}

func openService(t *testing.T, kv KV, eng *fakeEngine) *Service {
	t.Helper()
	return openServiceWith(t, kv, eng, Options{})
}

// openServiceWith is openService with options (NewID and FlushInterval
// are the tests').
func openServiceWith(t *testing.T, kv KV, eng *fakeEngine, opts Options) *Service {
	t.Helper()
	opts.NewID, opts.FlushInterval = counter(fmt.Sprintf("x%d-", time.Now().UnixNano()%1000)), time.Hour
	s, err := Open(context.Background(), kv, eng, opts)
	if err != nil {
		t.Fatal(err)
	}
	eng.obs = s
	if _, err := s.CatchUp(context.Background(), false, ActorAuto, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func members(t *testing.T, s *Service, p string) []string {
	t.Helper()
	id, err := s.PersonOf(p)
	if err != nil {
		t.Fatalf("PersonOf(%s): %v", p, err)
	}
	var out []string
	for _, m := range id.Members {
		out = append(out, m.Patient)
	}
	return out
}

func openTasks(s *Service) []Task {
	ts, _ := s.Tasks(StatusOpen, "", 0, 1000)
	return ts
}

func TestNewRecordsGetOwnIdentities(t *testing.T) {
	eng := newFakeEngine()
	s := openService(t, NewMemKV(), eng)
	eng.write(t, "a", "b")
	if got := members(t, s, "a"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("a's identity holds %v", got)
	}
	ia, _ := s.PersonOf("a")
	ib, _ := s.PersonOf("b")
	if ia.ID == ib.ID {
		t.Fatal("unrelated records share an identity")
	}
	if n := len(openTasks(s)); n != 0 {
		t.Fatalf("%d tasks for unrelated records", n)
	}
}

func TestCertainMatchLinksAutomatically(t *testing.T) {
	eng := newFakeEngine()
	s := openService(t, NewMemKV(), eng)
	eng.grade("a", "b", scoring.GradeCertain)
	eng.write(t, "a")
	eng.write(t, "b")
	if got := members(t, s, "b"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("b's identity holds %v, want [a b]", got)
	}
	id, _ := s.PersonOf("b")
	for _, m := range id.Members {
		if m.Patient == "b" && (m.By != ActorAuto || m.Grade != "certain" || m.Score == 0) {
			t.Fatalf("b's link %+v lacks who/grade/score", m)
		}
	}
}

func TestProbablePairBecomesOneTask(t *testing.T) {
	eng := newFakeEngine()
	s := openService(t, NewMemKV(), eng)
	eng.grade("a", "b", scoring.GradeProbable)
	eng.write(t, "a")
	eng.write(t, "b")
	eng.write(t, "b") // an update proposes nothing new
	ts := openTasks(s)
	if len(ts) != 1 || pairOf(ts[0].Left, ts[0].Right) != pairOf("a", "b") || ts[0].Grade != "probable" {
		t.Fatalf("tasks %+v, want one probable task a–b", ts)
	}
	if ia, ib := must(s.PersonOf("a")), must(s.PersonOf("b")); ia.ID == ib.ID {
		t.Fatal("a probable pair was linked automatically")
	}
}

func TestTwoCertainIdentitiesGoToReview(t *testing.T) {
	eng := newFakeEngine()
	s := openService(t, NewMemKV(), eng)
	eng.grade("a", "c", scoring.GradeCertain)
	eng.grade("b", "c", scoring.GradeCertain)
	eng.write(t, "a", "b")
	eng.write(t, "c")
	if got := members(t, s, "c"); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("c linked to %v despite two certain identities", got)
	}
	if n := len(openTasks(s)); n != 2 {
		t.Fatalf("%d tasks, want 2 (c–a, c–b)", n)
	}
}

func TestNoMatchIsNeverReproposed(t *testing.T) {
	eng := newFakeEngine()
	s := openService(t, NewMemKV(), eng)
	eng.grade("a", "b", scoring.GradeProbable)
	eng.grade("a", "c", scoring.GradeProbable)
	eng.grade("b", "c", scoring.GradeProbable)
	eng.write(t, "a", "b")
	task := openTasks(s)[0]
	if _, err := s.Decide(context.Background(), task.ID, DecisionNoMatch, Steward("ann"), ""); err != nil {
		t.Fatal(err)
	}
	eng.write(t, "c")
	eng.write(t, "a", "b") // updates re-match a and b
	for _, ts := range openTasks(s) {
		if pairOf(ts.Left, ts.Right) == pairOf("a", "b") {
			t.Fatalf("a–b proposed again after no-match: %+v", ts)
		}
	}
	if n := len(openTasks(s)); n != 2 {
		t.Fatalf("%d open tasks, want c–a and c–b", n)
	}
	// Even a certain score does not link a never-linked pair.
	eng.grade("a", "b", scoring.GradeCertain)
	eng.write(t, "b")
	if must(s.PersonOf("a")).ID == must(s.PersonOf("b")).ID {
		t.Fatal("auto-linking ignored a never-link")
	}
}

func TestMatchMergesAndUnmergeRestores(t *testing.T) {
	eng := newFakeEngine()
	kv := NewMemKV()
	s := openService(t, kv, eng)
	eng.grade("a", "b", scoring.GradeProbable)
	eng.write(t, "a", "b")
	ia0, ib0 := must(s.PersonOf("a")).ID, must(s.PersonOf("b")).ID
	task := openTasks(s)[0]
	got, err := s.Decide(context.Background(), task.ID, DecisionMatch, Steward("ann"), "same person")
	if err != nil || got.Status != StatusMatched || got.DecidedBy != "steward:ann" {
		t.Fatalf("Decide: %+v, %v", got, err)
	}
	if m := members(t, s, "a"); !slices.Equal(m, []string{"a", "b"}) {
		t.Fatalf("after match a's identity holds %v", m)
	}
	survivor := must(s.PersonOf("a")).ID
	loserID := ib0
	if survivor == ib0 {
		loserID = ia0
	}
	if loser := must(s.Person(loserID)); loser.ReplacedBy != survivor || loser.Active() {
		t.Fatalf("merged-away identity %+v not replaced by %s", loser, survivor)
	}
	if len(openTasks(s)) != 0 {
		t.Fatal("a decided task is still open")
	}
	mover := "b"
	if survivor == ib0 {
		mover = "a"
	}
	restored, remaining, err := s.Unmerge(context.Background(), mover, Steward("bob"), "wrong merge")
	if err != nil {
		t.Fatal(err)
	}
	if restored.ID != map[string]string{"a": ia0, "b": ib0}[mover] || len(restored.Members) != 1 || len(remaining.Members) != 1 {
		t.Fatalf("unmerge gave %+v and %+v, want the old identities back", restored, remaining)
	}
	kinds := []string{}
	for _, e := range s.History(mover) {
		kinds = append(kinds, e.Kind)
	}
	for _, k := range []string{KindTask, KindDecide, KindMerge, KindUnmerge, KindNever} {
		if !slices.Contains(kinds, k) {
			t.Fatalf("history of %s is %v, lacks %s", mover, kinds, k)
		}
	}
	// The unmerge leaves a never-link: a certain score does not rejoin them.
	eng.grade("a", "b", scoring.GradeCertain)
	eng.write(t, mover)
	if must(s.PersonOf("a")).ID == must(s.PersonOf("b")).ID {
		t.Fatal("auto-linking rejoined an unmerged pair")
	}
	// Reversal: deciding match again joins them and lifts the never-link.
	if _, err := s.Decide(context.Background(), task.ID, DecisionMatch, Steward("ann"), ""); err != nil {
		t.Fatal(err)
	}
	if must(s.PersonOf("a")).ID != must(s.PersonOf("b")).ID || s.mu.st.Never("a", "b") {
		t.Fatal("re-deciding match did not rejoin the pair and lift the never-link")
	}
}

func TestUnmergeAloneIsConflict(t *testing.T) {
	eng := newFakeEngine()
	s := openService(t, NewMemKV(), eng)
	eng.write(t, "a")
	if _, _, err := s.Unmerge(context.Background(), "a", Steward(""), ""); !errorsIs(err, ErrConflict) {
		t.Fatalf("unmerge of a lone record: %v, want ErrConflict", err)
	}
	if _, _, err := s.Unmerge(context.Background(), "zz", Steward(""), ""); !errorsIs(err, ErrNotFound) {
		t.Fatalf("unmerge of an unknown record: %v, want ErrNotFound", err)
	}
	if _, err := s.Decide(context.Background(), "nope", DecisionMatch, Steward(""), ""); !errorsIs(err, ErrNotFound) {
		t.Fatalf("deciding an unknown task: %v", err)
	}
	if _, err := s.Decide(context.Background(), "nope", "maybe", Steward(""), ""); !errorsIs(err, ErrInvalid) {
		t.Fatalf("an unknown decision: %v", err)
	}
}

func TestDeleteLeavesIdentity(t *testing.T) {
	eng := newFakeEngine()
	s := openService(t, NewMemKV(), eng)
	eng.grade("a", "b", scoring.GradeCertain)
	eng.write(t, "a", "b")
	eng.remove(t, "b")
	if m := members(t, s, "a"); !slices.Equal(m, []string{"a"}) {
		t.Fatalf("after deleting b, a's identity holds %v", m)
	}
	if _, err := s.PersonOf("b"); !errorsIs(err, ErrNotFound) {
		t.Fatalf("a deleted patient still has an identity: %v", err)
	}
}

// TestTaskGrade: by default probable and possible pairs are put in front
// of a steward; narrowed to probable, a possible pair gets no task and no
// link.
func TestTaskGrade(t *testing.T) {
	for _, tc := range []struct {
		opts      Options
		wantPairs []pair
	}{
		{Options{}, []pair{pairOf("a", "b"), pairOf("a", "c")}},
		{Options{TaskGrade: scoring.GradeProbable}, []pair{pairOf("a", "b")}},
		{Options{TaskGrade: scoring.GradePossible}, []pair{pairOf("a", "b"), pairOf("a", "c")}},
	} {
		eng := newFakeEngine()
		s := openServiceWith(t, NewMemKV(), eng, tc.opts)
		eng.grade("a", "b", scoring.GradeProbable)
		eng.grade("a", "c", scoring.GradePossible)
		eng.write(t, "a", "b", "c")
		var got []pair
		for _, task := range openTasks(s) {
			got = append(got, pairOf(task.Left, task.Right))
		}
		slices.SortFunc(got, func(x, y pair) int { return cmp.Or(strings.Compare(x.a, y.a), strings.Compare(x.b, y.b)) })
		if !slices.Equal(got, tc.wantPairs) {
			t.Errorf("TaskGrade %v: open tasks %v, want %v", tc.opts.TaskGrade, got, tc.wantPairs)
		}
		if ia, ic := must(s.PersonOf("a")).ID, must(s.PersonOf("c")).ID; ia == ic {
			t.Errorf("TaskGrade %v: a possible pair was linked", tc.opts.TaskGrade)
		}
	}
}

func TestQueueOrderPagingAndGrade(t *testing.T) {
	eng := newFakeEngine()
	s := openServiceWith(t, NewMemKV(), eng, Options{TaskGrade: scoring.GradePossible})
	eng.grade("a", "b", scoring.GradePossible)
	eng.grade("a", "c", scoring.GradeProbable)
	eng.grade("a", "d", scoring.GradeProbable)
	eng.write(t, "a", "b", "c", "d")
	all, total := s.Tasks(StatusOpen, "", 0, 10)
	if total != 3 || len(all) != 3 || all[0].Score < all[1].Score || all[1].Score < all[2].Score {
		t.Fatalf("queue %+v (total %d) not sorted by score", all, total)
	}
	page, total := s.Tasks(StatusOpen, "", 1, 1)
	if total != 3 || len(page) != 1 || page[0].ID != all[1].ID {
		t.Fatalf("page 2 of size 1: %+v", page)
	}
	prob, total := s.Tasks(StatusOpen, "probable", 0, 10)
	if total != 2 || len(prob) != 2 || prob[0].Grade != "probable" {
		t.Fatalf("grade filter: %+v", prob)
	}
	if _, err := s.Decide(context.Background(), all[0].ID, DecisionDefer, Steward(""), ""); err != nil {
		t.Fatal(err)
	}
	if _, total := s.Tasks(StatusOpen, "", 0, 10); total != 2 {
		t.Fatalf("deferred task still open (%d open)", total)
	}
	if d, _ := s.Tasks(StatusDeferred, "", 0, 10); len(d) != 1 || d[0].ID != all[0].ID {
		t.Fatalf("deferred list %+v", d)
	}
}

// TestQueueTotalCountsLiveTasks: a task whose two patients were joined by
// other means ($merge) asks nothing any more — it leaves the page and the
// total — and comes back with both when an unmerge splits them again.
func TestQueueTotalCountsLiveTasks(t *testing.T) {
	eng := newFakeEngine()
	s := openServiceWith(t, NewMemKV(), eng, Options{TaskGrade: scoring.GradePossible})
	eng.grade("a", "b", scoring.GradeProbable)
	eng.grade("c", "d", scoring.GradePossible)
	eng.write(t, "a", "b", "c", "d")
	ctx := context.Background()
	if _, total := s.Tasks(StatusOpen, "", 0, 10); total != 2 {
		t.Fatalf("%d open tasks, want 2", total)
	}
	if _, err := s.Merge(ctx, "b", "a", Steward("x"), ""); err != nil {
		t.Fatal(err)
	}
	for _, grade := range []string{"", "probable"} {
		page, total := s.Tasks(StatusOpen, grade, 0, 10)
		want := map[string]int{"": 1, "probable": 0}[grade]
		if total != want || len(page) != want {
			t.Fatalf("grade %q after $merge: page %d, total %d; want %d", grade, len(page), total, want)
		}
	}
	if got := s.Stats().OpenTasks; got != 1 {
		t.Fatalf("Stats counts %d open tasks, want 1", got)
	}
	if _, _, err := s.Unmerge(ctx, "b", Steward("x"), ""); err != nil {
		t.Fatal(err)
	}
	if _, total := s.Tasks(StatusOpen, "probable", 0, 10); total != 1 {
		t.Fatalf("after unmerge %d probable tasks open, want the a–b task back", total)
	}
}

// TestReplayRestoresState: a new service on the same log sees the same
// identities, tasks and never-links.
func TestReplayRestoresState(t *testing.T) {
	eng := newFakeEngine()
	kv := NewMemKV()
	possible := Options{TaskGrade: scoring.GradePossible}
	s := openServiceWith(t, kv, eng, possible)
	eng.grade("a", "b", scoring.GradeProbable)
	eng.grade("c", "d", scoring.GradeCertain)
	eng.grade("a", "e", scoring.GradePossible)
	eng.write(t, "a", "b", "c", "d", "e")
	ts := openTasks(s)
	if _, err := s.Decide(context.Background(), ts[0].ID, DecisionNoMatch, Steward("x"), ""); err != nil {
		t.Fatal(err)
	}
	before := snapshot(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openServiceWith(t, kv, eng, possible)
	if after := snapshot(s2); after != before {
		t.Fatalf("after replay:\n%s\nbefore:\n%s", after, before)
	}
}

// TestCrashLosesOnlyRecomputableLinks: automatic links not yet flushed
// are lost with the process, and CatchUp redoes them from the changelog;
// a decision is durable when Decide returns.
func TestCrashLosesOnlyRecomputableLinks(t *testing.T) {
	eng := newFakeEngine()
	kv := NewMemKV()
	s := openService(t, kv, eng)
	eng.grade("a", "b", scoring.GradeProbable)
	eng.grade("c", "d", scoring.GradeCertain)
	eng.write(t, "a", "b")
	task := openTasks(s)[0]
	if _, err := s.Decide(context.Background(), task.ID, DecisionMatch, Steward("x"), ""); err != nil {
		t.Fatal(err)
	}
	eng.write(t, "c", "d") // not flushed (FlushInterval is an hour)
	// "Crash": abandon s without Close; a new service opens the same log.
	eng.obs = nil
	s2 := openService(t, kv, eng)
	if must(s2.PersonOf("a")).ID != must(s2.PersonOf("b")).ID {
		t.Fatal("a decision acknowledged before the crash was lost")
	}
	if must(s2.PersonOf("c")).ID != must(s2.PersonOf("d")).ID {
		t.Fatal("catch-up did not redo the lost automatic link")
	}
	if got, _ := s2.Task(task.ID); got.Status != StatusMatched {
		t.Fatalf("task status after crash %q", got.Status)
	}
}

func TestFailedFlushKeepsEvents(t *testing.T) {
	eng := newFakeEngine()
	kv := NewMemKV()
	s := openService(t, kv, eng)
	eng.grade("a", "b", scoring.GradeProbable)
	eng.write(t, "a", "b")
	kv.FailSets = 1
	task := openTasks(s)[0]
	if _, err := s.Decide(context.Background(), task.ID, DecisionNoMatch, Steward("x"), ""); err == nil {
		t.Fatal("Decide reported success although the log write failed")
	}
	if err := s.Close(); err != nil { // retries the pending batch
		t.Fatal(err)
	}
	s2 := openService(t, kv, eng)
	if got, _ := s2.Task(task.ID); got.Status != StatusNoMatch {
		t.Fatalf("decision lost after a failed then retried flush: %q", got.Status)
	}
}

// TestBatchPass: patients loaded while no service observed the engine
// (a bulk load) get identities and tasks from CatchUp, as dedupe --data
// runs it.
func TestBatchPass(t *testing.T) {
	eng := newFakeEngine()
	eng.grade("a", "b", scoring.GradeCertain)
	eng.grade("b", "c", scoring.GradeProbable)
	eng.write(t, "a", "b", "c", "d")
	kv := NewMemKV()
	s, err := Open(context.Background(), kv, eng, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sum, err := s.CatchUp(context.Background(), true, ActorBatch, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Processed != 4 || sum.Identities != 3 || sum.Patients != 4 || sum.OpenTasks != 1 {
		t.Fatalf("batch pass summary %+v, want 4 processed, 3 identities, 1 task", sum)
	}
	// Running it again changes nothing.
	sum2, err := s.CatchUp(context.Background(), true, ActorBatch, nil)
	if err != nil || sum2.Identities != 3 || sum2.OpenTasks != 1 {
		t.Fatalf("second pass %+v, %v", sum2, err)
	}
}

func snapshot(s *Service) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.mu.st
	var lines []string
	for n, ps := range st.patients {
		if ps.identity == 0 {
			continue
		}
		lines = append(lines, fmt.Sprintf("patient %s in %s", st.pidOf(uint32(n)), st.identName(ps.identity)))
	}
	for k := range st.tasks {
		t := st.task(uint32(k))
		lines = append(lines, fmt.Sprintf("task %s %s-%s %s %.3f", t.ID, t.Left, t.Right, t.Status, t.Score))
	}
	for k := range st.never {
		lines = append(lines, fmt.Sprintf("never %s-%s", k.a, k.b))
	}
	sort.Strings(lines)
	return fmt.Sprint(lines)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestWritesDoNotWaitForLinking: the engine's write returns while the
// linker's Match is still held, and the service's reads wait for the
// queue, so a caller still sees its own writes linked.
func TestWritesDoNotWaitForLinking(t *testing.T) {
	eng := newFakeEngine()
	s := openService(t, NewMemKV(), eng)
	eng.grade("a", "b", scoring.GradeCertain)
	gate, _ := eng.hold()
	wrote := make(chan struct{})
	go func() {
		eng.write(t, "a")
		eng.write(t, "b")
		close(wrote)
	}()
	select {
	case <-wrote:
	case <-time.After(20 * time.Second):
		t.Fatal("a write waited for its linking (the linker's Match is held)")
	}
	read := make(chan []string)
	go func() { read <- members(t, s, "b") }()
	select {
	case got := <-read:
		t.Fatalf("PersonOf answered %v before the queued writes were linked", got)
	case <-time.After(200 * time.Millisecond): // (a slow machine can only let a wrong service pass)
	}
	close(gate)
	if got := <-read; !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("b's identity holds %v after linking, want [a b]", got)
	}
}

// TestCloseLinksQueuedWrites: Close links every queued write and writes
// it to the log, so a service reopened without a catch-up has the links.
// The linker is held inside its first batch while more writes queue up
// and Close begins.
func TestCloseLinksQueuedWrites(t *testing.T) {
	eng := newFakeEngine()
	kv := NewMemKV()
	s := openService(t, kv, eng)
	eng.grade("a", "b", scoring.GradeCertain)
	eng.grade("c", "d", scoring.GradeCertain)
	gate, entered := eng.hold()
	eng.write(t, "a", "b")
	<-entered // the linker holds a and b; c and d queue behind them
	eng.write(t, "c", "d")
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	close(gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	eng.obs = nil
	s2, err := Open(context.Background(), kv, eng, Options{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, p := range [][2]string{{"a", "b"}, {"c", "d"}} {
		i1, err1 := s2.PersonOf(p[0])
		i2, err2 := s2.PersonOf(p[1])
		if err1 != nil || err2 != nil || i1.ID != i2.ID {
			t.Fatalf("after Close and reopen without catch-up: %s in %q (%v), %s in %q (%v); want one identity", p[0], i1.ID, err1, p[1], i2.ID, err2)
		}
	}
}
