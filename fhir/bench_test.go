package fhir

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
)

// BenchmarkMatchHandler measures the service's own cost of one $match
// (decode, engine call on a fake, Bundle encoding, metrics, logging) with
// three explained matches — the overhead the HTTP layer adds to the engine.
func BenchmarkMatchHandler(b *testing.B) {
	eng := newFakeEngine()
	eng.matches = []matcher.Match{mkMatch("a", 0.99, scoring.GradeCertain), mkMatch("b", 0.8, scoring.GradeProbable), mkMatch("c", 0.3, scoring.GradePossible)}
	srv, err := NewServer(eng, Options{Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	body := params(resourceParam, `{"name":"count","valueInteger":5}`, `{"name":"explain","valueBoolean":true}`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/fhir/Patient/$match", strings.NewReader(body))
		req.Header.Set("Content-Type", fhirJSON)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
