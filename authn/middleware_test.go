package authn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func TestGrants(t *testing.T) {
	tests := []struct {
		scope       string
		read, write bool
	}{
		{"system/Patient.rs", true, false},
		{"system/Patient.read", true, false},
		{"system/*.rs", true, false},
		{"system/Patient.*", true, true},
		{"system/*.*", true, true},
		{"system/Patient.cud", false, true},
		{"system/Patient.write", false, true},
		{"system/*.cud", false, true},
		{"system/Patient.cruds", true, true},
		{"system/Patient.r", false, false},  // read without search: no matching
		{"system/Patient.s", false, false},  // search without read
		{"system/Patient.cu", false, false}, // no delete
		{"system/Patient.sr", false, false}, // out of order
		{"system/Patient.rrs", false, false},
		{"system/Patient.rsx", false, false},
		{"system/Patient.rs?identifier=x", false, false}, // constrained: cannot enforce
		{"user/Patient.rs", false, false},
		{"patient/Patient.read", false, false},
		{"patient/*.*", false, false},
		{"system/Observation.rs", false, false},
		{"system/Patient", false, false},
		{"system/Patient.", false, false},
		{"Patient.rs", false, false},
		{"openid", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := Grants(tt.scope, AccessRead); got != tt.read {
			t.Errorf("Grants(%q, read) = %v, want %v", tt.scope, got, tt.read)
		}
		if got := Grants(tt.scope, AccessWrite); got != tt.write {
			t.Errorf("Grants(%q, write) = %v, want %v", tt.scope, got, tt.write)
		}
	}
}

func newTestScopeVerifier(t *testing.T) *ScopeVerifier {
	t.Helper()
	ks, err := NewStaticKeySet(publicJWKS(keys(t)))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewKeySetVerifier(ks, VerifierOptions{Now: fixedClock(), Algorithms: SMARTBackendAlgorithms()})
	if err != nil {
		t.Fatal(err)
	}
	return NewScopeVerifier(v)
}

func accessToken(t *testing.T, scope any) string {
	k := keys(t)
	claim := "scope"
	if _, ok := scope.([]string); ok {
		claim = "scp"
	}
	return sign(t, jose.RS384, k.rsa, "rsa1", stdClaims(map[string]any{claim: scope, "sub": "backend-client"}))
}

func TestAuthorize(t *testing.T) {
	sv := newTestScopeVerifier(t)
	k := keys(t)
	ctx := context.Background()
	read := accessToken(t, "openid system/Patient.rs")
	write := accessToken(t, "system/Patient.cud")
	scp := accessToken(t, []string{"system/Patient.read"})
	tests := []struct {
		name   string
		bearer string
		write  bool
		want   error
	}{
		{"read ok", read, false, nil},
		{"read with prefix", "Bearer " + read, false, nil},
		{"read with lower-case prefix", "bearer " + read, false, nil},
		{"scp array", scp, false, nil},
		{"write with read scope", read, true, ErrForbidden},
		{"write ok", write, true, nil},
		{"read with write scope", write, false, ErrForbidden},
		{"no scope", accessToken(t, ""), false, ErrForbidden},
		{"empty", "", false, ErrUnauthenticated},
		{"prefix only", "Bearer ", false, ErrUnauthenticated},
		{"garbage", "Bearer xyz", false, ErrInvalidToken},
		{"RS256 not SMART", sign(t, jose.RS256, k.rsa, "rsa1", stdClaims(map[string]any{"scope": "system/*.*"})), false, ErrInvalidToken},
		{"ES384 ok", sign(t, jose.ES384, k.ec384, "ec384", stdClaims(map[string]any{"scope": "system/*.*"})), true, nil},
	}
	for _, tt := range tests {
		err := sv.Authorize(ctx, tt.bearer, tt.write)
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if errors.Is(tt.want, ErrInvalidToken) && !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: invalid token error %v does not wrap ErrUnauthenticated", tt.name, err)
		}
	}
}

func TestMiddleware(t *testing.T) {
	sv := newTestScopeVerifier(t)
	var logBuf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub := ""
		if c := ClaimsFromContext(r.Context()); c != nil {
			sub = c.Subject
		}
		w.Header().Set("X-Sub", sub)
		_, _ = io.WriteString(w, "ok")
	})
	srv := httptest.NewServer(Middleware(sv, MiddlewareOptions{Logger: logger})(inner))
	defer srv.Close()

	read := accessToken(t, "system/Patient.rs")
	write := accessToken(t, "system/Patient.cud")
	all := accessToken(t, "system/Patient.*")

	tests := []struct {
		name, method, path, token string
		status                    int
		ooCode                    string // OperationOutcome issue code, for /fhir
		jsonErr                   string // {"error"} for others
	}{
		{"healthz open", "GET", "/healthz", "", 200, "", ""},
		{"readyz open", "GET", "/readyz", "", 200, "", ""},
		{"metrics open", "GET", "/metrics", "", 200, "", ""},
		{"metadata open", "GET", "/fhir/metadata", "", 200, "", ""},
		{"metadata POST not open", "POST", "/fhir/metadata", "", 401, "login", ""},
		{"read no token", "GET", "/fhir/Patient/1", "", 401, "login", ""},
		{"read bad token", "GET", "/fhir/Patient/1", "garbage", 401, "login", ""},
		{"read ok", "GET", "/fhir/Patient/1", read, 200, "", ""},
		{"match ok", "POST", "/fhir/Patient/$match", read, 200, "", ""},
		{"idi-match ok", "POST", "/fhir/Patient/$idi-match", read, 200, "", ""},
		{"claims ok", "POST", "/match/claims", read, 200, "", ""},
		{"claims no token", "POST", "/match/claims", "", 401, "", "invalid_token"},
		{"links read", "GET", "/match/links", read, 200, "", ""},
		{"links delete needs write", "DELETE", "/match/links", read, 403, "", "insufficient_scope"},
		{"put with read scope", "PUT", "/fhir/Patient/1", read, 403, "forbidden", ""},
		{"delete with read scope", "DELETE", "/fhir/Patient/1", read, 403, "forbidden", ""},
		{"create with read scope", "POST", "/fhir/Patient", read, 403, "forbidden", ""},
		{"bundle with read scope", "POST", "/fhir", read, 403, "forbidden", ""},
		{"unclean match path is a write", "POST", "/fhir/Patient/x/../$match", read, 403, "forbidden", ""},
		{"put ok", "PUT", "/fhir/Patient/1", write, 200, "", ""},
		{"bundle ok", "POST", "/fhir", write, 200, "", ""},
		{"read with write scope", "GET", "/fhir/Patient/1", write, 403, "forbidden", ""},
		{"wildcard both", "DELETE", "/fhir/Patient/1", all, 200, "", ""},
		{"other paths protected", "GET", "/debug", "", 401, "", "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.status, body)
			}
			if tt.status == 200 {
				if tt.token != "" && resp.Header.Get("X-Sub") != "backend-client" {
					t.Errorf("claims not in context: X-Sub = %q", resp.Header.Get("X-Sub"))
				}
				return
			}
			wa := resp.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(wa, "Bearer ") {
				t.Errorf("WWW-Authenticate = %q", wa)
			}
			if tt.status == 403 && !strings.Contains(wa, "insufficient_scope") {
				t.Errorf("403 challenge = %q", wa)
			}
			if tt.token == "garbage" && !strings.Contains(wa, `error="invalid_token"`) {
				t.Errorf("bad-token challenge = %q", wa)
			}
			if tt.ooCode != "" {
				var oo struct {
					ResourceType string `json:"resourceType"`
					Issue        []struct{ Severity, Code, Diagnostics string }
				}
				if err := json.Unmarshal(body, &oo); err != nil {
					t.Fatalf("body %s: %v", body, err)
				}
				if oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 || oo.Issue[0].Code != tt.ooCode || oo.Issue[0].Severity != "error" {
					t.Errorf("OperationOutcome = %s", body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/fhir+json" {
					t.Errorf("Content-Type = %q", ct)
				}
			} else {
				var e map[string]string
				if err := json.Unmarshal(body, &e); err != nil || e["error"] != tt.jsonErr || len(e) != 1 {
					t.Errorf("body = %s, want error %q", body, tt.jsonErr)
				}
			}
			// Bodies never carry the verification reason.
			for _, leak := range []string{"parse", "signature", "expired", "go-jose"} {
				if strings.Contains(string(body), leak) {
					t.Errorf("body leaks %q: %s", leak, body)
				}
			}
		})
	}
	if !strings.Contains(logBuf.String(), "reason=") {
		t.Errorf("refusals not logged with a reason: %s", logBuf.String())
	}
	if strings.Contains(logBuf.String(), read) {
		t.Error("log contains a bearer token")
	}
}

// dropTime removes the timestamp from test log lines, so that checks that
// no patient data reached the log cannot trip over the clock's digits.
func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
