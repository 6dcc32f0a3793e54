package main

import (
	"flag"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patientmatch/patientmatch/internal/admission"
)

// admissionFlags bound the requests in flight, HTTP and gRPC together.
type admissionFlags struct {
	maxInFlight int
	queueWait   time.Duration
}

// addAdmissionFlags registers --max-inflight and --queue-wait.
func (c *serveConfig) addAdmissionFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.admission.maxInFlight, "max-inflight", admission.DefaultMaxInFlight(),
		"requests (HTTP and gRPC together) running at once; more wait --queue-wait, then get 503 / RESOURCE_EXHAUSTED; 0 for no bound")
	fs.DurationVar(&c.admission.queueWait, "queue-wait", admission.DefaultWait,
		"longest a request waits for a place under --max-inflight before it is refused")
}

func (c *serveConfig) validateAdmission() error {
	if c.admission.maxInFlight < 0 {
		return usageErrorf("--max-inflight must be 0 (no bound) or more, got %d", c.admission.maxInFlight)
	}
	if c.admission.queueWait < 0 {
		return usageErrorf("--queue-wait must not be negative, got %v", c.admission.queueWait)
	}
	return nil
}

// newLimiter is the one admission bound of the HTTP and gRPC servers, or
// nil with --max-inflight 0.
func newLimiter(c serveConfig, reg prometheus.Registerer) (*admission.Limiter, error) {
	if c.admission.maxInFlight == 0 {
		return nil, nil
	}
	return admission.New(admission.Options{MaxInFlight: c.admission.maxInFlight, Wait: c.admission.queueWait, Registerer: reg})
}
