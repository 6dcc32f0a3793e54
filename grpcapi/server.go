// Package grpcapi serves the patientmatch.v1.PatientMatch gRPC API (see
// api/patientmatch/v1) over the matching engine, with standard health
// checking and server reflection, so grpcurl works without the proto file.
//
// It is a boundary package: requests are validated and turned into
// record.Record values through the record package's one normalization path,
// every match goes through Engine.Match, and engine errors become gRPC
// status codes here and nowhere else.
package grpcapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	pb "github.com/patientmatch/patientmatch/api/patientmatch/v1"
	"github.com/patientmatch/patientmatch/claims"
	"github.com/patientmatch/patientmatch/internal/admission"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
)

// Engine is what the gRPC service needs of the matching engine
// (*matcher.Engine implements it). Every method must honour ctx: a call's
// deadline and cancellation reach the engine through it. Errors are
// classified with errors.Is: matcher.ErrNotFound → NOT_FOUND,
// matcher.ErrInvalid → INVALID_ARGUMENT, matcher.ErrClosed → UNAVAILABLE,
// context errors → DEADLINE_EXCEEDED / CANCELLED, anything else → INTERNAL.
type Engine interface {
	// Match's answer belongs to the caller: the server hands each
	// Resource to the response without copying it, so an engine must not
	// write to it afterwards (matcher.Engine reads every answer anew).
	Match(ctx context.Context, r record.Record, opts matcher.MatchOptions) ([]matcher.Match, error)
	// Upsert stores p under its id; created reports whether the id was new.
	Upsert(ctx context.Context, p *fm.Patient) (sp matcher.StoredPatient, created bool, err error)
	Get(ctx context.Context, id string) (matcher.StoredPatient, error)
	Delete(ctx context.Context, id string) error
}

// ClaimsMatcher decides which patient an OIDC identity is (*claims.Service
// implements it), so gRPC MatchClaims and HTTP /match/claims answer alike.
type ClaimsMatcher interface {
	MatchClaims(ctx context.Context, req claims.Request) (claims.Response, error)
}

// ServiceName is the full name of the PatientMatch service, as health
// checking and reflection know it.
const ServiceName = "patientmatch.v1.PatientMatch"

// Options configure a Server. The zero value is usable.
type Options struct {
	// MaxRecvMsgSize caps the size of one received message in bytes; a
	// larger one is refused with RESOURCE_EXHAUSTED before it is decoded.
	// Default 4 MiB.
	MaxRecvMsgSize int
	// MaxSendMsgSize caps the size of one sent message in bytes (a Match
	// answer with many large resources can exceed it: the call then fails
	// with RESOURCE_EXHAUSTED). Default 4 MiB.
	MaxSendMsgSize int
	// MaxCount is the largest MatchRequest.count accepted. Default 100.
	MaxCount int
	// StreamWorkers is how many requests of one MatchStream are matched at
	// the same time. Default 4.
	StreamWorkers int
	// StreamWindow is how many requests of one MatchStream may be received
	// and not yet answered; at that many the server stops reading the
	// stream until the oldest is answered, so HTTP/2 flow control slows the
	// sender. Must be at least StreamWorkers. Default 4×StreamWorkers.
	StreamWindow int
	// Authorize, when set, is called before every PatientMatch call (not
	// health checks or reflection) with the full method name, e.g.
	// "/patientmatch.v1.PatientMatch/Upsert" (see IsWrite, BearerToken). An
	// error wrapping ErrPermissionDenied or authn.ErrForbidden is answered
	// PERMISSION_DENIED, an error that is a gRPC status keeps its code, any
	// other error is UNAUTHENTICATED; the error text is logged, never sent.
	// Default: every call is allowed.
	Authorize func(ctx context.Context, method string) error
	// Logger receives one line per call: method, status code, duration and
	// peer — never request or response content. Default: discard.
	Logger *slog.Logger
	// Registerer receives the metrics patientmatch_grpc_requests_total
	// {method,code} and patientmatch_grpc_request_duration_seconds{method}.
	// Default: a new registry of the server's own (the metrics then go
	// nowhere; pass the process registry to serve them).
	Registerer prometheus.Registerer
	// TLSConfig, when set, makes the server speak TLS. Default: plaintext.
	TLSConfig *tls.Config
	// MaxConcurrentStreams caps the calls in flight on one connection
	// (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); further streams wait for
	// a slot. Default 100.
	MaxConcurrentStreams uint32
	// CallTimeout is the deadline of every unary call (a shorter one of the
	// caller's is kept) and of each request of a MatchStream. Default 30 s;
	// negative: none.
	CallTimeout time.Duration
	// Keepalive enforcement: a client pinging more often than every
	// KeepaliveMinTime (default 10 s), or at all without an open call, is
	// disconnected (GOAWAY "too_many_pings"); a connection idle for
	// MaxConnectionIdle (default 5 min) is closed, and the server pings an
	// idle client every KeepaliveTime (default 1 min), closing it when no
	// answer comes within KeepaliveTimeout (default 20 s).
	KeepaliveMinTime  time.Duration
	MaxConnectionIdle time.Duration
	KeepaliveTime     time.Duration
	KeepaliveTimeout  time.Duration
	// Interceptors run outermost but for the metrics one (before panic
	// recovery and Authorize), e.g. the audit recorder, which must see
	// refused calls too. Unary and stream lists are separate.
	UnaryInterceptors  []grpc.UnaryServerInterceptor
	StreamInterceptors []grpc.StreamServerInterceptor
	// ServerOptions are added after the server's own.
	ServerOptions []grpc.ServerOption
	// Admission, when set, bounds the calls in flight (shared with the
	// HTTP server): each unary PatientMatch call and each MatchStream item
	// takes a slot; over the bound they are RESOURCE_EXHAUSTED at once.
	// Default: no bound.
	Admission *admission.Limiter
}

const (
	defaultMsgSize       = 4 << 20
	defaultStreamWorkers = 4
)

// Validate reports every problem of o at once.
func (o Options) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{
		{"MaxRecvMsgSize", o.MaxRecvMsgSize},
		{"MaxSendMsgSize", o.MaxSendMsgSize},
		{"MaxCount", o.MaxCount},
		{"StreamWorkers", o.StreamWorkers},
		{"StreamWindow", o.StreamWindow},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("grpcapi: %s %d must not be negative", f.name, f.v))
		}
	}
	workers := o.StreamWorkers
	if workers == 0 {
		workers = defaultStreamWorkers
	}
	if o.StreamWindow > 0 && o.StreamWindow < workers {
		errs = append(errs, fmt.Errorf("grpcapi: StreamWindow %d must be at least StreamWorkers (%d)", o.StreamWindow, workers))
	}
	return errors.Join(errs...)
}

// EnsureDefaults fills the zero fields of o with their defaults.
func (o *Options) EnsureDefaults() {
	if o.MaxRecvMsgSize == 0 {
		o.MaxRecvMsgSize = defaultMsgSize
	}
	if o.MaxSendMsgSize == 0 {
		o.MaxSendMsgSize = defaultMsgSize
	}
	if o.MaxCount == 0 {
		o.MaxCount = 100
	}
	if o.StreamWorkers == 0 {
		o.StreamWorkers = defaultStreamWorkers
	}
	if o.StreamWindow == 0 {
		o.StreamWindow = 4 * o.StreamWorkers
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.MaxConcurrentStreams == 0 {
		o.MaxConcurrentStreams = 100
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = 30 * time.Second
	}
	setDuration(&o.KeepaliveMinTime, 10*time.Second)
	setDuration(&o.MaxConnectionIdle, 5*time.Minute)
	setDuration(&o.KeepaliveTime, time.Minute)
	setDuration(&o.KeepaliveTimeout, 20*time.Second)
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Server is the gRPC server: PatientMatch, health and reflection.
type Server struct {
	svc     *service
	opts    Options
	gs      *grpc.Server
	health  *health.Server
	metrics *metrics

	stopOnce sync.Once
	stopErr  error
}

// New returns a Server answering from eng. claims may be nil: MatchClaims
// then answers UNIMPLEMENTED.
func New(eng Engine, cm ClaimsMatcher, opts Options) (*Server, error) {
	if eng == nil {
		return nil, errors.New("grpcapi: nil Engine")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.EnsureDefaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		svc:     &service{eng: eng, claims: cm, opts: opts},
		opts:    opts,
		metrics: m,
		health:  health.NewServer(),
	}
	unary := append([]grpc.UnaryServerInterceptor{s.observeUnary}, opts.UnaryInterceptors...)
	unary = append(unary, recoverUnary(opts.Logger), s.admitUnary, s.authorizeUnary, s.deadlineUnary)
	stream := append([]grpc.StreamServerInterceptor{s.observeStream}, opts.StreamInterceptors...)
	stream = append(stream, recoverStream(opts.Logger), s.authorizeStream)
	sopts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(opts.MaxRecvMsgSize),
		grpc.MaxSendMsgSize(opts.MaxSendMsgSize),
		grpc.MaxConcurrentStreams(opts.MaxConcurrentStreams),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: opts.KeepaliveMinTime}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: opts.MaxConnectionIdle,
			Time:              opts.KeepaliveTime,
			Timeout:           opts.KeepaliveTimeout,
		}),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
	}
	if opts.TLSConfig != nil {
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(opts.TLSConfig)))
	}
	sopts = append(sopts, opts.ServerOptions...)
	s.gs = grpc.NewServer(sopts...)
	pb.RegisterPatientMatchServer(s.gs, s.svc)
	healthpb.RegisterHealthServer(s.gs, s.health)
	reflection.Register(s.gs)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(ServiceName, healthpb.HealthCheckResponse_SERVING)
	return s, nil
}

// Serve accepts connections on lis until Stop; like grpc.Server.Serve it
// returns nil after a Stop and grpc.ErrServerStopped when called after one.
func (s *Server) Serve(lis net.Listener) error {
	return s.gs.Serve(lis)
}

// Stop shuts the server down: health checks answer NOT_SERVING, no new calls
// are accepted, and calls in progress may finish until ctx is done; then
// they are cancelled and the connections closed, and Stop returns ctx's
// error. Stop is idempotent; later calls return the first one's result.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.health.Shutdown()
		done := make(chan struct{})
		go func() {
			s.gs.GracefulStop()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			s.gs.Stop()
			<-done
			s.stopErr = fmt.Errorf("grpcapi: graceful stop cut short: %w", ctx.Err())
		}
	})
	return s.stopErr
}

// GRPCServer is the underlying server, for registering further services
// before Serve.
func (s *Server) GRPCServer() *grpc.Server { return s.gs }
