package claims

import "github.com/prometheus/client_golang/prometheus"

// newDecisionCounter is patientmatch_claims_decisions_total: answers of
// MatchClaims (HTTP /match/claims and gRPC alike) by decision — match,
// ambiguous, no_match, linked — and invalid_token for rejected ID tokens.
// An operator watches the share of ambiguous answers and of rejected
// tokens.
func newDecisionCounter() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "patientmatch_claims_decisions_total",
		Help: "Claims matching answers by decision (match, ambiguous, no_match, linked, invalid_token).",
	}, []string{"decision"})
	for _, d := range []string{"match", "ambiguous", "no_match", "linked", "invalid_token"} {
		c.WithLabelValues(d)
	}
	return c
}

// Collectors are the service's metrics, for a server to register.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.decisions}
}
