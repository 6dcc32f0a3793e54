// Package admission bounds the work a server has in flight, shared by every
// surface (FHIR REST and gRPC), so that asked for more than it can do the
// server refuses the excess at once instead of answering nothing in time.
//
// A request takes a slot before it runs and gives it back when done. With
// every slot taken it waits for one for at most a few milliseconds (a
// burst is smoothed, not refused), and only a bounded number of requests
// wait; the others, and those whose wait runs out, are refused with
// ErrOverloaded, which the surfaces answer 503 with Retry-After (HTTP) or
// RESOURCE_EXHAUSTED (gRPC). Matching is CPU-bound: running more requests
// at once than there are cores only lengthens every one of them, and a
// queue longer than a few milliseconds of work only turns into timeouts.
package admission

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrOverloaded is returned by Acquire when no slot came free in time.
var ErrOverloaded = errors.New("admission: server overloaded")

// Defaults of Options.
const (
	// DefaultWait is how long a request waits for a slot.
	DefaultWait = 5 * time.Millisecond
	// DefaultRetryAfter is what refusals advise clients to wait.
	DefaultRetryAfter = time.Second
)

// DefaultMaxInFlight is the default bound: two requests per core, so a
// core always has the next request ready while one waits on the disk or
// the network.
func DefaultMaxInFlight() int { return 2 * runtime.GOMAXPROCS(0) }

// Options configure a Limiter. The zero value gives the defaults.
type Options struct {
	// MaxInFlight is the number of requests running at once. Default
	// DefaultMaxInFlight().
	MaxInFlight int
	// MaxWaiting is the number of requests waiting for a slot at once;
	// beyond it a request is refused without waiting (the wait bounds
	// their time; this bounds their number). Default 16×MaxInFlight.
	MaxWaiting int
	// Wait is the longest a request waits for a slot. Default DefaultWait.
	Wait time.Duration
	// RetryAfter is the delay refusals advise. Default DefaultRetryAfter.
	RetryAfter time.Duration
	// Registerer receives patientmatch_admission_* metrics. Default: none.
	Registerer prometheus.Registerer
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
	if o.Wait < 0 {
		errs = append(errs, fmt.Errorf("admission: Wait %v is negative", o.Wait))
	}
	if o.RetryAfter < 0 {
		errs = append(errs, fmt.Errorf("admission: RetryAfter %v is negative", o.RetryAfter))
	}
	return errors.Join(errs...)
}

// Limiter is the bound on in-flight work. It is safe for concurrent use.
type Limiter struct {
	opts    Options
	slots   chan struct{}
	waiting chan struct{}
	m       metrics
}

type metrics struct {
	shed     *prometheus.CounterVec
	queued   *prometheus.HistogramVec
	inFlight prometheus.GaugeFunc
}

// New returns a Limiter.
func New(opts Options) (*Limiter, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.MaxInFlight == 0 {
		opts.MaxInFlight = DefaultMaxInFlight()
	}
	if opts.MaxWaiting == 0 {
		opts.MaxWaiting = 16 * opts.MaxInFlight
	}
	if opts.Wait == 0 {
		opts.Wait = DefaultWait
	}
	if opts.RetryAfter == 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	l := &Limiter{opts: opts, slots: make(chan struct{}, opts.MaxInFlight), waiting: make(chan struct{}, opts.MaxWaiting)}
	l.m = metrics{
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patientmatch_admission_shed_total",
			Help: "Requests refused because the server was at its in-flight bound, by surface (http, grpc).",
		}, []string{"surface"}),
		queued: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "patientmatch_admission_queue_seconds",
			Help:    "Time admitted requests waited for a slot, by surface.",
			Buckets: []float64{0, .0005, .001, .002, .005, .01, .025, .05},
		}, []string{"surface"}),
		inFlight: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "patientmatch_admission_in_flight",
			Help: "Requests running now under the in-flight bound.",
		}, func() float64 { return float64(len(l.slots)) }),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{l.m.shed, l.m.queued, l.m.inFlight} {
			if err := opts.Registerer.Register(c); err != nil {
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

// Acquire takes a slot for one request of surface ("http", "grpc"),
// waiting for one for at most the configured Wait (a request of a
// connection over a Listener's limit is refused without waiting). It
// returns the function that gives the slot back (call it exactly once),
// or ErrOverloaded, or ctx's error when ctx ends first.
func (l *Limiter) Acquire(ctx context.Context, surface string) (release func(), err error) {
	if OverLimit(ctx) {
		l.m.shed.WithLabelValues(surface).Inc()
		return nil, errOverLimit
	}
	select {
	case l.slots <- struct{}{}:
		l.m.queued.WithLabelValues(surface).Observe(0)
		return l.release, nil
	default:
	}
	select {
	case l.waiting <- struct{}{}:
	default:
		l.m.shed.WithLabelValues(surface).Inc()
		return nil, ErrOverloaded
	}
	defer func() { <-l.waiting }()
	start := time.Now()
	t := time.NewTimer(l.opts.Wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		l.m.queued.WithLabelValues(surface).Observe(time.Since(start).Seconds())
		return l.release, nil
	case <-t.C:
		l.m.shed.WithLabelValues(surface).Inc()
		return nil, ErrOverloaded
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *Limiter) release() { <-l.slots }
