package admission

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeClock is a Clock whose time moves only when the test says; timers
// due by then run in the test's goroutine, in order.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1e9, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// advance moves the time on by d, running the timers due on the way.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.stopped && !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			break
		}
		next.stopped = true
		c.now = next.at
		c.mu.Unlock()
		next.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// step is one event of a scenario: a request arrives (its name), a slot is
// released, or time passes; then what the scenario expects.
type step struct {
	arrive  string        // a request arrives: admitted, queued or refused
	release bool          // one running request finishes (held for hold)
	hold    time.Duration // how long the finishing request held its slot
	advance time.Duration // time passes
	// After the event: the requests decided by now (name → "admitted" or
	// "refused"; undecided ones queued) and the mode.
	want       map[string]string
	overloaded bool
}

// TestControlledDelay plays scenarios on one slot with a fake clock
// (BurstWait 100 ms, Wait 2 ms, Interval 100 ms), with no service time
// known (so no capacity, and only the standing-queue test of overload): a
// transient queue waits long and is served oldest first; a standing queue
// refuses newcomers at the door and still serves its oldest waiter.
func TestControlledDelay(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		opts  Options
		steps []step
	}{{
		name: "a stall shorter than the burst wait costs latency, not refusals",
		steps: []step{
			{arrive: "a", want: map[string]string{"a": "admitted"}},
			{arrive: "b", want: map[string]string{}},
			{advance: 60 * ms, want: map[string]string{}},
			{arrive: "c", want: map[string]string{}},
			{release: true, want: map[string]string{"b": "admitted"}}, // oldest first
			{advance: 30 * ms, want: map[string]string{}},
			{release: true, want: map[string]string{"c": "admitted"}},
		},
	}, {
		name: "a wait past the burst bound is refused, and the next newcomer waits long again",
		steps: []step{
			{arrive: "a", want: map[string]string{"a": "admitted"}},
			{arrive: "b", want: map[string]string{}},
			{advance: 100 * ms, want: map[string]string{"b": "refused"}},
			{arrive: "c", want: map[string]string{}},
			{advance: 50 * ms, want: map[string]string{}},
			{release: true, want: map[string]string{"c": "admitted"}},
		},
	}, {
		name: "a standing queue refuses newcomers at the door and serves its oldest waiter",
		steps: []step{
			{arrive: "a", want: map[string]string{"a": "admitted"}},
			{arrive: "b", want: map[string]string{}},
			{advance: 50 * ms, want: map[string]string{}},
			{arrive: "c", want: map[string]string{}},
			{release: true, want: map[string]string{"b": "admitted"}},
			{advance: 60 * ms, want: map[string]string{}, overloaded: true}, // non-empty since 0
			{arrive: "d", want: map[string]string{"d": "refused"}, overloaded: true},
			{release: true, want: map[string]string{"c": "admitted"}}, // empty again: not standing
			{arrive: "e", want: map[string]string{}},
		},
	}, {
		name: "a full waiting room refuses newcomers",
		opts: Options{MaxWaiting: 2},
		steps: []step{
			{arrive: "a", want: map[string]string{"a": "admitted"}},
			{arrive: "b", want: map[string]string{}},
			{arrive: "c", want: map[string]string{}},
			{arrive: "d", want: map[string]string{"d": "refused"}},
			{release: true, want: map[string]string{"b": "admitted"}},
			{arrive: "e", want: map[string]string{}},
		},
	}, {
		name: "a negative wait refuses at once when overloaded",
		opts: Options{Wait: -1},
		steps: []step{
			{arrive: "a", want: map[string]string{"a": "admitted"}},
			{arrive: "b", want: map[string]string{}},
			{advance: 60 * ms, want: map[string]string{}},
			{arrive: "c", want: map[string]string{}},
			{release: true, want: map[string]string{"b": "admitted"}},
			{advance: 50 * ms, want: map[string]string{}, overloaded: true},
			{arrive: "d", want: map[string]string{"d": "refused"}, overloaded: true},
		},
	}, {
		name:  "a queue that never empties but is served within the wait is not overload (a closed loop)",
		steps: closedLoop(150),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			o := tc.opts
			o.MaxInFlight, o.BurstWait, o.Interval, o.Clock = 1, 100*ms, 100*ms, clock
			if o.Wait == 0 {
				o.Wait = 2 * ms
			}
			l, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			play(t, l, clock, tc.steps)
		})
	}
}

// play runs steps on l, checking each step's decisions and mode.
func play(t *testing.T, l *Limiter, clock *fakeClock, steps []step) {
	t.Helper()
	waiters := map[string]*waiter{}
	decided := map[string]string{}
	for i, s := range steps {
		switch {
		case s.arrive != "":
			w, admitted := l.enqueue()
			switch {
			case !admitted.IsZero():
				decided[s.arrive] = "admitted"
			case w == nil:
				decided[s.arrive] = "refused"
			default:
				waiters[s.arrive] = w
			}
		case s.release:
			l.release(clock.Now().Add(-s.hold))
		default:
			clock.advance(s.advance)
		}
		got := map[string]string{}
		for name, w := range waiters {
			select {
			case ok := <-w.ch:
				delete(waiters, name)
				decided[name] = map[bool]string{true: "admitted", false: "refused"}[ok]
				got[name] = decided[name]
			default:
			}
		}
		if s.arrive != "" && decided[s.arrive] != "" {
			got[s.arrive] = decided[s.arrive]
		}
		if fmt.Sprint(got) != fmt.Sprint(s.want) {
			t.Fatalf("step %d (%+v): decided %v, want %v", i, s, got, s.want)
		}
		if st := l.snapshot(); st.overloaded != s.overloaded {
			t.Fatalf("step %d (%+v): overloaded %v, want %v (state %+v)", i, s, st.overloaded, s.overloaded, st)
		}
	}
}

// closedLoop is a client that keeps one request queued behind the running
// one for n ms: each waits 1 ms (under the 2 ms Wait) and is served
// oldest first; nothing is refused.
func closedLoop(n int) []step {
	steps := []step{
		{arrive: "w0", want: map[string]string{"w0": "admitted"}},
		{arrive: "w1", want: map[string]string{}},
	}
	for i := 2; i < n; i++ {
		steps = append(steps,
			step{advance: time.Millisecond, want: map[string]string{}},
			step{arrive: fmt.Sprint("w", i), want: map[string]string{}},
			step{release: true, want: map[string]string{fmt.Sprint("w", i-1): "admitted"}})
	}
	return steps
}

// TestAcquireMetrics counts sheds and queue times through Acquire, with a
// fake clock: a waiter is admitted when a slot frees, another refused when
// its wait runs out.
func TestAcquireMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	clock := newFakeClock()
	l, err := New(Options{MaxInFlight: 2, BurstWait: 20 * time.Millisecond, Registerer: reg, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r1, err := l.Acquire(ctx, "http")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Acquire(ctx, "grpc")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := l.Acquire(ctx, "http")
		got <- err
	}()
	waitQueued(t, l, 1)
	clock.advance(20 * time.Millisecond)
	if err := <-got; !errors.Is(err, ErrOverloaded) {
		t.Fatalf("waiter past its wait: %v, want ErrOverloaded", err)
	}
	go func() {
		rel, err := l.Acquire(ctx, "grpc")
		if err == nil {
			rel()
		}
		got <- err
	}()
	waitQueued(t, l, 1)
	r1()
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v, want admitted when a slot came free", err)
	}
	r2()
	if st := l.snapshot(); st.inFlight != 0 || st.waiting != 0 {
		t.Errorf("after all released: %+v", st)
	}
	seen := gathered(t, reg)
	want := map[string]float64{
		"patientmatch_admission_shed_total{http}":    1,
		"patientmatch_admission_queue_seconds{http}": 1,
		"patientmatch_admission_queue_seconds{grpc}": 2,
	}
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, seen[k], v, seen)
		}
	}
}

// waitQueued waits until n requests wait in l (a hang guard, not a timing
// assertion).
func waitQueued(t *testing.T, l *Limiter, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for l.snapshot().waiting != n {
		if time.Now().After(deadline) {
			t.Fatalf("never %d waiting: %+v", n, l.snapshot())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAcquireContext(t *testing.T) {
	l, err := New(Options{MaxInFlight: 1, Wait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := l.Acquire(context.Background(), "http")
	defer rel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(ctx, "http"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("acquire: %v, want the context's error", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (Options{MaxInFlight: -1, MaxWaiting: -1, Interval: -1, RetryAfter: -1}).Validate(); err == nil {
		t.Error("negative options accepted")
	}
	// Negative waits mean none (BurstWait: no longer than Wait), not the
	// defaults.
	for _, tc := range []struct {
		wait, burst         time.Duration
		wantWait, wantBurst time.Duration
	}{
		{0, 0, DefaultWait, DefaultBurstWait},
		{-1, -1, 0, 0},
		{5 * time.Millisecond, -1, 5 * time.Millisecond, 5 * time.Millisecond},
		{-1, 0, 0, DefaultBurstWait},
		{10 * time.Millisecond, time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond},
	} {
		o := Options{Wait: tc.wait, BurstWait: tc.burst}
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: %v", tc, err)
		}
		if got := o.withDefaults(); got.Wait != tc.wantWait || got.BurstWait != tc.wantBurst {
			t.Errorf("Wait %v, BurstWait %v: got %v, %v, want %v, %v", tc.wait, tc.burst, got.Wait, got.BurstWait, tc.wantWait, tc.wantBurst)
		}
	}
	l, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l.MaxInFlight() != DefaultMaxInFlight() || l.RetryAfter() != DefaultRetryAfter {
		t.Errorf("defaults: %d, %v", l.MaxInFlight(), l.RetryAfter())
	}
}
