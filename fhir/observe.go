package fhir

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/internal/buildinfo"
)

// MetricsSource is an optional Engine capability (matcher.Engine has it):
// collectors of its own (grades returned, candidates per query) that the
// server registers next to its HTTP metrics.
type MetricsSource interface {
	Collectors() []prometheus.Collector
}

// metrics are the server's Prometheus collectors, registered on
// Options.Registerer (never on the global default registry).
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	gatherer prometheus.Gatherer
}

func newMetrics(reg prometheus.Registerer, eng Engine) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patientmatch_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "patientmatch_http_request_duration_seconds",
			Help:    "HTTP request latency, by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
	}
	patients := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "patientmatch_patients",
		Help: "Live patients stored in the engine.",
	}, func() float64 { return float64(eng.Len()) })
	cs := []prometheus.Collector{m.requests, m.duration, patients, buildinfo.Read().Collector()}
	if src, ok := eng.(MetricsSource); ok {
		cs = append(cs, src.Collectors()...)
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("fhir: registering metrics: %w", err)
		}
	}
	m.gatherer, _ = reg.(prometheus.Gatherer) // Options.Validate checked it
	return m, nil
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
}

// unmatchedRoute labels requests that no pattern matched, so that scanning
// for random paths cannot blow up the metric's cardinality.
const unmatchedRoute = "unmatched"

// observe is the outermost middleware: it recovers panics into a 500
// OperationOutcome, then counts, times and logs every request by its route
// pattern (never the raw path, which may hold a patient id).
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := unmatchedRoute
		if _, pattern := s.mux.Handler(r); pattern != "" {
			route = pattern
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logPanic(r, route, v)
				if !sw.wrote {
					writeError(sw, &Error{Status: http.StatusInternalServerError, Code: fm.IssueTypeException,
						Diagnostics: "internal error; see the server log", Err: ErrInternal})
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
			s.metrics.duration.WithLabelValues(route).Observe(d.Seconds())
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			s.opts.Logger.LogAttrs(r.Context(), level, "http request",
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Duration("duration", d),
				slog.Int64("bytes", sw.bytes),
			)
		}()
		next.ServeHTTP(sw, r)
	})
}

// logPanic logs a recovered panic with its stack. The panic value is logged
// only when it is a runtime error (nil dereference, index out of range):
// other values could carry patient data.
func (s *Server) logPanic(r *http.Request, route string, v any) {
	msg := "non-runtime panic value (not logged)"
	var re runtime.Error
	if err, ok := v.(error); ok && errors.As(err, &re) {
		msg = re.Error()
	}
	s.opts.Logger.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.String("panic", msg),
		slog.String("stack", string(debug.Stack())),
	)
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote {
		w.status = status
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status = http.StatusOK
		w.wrote = true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
