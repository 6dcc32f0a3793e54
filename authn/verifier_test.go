package authn

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func newTestVerifier(t *testing.T, opts VerifierOptions) *Verifier {
	t.Helper()
	ks, err := NewStaticKeySet(publicJWKS(keys(t)))
	if err != nil {
		t.Fatal(err)
	}
	if opts.Now == nil {
		opts.Now = fixedClock()
	}
	v, err := NewVerifier(map[string]*KeySet{testIssuer: ks}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// unsignedToken builds an "alg: none" JWT by hand, as an attacker would.
func unsignedToken(t *testing.T, claims map[string]any) string {
	hdr, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": "rsa1"})
	body, _ := json.Marshal(claims)
	return b64(hdr) + "." + b64(body) + "."
}

// tamper replaces the payload of a signed token, keeping its signature.
func tamper(t testing.TB, tok string, claims map[string]any) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	body, _ := json.Marshal(claims)
	return parts[0] + "." + b64(body) + "." + parts[2]
}

func TestVerify(t *testing.T) {
	k := keys(t)
	rsaPubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&k.rsa.PublicKey))})
	valid := sign(t, jose.RS256, k.rsa, "rsa1", stdClaims(nil))

	tests := []struct {
		name  string
		token string
		opts  VerifierOptions
		ok    bool
		why   string // substring of the error, for logs
	}{
		{name: "valid RS256", token: valid, ok: true},
		{name: "valid RS384", token: sign(t, jose.RS384, k.rsa, "rsa1", stdClaims(nil)), ok: true},
		{name: "valid ES384", token: sign(t, jose.ES384, k.ec384, "ec384", stdClaims(nil)), ok: true},
		{name: "valid ES256", token: sign(t, jose.ES256, k.ec256, "ec256", stdClaims(nil)), ok: true},
		{name: "valid without kid", token: sign(t, jose.ES384, k.ec384, "", stdClaims(nil)), ok: true},
		{name: "expired within leeway", token: sign(t, jose.RS256, k.rsa, "rsa1", stdClaims(map[string]any{"exp": testNow.Add(-30 * time.Second).Unix()})), ok: true},
		{name: "audience matches", token: valid, opts: VerifierOptions{Audience: []string{"other", "patientmatch"}}, ok: true},

		{name: "expired", token: sign(t, jose.RS256, k.rsa, "rsa1", stdClaims(map[string]any{"exp": testNow.Add(-2 * time.Minute).Unix()})), why: "expired"},
		{name: "expired, no leeway", token: sign(t, jose.RS256, k.rsa, "rsa1", stdClaims(map[string]any{"exp": testNow.Add(-30 * time.Second).Unix()})), opts: VerifierOptions{Leeway: -1}, why: "expired"},
		{name: "not yet valid", token: sign(t, jose.RS256, k.rsa, "rsa1", stdClaims(map[string]any{"nbf": testNow.Add(10 * time.Minute).Unix()})), why: "nbf"},
		{name: "issued in the future", token: sign(t, jose.RS256, k.rsa, "rsa1", stdClaims(map[string]any{"iat": testNow.Add(10 * time.Minute).Unix()})), why: "iat"},
		{name: "no exp", token: sign(t, jose.RS256, k.rsa, "rsa1", stdClaims(map[string]any{"exp": nil})), why: "no exp"},
		{name: "no iss", token: sign(t, jose.RS256, k.rsa, "rsa1", stdClaims(map[string]any{"iss": nil})), why: "untrusted issuer"},
		{name: "unknown issuer", token: sign(t, jose.RS256, k.rsa, "rsa1", stdClaims(map[string]any{"iss": "https://evil.example"})), why: "untrusted issuer"},
		{name: "wrong key, same kid", token: sign(t, jose.RS256, k.rsaOther, "rsa1", stdClaims(nil)), why: "bad signature"},
		{name: "wrong key, unknown kid", token: sign(t, jose.RS256, k.rsaOther, "nope", stdClaims(nil)), why: "no key"},
		{name: "EC key named for RSA kid", token: sign(t, jose.ES384, k.ec384, "rsa1", stdClaims(nil)), why: "no key"},
		{name: "key alg pinned: ES384 key, ES256 header", token: sign(t, jose.ES256, k.ec256, "ec384", stdClaims(nil)), why: "no key"},
		{name: "alg none", token: unsignedToken(t, stdClaims(nil)), why: "parse"},
		{name: "HS256 with RSA public key as secret", token: sign(t, jose.HS256, rsaPubPEM, "rsa1", stdClaims(nil)), why: "parse"},
		{name: "HS256 with DER public key as secret", token: sign(t, jose.HS256, must(x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)), "rsa1", stdClaims(nil)), why: "parse"},
		{name: "RS512 not allowed", token: sign(t, jose.RS512, k.rsa, "rsa1", stdClaims(nil)), why: "parse"},
		{name: "PS256 not allowed", token: sign(t, jose.PS256, k.rsa, "rsa1", stdClaims(nil)), why: "parse"},
		{name: "RS256 refused when only SMART algs", token: valid, opts: VerifierOptions{Algorithms: SMARTBackendAlgorithms()}, why: "parse"},
		{name: "payload tampered", token: tamper(t, valid, stdClaims(map[string]any{"sub": "admin"})), why: "bad signature"},
		{name: "payload tampered to other issuer", token: tamper(t, valid, stdClaims(map[string]any{"iss": "https://evil.example"})), why: "untrusted issuer"},
		{name: "audience mismatch", token: valid, opts: VerifierOptions{Audience: []string{"other"}}, why: "aud"},
		{name: "audience missing", token: sign(t, jose.RS256, k.rsa, "rsa1", stdClaims(map[string]any{"aud": nil})), opts: VerifierOptions{Audience: []string{"patientmatch"}}, why: "aud"},
		{name: "empty", token: "", why: "empty"},
		{name: "garbage", token: "not.a.jwt", why: "parse"},
		{name: "too long", token: strings.Repeat("a", maxTokenBytes+1), why: "longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestVerifier(t, tt.opts)
			c, err := v.Verify(context.Background(), tt.token)
			if tt.ok {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c.Issuer != testIssuer || c.Subject != "user-42" {
					t.Errorf("claims = %q/%q", c.Issuer, c.Subject)
				}
				if c.Expiry.IsZero() || c.IssuedAt.IsZero() {
					t.Errorf("times not set: %+v", c)
				}
				if s, ok := c.StringClaim("sub"); !ok || s != "user-42" {
					t.Errorf("raw sub = %q, %v", s, ok)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted a bad token: %+v", c)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("error %v does not wrap ErrInvalidToken", err)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("error %q does not mention %q", err, tt.why)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestVerifierOptionsValidate(t *testing.T) {
	ks, err := NewStaticKeySet(publicJWKS(keys(t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, algs := range [][]jose.SignatureAlgorithm{{jose.HS256}, {"none"}, {jose.RS384, jose.PS256}} {
		if _, err := NewVerifier(map[string]*KeySet{testIssuer: ks}, VerifierOptions{Algorithms: algs}); !errors.Is(err, ErrConfig) {
			t.Errorf("algorithms %v: err = %v, want ErrConfig", algs, err)
		}
	}
	if _, err := NewVerifier(nil, VerifierOptions{}); !errors.Is(err, ErrConfig) {
		t.Errorf("no issuers: err = %v", err)
	}
	if _, err := NewVerifier(map[string]*KeySet{"": ks}, VerifierOptions{}); !errors.Is(err, ErrConfig) {
		t.Errorf("empty issuer: err = %v", err)
	}
}

func TestKeySetVerifierAnyIssuer(t *testing.T) {
	k := keys(t)
	ks, err := NewStaticKeySet(publicJWKS(k))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewKeySetVerifier(ks, VerifierOptions{Now: fixedClock(), Algorithms: SMARTBackendAlgorithms()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, jose.RS384, k.rsa, "rsa1", stdClaims(map[string]any{"iss": "https://as.local"}))); err != nil {
		t.Errorf("any issuer, trusted key: %v", err)
	}
	if _, err := v.Verify(ctx, sign(t, jose.RS384, k.rsaOther, "rsa1", stdClaims(nil))); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("untrusted key accepted: %v", err)
	}
	if _, err := v.Verify(ctx, sign(t, jose.RS384, k.rsa, "rsa1", stdClaims(map[string]any{"iss": nil}))); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token without iss accepted: %v", err)
	}
}

func TestParseTrustIssuer(t *testing.T) {
	tests := []struct {
		in, iss, src string
		ok           bool
	}{
		{"https://idp.example.org=https://idp.example.org/jwks", "https://idp.example.org", "https://idp.example.org/jwks", true},
		{"https://idp.example.org/realms/a=/etc/jwks.json", "https://idp.example.org/realms/a", "/etc/jwks.json", true},
		{"https://idp.example.org/?tenant=x=./jwks.json", "https://idp.example.org/?tenant=x", "./jwks.json", true},
		{"https://idp.example.org/?tenant=x=https://idp/jwks?a=b", "https://idp.example.org/?tenant=x", "https://idp/jwks?a=b", true},
		{"issuer=jwks.json", "issuer", "jwks.json", true},
		{" https://a=file:///k.json ", "https://a", "file:///k.json", true},
		{"https://idp.example.org", "", "", false},
		{"=https://x/jwks", "", "", false},
		{"https://idp=", "", "", false},
		{"", "", "", false},
		{"bad issuer=https://x/jwks", "", "", false},
	}
	for _, tt := range tests {
		iss, src, err := ParseTrustIssuer(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseTrustIssuer(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Errorf("ParseTrustIssuer(%q) err %v is not ErrConfig", tt.in, err)
			}
			continue
		}
		if iss != tt.iss || src != tt.src {
			t.Errorf("ParseTrustIssuer(%q) = %q, %q; want %q, %q", tt.in, iss, src, tt.iss, tt.src)
		}
	}
}

// FuzzVerify: arbitrary token strings never panic and never verify (the
// fuzzer cannot forge an RSA or ECDSA signature).
func FuzzVerify(f *testing.F) {
	k := keys(f)
	valid := sign(f, jose.RS256, k.rsa, "rsa1", stdClaims(nil))
	// Seeds are all far from valid: a seed one mutation away from a real
	// signature would let the fuzzer "find" it.
	f.Add(tamper(f, valid, stdClaims(map[string]any{"sub": "x"})))
	f.Add(sign(f, jose.RS256, k.rsaOther, "rsa1", stdClaims(nil)))
	f.Add(sign(f, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "rsa1", stdClaims(nil)))
	hdr, _ := json.Marshal(map[string]string{"alg": "none"})
	f.Add(b64(hdr) + "." + b64([]byte(`{"iss":"`+testIssuer+`"}`)) + ".")
	f.Add("")
	f.Add("a.b.c")
	f.Add("....")
	f.Add(`{"payload":"e30","signatures":[]}`)
	ks, err := NewStaticKeySet(publicJWKS(k))
	if err != nil {
		f.Fatal(err)
	}
	v, err := NewVerifier(map[string]*KeySet{testIssuer: ks}, VerifierOptions{Now: fixedClock()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(context.Background(), tok)
		if err == nil {
			t.Fatalf("fuzzed token verified: %q → %+v", tok, c)
		}
		if !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("error %v does not wrap ErrInvalidToken", err)
		}
	})
}
