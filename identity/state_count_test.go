package identity

import (
	"fmt"
	"math/rand/v2"
	"testing"
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
				if task.Status == StatusOpen && st.live(task) {
					want++
				}
			}
			if _, got := st.Tasks(StatusOpen, g, 0, 0); got != want {
				t.Fatalf("step %d: grade %q total %d, recount %d", step, g, got, want)
			}
		}
	}
}
