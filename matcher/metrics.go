package matcher

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/patientmatch/patientmatch/scoring"
)

// engineMetrics count what Match answers, whichever surface asked (FHIR
// $match and $idi-match, /match/claims, gRPC, the CLI): the grades it
// returns, the best grade of each query, and how many candidates the
// index handed the scorer. The engine owns them; a server registers them
// (Collectors) on its registry.
type engineMetrics struct {
	results    *prometheus.CounterVec
	queries    *prometheus.CounterVec
	candidates prometheus.Histogram
}

func newEngineMetrics() *engineMetrics {
	m := &engineMetrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patientmatch_match_results_total",
			Help: "Matches returned by Match, by grade (certain, probable, possible).",
		}, []string{"grade"}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patientmatch_match_queries_total",
			Help: "Match queries answered, by the grade of their best match (none when nothing matched).",
		}, []string{"top_grade"}),
		candidates: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "patientmatch_match_candidates",
			Help:    "Candidates the index handed the scorer per Match query (capped by the candidate limit).",
			Buckets: []float64{0, 1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
	}
	// Every label value exists from the start, so rates work from zero.
	for _, g := range []string{"certain", "probable", "possible"} {
		m.results.WithLabelValues(g)
		m.queries.WithLabelValues(g)
	}
	m.queries.WithLabelValues("none")
	return m
}

// observe records one answered query.
func (m *engineMetrics) observe(candidates int, ms []Match) {
	m.candidates.Observe(float64(candidates))
	var top scoring.Grade // zero: none
	for _, x := range ms {
		m.results.WithLabelValues(x.Grade.String()).Inc()
		top = max(top, x.Grade)
	}
	m.queries.WithLabelValues(top.String()).Inc()
}

// Collectors are the engine's metrics, for a server to register.
func (e *Engine) Collectors() []prometheus.Collector {
	return []prometheus.Collector{e.metrics.results, e.metrics.queries, e.metrics.candidates}
}
