package admission

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are a Limiter's patientmatch_admission_* series.
type metrics struct {
	shed        *prometheus.CounterVec
	queued      *prometheus.HistogramVec
	refusalWait *prometheus.HistogramVec
	gauges      []prometheus.GaugeFunc
}

// waitBuckets are the buckets of the wait histograms: Wait is a few
// milliseconds, BurstWait a few hundred.
var waitBuckets = []float64{0, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5}

func newMetrics(l *Limiter) metrics {
	gauge := func(name, help string, f func(state) float64) prometheus.GaugeFunc {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return f(l.snapshot()) })
	}
	return metrics{
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patientmatch_admission_shed_total",
			Help: "Requests refused because the server was at its in-flight bound, by surface (http, grpc).",
		}, []string{"surface"}),
		queued: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "patientmatch_admission_queue_seconds",
			Help:    "Time admitted requests waited for a slot, by surface.",
			Buckets: waitBuckets,
		}, []string{"surface"}),
		refusalWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "patientmatch_admission_refusal_wait_seconds",
			Help:    "Time refused requests waited before the refusal (0: refused on arrival), by surface.",
			Buckets: waitBuckets,
		}, []string{"surface"}),
		gauges: []prometheus.GaugeFunc{
			gauge("patientmatch_admission_in_flight", "Requests running now under the in-flight bound.",
				func(s state) float64 { return float64(s.inFlight) }),
			gauge("patientmatch_admission_overloaded",
				"1 under sustained overload (arrivals over capacity, or a standing queue: newcomers expected to wait longer than the short wait are refused on arrival), else 0.",
				func(s state) float64 {
					if s.overloaded {
						return 1
					}
					return 0
				}),
			gauge("patientmatch_admission_arrival_rate", "Requests arriving a second (admitted or not), averaged over the rate window.",
				func(s state) float64 { return s.arrivals }),
			gauge("patientmatch_admission_capacity", "Requests a second the server completes with every slot busy: slots over the mean time a request holds one (0: not known yet).",
				func(s state) float64 { return s.capacity }),
		},
	}
}

func (m metrics) register(reg prometheus.Registerer) error {
	cs := []prometheus.Collector{m.shed, m.queued, m.refusalWait}
	for _, g := range m.gauges {
		cs = append(cs, g)
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("admission: register metrics: %w", err)
		}
	}
	return nil
}
