package fhir

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/internal/admission"
	"github.com/patientmatch/patientmatch/internal/buildinfo"
	"github.com/patientmatch/patientmatch/internal/elide"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
)

// Engine is what the FHIR service needs of the matching engine
// (matcher.Engine implements it). Errors are classified with errors.Is:
// matcher.ErrNotFound → 404, matcher.ErrInvalid → 400, matcher.ErrClosed →
// 503, anything else → 500.
type Engine interface {
	Match(ctx context.Context, r record.Record, opts matcher.MatchOptions) ([]matcher.Match, error)
	// Upsert stores p under its id; created reports whether the id was new.
	Upsert(ctx context.Context, p *fm.Patient) (sp matcher.StoredPatient, created bool, err error)
	// UpsertBatch stores all of ps or none of them.
	UpsertBatch(ctx context.Context, ps []*fm.Patient) ([]matcher.StoredPatient, error)
	Get(ctx context.Context, id string) (matcher.StoredPatient, error)
	Delete(ctx context.Context, id string) error
	// Len is the number of live patients stored.
	Len() int
}

// Pinger is an optional capability of an Engine, found by type assertion:
// GET /readyz answers 503 while Ping fails (the engine is closed, or still
// opening). Without it, readiness is "the server is up".
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options configure a Server. The zero value is usable.
type Options struct {
	// BaseURL is the absolute base of fullUrl and Location values, without
	// the /fhir suffix, e.g. "https://mpi.example.org". Default: the scheme
	// and the local address the request's connection was accepted on —
	// never the Host header, which the client chooses. Set it behind a
	// reverse proxy: X-Forwarded-* headers are not trusted.
	BaseURL string
	// LocalOnly applies the rules for a server without authentication (see
	// guard): Host must be one of AllowedHosts or BaseURL's host, no
	// cross-site Origin or Sec-Fetch-Site, and bodies need a FHIR or JSON
	// Content-Type. Default off.
	LocalOnly bool
	// AllowedHosts are the Host header values accepted under LocalOnly
	// (host:port, as clients send them; see LoopbackHosts).
	AllowedHosts []string
	// RequestTimeout is the deadline put on every request's context, so
	// a request cannot hold the engine longer. Default 30 s; negative: none.
	RequestTimeout time.Duration
	// MaxBodyBytes caps request bodies; larger ones get 413. Default 1 MiB.
	MaxBodyBytes int64
	// Logger receives one line per request (method, route pattern, status,
	// duration — never patient data, raw paths or bodies). Default: discard.
	Logger *slog.Logger
	// Registerer receives the HTTP and patient-count metrics. Default: a new
	// registry owned by the server. GET /metrics serves it, so a non-nil
	// Registerer must also be a prometheus.Gatherer (*prometheus.Registry is).
	Registerer prometheus.Registerer
	// Version is the software version reported in the CapabilityStatement.
	// Default: the module version stamped into the binary (buildinfo).
	Version string
	// Organization is the name of the responding organization in
	// $idi-match answers. Default "patientmatch".
	Organization string
	// Admission, when set, bounds the requests in flight (shared with the
	// gRPC server): over it the server answers 503 with Retry-After at
	// once. Default: no bound.
	Admission *admission.Limiter
}

// Validate reports every problem of o at once.
func (o Options) Validate() error {
	var errs []error
	if o.BaseURL != "" {
		if !(strings.HasPrefix(o.BaseURL, "http://") || strings.HasPrefix(o.BaseURL, "https://")) {
			errs = append(errs, fmt.Errorf("fhir: BaseURL %q must be an absolute http(s) URL", o.BaseURL))
		}
		if strings.ContainsAny(o.BaseURL, "?#") {
			errs = append(errs, fmt.Errorf("fhir: BaseURL %q must not have a query or fragment", o.BaseURL))
		}
	}
	if o.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("fhir: MaxBodyBytes %d must not be negative", o.MaxBodyBytes))
	}
	if o.Registerer != nil {
		if _, ok := o.Registerer.(prometheus.Gatherer); !ok {
			errs = append(errs, errors.New("fhir: Registerer must also be a prometheus.Gatherer so /metrics can serve it"))
		}
	}
	return errors.Join(errs...)
}

// EnsureDefaults fills the zero fields of o with their defaults.
func (o *Options) EnsureDefaults() {
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Version == "" {
		o.Version = buildinfo.Read().Version
	}
	if o.Organization == "" {
		o.Organization = "patientmatch"
	}
}

// Server is the FHIR R4 HTTP service. Configure it (Mount, Use) before
// calling Handler; it is safe for concurrent requests afterwards.
type Server struct {
	eng     Engine
	opts    Options
	mux     *http.ServeMux
	mws     []func(http.Handler) http.Handler
	metrics *metrics
	// extra is what Advertise added to the CapabilityStatement.
	extra Capabilities
	// now and newUUID are the clock and the UUID source (tests pin them).
	now     func() time.Time
	newUUID func() string
}

// NewServer returns a Server answering from eng.
func NewServer(eng Engine, opts Options) (*Server, error) {
	if eng == nil {
		return nil, errors.New("fhir: nil Engine")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.EnsureDefaults()
	m, err := newMetrics(opts.Registerer, eng)
	if err != nil {
		return nil, err
	}
	s := &Server{
		eng:     eng,
		opts:    opts,
		mux:     http.NewServeMux(),
		metrics: m,
		now:     time.Now,
		newUUID: randomUUID,
	}
	s.routes()
	return s, nil
}

// routes registers the FHIR API. Operations ($match, $idi-match) are
// literal segments: ServeMux treats "$" specially only in "{$}", and a
// literal segment is more specific than the {id} wildcard, so
// GET /fhir/Patient/$match is routed to the operation's 405, not to read.
func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /fhir/metadata", s.handleMetadata)
	m.HandleFunc("POST /fhir/Patient/$match", s.handleMatch)
	m.HandleFunc("POST /fhir/Patient/$idi-match", s.handleIDIMatch)
	for _, op := range []string{"/fhir/Patient/$match", "/fhir/Patient/$idi-match"} {
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			m.HandleFunc(method+" "+op, s.methodNotAllowed("POST"))
		}
	}
	m.HandleFunc("GET /fhir/Patient", s.handleSearch)
	m.HandleFunc("POST /fhir/Patient/_search", s.handleSearch)
	m.HandleFunc("GET /fhir/Patient/{id}", s.handleRead)
	m.HandleFunc("GET /fhir/Patient/{id}/_history", s.handleHistory)
	m.HandleFunc("GET /fhir/Patient/{id}/_history/{vid}", s.handleVRead)
	m.HandleFunc("PUT /fhir/Patient/{id}", s.handleUpdate)
	m.HandleFunc("DELETE /fhir/Patient/{id}", s.handleDelete)
	m.HandleFunc("POST /fhir/Patient/{id}", s.handlePatientPost)
	m.HandleFunc("POST /fhir/Patient", s.handleCreate)
	m.HandleFunc("POST /fhir", s.handleBundle)
	m.HandleFunc("GET /healthz", handleHealthz)
	m.HandleFunc("GET /readyz", s.handleReadyz)
	m.Handle("GET /metrics", s.metrics.handler())
}

// Capabilities is what a mounted service adds to the CapabilityStatement:
// its own resource types and its operations on Patient.
type Capabilities struct {
	Resources         []fm.CapabilityStatementRestResource
	PatientOperations []fm.CapabilityStatementRestResourceOperation
}

// Advertise lists c in GET /fhir/metadata, so that clients discover what
// Mount added (a CapabilityStatement that omits a served resource tells
// clients it is not there). Call it before Handler, like Mount.
func (s *Server) Advertise(c Capabilities) {
	s.extra.Resources = append(s.extra.Resources, c.Resources...)
	s.extra.PatientOperations = append(s.extra.PatientOperations, c.PatientOperations...)
}

// Mount serves h at pattern (a ServeMux pattern, e.g. "POST /match/claims")
// behind the same middleware as the FHIR API: metrics, logs, panic recovery
// and whatever Use added. Like ServeMux.Handle it panics when pattern
// conflicts with a registered one. Call it before Handler.
func (s *Server) Mount(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Use adds a middleware (authentication, say) between the server's own
// middleware and the routes: requests it rejects are still counted, logged
// and protected by panic recovery. The first added is outermost. Call it
// before Handler.
func (s *Server) Use(mw func(http.Handler) http.Handler) { s.mws = append(s.mws, mw) }

// Handler returns the service's HTTP handler.
func (s *Server) Handler() http.Handler {
	var h http.Handler = http.HandlerFunc(s.dispatch)
	for i := len(s.mws) - 1; i >= 0; i-- {
		h = s.mws[i](h)
	}
	return s.observe(s.admit(s.guard(h)))
}

// dispatch routes r, turning ServeMux's plain-text 404 and 405 into
// OperationOutcomes.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	w, ok := withFormat(w, r)
	if !ok {
		return
	}
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// No pattern matched: let the mux decide between 404, 405 (with its
	// Allow header) and a redirect, then answer in FHIR's terms.
	rec := &statusRecorder{header: make(http.Header)}
	s.mux.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusMethodNotAllowed:
		writeError(w, methodNotAllowed(r.Method, rec.header.Get("Allow")))
	case http.StatusNotFound, 0:
		writeError(w, notFound("no route for %s %s; see GET /fhir/metadata", r.Method, elide.Text(r.URL.Path, 200)))
	default:
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
	}
}

// statusRecorder captures what the mux's fallback handlers write.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}
func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// methodNotAllowed answers 405 with Allow for a route served under other methods.
func (s *Server) methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeError(w, methodNotAllowed(r.Method, allow))
	}
}

func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// handleReadyz answers 200 when the engine answers Ping (or has no Ping).
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if p, ok := s.eng.(Pinger); ok {
		if err := p.Ping(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\n"))
			return
		}
	}
	_, _ = w.Write([]byte("ok\n"))
}

// baseURL is the absolute base (without /fhir) for fullUrl and Location.
func (s *Server) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	return localBase(r)
}

// patientURL is the absolute URL of the patient id.
func (s *Server) patientURL(r *http.Request, id string) string {
	return s.baseURL(r) + "/fhir/Patient/" + id
}

// randomUUID returns a random (version 4) UUID from crypto/rand.
func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
