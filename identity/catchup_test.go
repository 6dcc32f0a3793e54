package identity

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/patientmatch/patientmatch/scoring"
)

// TestCatchUpWorkersSameResult: Matches run ahead on several workers, yet
// the identities and tasks are exactly those of a one-by-one pass.
func TestCatchUpWorkersSameResult(t *testing.T) {
	eng := newFakeEngine()
	r := rand.New(rand.NewPCG(3, 4))
	const n = 300
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%03d", i)
	}
	for range 600 {
		a, b := ids[r.IntN(n)], ids[r.IntN(n)]
		if a != b {
			eng.grade(a, b, scoring.Grade(1+r.IntN(3)))
		}
	}
	eng.write(t, ids...)
	var snaps []string
	for _, workers := range []int{1, 4} {
		s, err := Open(context.Background(), NewMemKV(), eng, Options{CatchUpWorkers: workers, NewID: counter("id-"), FlushInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := s.CatchUp(context.Background(), false, ActorBatch, nil)
		if err != nil || sum.Processed != n {
			t.Fatalf("%d workers: CatchUp %+v, %v", workers, sum, err)
		}
		snaps = append(snaps, snapshot(s))
		s.Close()
	}
	if snaps[0] != snaps[1] {
		t.Fatalf("4 workers:\n%s\none:\n%s", snaps[1], snaps[0])
	}
}

// TestCatchUpSeesLiveWriteDuringEarlyMatch: a live write linked while a
// catch-up's Match of an older write is under way found that write
// unassigned, and the early Match could not see the live one; the pair
// still gets its task (the older write is matched again).
func TestCatchUpSeesLiveWriteDuringEarlyMatch(t *testing.T) {
	eng := newFakeEngine()
	eng.grade("x", "y", scoring.GradeProbable)
	eng.write(t, "x") // before any service: left to the catch-up
	s, err := Open(context.Background(), NewMemKV(), eng, Options{NewID: counter("id-"), FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	eng.obs = s
	eng.mu.Lock()
	eng.gateID = "x"
	eng.mu.Unlock()
	gate, entered := eng.hold()
	done := make(chan error, 1)
	go func() {
		_, err := s.CatchUp(context.Background(), false, ActorAuto, nil)
		done <- err
	}()
	<-entered // x's Match is under way, before y exists
	eng.write(t, "y")
	// A one-by-one catch-up holds the linker off until x is planned;
	// one that matches ahead lets it link y now. Either way x–y must end
	// up as a task.
	for deadline := time.Now().Add(2 * time.Second); s.liveLinked.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ts := openTasks(s); len(ts) != 1 || pairOf(ts[0].Left, ts[0].Right) != pairOf("x", "y") {
		t.Fatalf("open tasks %+v, want the x–y task", ts)
	}
}

// TestLinkerSkipsSupersededWrites: of several writes of one patient
// queued together, only the last is matched and linked.
func TestLinkerSkipsSupersededWrites(t *testing.T) {
	eng := newFakeEngine()
	eng.grade("a", "b", scoring.GradeCertain)
	s := openService(t, NewMemKV(), eng)
	eng.mu.Lock()
	eng.matched = nil
	eng.mu.Unlock()
	eng.write(t, "a", "b", "a", "a") // one batch, as a transaction Bundle gives
	if ia, ib := must(s.PersonOf("a")).ID, must(s.PersonOf("b")).ID; ia != ib {
		t.Fatalf("a in Person/%s, b in Person/%s: a certain pair not linked", ia, ib)
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if !slices.Equal(eng.matched, []string{"b", "a"}) {
		t.Fatalf("matched %v, want b then a (a's earlier writes skipped)", eng.matched)
	}
}
