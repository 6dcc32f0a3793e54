package authn

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

// MiddlewareOptions configure Middleware. The zero value is usable.
type MiddlewareOptions struct {
	// Open lists the exact paths served without a token, for GET and HEAD
	// only. Default: /healthz, /readyz, /metrics, /fhir/metadata.
	Open []string
	// Realm is named in WWW-Authenticate challenges. Default "patientmatch".
	Realm string
	// Logger receives one line per refused request, with the reason (never
	// the token, nor the raw path, which may hold a patient id). Default:
	// slog.Default().
	Logger *slog.Logger
	// Authenticated, when set, is called with the request's context and the
	// verified claims of every accepted token (the audit trail records the
	// client from it).
	Authenticated func(ctx context.Context, c *Claims)
}

// DefaultOpenPaths are the paths Middleware leaves open by default.
func DefaultOpenPaths() []string {
	return []string{"/healthz", "/readyz", "/metrics", "/fhir/metadata"}
}

// readPOSTs are the POST endpoints that only read: matching.
var readPOSTs = map[string]bool{
	"/fhir/Patient/$match":     true,
	"/fhir/Patient/$idi-match": true,
	"/match/claims":            true,
}

// AccessFor classifies a request: GET and HEAD read, and so do POSTs to the
// matching endpoints ($match, $idi-match, /match/claims, compared exactly, so
// an unclean path counts as a write); every other method writes.
func AccessFor(r *http.Request) Access {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return AccessRead
	case http.MethodPost:
		if readPOSTs[r.URL.Path] {
			return AccessRead
		}
	}
	return AccessWrite
}

type claimsKey struct{}

// ContextWithClaims returns ctx carrying c.
func ContextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFromContext returns the access-token claims Middleware stored, or nil.
func ClaimsFromContext(ctx context.Context) *Claims {
	c, _ := ctx.Value(claimsKey{}).(*Claims)
	return c
}

// Middleware enforces --auth jwt. Every request except GET/HEAD to an open
// path needs "Authorization: Bearer <JWT>" accepted by v with the scope its
// access kind needs (see AccessFor and Grants). It is deny-by-default: paths
// other than /fhir and /match are protected too, so a handler added later is
// not accidentally public.
//
// Refusals are 401 (no or bad token, with a WWW-Authenticate: Bearer
// challenge) or 403 (scope), as a FHIR OperationOutcome under /fhir and as
// {"error": "..."} elsewhere. The body never says why a token failed; the log
// does. The verified claims are put in the request context (ClaimsFromContext).
func Middleware(v *ScopeVerifier, opts MiddlewareOptions) func(http.Handler) http.Handler {
	open := opts.Open
	if open == nil {
		open = DefaultOpenPaths()
	}
	openSet := make(map[string]bool, len(open))
	for _, p := range open {
		openSet[p] = true
	}
	realm := opts.Realm
	if realm == "" {
		realm = "patientmatch"
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if (r.Method == http.MethodGet || r.Method == http.MethodHead) && openSet[r.URL.Path] {
				next.ServeHTTP(w, r)
				return
			}
			a := AccessFor(r)
			c, err := v.AuthorizeAccess(r.Context(), r.Header.Get("Authorization"), a)
			if err == nil {
				if opts.Authenticated != nil {
					opts.Authenticated(r.Context(), c)
				}
				next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), c)))
				return
			}
			attrs := []any{"method", r.Method, "route", routeClass(r.URL.Path), "remote", r.RemoteAddr, "access", a.String(), "reason", err.Error()}
			if c != nil {
				attrs = append(attrs, "iss", c.Issuer, "sub", c.Subject)
			}
			log.WarnContext(r.Context(), "authn: request refused", attrs...)
			fhirPath := r.URL.Path == "/fhir" || strings.HasPrefix(r.URL.Path, "/fhir/")
			if errors.Is(err, ErrForbidden) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`", error="insufficient_scope", scope="`+a.RequiredScope()+`"`)
				writeRefusal(w, http.StatusForbidden, fhirPath, "forbidden", "insufficient_scope", "the access token lacks the scope "+a.RequiredScope())
				return
			}
			challenge := `Bearer realm="` + realm + `"`
			if errors.Is(err, ErrInvalidToken) {
				challenge += `, error="invalid_token"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
			writeRefusal(w, http.StatusUnauthorized, fhirPath, "login", "invalid_token", "a valid bearer token is required")
		})
	}
}

// routeClass names the endpoint of a path for logs without the ids in it:
// the known operation paths as they are, anything else by its first two
// segments ("/fhir/Patient/…").
func routeClass(p string) string {
	if readPOSTs[p] || p == "/fhir" || p == "/fhir/Patient" || p == "/match/links" {
		return p
	}
	segs := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
	if len(segs) < 3 {
		if len(segs) == 2 && segs[0] == "fhir" && segs[1] == "Patient" {
			return p
		}
		return "/" + segs[0] + "/…"
	}
	return "/" + segs[0] + "/" + segs[1] + "/…"
}

type ooIssue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics"`
}

type operationOutcome struct {
	ResourceType string    `json:"resourceType"`
	Issue        []ooIssue `json:"issue"`
}

// writeRefusal writes a 401/403 body: an OperationOutcome (issue code
// ooCode) for FHIR paths, {"error": jsonCode} elsewhere.
func writeRefusal(w http.ResponseWriter, status int, fhirPath bool, ooCode, jsonCode, diagnostics string) {
	var body []byte
	if fhirPath {
		w.Header().Set("Content-Type", "application/fhir+json")
		body, _ = json.Marshal(operationOutcome{
			ResourceType: "OperationOutcome",
			Issue:        []ooIssue{{Severity: "error", Code: ooCode, Diagnostics: diagnostics}},
		})
	} else {
		w.Header().Set("Content-Type", "application/json")
		body, _ = json.Marshal(map[string]string{"error": jsonCode})
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
