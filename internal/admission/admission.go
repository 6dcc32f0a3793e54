// Package admission bounds the work a server has in flight, shared by every
// surface (FHIR REST and gRPC), so that asked for more than it can do the
// server refuses the excess at once instead of answering nothing in time.
//
// A request takes a slot before it runs and gives it back when done. With
// every slot taken it waits, and only a bounded number of requests wait;
// the others, and those whose wait runs out, are refused with
// ErrOverloaded, which the surfaces answer 503 with Retry-After (HTTP) or
// RESOURCE_EXHAUSTED (gRPC). Matching is CPU-bound: running more requests
// at once than there are cores only lengthens every one of them.
//
// How long a request may wait depends on whether the server is overloaded
// or only stalled. A server that stalls for some hundreds of milliseconds
// (a GC cycle's mark phase, a neighbour taking the CPU) builds a queue that
// drains right after: refusing it would turn a short delay into errors, so
// a request that finds the slots taken waits up to BurstWait, oldest
// first. Overload is told from a stall by rates, not by the queue's age: a
// stall slows the service but does not raise the arrivals, while overload
// is more arrivals a second than the server completes with every slot
// busy (its capacity: MaxInFlight over the mean time a request holds its
// slot, Little's law). Arrivals over capacity are sustained overload, and
// then a newcomer whose wait would exceed Wait (the queue ahead of it
// times the mean service time per slot) is refused at once, at the door:
// waiting would only make a refusal that comes anyway slower, and a slow
// refusal is as bad to a caller as a slow answer. Those admitted to the
// queue wait at most Wait. In either mode a newcomer expected to wait
// longer than it may (a stall longer than BurstWait) is refused on
// arrival. The rates follow the load within a second, and
// when the arrivals drop under capacity the limiter is back to riding out
// stalls at once. Before the capacity is known (the first few dozen
// requests), a queue that has not been empty nor had a waiter served
// within Wait for a whole Interval counts as overload (CoDel's test: the
// least queueing delay of an interval above its target).
package admission

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrOverloaded is returned by Acquire when no slot came free in time.
var ErrOverloaded = errors.New("admission: server overloaded")

// Defaults of Options.
const (
	// DefaultWait is how long a request waits for a slot under sustained
	// overload, and the queueing delay below which a queue is not standing
	// (CoDel's target). Short: under overload the queue never drains, so a
	// longer wait only makes every refusal slower without admitting more;
	// not zero, so that a slot freed between arrivals goes to the newest
	// waiter, and so that clients that keep a few requests queued (a
	// closed loop) are not taken for overload.
	DefaultWait = 2 * time.Millisecond
	// DefaultBurstWait is how long a request waits for a slot while the
	// queue is transient: longer than the longest stall a server that is
	// not overloaded has, so that such stalls cost latency, not refusals.
	// That stall is a GC cycle's mark phase: Go paces marking at a quarter
	// of the CPU, so at 1M patients on two cores a mark of ~90 ms of CPU
	// takes 100–240 ms of wall time, while the queue drains slower than it
	// fills (bench/README "At 1M, quiet, session 3"). At 100 ms every
	// cycle shed requests at half the server's capacity; at 300 ms none
	// did. More cores shorten the mark; a much larger heap lengthens it.
	DefaultBurstWait = 300 * time.Millisecond
	// DefaultInterval is how long the queue must stay non-empty, with no
	// waiter served within Wait, to count as a standing queue (sustained
	// overload whatever the rates say): CoDel's interval, the same as
	// BurstWait so that no waiter admitted as a burst outlives the
	// judgement, and so longer than a GC mark phase.
	DefaultInterval = 300 * time.Millisecond
	// DefaultRateWindow is the span of the arrival rate's average. Short,
	// so that the onset of overload is seen within a fraction of a
	// second (the queue meanwhile grows by the excess); long enough that
	// the rate of a few thousand requests a second is known to a few
	// percent (Poisson arrivals: ±√(λ/2·window), 2% at 5,000/s), since an
	// overload of 1.1× is a difference of 10%.
	DefaultRateWindow = 250 * time.Millisecond
	// DefaultRetryAfter is what refusals advise clients to wait.
	DefaultRetryAfter = time.Second
	// DefaultMaxWaiting bounds the waiters. A waiter is a parked goroutine
	// holding its connection, so the listener's connection bound (serve
	// --max-conns, default 1,024) is the real limit over HTTP; this one
	// only keeps a flood of gRPC streams from queueing without end.
	DefaultMaxWaiting = 1024
)

// DefaultMaxInFlight is the default bound: one request per P. Matching is
// CPU-bound, so more at once only lengthens each; the network work around
// a request (reading it, writing the answer) runs outside the bound. A
// server that must refuse quickly under overload runs more Ps than the
// bound (serve runs two per core with one request per core in flight), so
// that a P is free to read an arrival and refuse it while the admitted
// requests hold the cores.
func DefaultMaxInFlight() int { return runtime.GOMAXPROCS(0) }

// Options configure a Limiter. The zero value gives the defaults.
type Options struct {
	// MaxInFlight is the number of requests running at once. Default
	// DefaultMaxInFlight().
	MaxInFlight int
	// MaxWaiting is the number of requests waiting for a slot at once;
	// beyond it a request is refused without waiting (under sustained
	// overload the oldest waiter is refused instead). The waits bound
	// their time; this bounds their number, and must hold what arrives
	// during a stall of BurstWait. Default DefaultMaxWaiting.
	MaxWaiting int
	// Wait is the longest a request waits for a slot under sustained
	// overload (a standing queue), and the wait below which a served
	// waiter shows the queue is not standing. Default DefaultWait; a
	// negative value means no wait (refused at once) and a queue that
	// stands as soon as someone waits.
	Wait time.Duration
	// BurstWait is the longest a request waits for a slot while the queue
	// is transient (see Interval). Default DefaultBurstWait; it is at
	// least Wait, and a negative value means Wait (no longer wait for a
	// transient queue).
	BurstWait time.Duration
	// Interval is how long the queue must stay non-empty, with no waiter
	// served within Wait, before it counts as standing (overload, whatever
	// the rates say). Default DefaultInterval.
	Interval time.Duration
	// RateWindow is the span of the arrival rate's average, which against
	// the estimated capacity tells overload from a stall. Default
	// DefaultRateWindow.
	RateWindow time.Duration
	// RetryAfter is the delay refusals advise. Default DefaultRetryAfter.
	RetryAfter time.Duration
	// Registerer receives patientmatch_admission_* metrics. Default: none.
	Registerer prometheus.Registerer
	// Clock tells the time and runs the wait timers. Default: the
	// system's. Tests give a fake one.
	Clock Clock
}

// Clock is the time source of a Limiter.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d, unless stopped
	// first (as time.AfterFunc).
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Validate reports every problem of o at once.
func (o Options) Validate() error {
	var errs []error
	if o.MaxInFlight < 0 {
		errs = append(errs, fmt.Errorf("admission: MaxInFlight %d is negative", o.MaxInFlight))
	}
	if o.MaxWaiting < 0 {
		errs = append(errs, fmt.Errorf("admission: MaxWaiting %d is negative", o.MaxWaiting))
	}
	if o.Interval < 0 {
		errs = append(errs, fmt.Errorf("admission: Interval %v is negative", o.Interval))
	}
	if o.RateWindow < 0 {
		errs = append(errs, fmt.Errorf("admission: RateWindow %v is negative", o.RateWindow))
	}
	if o.RetryAfter < 0 {
		errs = append(errs, fmt.Errorf("admission: RetryAfter %v is negative", o.RetryAfter))
	}
	return errors.Join(errs...)
}

// withDefaults fills in the zero fields of o.
func (o Options) withDefaults() Options {
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight()
	}
	if o.MaxWaiting == 0 {
		o.MaxWaiting = DefaultMaxWaiting
	}
	switch {
	case o.Wait == 0:
		o.Wait = DefaultWait
	case o.Wait < 0:
		o.Wait = 0
	}
	switch {
	case o.BurstWait == 0:
		o.BurstWait = DefaultBurstWait
	case o.BurstWait < 0:
		o.BurstWait = 0
	}
	o.BurstWait = max(o.BurstWait, o.Wait)
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.RateWindow == 0 {
		o.RateWindow = DefaultRateWindow
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	return o
}

// Limiter is the bound on in-flight work. It is safe for concurrent use.
type Limiter struct {
	opts Options
	m    metrics

	mu       sync.Mutex
	inFlight int
	// waiters in order of arrival, the oldest first.
	waiters []*waiter
	// lastGood is the last time the queue was seen empty or a waiter was
	// served within Wait.
	lastGood time.Time
	// arrivals is the rate requests arrive at; service the time they hold
	// a slot.
	arrivals arrivalRate
	service  serviceTime
}

// waiter is one request waiting for a slot: its channel receives true
// when it is handed a slot, false when it is refused (once, buffered).
type waiter struct {
	ch    chan bool
	since time.Time
	// admitted is when it was handed a slot (set before the handing).
	admitted time.Time
	stop     func() bool // stops the wait's timer
}

// New returns a Limiter.
func New(opts Options) (*Limiter, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	l := &Limiter{opts: opts.withDefaults()}
	l.lastGood = l.opts.Clock.Now()
	l.arrivals.window = l.opts.RateWindow
	l.m = newMetrics(l)
	if l.opts.Registerer != nil {
		if err := l.m.register(l.opts.Registerer); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// RetryAfter is the delay refusals advise clients to wait.
func (l *Limiter) RetryAfter() time.Duration { return l.opts.RetryAfter }

// MaxInFlight is the bound.
func (l *Limiter) MaxInFlight() int { return l.opts.MaxInFlight }

// state is what the metrics and tests read of a Limiter.
type state struct {
	inFlight, waiting int
	overloaded        bool
	// arrivals and capacity are in requests a second (capacity 0:
	// unknown yet).
	arrivals, capacity float64
}

func (l *Limiter) snapshot() state {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Clock.Now()
	return state{inFlight: l.inFlight, waiting: len(l.waiters), overloaded: l.overloadedLocked(now),
		arrivals: l.arrivals.at(now), capacity: l.capacityLocked()}
}

// capacityLocked is the requests a second the server completes with every
// slot busy, MaxInFlight over the mean service time; 0 while unknown.
func (l *Limiter) capacityLocked() float64 {
	if !l.service.known() {
		return 0
	}
	return float64(l.opts.MaxInFlight) / l.service.mean
}

// overloadedLocked reports sustained overload: requests arrive faster than
// the server completes them with every slot busy, or, while that capacity
// is not known yet, for a whole Interval the queue has not been empty nor
// a waiter served within Wait. Once the capacity is known the queue's age
// is not asked: a queue standing long after a stall still drains, and
// refusing its newcomers would shed at half the capacity.
func (l *Limiter) overloadedLocked(now time.Time) bool {
	if c := l.capacityLocked(); c > 0 {
		return l.arrivals.at(now) > c
	}
	return len(l.waiters) > 0 && now.Sub(l.lastGood) >= l.opts.Interval
}

// Acquire takes a slot for one request of surface ("http", "grpc"),
// waiting for one for at most BurstWait, or Wait under sustained
// overload; a request expected to wait longer than that is refused at once
// (as is a request of a connection over a Listener's limit). It returns the function that gives the slot back (call it
// exactly once), or ErrOverloaded, or ctx's error when ctx ends first.
func (l *Limiter) Acquire(ctx context.Context, surface string) (release func(), err error) {
	if OverLimit(ctx) {
		l.m.shed.WithLabelValues(surface).Inc()
		l.m.refusalWait.WithLabelValues(surface).Observe(0)
		return nil, errOverLimit
	}
	w, start := l.enqueue()
	if w == nil && !start.IsZero() {
		l.m.queued.WithLabelValues(surface).Observe(0)
		return l.releaser(start), nil
	}
	if w == nil {
		l.m.shed.WithLabelValues(surface).Inc()
		l.m.refusalWait.WithLabelValues(surface).Observe(0)
		return nil, ErrOverloaded
	}
	select {
	case ok := <-w.ch:
		w.stop()
		now := l.opts.Clock.Now()
		if !ok {
			l.m.shed.WithLabelValues(surface).Inc()
			l.m.refusalWait.WithLabelValues(surface).Observe(now.Sub(w.since).Seconds())
			return nil, ErrOverloaded
		}
		l.m.queued.WithLabelValues(surface).Observe(now.Sub(w.since).Seconds())
		return l.releaser(w.admitted), nil
	case <-ctx.Done():
		w.stop()
		if !l.remove(w, false) && <-w.ch {
			l.release(w.admitted) // handed a slot as ctx ended: give it on
		}
		return nil, ctx.Err()
	}
}

// releaser is the release function of a request admitted at start.
func (l *Limiter) releaser(start time.Time) func() {
	return func() { l.release(start) }
}

// enqueue counts an arrival and takes a free slot (nil, the time it was
// taken), or queues a waiter with its timer (w, zero), or refuses (nil,
// zero).
func (l *Limiter) enqueue() (w *waiter, admitted time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Clock.Now()
	l.arrivals.add(now)
	if l.inFlight < l.opts.MaxInFlight {
		l.inFlight++
		return nil, now
	}
	if len(l.waiters) == 0 {
		l.lastGood = now
	}
	wait := l.opts.BurstWait
	if l.overloadedLocked(now) {
		wait = l.opts.Wait
	}
	// At the door: a newcomer expected to wait longer than it may is
	// refused now rather than when its wait runs out.
	if wait <= 0 || len(l.waiters) >= l.opts.MaxWaiting || l.expectedWaitLocked(now) > wait {
		return nil, time.Time{}
	}
	w = &waiter{ch: make(chan bool, 1), since: now}
	l.waiters = append(l.waiters, w)
	w.stop = l.opts.Clock.AfterFunc(wait, func() { l.remove(w, true) })
	return w, time.Time{}
}

// expectedWaitLocked is how long a newcomer would wait for a slot: the
// waiters ahead of it and itself, served MaxInFlight at a time at the
// mean service time; while that is unknown, as long as the oldest waiter
// has waited (the queue's delay now, CoDel's sojourn time).
func (l *Limiter) expectedWaitLocked(now time.Time) time.Duration {
	if !l.service.known() {
		if len(l.waiters) == 0 {
			return 0
		}
		return now.Sub(l.waiters[0].since)
	}
	per := l.service.mean / float64(l.opts.MaxInFlight)
	return time.Duration(float64(len(l.waiters)+1) * per * float64(time.Second))
}

// release gives back the slot of a request admitted at start: to the
// oldest waiter if there is one, else to the pool.
func (l *Limiter) release(start time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Clock.Now()
	l.service.add(now.Sub(start))
	if len(l.waiters) == 0 {
		l.inFlight--
		l.lastGood = now
		return
	}
	w := l.waiters[0]
	l.drop(0, now)
	if now.Sub(w.since) < l.opts.Wait {
		l.lastGood = now
	}
	w.admitted = now
	w.ch <- true
}

// remove takes w out of the queue if it is still there, refusing it when
// refuse is set (its wait ran out), and reports whether it was there.
func (l *Limiter) remove(w *waiter, refuse bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range l.waiters {
		if x == w {
			l.drop(i, l.opts.Clock.Now())
			if refuse {
				w.ch <- false
			}
			return true
		}
	}
	return false
}

// drop takes waiter i out of the queue (l.mu held).
func (l *Limiter) drop(i int, now time.Time) {
	copy(l.waiters[i:], l.waiters[i+1:])
	l.waiters[len(l.waiters)-1] = nil
	l.waiters = l.waiters[:len(l.waiters)-1]
	if len(l.waiters) == 0 {
		l.lastGood = now
	}
}
