package fhir

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// unbounded are the routes that never wait for an admission slot: they do
// no patient work, and an orchestrator must see a loaded server as alive.
var unbounded = map[string]bool{
	"GET /healthz":       true,
	"GET /readyz":        true,
	"GET /metrics":       true,
	"GET /fhir/metadata": true,
}

// admit holds every other request to the shared in-flight bound
// (Options.Admission): over it, after a wait of a few milliseconds at
// most, the request is refused with 503, Retry-After and an
// OperationOutcome, before authentication or body reading spend anything
// on it.
func (s *Server) admit(next http.Handler) http.Handler {
	lim := s.opts.Admission
	if lim == nil {
		return next
	}
	retry := strconv.Itoa(int(math.Ceil(lim.RetryAfter().Seconds())))
	// The refusal is the same every time: encoded once, so that refusing
	// costs next to nothing when the server has no time to spare.
	refusal, err := json.Marshal((&Error{Status: http.StatusServiceUnavailable, Code: fm.IssueTypeThrottled,
		Diagnostics: "the server is at its limit of requests in flight; retry after " + retry + " s", Err: ErrUnavailable}).outcome())
	if err != nil {
		panic(fmt.Sprintf("fhir: encoding the refusal: %v", err)) // an OperationOutcome of strings always encodes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := s.mux.Handler(r); unbounded[pattern] {
			next.ServeHTTP(w, r)
			return
		}
		release, err := lim.Acquire(r.Context(), "http")
		if err != nil {
			// ErrOverloaded, or the client went away while waiting (then
			// nobody reads the answer).
			w.Header().Set("Retry-After", retry)
			writeJSON(w, http.StatusServiceUnavailable, refusal)
			return
		}
		defer release()
		next.ServeHTTP(w, r)
	})
}
