package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	pb "github.com/patientmatch/patientmatch/api/patientmatch/v1"
)

// metrics are the server's Prometheus collectors.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patientmatch_grpc_requests_total",
			Help: "gRPC calls handled, by full method name and status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "patientmatch_grpc_request_duration_seconds",
			Help: "Time to handle a gRPC call (a whole stream for MatchStream), by full method name.",
			// 0.5 ms to ~16 s: matches are milliseconds, streams longer.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("grpcapi: registering metrics: %w", err)
		}
	}
	return m, nil
}

// observe records one finished call: metrics, and a log line with method,
// code, duration and peer. Never request content: the log must not hold
// demographics.
func (s *Server) observe(ctx context.Context, method string, start time.Time, err error) {
	d := time.Since(start)
	code := status.Code(err)
	s.metrics.requests.WithLabelValues(method, code.String()).Inc()
	s.metrics.duration.WithLabelValues(method).Observe(d.Seconds())
	level := slog.LevelInfo
	if serverFault(code) {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("code", code.String()),
		slog.Duration("duration", d),
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("peer", p.Addr.String()))
	}
	s.opts.Logger.LogAttrs(ctx, level, "grpc call", attrs...)
}

func (s *Server) observeUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	s.observe(ctx, info.FullMethod, start, err)
	return resp, err
}

func (s *Server) observeStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	err := handler(srv, ss)
	s.observe(ss.Context(), info.FullMethod, start, err)
	return err
}

// recoverUnary turns a panic of a handler into INTERNAL and logs it, so one
// bad request cannot take the server down.
func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if v := recover(); v != nil {
				err = panicked(ctx, log, info.FullMethod, v)
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = panicked(ss.Context(), log, info.FullMethod, v)
			}
		}()
		return handler(srv, ss)
	}
}

// panicked logs a recovered panic with its stack. The panic value is
// logged only when it is a runtime error (nil dereference, index out of
// range): any other value could carry patient data.
func panicked(ctx context.Context, log *slog.Logger, method string, v any) error {
	msg := "non-runtime panic value (not logged)"
	var re runtime.Error
	if err, ok := v.(error); ok && errors.As(err, &re) {
		msg = re.Error()
	}
	log.LogAttrs(ctx, slog.LevelError, "grpcapi: handler panicked",
		slog.String("method", method), slog.String("panic", msg), slog.String("stack", string(debug.Stack())))
	return status.Error(codes.Internal, "internal error; see the server log")
}

// deadlineUnary bounds every unary call by CallTimeout: a caller that sets
// no deadline, or a longer one, gets this one.
func (s *Server) deadlineUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if s.opts.CallTimeout <= 0 {
		return handler(ctx, req)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	return handler(ctx, req)
}

// servicePrefix starts every PatientMatch method name; health checks and
// reflection are not behind Options.Authorize (load balancers and grpcurl
// need them without a token, and they disclose no patient data).
const servicePrefix = "/" + ServiceName + "/"

func (s *Server) authorize(ctx context.Context, method string) error {
	if s.opts.Authorize == nil || !strings.HasPrefix(method, servicePrefix) {
		return nil
	}
	if err := s.opts.Authorize(ctx, method); err != nil {
		st := authStatus(err)
		s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "grpcapi: call refused",
			slog.String("method", method), slog.String("code", st.Code().String()), slog.Any("reason", err))
		return st.Err()
	}
	return nil
}

func (s *Server) authorizeUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := s.authorize(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (s *Server) authorizeStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := s.authorize(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}

// IsWrite reports whether the full method name changes stored data (Upsert,
// Delete): an Authorize hook asks for write scope for these and read scope
// for the rest.
func IsWrite(fullMethod string) bool {
	switch fullMethod {
	case pb.PatientMatch_Upsert_FullMethodName, pb.PatientMatch_Delete_FullMethodName:
		return true
	}
	return false
}

// BearerToken returns the token of the call's "authorization: Bearer ..."
// metadata, for an Authorize hook; ok is false when there is none.
func BearerToken(ctx context.Context) (token string, ok bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		v = strings.TrimSpace(v)
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			if t := strings.TrimSpace(v[7:]); t != "" {
				return t, true
			}
		}
	}
	return "", false
}
