package admission

import (
	"math"
	"time"
)

// arrivalRate estimates how many requests arrive per second: an
// exponentially weighted average over the last Window or so, each arrival
// adding 1/Window to a sum that decays by e every Window. Every request
// counts, admitted or refused: overload is what clients ask, not what the
// server manages to do.
type arrivalRate struct {
	window time.Duration
	sum    float64 // requests per second as of last
	last   time.Time
}

// add counts one arrival at now.
func (r *arrivalRate) add(now time.Time) {
	r.sum = r.at(now) + 1/r.window.Seconds()
	r.last = now
}

// at is the rate at now (no arrival since last: decayed).
func (r *arrivalRate) at(now time.Time) float64 {
	if r.last.IsZero() {
		return 0
	}
	dt := now.Sub(r.last)
	if dt <= 0 {
		return r.sum
	}
	return r.sum * math.Exp(-dt.Seconds()/r.window.Seconds())
}

// serviceTime estimates how long an admitted request holds its slot, on
// average over about the last serviceSamples requests. With every slot
// busy the server completes MaxInFlight / that mean requests a second
// (Little's law), which is its capacity under the load of the moment: the
// estimate follows the load, since at saturation the slots share the
// cores with everything else the process and the machine do.
type serviceTime struct {
	mean float64 // seconds
	n    int
}

// serviceSamples is the span of the service-time average, in requests:
// at capacity (thousands a second) about half a second. The mean is not
// trimmed: by Little's law capacity is the slots over the plain mean, and
// a stall the slots sat through is capacity lost. The span is what keeps
// a stall from looking like overload: the one or two requests that sat
// through a full stop of S add S·MaxInFlight/serviceSamples to the mean,
// so at half the capacity it takes a stop of ~0.4 s on two slots before
// the arrivals exceed the capacity estimated; a GC mark phase, which slows
// every request for a few hundred milliseconds rather than stopping them,
// moves it by a fraction. Longer would follow the onset of overload (the
// mean growing from its value at low load to its value at saturation)
// too slowly.
const serviceSamples = 2048

// add records one request that held its slot for d.
func (s *serviceTime) add(d time.Duration) {
	x := max(d.Seconds(), 0)
	s.n = min(s.n+1, serviceSamples)
	s.mean += (x - s.mean) / float64(s.n)
}

// known reports whether enough requests were seen for the mean to mean
// something (a few dozen; before that, capacity is unknown).
func (s *serviceTime) known() bool { return s.n >= 32 && s.mean > 0 }
