package identity

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestPackTaskIDKeepsOrder: randomID's ids survive packing, other shapes
// are refused, and packed ids compare as their strings do (the queue's
// tie-break).
func TestPackTaskIDKeepsOrder(t *testing.T) {
	ids := []string{strings.Repeat("2", 16), strings.Repeat("z", 16), "7a2zzzzzzzzzzzzz", "a7zzzzzzzzzzzzzz"}
	for range 500 {
		ids = append(ids, randomID())
	}
	for i, a := range ids {
		ka, ok := packTaskID(a)
		if !ok || unpackTaskID(ka) != a {
			t.Fatalf("%q: packed %v, unpacks to %q", a, ok, unpackTaskID(ka))
		}
		b := ids[(i+1)%len(ids)]
		kb, _ := packTaskID(b)
		if got, want := bytes.Compare(ka[:], kb[:]), strings.Compare(a, b); got != want {
			t.Errorf("%q vs %q: packed compare %d, strings %d", a, b, got, want)
		}
	}
	for _, id := range []string{"", "t1", strings.Repeat("a", 15), strings.Repeat("a", 17), "AAAAAAAAAAAAAAAA", "aaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaa8"} {
		if _, ok := packTaskID(id); ok {
			t.Errorf("%q packed", id)
		}
	}
}

// TestTasksRoundTrip: tasks of both id shapes come back from the compact
// store exactly as opened and decided, pages follow score then id
// (packed and unpacked ids mixed), and each patient's open-task list
// drops decided tasks.
func TestTasksRoundTrip(t *testing.T) {
	st := NewState()
	r := rand.New(rand.NewPCG(3, 4))
	var seq uint64
	apply := func(e Event) {
		seq++
		e.Seq = seq
		st.Apply(e)
	}
	for i := range 30 {
		apply(Event{Kind: KindLink, Patient: fmt.Sprintf("p%d", i), Identity: fmt.Sprintf("i%d", i)})
	}
	want := map[string]Task{}
	grades := []string{"certain", "probable", "possible"}
	for i := range 200 {
		id := fmt.Sprintf("t%d", i)
		if i%2 == 0 {
			id = randomID()
		}
		a, b := r.IntN(30), r.IntN(30)
		for b == a {
			b = r.IntN(30)
		}
		// Scores repeat so that ids break ties.
		task := Task{ID: id, Left: fmt.Sprintf("p%d", a), Right: fmt.Sprintf("p%d", b), Score: float64(r.IntN(4)) / 4, Grade: grades[r.IntN(3)], Status: StatusOpen}
		apply(Event{Kind: KindTask, By: ActorBatch, Task: id, Left: task.Left, Right: task.Right, Score: task.Score, Grade: task.Grade})
		want[id] = task
	}
	var decided []string
	for id, task := range want {
		if r.IntN(3) == 0 {
			apply(Event{Kind: KindDecide, By: Steward("ann"), Task: id, Decision: DecisionDefer})
			task.Status, task.DecidedBy = StatusDeferred, Steward("ann")
			want[id] = task
			decided = append(decided, id)
		}
	}
	for id, w := range want {
		if got := st.Task(id); got == nil || *got != w {
			t.Fatalf("task %s: got %+v, want %+v", id, got, w)
		}
		if got := st.TaskFor(w.Right, w.Left); got == nil {
			t.Fatalf("no task for the pair of %s", id)
		}
	}
	for _, status := range []Status{StatusOpen, StatusDeferred} {
		var wantPage []Task
		for _, w := range want {
			if w.Status == status {
				wantPage = append(wantPage, w)
			}
		}
		slices.SortFunc(wantPage, func(a, b Task) int {
			if a.Score != b.Score {
				return map[bool]int{true: -1, false: 1}[a.Score > b.Score]
			}
			return strings.Compare(a.ID, b.ID)
		})
		got, total := st.Tasks(status, "", 0, 1000)
		if total != len(wantPage) || !slices.Equal(got, wantPage) {
			t.Fatalf("%s page: %d of %d, want %d:\n%v\nwant\n%v", status, len(got), total, len(wantPage), got, wantPage)
		}
	}
	for i := range 30 {
		p := fmt.Sprintf("p%d", i)
		var wantOpen []string
		for id, w := range want {
			if w.Status == StatusOpen && (w.Left == p || w.Right == p) {
				wantOpen = append(wantOpen, id)
			}
		}
		var gotOpen []string
		for _, n := range st.openOf(p) {
			gotOpen = append(gotOpen, st.taskID(&st.tasks[n]))
		}
		slices.Sort(wantOpen)
		slices.Sort(gotOpen)
		if !slices.Equal(gotOpen, wantOpen) {
			t.Fatalf("open tasks of %s: %v, want %v", p, gotOpen, wantOpen)
		}
	}
	if len(decided) == 0 {
		t.Fatal("no task decided: the test proves nothing")
	}
}

// TestNumIndexFindsEveryNumber: the patient and task indexes find each of
// thousands of keys across their growth, miss absent keys, and a repeated
// task id finds the newer task (as a map would).
func TestNumIndexFindsEveryNumber(t *testing.T) {
	st := NewState()
	const n = 5000
	ids := make([]string, n)
	for i := range n {
		ids[i] = randomID()
		st.Apply(Event{Seq: uint64(i + 1), Kind: KindTask, Task: ids[i], Left: fmt.Sprintf("p%d", i), Right: fmt.Sprintf("q%d", i), Grade: "possible"})
	}
	for i := range n {
		if k, ok := st.patientIndexOf(fmt.Sprintf("q%d", i)); !ok || st.pidOf(k) != fmt.Sprintf("q%d", i) {
			t.Fatalf("patient q%d: %d, %v", i, k, ok)
		}
		if k, ok := st.taskNum(ids[i]); !ok || k != uint32(i) {
			t.Fatalf("task %d: %d, %v", i, k, ok)
		}
	}
	if _, ok := st.patientIndexOf("r1"); ok {
		t.Error("found a patient never named")
	}
	if _, ok := st.taskNum(randomID()); ok {
		t.Error("found a task never opened")
	}
	st.Apply(Event{Seq: n + 1, Kind: KindTask, Task: ids[7], Left: "x", Right: "y", Grade: "possible"})
	if k, _ := st.taskNum(ids[7]); k != n {
		t.Errorf("repeated id finds task %d, want the newer %d", k, n)
	}
}
