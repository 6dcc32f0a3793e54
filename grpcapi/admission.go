package grpcapi

import (
	"context"
	"math"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/patientmatch/patientmatch/internal/admission"
)

// admit takes a slot of the shared in-flight bound lim for one
// PatientMatch call or one MatchStream item (trailer false). Refused, it
// is RESOURCE_EXHAUSTED at once, a unary call with the retry delay in the
// "retry-after" trailer (seconds, as HTTP's Retry-After). Without a bound
// (lim nil) it admits everything.
func admit(ctx context.Context, lim *admission.Limiter, trailer bool) (release func(), err error) {
	if lim == nil {
		return func() {}, nil
	}
	release, err = lim.Acquire(ctx, "grpc")
	if err != nil {
		if ctx.Err() != nil {
			return nil, toStatus(ctx.Err(), "").Err()
		}
		secs := strconv.Itoa(int(math.Ceil(lim.RetryAfter().Seconds())))
		if trailer {
			_ = grpc.SetTrailer(ctx, metadata.Pairs("retry-after", secs))
		}
		return nil, status.Error(codes.ResourceExhausted, "the server is at its limit of requests in flight; retry after "+secs+" s")
	}
	return release, nil
}

// admitUnary holds PatientMatch's unary calls to the in-flight bound;
// health checks and reflection are never held back.
func (s *Server) admitUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !strings.HasPrefix(info.FullMethod, "/"+ServiceName+"/") {
		return handler(ctx, req)
	}
	release, err := admit(ctx, s.opts.Admission, true)
	if err != nil {
		return nil, err
	}
	defer release()
	return handler(ctx, req)
}
