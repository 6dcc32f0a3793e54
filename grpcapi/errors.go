package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/patientmatch/patientmatch/authn"
	"github.com/patientmatch/patientmatch/claims"
	"github.com/patientmatch/patientmatch/matcher"
)

// ErrPermissionDenied is what an Options.Authorize hook wraps to say "the
// caller is known but may not do this" (PERMISSION_DENIED). authn.ErrForbidden
// is recognised as well. Any other error of the hook means the caller is not
// authenticated (UNAUTHENTICATED).
var ErrPermissionDenied = errors.New("grpcapi: permission denied")

// violations collects the bad fields of one request, so that a caller learns
// about all of them at once (google.rpc.BadRequest).
type violations []*errdetails.BadRequest_FieldViolation

func (v *violations) add(field, format string, a ...any) {
	*v = append(*v, &errdetails.BadRequest_FieldViolation{Field: field, Description: fmt.Sprintf(format, a...)})
}

// err returns nil when nothing was added, else a *badRequestError.
func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	return &badRequestError{v: v}
}

// badRequestError is an INVALID_ARGUMENT carrying field violations.
type badRequestError struct{ v violations }

func (e *badRequestError) Error() string {
	parts := make([]string, len(e.v))
	for i, fv := range e.v {
		parts[i] = fv.GetField() + ": " + fv.GetDescription()
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

// GRPCStatus makes the error a gRPC status (status.FromError finds it).
func (e *badRequestError) GRPCStatus() *status.Status {
	st := status.New(codes.InvalidArgument, e.Error())
	if d, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: e.v}); err == nil {
		return d
	}
	return st
}

// badRequest is a one-violation INVALID_ARGUMENT.
func badRequest(field, format string, a ...any) error {
	var v violations
	v.add(field, format, a...)
	return v.err()
}

// toStatus classifies err as the status a caller sees. Engine errors map by
// sentinel; an error that already is a status keeps it; context errors
// become CANCELLED / DEADLINE_EXCEEDED; anything else is INTERNAL with a
// generic message (the cause is for the server log only). field names the
// request field an engine ErrInvalid is about.
func toStatus(err error, field string) *status.Status {
	if err == nil {
		return nil
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) && se.GRPCStatus() != nil {
		return se.GRPCStatus()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "call cancelled")
	case errors.Is(err, matcher.ErrNotFound):
		return status.New(codes.NotFound, "patient not found")
	case errors.Is(err, matcher.ErrInvalid):
		// The engine's messages name fields, never values.
		return (&badRequestError{v: violations{{Field: field, Description: err.Error()}}}).GRPCStatus()
	case errors.Is(err, matcher.ErrClosed):
		return status.New(codes.Unavailable, "the matching engine is not available; retry later")
	}
	return status.New(codes.Internal, "internal error; see the server log")
}

// claimsStatus classifies an error of ClaimsMatcher.MatchClaims the way the
// HTTP /match/claims handler does: a bad ID token is UNAUTHENTICATED with
// nothing about why, a bad request INVALID_ARGUMENT.
func claimsStatus(err error, field string) *status.Status {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return toStatus(err, field)
	case errors.Is(err, claims.ErrInvalidToken):
		return status.New(codes.Unauthenticated, "invalid_token")
	case errors.Is(err, claims.ErrBadRequest):
		return (&badRequestError{v: violations{{Field: field, Description: err.Error()}}}).GRPCStatus()
	case errors.Is(err, matcher.ErrInvalid):
		return (&badRequestError{v: violations{{Field: field, Description: "the claims cannot be matched"}}}).GRPCStatus()
	}
	return toStatus(err, field)
}

// authStatus classifies an error of Options.Authorize. Reasons stay in the
// server log: the caller only learns which of the two it is.
func authStatus(err error) *status.Status {
	if st, ok := status.FromError(err); ok {
		return st
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return toStatus(err, "")
	case errors.Is(err, ErrPermissionDenied), errors.Is(err, authn.ErrForbidden):
		return status.New(codes.PermissionDenied, "the token lacks the scope this call needs")
	}
	return status.New(codes.Unauthenticated, "missing or invalid bearer token")
}

// serverFault reports whether code means the server, not the caller, is at
// fault: such errors are logged with their cause.
func serverFault(c codes.Code) bool {
	switch c {
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unavailable, codes.Unimplemented:
		return true
	}
	return false
}
