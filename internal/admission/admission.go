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
// How long a request may wait depends on whether the queue is transient or
// standing (controlled delay, as in Facebook's RPC queues, "Fail at
// Scale", 2015). A server that stalls for some tens of milliseconds (a GC
// cycle, a neighbour taking the CPU) builds a queue that drains right
// after: refusing it would turn a short delay into errors, so while the
// queue has been empty, or a waiter was served within Wait, at some point
// in the last Interval (CoDel's test: the least queueing delay of an
// interval above its target) a request may wait up to BurstWait. A queue
// that has not met that test for a whole Interval, or a refusal within
// the last Interval, is sustained overload: waiting
// only delays refusals that will come anyway, so the wait drops to Wait,
// the oldest waiters are refused at once, and freed slots go to the newest
// waiter (adaptive LIFO), whose client is the most likely to still be
// there. The refusal keeps the mode on: near capacity the short queue of
// overload empties now and then, and going back to long waits at each of
// those moments would make the next refusals slow again.
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
	// overload): CoDel's interval, the same as BurstWait so that no waiter
	// admitted as a burst outlives the judgement. The cost of a longer
	// one: at the onset of overload, waiters wait up to it before the
	// first refusals (at 5,000/s, about 1.1× capacity, refusal p99 15 →
	// 23 ms against 100 ms).
	DefaultInterval = 300 * time.Millisecond
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
	// served within Wait, before it counts as standing; a refusal keeps
	// the overload for an Interval too. Default DefaultInterval.
	Interval time.Duration
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
	// served within Wait; lastRefusal the last time a request was refused
	// (zero: never).
	lastGood, lastRefusal time.Time
}

// waiter is one request waiting for a slot: its channel receives true
// when it is handed a slot, false when it is refused (once, buffered).
type waiter struct {
	ch    chan bool
	since time.Time
	stop  func() bool // stops the wait's timer
}

type metrics struct {
	shed       *prometheus.CounterVec
	queued     *prometheus.HistogramVec
	inFlight   prometheus.GaugeFunc
	overloaded prometheus.GaugeFunc
}

// New returns a Limiter.
func New(opts Options) (*Limiter, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	l := &Limiter{opts: opts.withDefaults()}
	l.lastGood = l.opts.Clock.Now()
	l.m = metrics{
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patientmatch_admission_shed_total",
			Help: "Requests refused because the server was at its in-flight bound, by surface (http, grpc).",
		}, []string{"surface"}),
		queued: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "patientmatch_admission_queue_seconds",
			Help:    "Time admitted requests waited for a slot, by surface.",
			Buckets: []float64{0, .0005, .001, .002, .005, .01, .025, .05, .1},
		}, []string{"surface"}),
		inFlight: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "patientmatch_admission_in_flight",
			Help: "Requests running now under the in-flight bound.",
		}, func() float64 { return float64(l.snapshot().inFlight) }),
		overloaded: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "patientmatch_admission_overloaded",
			Help: "1 under sustained overload (a standing queue or a recent refusal: waits are short, the newest waiter is served first), else 0.",
		}, func() float64 {
			if l.snapshot().overloaded {
				return 1
			}
			return 0
		}),
	}
	if l.opts.Registerer != nil {
		for _, c := range []prometheus.Collector{l.m.shed, l.m.queued, l.m.inFlight, l.m.overloaded} {
			if err := l.opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("admission: register metrics: %w", err)
			}
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
}

func (l *Limiter) snapshot() state {
	l.mu.Lock()
	defer l.mu.Unlock()
	return state{inFlight: l.inFlight, waiting: len(l.waiters), overloaded: l.overloaded(l.opts.Clock.Now())}
}

// overloaded reports sustained overload: for a whole Interval the queue
// has not been empty nor a waiter served within Wait, or a request was
// refused within the last Interval (l.mu held).
func (l *Limiter) overloaded(now time.Time) bool {
	if len(l.waiters) > 0 && now.Sub(l.lastGood) >= l.opts.Interval {
		return true
	}
	return !l.lastRefusal.IsZero() && now.Sub(l.lastRefusal) < l.opts.Interval
}

// Acquire takes a slot for one request of surface ("http", "grpc"),
// waiting for one for at most BurstWait, or Wait under sustained overload
// (a request of a connection over a Listener's limit is refused without
// waiting). It returns the function that gives the slot back (call it
// exactly once), or ErrOverloaded, or ctx's error when ctx ends first.
func (l *Limiter) Acquire(ctx context.Context, surface string) (release func(), err error) {
	if OverLimit(ctx) {
		l.m.shed.WithLabelValues(surface).Inc()
		return nil, errOverLimit
	}
	w, admitted := l.enqueue()
	if admitted {
		l.m.queued.WithLabelValues(surface).Observe(0)
		return l.release, nil
	}
	if w == nil {
		l.m.shed.WithLabelValues(surface).Inc()
		return nil, ErrOverloaded
	}
	select {
	case ok := <-w.ch:
		w.stop()
		if !ok {
			l.m.shed.WithLabelValues(surface).Inc()
			return nil, ErrOverloaded
		}
		l.m.queued.WithLabelValues(surface).Observe(l.opts.Clock.Now().Sub(w.since).Seconds())
		return l.release, nil
	case <-ctx.Done():
		w.stop()
		if !l.remove(w, false) && <-w.ch {
			l.release() // handed a slot as ctx ended: give it on
		}
		return nil, ctx.Err()
	}
}

// enqueue takes a free slot (admitted), or queues a waiter with its
// timer, or refuses (nil, false).
func (l *Limiter) enqueue() (w *waiter, admitted bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Clock.Now()
	if l.inFlight < l.opts.MaxInFlight {
		l.inFlight++
		return nil, true
	}
	if len(l.waiters) == 0 {
		l.lastGood = now
	}
	wait, over := l.opts.BurstWait, l.overloaded(now)
	if over {
		wait = l.opts.Wait
		l.refuseStale(now)
	}
	if wait <= 0 || len(l.waiters) >= l.opts.MaxWaiting && !over {
		l.lastRefusal = now
		return nil, false
	}
	if len(l.waiters) >= l.opts.MaxWaiting {
		l.refuse(0, now) // adaptive LIFO: the oldest is the least likely to be served
	}
	w = &waiter{ch: make(chan bool, 1), since: now}
	l.waiters = append(l.waiters, w)
	w.stop = l.opts.Clock.AfterFunc(wait, func() { l.remove(w, true) })
	return w, false
}

// release gives a slot back: to a waiter if there is one (the oldest while
// the queue is transient, the newest once it is standing), else to the
// pool.
func (l *Limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Clock.Now()
	i := 0
	if l.overloaded(now) {
		l.refuseStale(now)
		i = len(l.waiters) - 1
	}
	if len(l.waiters) == 0 {
		l.inFlight--
		l.lastGood = now
		return
	}
	w := l.waiters[i]
	l.drop(i, now)
	if now.Sub(w.since) < l.opts.Wait {
		l.lastGood = now
	}
	w.ch <- true
}

// remove takes w out of the queue if it is still there, refusing it when
// refuse is set (its wait ran out), and reports whether it was there.
func (l *Limiter) remove(w *waiter, refuse bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range l.waiters {
		if x == w {
			now := l.opts.Clock.Now()
			if refuse {
				l.refuse(i, now)
			} else {
				l.drop(i, now)
			}
			return true
		}
	}
	return false
}

// refuseStale refuses the waiters that have waited Wait or longer: the
// queue is standing, and they would have been refused had they arrived
// now (l.mu held; the oldest come first).
func (l *Limiter) refuseStale(now time.Time) {
	for len(l.waiters) > 0 && now.Sub(l.waiters[0].since) >= l.opts.Wait {
		l.refuse(0, now)
	}
}

// refuse refuses waiter i (l.mu held).
func (l *Limiter) refuse(i int, now time.Time) {
	w := l.waiters[i]
	l.drop(i, now)
	l.lastRefusal = now
	w.ch <- false
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
