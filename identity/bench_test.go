package identity

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// queueState is a state with n patients in n/2 identities... and n/4
// open tasks with random scores, as a replayed log would give.
func queueState(n int) *State {
	st := NewState()
	r := rand.New(rand.NewPCG(1, 2))
	at := time.Unix(0, 0)
	var seq uint64
	for i := 0; i < n; i++ {
		seq++
		st.Apply(Event{Seq: seq, At: at, By: ActorAuto, Kind: KindLink, Patient: fmt.Sprintf("p%d", i), Identity: fmt.Sprintf("i%d", i)})
	}
	grades := []string{"possible", "probable", "certain"}
	for i := 0; i < n/4; i++ {
		seq++
		a, b := r.IntN(n), r.IntN(n)
		if a == b {
			continue
		}
		st.Apply(Event{Seq: seq, At: at, By: ActorAuto, Kind: KindTask, Task: fmt.Sprintf("t%d", i),
			Left: fmt.Sprintf("p%d", a), Right: fmt.Sprintf("p%d", b), Score: r.Float64(), Grade: grades[r.IntN(3)]})
	}
	st.Tasks(StatusOpen, "", 0, 1) // the one sort after a replay
	return st
}

// BenchmarkQueuePage is one page of GET /review: 20 open tasks, best
// first, with the total, at a quarter as many open tasks as patients.
func BenchmarkQueuePage(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		st := queueState(n)
		for _, grade := range []string{"", "probable"} {
			b.Run(fmt.Sprintf("patients=%d/grade=%s", n, grade), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					st.Tasks(StatusOpen, grade, 0, 20)
				}
			})
		}
		// A decision takes the task out of the queue and the next page
		// follows: no re-sort.
		b.Run(fmt.Sprintf("patients=%d/decide+page", n), func(b *testing.B) {
			i := 0
			var seq uint64 = 1 << 40
			for b.Loop() {
				ts, _ := st.Tasks(StatusOpen, "", 0, 20)
				seq++
				st.Apply(Event{Seq: seq, Kind: KindDecide, Task: ts[0].ID, Decision: DecisionDefer})
				i++
			}
		})
	}
}
