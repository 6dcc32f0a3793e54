package main

import (
	"flag"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patientmatch/patientmatch/internal/admission"
)

// admissionFlags bound the requests in flight, HTTP and gRPC together.
type admissionFlags struct {
	maxInFlight int
	queueWait   time.Duration
	burstWait   time.Duration
	interval    time.Duration
}

// addAdmissionFlags registers --max-inflight, --queue-wait,
// --queue-burst-wait and --queue-interval.
func (c *serveConfig) addAdmissionFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.admission.maxInFlight, "max-inflight", serveCores(),
		"requests (HTTP and gRPC together) running at once (default one per core); more wait for a place, then get 503 / RESOURCE_EXHAUSTED; 0 for no bound")
	fs.DurationVar(&c.admission.queueWait, "queue-wait", admission.DefaultWait,
		"longest a request waits for a place under sustained overload (arrivals over the measured capacity); a newcomer expected to wait longer is refused on arrival; 0: refused at once")
	fs.DurationVar(&c.admission.burstWait, "queue-burst-wait", admission.DefaultBurstWait,
		"longest a request waits for a place while the queue is transient (a stall's backlog, not overload); at least --queue-wait; 0: no longer than --queue-wait")
	fs.DurationVar(&c.admission.interval, "queue-interval", admission.DefaultInterval,
		"until the capacity is measured (the first few dozen requests): how long the queue must stand (never empty, no request served within --queue-wait) to count as sustained overload")
}

func (c *serveConfig) validateAdmission() error {
	if c.admission.maxInFlight < 0 {
		return usageErrorf("--max-inflight must be 0 (no bound) or more, got %d", c.admission.maxInFlight)
	}
	if c.admission.queueWait < 0 {
		return usageErrorf("--queue-wait must not be negative, got %v", c.admission.queueWait)
	}
	if c.admission.burstWait != 0 && c.admission.burstWait < c.admission.queueWait {
		return usageErrorf("--queue-burst-wait %v must be 0 or at least --queue-wait %v", c.admission.burstWait, c.admission.queueWait)
	}
	// Without a bound (--max-inflight 0) nothing waits and the interval
	// means nothing.
	if c.admission.maxInFlight > 0 && c.admission.interval <= 0 {
		return usageErrorf("--queue-interval must be positive, got %v", c.admission.interval)
	}
	return nil
}

// newLimiter is the one admission bound of the HTTP and gRPC servers, or
// nil with --max-inflight 0.
func newLimiter(c serveConfig, reg prometheus.Registerer) (*admission.Limiter, error) {
	if c.admission.maxInFlight == 0 {
		return nil, nil
	}
	// The flags' 0 is no wait; the options' 0 is the default, a negative
	// value no wait.
	wait, burst := c.admission.queueWait, c.admission.burstWait
	if wait == 0 {
		wait = -1
	}
	if burst == 0 {
		burst = -1
	}
	return admission.New(admission.Options{MaxInFlight: c.admission.maxInFlight, Wait: wait,
		BurstWait: burst, Interval: c.admission.interval, Registerer: reg})
}

// serveCores is the number of cores the process may use: Go's GOMAXPROCS
// as the process started (the CPUs, or the container's CPU limit, or
// $GOMAXPROCS), taken once, before raiseProcs changes it.
var serveCores = sync.OnceValue(func() int { return runtime.GOMAXPROCS(0) })

// raiseProcs gives the Go scheduler two Ps per core unless $GOMAXPROCS is
// set. The in-flight bound keeps one request per core running; with as
// many Ps as cores those requests hold every P, and a connection's next
// request, even one to be refused, waits until a request ends and the
// scheduler polls the network (under load up to 10 ms late) and then
// queues behind the waiters. With spare Ps one is idle in the network
// poller when a request arrives, so it is read and answered or refused
// at once, and the kernel shares the cores between the threads. Measured
// at 1M patients on 2 cores (bench/README "tail (session 3)"). Setting
// GOMAXPROCS also ends Go's own updates of it from a container's CPU
// limit: serve reads the cores once, at start (serveCores).
func raiseProcs() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2 * serveCores())
	}
}
