package admission

import (
	"math"
	"testing"
	"time"
)

// phase is a stretch of a simulated load: requests arriving evenly at
// rate a second (as an open-loop load generator sends them), each needing
// hold of a slot's time; during a stall nothing in the server runs (the
// cores taken by a neighbour, the world stopped): the running requests
// make no progress and the arrivals wait in the kernel, to reach the
// limiter all at once when the stall ends.
type phase struct {
	dur   time.Duration
	rate  float64
	hold  time.Duration
	stall bool
}

// outcome is what a simulated load met, per phase.
type outcome struct {
	// refused counts refusals, atOnce those on arrival.
	refused, atOnce int
	// longestRefusal is the longest a refused request waited before its
	// refusal; longestWait the longest an admitted one waited for its slot.
	longestRefusal, longestWait time.Duration
	overloadedAtEnd             bool
}

// simulate plays phases on l in steps of 50 µs of the fake clock.
func simulate(l *Limiter, clock *fakeClock, phases []phase) []outcome {
	const tick = 50 * time.Microsecond
	type running struct {
		start time.Time
		left  time.Duration
	}
	type queued struct {
		w     *waiter
		since time.Time
	}
	var run []running
	var waiting []queued
	outs := make([]outcome, len(phases))
	due := 0.0
	for i, p := range phases {
		o := &outs[i]
		for end := clock.Now().Add(p.dur); clock.Now().Before(end); clock.advance(tick) {
			now := clock.Now()
			if !p.stall { // the running requests progress; the done give their slot on
				kept := run[:0]
				for _, r := range run {
					if r.left -= tick; r.left > 0 {
						kept = append(kept, r)
					} else {
						l.release(r.start)
					}
				}
				run = kept
			}
			if due += p.rate * tick.Seconds(); p.stall {
				continue // nothing runs: the requests wait in the kernel
			}
			for ; due >= 1; due-- {
				switch w, admitted := l.enqueue(); {
				case !admitted.IsZero():
					run = append(run, running{start: now, left: p.hold})
				case w == nil:
					o.refused++
					o.atOnce++
				default:
					waiting = append(waiting, queued{w, now})
				}
			}
			kept := waiting[:0]
			for _, q := range waiting {
				select {
				case ok := <-q.w.ch:
					if d := now.Sub(q.since); ok {
						run = append(run, running{start: now, left: p.hold})
						o.longestWait = max(o.longestWait, d)
					} else {
						o.refused++
						o.longestRefusal = max(o.longestRefusal, d)
					}
				default:
					kept = append(kept, q)
				}
			}
			waiting = kept
		}
		o.overloadedAtEnd = l.snapshot().overloaded
	}
	return outs
}

// TestRatesTellOverloadFromStall plays an open-loop load on two slots with
// a fake clock (the defaults otherwise): stalls of a server at half its
// capacity are ridden out however long the queue stands; arrivals over
// capacity are refused on arrival (no refusal waits longer than Wait)
// while the admitted wait little; and when the rate drops the server is
// back to queueing at once.
func TestRatesTellOverloadFromStall(t *testing.T) {
	ms := time.Millisecond
	hold := 400 * time.Microsecond // two slots: capacity 5,000/s
	tests := []struct {
		name   string
		phases []phase
		// check the outcome of each phase.
		check func(t *testing.T, outs []outcome)
	}{{
		name: "half capacity with two 250 ms stalls: nothing refused",
		phases: []phase{{time.Second, 2500, hold, false}, {250 * ms, 2500, hold, true},
			{2 * time.Second, 2500, hold, false}, {250 * ms, 2500, hold, true}, {time.Second, 2500, hold, false}},
		check: func(t *testing.T, outs []outcome) {
			for i, o := range outs {
				if o.refused > 0 || o.overloadedAtEnd {
					t.Errorf("phase %d: %+v, want nothing refused, no overload", i, o)
				}
			}
		},
	}, {
		name:   "1.1× capacity: refusals at once, short waits; then half capacity: none",
		phases: []phase{{time.Second, 2500, hold, false}, {3 * time.Second, 5500, hold, false}, {2 * time.Second, 2500, hold, false}},
		check: func(t *testing.T, outs []outcome) {
			over := outs[1]
			// The excess is ~500/s for 3 s; all but the onset's refused.
			if over.refused < 1000 || !over.overloadedAtEnd {
				t.Errorf("overload: %+v, want ≥ 1,000 refused and overloaded at the end", over)
			}
			if over.longestRefusal > DefaultWait || over.atOnce < over.refused/2 {
				t.Errorf("overload: %+v, want half the refusals or more on arrival, none after Wait %v", over, DefaultWait)
			}
			if after := outs[2]; after.refused > 0 || after.overloadedAtEnd {
				t.Errorf("after: %+v, want nothing refused, no overload", after)
			}
		},
	}, {
		name: "twice capacity: the admitted wait little once the rate is known",
		phases: []phase{{time.Second, 2500, hold, false}, {500 * ms, 10000, hold, false},
			{2 * time.Second, 10000, hold, false}},
		check: func(t *testing.T, outs []outcome) {
			if o := outs[2]; o.longestWait > 2*DefaultWait || o.longestRefusal > DefaultWait || o.refused < 8000 {
				t.Errorf("steady overload: %+v, want waits ≤ %v, refusals within Wait, ≥ 8,000 refused", o, 2*DefaultWait)
			}
		},
	}, {
		name: "a stop longer than the burst wait: those who could not be served in time refused at once",
		phases: []phase{{time.Second, 2500, hold, false}, {time.Second, 2500, hold, true},
			{time.Second, 2500, hold, false}, {time.Second, 2500, hold, false}},
		check: func(t *testing.T, outs []outcome) {
			if o := outs[2]; o.refused == 0 || o.atOnce < o.refused*9/10 {
				t.Errorf("after the stop: %+v, want refusals, nine in ten or more on arrival", o)
			}
			if o := outs[3]; o.refused > 0 || o.overloadedAtEnd {
				t.Errorf("a second later: %+v, want nothing refused, no overload", o)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			// A waiting room large enough not to be what refuses.
			l, err := New(Options{MaxInFlight: 2, MaxWaiting: 10000, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, simulate(l, clock, tc.phases))
		})
	}
}

// TestEstimates checks the two rates against what they estimate: an even
// 1,000 arrivals a second, and the mean service time through a stall.
func TestEstimates(t *testing.T) {
	start := time.Unix(1e9, 0)
	r := arrivalRate{window: DefaultRateWindow}
	if r.at(start) != 0 {
		t.Errorf("no arrivals: rate %v, want 0", r.at(start))
	}
	now := start
	for range 3000 {
		now = now.Add(time.Millisecond)
		r.add(now)
	}
	if got := r.at(now); math.Abs(got-1000) > 50 {
		t.Errorf("1,000/s for 3 s: rate %.0f", got)
	}
	if got := r.at(now.Add(time.Second)); got > 1000*math.Exp(-3.9) {
		t.Errorf("a second of silence: rate %.0f, want decayed by e^4", got)
	}
	var s serviceTime
	for range 2 * serviceSamples {
		s.add(time.Millisecond)
	}
	if !s.known() || math.Abs(s.mean-1e-3) > 1e-9 {
		t.Fatalf("1 ms each: %+v", s)
	}
	// Two requests that sat through a stop of 250 ms: the mean grows by
	// 2 × 250 ms / serviceSamples, not to a quarter of a second.
	s.add(250 * time.Millisecond)
	s.add(250 * time.Millisecond)
	if want := 1e-3 + 2*0.25/serviceSamples; math.Abs(s.mean-want) > 1e-5 {
		t.Errorf("after a stall: mean %v, want ~%v", s.mean, want)
	}
}
