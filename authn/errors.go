// Package authn verifies the JSON Web Tokens patientmatch is handed: OpenID
// Connect ID tokens from trusted issuers (for /match/claims) and SMART Backend
// Services access tokens (for --auth jwt). All cryptography is go-jose's; this
// package decides which keys, algorithms, issuers, audiences, times and
// scopes are acceptable.
//
// The design leans towards refusing: only asymmetric algorithms from a fixed
// list are passed to the JOSE parser (so "none" and HMAC — the classic
// algorithm-confusion attack — never reach signature checking), keys come only
// from configured JWKS sources, and every failure is one sentinel error whose
// wrapped reason is for logs, never for the caller.
package authn

import "errors"

// Sentinel errors, classified with errors.Is at the HTTP and gRPC boundaries.
var (
	// ErrInvalidToken: the token is malformed, badly signed, from an
	// untrusted issuer, expired, not yet valid, or for another audience. The
	// wrapped reason is for logs only: callers must not repeat it to clients.
	ErrInvalidToken = errors.New("authn: invalid token")
	// ErrUnauthenticated: a request had no bearer token, or one that failed
	// verification (then ErrInvalidToken is wrapped as well).
	ErrUnauthenticated = errors.New("authn: unauthenticated")
	// ErrForbidden: the token is valid but lacks the scope the request needs.
	ErrForbidden = errors.New("authn: insufficient scope")
	// ErrKeySet: a JWKS source could not be read or holds no usable key.
	ErrKeySet = errors.New("authn: key set unavailable")
	// ErrConfig: an option or flag value is unusable.
	ErrConfig = errors.New("authn: invalid configuration")
)
