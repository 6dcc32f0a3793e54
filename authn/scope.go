package authn

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Access is what a request does to Patient resources.
type Access uint8

// Access kinds.
const (
	// AccessRead covers reads, searches and matches (SMART v2 "rs").
	AccessRead Access = iota
	// AccessWrite covers create, update and delete (SMART v2 "cud").
	AccessWrite
)

// String returns "read" or "write".
func (a Access) String() string {
	if a == AccessWrite {
		return "write"
	}
	return "read"
}

// RequiredScope is the canonical SMART v2 scope that grants a, as named in
// WWW-Authenticate challenges.
func (a Access) RequiredScope() string {
	if a == AccessWrite {
		return "system/Patient.cud"
	}
	return "system/Patient.rs"
}

// Scopes returns the token's scopes: the space-separated "scope" claim (RFC
// 8693, SMART) or, failing that, "scp" as a string or an array (as some
// authorization servers issue).
func (c *Claims) Scopes() []string {
	if s, ok := c.StringClaim("scope"); ok {
		return strings.Fields(s)
	}
	if r, ok := c.Raw["scp"]; ok {
		var list []string
		if err := json.Unmarshal(r, &list); err == nil {
			return list
		}
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			return strings.Fields(s)
		}
	}
	return nil
}

// Grants reports whether a single SMART scope grants access to Patient.
//
// Accepted: context "system" only (a backend service acts for itself, not for
// a user or patient); resource "Patient" or "*"; permissions either SMART v1
// ("read", "write", "*") or SMART v2 (letters of "cruds", in that order, no
// repeats). Reading needs both r and s, writing needs c, u and d. A v2 scope
// with a query ("system/Patient.rs?identifier=...") narrows access in a way
// this server cannot enforce, so it grants nothing.
func Grants(scope string, a Access) bool {
	ctx, rest, ok := strings.Cut(scope, "/")
	if !ok || ctx != "system" {
		return false
	}
	res, perm, ok := strings.Cut(rest, ".")
	if !ok || (res != "Patient" && res != "*") || perm == "" || strings.ContainsAny(perm, "?#/") {
		return false
	}
	switch perm {
	case "*":
		return true
	case "read":
		return a == AccessRead
	case "write":
		return a == AccessWrite
	}
	var have [5]bool
	last := -1
	for _, ch := range perm {
		i := strings.IndexRune("cruds", ch)
		if i <= last { // unknown letter, repeat, or out of order
			return false
		}
		have[i], last = true, i
	}
	if a == AccessWrite {
		return have[0] && have[2] && have[3]
	}
	return have[1] && have[4]
}

// ScopeVerifier verifies access tokens and checks their SMART scopes.
type ScopeVerifier struct {
	v *Verifier
}

// NewScopeVerifier returns a ScopeVerifier using v for signatures and claims.
func NewScopeVerifier(v *Verifier) *ScopeVerifier { return &ScopeVerifier{v: v} }

// Authorize checks a bearer token (with or without the "Bearer " prefix) for
// read or write access to Patient. Errors wrap ErrUnauthenticated (missing or
// invalid token; ErrInvalidToken too when verification failed) or
// ErrForbidden (valid token without the scope). It is what the gRPC layer
// calls.
func (s *ScopeVerifier) Authorize(ctx context.Context, bearer string, write bool) error {
	a := AccessRead
	if write {
		a = AccessWrite
	}
	_, err := s.AuthorizeAccess(ctx, bearer, a)
	return err
}

// AuthorizeAccess is Authorize returning the verified claims too.
func (s *ScopeVerifier) AuthorizeAccess(ctx context.Context, bearer string, a Access) (*Claims, error) {
	tok := strings.TrimSpace(bearer)
	if len(tok) >= 7 && strings.EqualFold(tok[:7], "bearer ") {
		tok = strings.TrimSpace(tok[7:])
	}
	if tok == "" {
		return nil, fmt.Errorf("%w: no bearer token", ErrUnauthenticated)
	}
	c, err := s.v.Verify(ctx, tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	for _, sc := range c.Scopes() {
		if Grants(sc, a) {
			return c, nil
		}
	}
	return c, fmt.Errorf("%w: %s needs %s", ErrForbidden, a, a.RequiredScope())
}
