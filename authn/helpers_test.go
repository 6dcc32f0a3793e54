package authn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testKeys are made once per test binary: RSA key generation is slow.
type testKeys struct {
	rsa      *rsa.PrivateKey // trusted, kid "rsa1"
	rsaOther *rsa.PrivateKey // untrusted, used for "wrong key"
	ec384    *ecdsa.PrivateKey
	ec256    *ecdsa.PrivateKey
	rsaNew   *rsa.PrivateKey // published only after a rotation
}

var (
	keysOnce sync.Once
	keysVal  testKeys
)

func keys(t testing.TB) testKeys {
	t.Helper()
	keysOnce.Do(func() {
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		var err error
		keysVal.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		keysVal.rsaOther, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		keysVal.rsaNew, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		keysVal.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		must(err)
		keysVal.ec256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
	})
	return keysVal
}

// testNow is the fixed clock of the tests.
var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func fixedClock() func() time.Time { return func() time.Time { return testNow } }

const testIssuer = "https://idp.example.org"

// publicJWKS is the trusted issuer's published key set.
func publicJWKS(k testKeys) jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &k.rsa.PublicKey, KeyID: "rsa1", Use: "sig"},
		{Key: &k.ec384.PublicKey, KeyID: "ec384", Algorithm: "ES384", Use: "sig"},
		{Key: &k.ec256.PublicKey, KeyID: "ec256", Use: "sig"},
	}}
}

// sign makes a compact JWS of claims with key and alg, with kid (when non-empty).
func sign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return tok
}

// stdClaims returns a valid claim set at testNow, with extra claims merged in.
func stdClaims(extra map[string]any) map[string]any {
	c := map[string]any{
		"iss": testIssuer,
		"sub": "user-42",
		"aud": "patientmatch",
		"iat": testNow.Add(-time.Minute).Unix(),
		"nbf": testNow.Add(-time.Minute).Unix(),
		"exp": testNow.Add(5 * time.Minute).Unix(),
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// jwksServer serves a JWKS over loopback HTTP and counts fetches. The set it
// serves can be replaced while running.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int64
	mu      sync.Mutex
	set     jose.JSONWebKeySet
	status  int
}

func newJWKSServer(t testing.TB, set jose.JSONWebKeySet) *jwksServer {
	t.Helper()
	js := &jwksServer{set: set, status: http.StatusOK}
	js.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		js.fetches.Add(1)
		js.mu.Lock()
		status, set := js.status, js.set
		js.mu.Unlock()
		if status != http.StatusOK {
			http.Error(w, "boom", status)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(js.Close)
	return js
}

func (js *jwksServer) setKeys(set jose.JSONWebKeySet) {
	js.mu.Lock()
	js.set = set
	js.mu.Unlock()
}

func (js *jwksServer) setStatus(code int) {
	js.mu.Lock()
	js.status = code
	js.mu.Unlock()
}

// mutableClock is a clock tests can advance; safe for concurrent use.
type mutableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *mutableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *mutableClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
