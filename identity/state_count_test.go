package identity

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestLiveOpenCountStaysExact: the queue totals kept up to date event by
// event equal a recount of the live open tasks after every event of a
// random history of links, tasks, decisions, merges, unmerges and
// unlinks (grades mixed).
func TestLiveOpenCountStaysExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	st := NewState()
	var seq uint64
	apply := func(e Event) {
		seq++
		e.Seq = seq
		st.Apply(e)
	}
	patients := make([]string, 40)
	for i := range patients {
		patients[i] = fmt.Sprintf("p%d", i)
		apply(Event{Kind: KindLink, Patient: patients[i], Identity: "i" + patients[i]})
	}
	st.Tasks(StatusOpen, "", 0, 1) // counted from here on
	grades := []string{"certain", "probable", "possible"}
	var tasks []string
	for step := 0; step < 3000; step++ {
		a, b := patients[r.IntN(len(patients))], patients[r.IntN(len(patients))]
		switch k := r.IntN(10); {
		case k < 3 && a != b && st.TaskFor(a, b) == nil && st.IdentityOf(a) != "" && st.IdentityOf(b) != "":
			id := fmt.Sprintf("t%d", step)
			if step%2 == 0 {
				id = randomID() // the packed form of ids
			}
			tasks = append(tasks, id)
			apply(Event{Kind: KindTask, Task: id, Left: a, Right: b, Score: r.Float64(), Grade: grades[r.IntN(3)]})
		case k < 5 && len(tasks) > 0:
			d := []Decision{DecisionMatch, DecisionNoMatch, DecisionDefer}[r.IntN(3)]
			apply(Event{Kind: KindDecide, Task: tasks[r.IntN(len(tasks))], Decision: d})
		case k < 7 && st.IdentityOf(a) != "" && st.IdentityOf(b) != "" && st.IdentityOf(a) != st.IdentityOf(b):
			apply(Event{Kind: KindMerge, From: st.IdentityOf(a), Identity: st.IdentityOf(b)})
		case k < 8 && st.IdentityOf(a) != "":
			apply(Event{Kind: KindUnmerge, From: st.IdentityOf(a), Identity: fmt.Sprintf("u%d", step), Patients: []string{a}})
		case k < 9 && st.IdentityOf(a) != "":
			apply(Event{Kind: KindUnlink, Patient: a})
		default:
			apply(Event{Kind: KindLink, Patient: a, Identity: fmt.Sprintf("n%d", step)})
		}
		for _, g := range append([]string{""}, grades...) {
			want := 0
			for _, task := range st.open[g] {
				if st.tasks[task].status == statusOpen && st.live(task) {
					want++
				}
			}
			if _, got := st.Tasks(StatusOpen, g, 0, 0); got != want {
				t.Fatalf("step %d: grade %q total %d, recount %d", step, g, got, want)
			}
		}
	}
}

// TestHistoryRebuildsTaskEvents: the state keeps no copy of the events
// that open tasks, yet a patient's history lists them exactly as applied.
func TestHistoryRebuildsTaskEvents(t *testing.T) {
	st := NewState()
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	events := []Event{
		{Seq: 1, At: at, By: ActorBatch, Kind: KindLink, Patient: "a", Identity: "ia", Reason: "new identity"},
		{Seq: 2, At: at, By: ActorBatch, Kind: KindLink, Patient: "b", Identity: "ib", Reason: "new identity"},
		{Seq: 3, At: at.Add(time.Second), By: ActorBatch, Kind: KindTask, Task: "t1", Left: "a", Right: "b", Score: 0.97, Grade: "probable"},
		{Seq: 4, At: at.Add(2 * time.Second), By: Steward("ann"), Kind: KindDecide, Task: "t1", Left: "a", Right: "b", Decision: DecisionDefer, Score: 0.97, Grade: "probable", Reason: "later"},
	}
	for _, e := range events {
		st.Apply(e)
	}
	for _, p := range []string{"a", "b"} {
		if got := st.PatientHistory(p); !reflect.DeepEqual(got, events[2:]) {
			t.Errorf("history of %s:\n%+v\nwant\n%+v", p, got, events[2:])
		}
	}
	if len(st.kept) != 1 {
		t.Errorf("%d events kept, want only the decision", len(st.kept))
	}
}
