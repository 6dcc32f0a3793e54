package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/patientmatch/patientmatch/internal/syncbuf"
)

// signTyped signs claims with the RSA test key and the given typ header
// ("" for none).
func signTyped(t *testing.T, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithHeader("kid", "rsa1")
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: keys(t).rsa}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestVerifyIssue14Checks covers issue 14 items 1 and 2: audience, maximum
// lifetime, typ and jti replay.
func TestVerifyIssue14Checks(t *testing.T) {
	far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	tests := []struct {
		name string
		opts VerifierOptions
		tok  func(t *testing.T) string
		ok   bool
	}{
		{"aud of another client", VerifierOptions{Audience: []string{"patientmatch"}},
			func(t *testing.T) string { return signTyped(t, "JWT", stdClaims(map[string]any{"aud": "other-app"})) }, false},
		{"no aud", VerifierOptions{Audience: []string{"patientmatch"}},
			func(t *testing.T) string { return signTyped(t, "JWT", stdClaims(map[string]any{"aud": nil})) }, false},
		{"right aud", VerifierOptions{Audience: []string{"patientmatch"}},
			func(t *testing.T) string { return signTyped(t, "JWT", stdClaims(nil)) }, true},
		{"exp in 9999", VerifierOptions{MaxLifetime: 5 * time.Minute},
			func(t *testing.T) string { return signTyped(t, "JWT", stdClaims(map[string]any{"exp": far})) }, false},
		{"exp in 9999 without iat", VerifierOptions{MaxLifetime: 5 * time.Minute},
			func(t *testing.T) string {
				return signTyped(t, "JWT", stdClaims(map[string]any{"exp": far, "iat": nil}))
			}, false},
		{"lifetime 6 minutes", VerifierOptions{MaxLifetime: 5 * time.Minute, Leeway: -1},
			func(t *testing.T) string {
				return signTyped(t, "JWT", stdClaims(map[string]any{"exp": testNow.Add(5 * time.Minute).Unix()}))
			}, false},
		{"lifetime 5 minutes", VerifierOptions{MaxLifetime: 5 * time.Minute, Leeway: -1},
			func(t *testing.T) string {
				return signTyped(t, "JWT", stdClaims(map[string]any{"exp": testNow.Add(4 * time.Minute).Unix()}))
			}, true},
		{"typ at+jwt as an ID token", VerifierOptions{Types: IDTokenTypes()},
			func(t *testing.T) string { return signTyped(t, "at+jwt", stdClaims(nil)) }, false},
		{"typ application/at+jwt as an access token", VerifierOptions{Types: AccessTokenTypes()},
			func(t *testing.T) string { return signTyped(t, "application/at+jwt", stdClaims(nil)) }, true},
		{"typ JWE-ish", VerifierOptions{},
			func(t *testing.T) string { return signTyped(t, "secevent+jwt", stdClaims(nil)) }, false},
		{"no typ", VerifierOptions{Types: IDTokenTypes()},
			func(t *testing.T) string { return signTyped(t, "", stdClaims(nil)) }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, tc.opts)
			_, err := v.Verify(context.Background(), tc.tok(t))
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("accepted (err %v)", err)
			}
		})
	}
}

func TestVerifyReplayCache(t *testing.T) {
	clock := &mutableClock{t: testNow}
	v := newTestVerifier(t, VerifierOptions{Now: clock.Now, Replay: NewReplayCache(2, clock.Now)})
	ctx := context.Background()
	a := signTyped(t, "JWT", stdClaims(map[string]any{"jti": "a"}))
	if _, err := v.Verify(ctx, a); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, err := v.Verify(ctx, a); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("replay accepted: %v", err)
	}
	if _, err := v.Verify(ctx, signTyped(t, "JWT", stdClaims(nil))); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token without jti accepted: %v", err)
	}
	if _, err := v.Verify(ctx, signTyped(t, "JWT", stdClaims(map[string]any{"jti": "b"}))); err != nil {
		t.Fatalf("second token: %v", err)
	}
	// Full: a third token is refused rather than an entry forgotten.
	if _, err := v.Verify(ctx, signTyped(t, "JWT", stdClaims(map[string]any{"jti": "c"}))); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("cache full, token accepted: %v", err)
	}
	// Once the tokens expired their entries go (and the token itself is
	// refused as expired, so nothing can be replayed).
	clock.Advance(10 * time.Minute)
	later := signTyped(t, "JWT", stdClaims(map[string]any{"jti": "d", "iat": clock.Now().Unix(), "nbf": clock.Now().Unix(), "exp": clock.Now().Add(time.Minute).Unix()}))
	if _, err := v.Verify(ctx, later); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}

// stallingJWKS is a JWKS endpoint that answers nothing until released.
func stallingJWKS(t *testing.T) (url string, fetches *atomic.Int64, release func()) {
	t.Helper()
	fetches = new(atomic.Int64)
	stop := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		select {
		case <-stop:
		case <-r.Context().Done():
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	release = func() { once.Do(func() { close(stop) }) }
	t.Cleanup(func() { release(); srv.Close() })
	return srv.URL, fetches, release
}

// TestKeySetStalledEndpoint is issue 14 item 3: five callers facing a JWKS
// endpoint that never answers share one fetch, which the fetch timeout ends
// (the endpoint is released only when the test ends, so callers that return
// at all were freed by the timeout); later callers are refused without a
// fetch during the back-off, and the next fetch happens once it is over.
// The key set's clock is frozen, so the back-off window cannot close while
// the test looks at it, however slow the machine.
func TestKeySetStalledEndpoint(t *testing.T) {
	url, fetches, _ := stallingJWKS(t)
	clock := &mutableClock{t: testNow}
	const minRefresh = 10 * time.Second
	ks, err := NewKeySet(url, KeySetOptions{Now: clock.Now, Timeout: 300 * time.Millisecond, MinRefreshInterval: minRefresh})
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(map[string]*KeySet{testIssuer: ks}, VerifierOptions{Now: fixedClock()})
	if err != nil {
		t.Fatal(err)
	}
	tok := signTyped(t, "JWT", stdClaims(nil))
	verify := func() error {
		_, err := v.Verify(context.Background(), tok)
		return err
	}
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			if err := verify(); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("caller %d: err %v", i, err)
			}
		})
	}
	waitOrFail(t, &wg, "callers still blocked on a stalled JWKS endpoint: the fetch timeout was not applied")
	if n := fetches.Load(); n != 1 {
		t.Errorf("fetches = %d, want 1 shared fetch", n)
	}
	// Backing off: the clock has not moved, so this caller is inside the
	// window and must be refused without a fetch.
	if err := verify(); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("during back-off: %v", err)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("fetches during back-off = %d, want 1", n)
	}
	// After the back-off (one failure: MinRefreshInterval) a caller fetches again.
	clock.Advance(minRefresh + time.Second)
	if err := verify(); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("after back-off: %v", err)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("fetches after back-off = %d, want 2", n)
	}
}

// waitOrFail waits for wg; a generous bound turns a hang into a failure
// (a guard against deadlock, not a latency assertion).
func waitOrFail(t *testing.T, wg *sync.WaitGroup, msg string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal(msg)
	}
}

func TestKeySetStaleKeysServedWhileEndpointStalls(t *testing.T) {
	k := keys(t)
	js := newJWKSServer(t, publicJWKS(k))
	clock := &mutableClock{t: testNow}
	// The fetch timeout is far longer than the test: the stalled fetch ends
	// only when the test releases the endpoint, so a Verify that returns
	// before then provably did not wait for it.
	ks, err := NewKeySet(js.URL, KeySetOptions{Now: clock.Now, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The endpoint now stalls: point the key set at a stalling server.
	url, fetches, release := stallingJWKS(t)
	defer release()
	ks.remote.Host = url[len("http://"):]
	clock.Advance(2 * time.Hour) // cache stale
	v, err := NewVerifier(map[string]*KeySet{testIssuer: ks}, VerifierOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	tok := signTyped(t, "JWT", stdClaims(map[string]any{"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix()}))
	done := make(chan error)
	go func() {
		for i := range 5 {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				done <- fmt.Errorf("verify %d with stale keys: %w", i, err)
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute): // a guard against a hang, not a speed bound
		t.Fatal("verify with stale keys waits for the stalled endpoint")
	}
	if !ks.revalidator.Load() {
		t.Errorf("no background revalidation in flight while the endpoint stalls")
	}
	release()
	waitRevalidated(t, ks)
	if n := fetches.Load(); n != 1 {
		t.Errorf("background revalidations = %d, want 1", n)
	}
}

// TestRefusalLogHasNoRawPath is issue 14 item 12: the refusal log line used
// to carry the raw path, i.e. a patient id.
func TestRefusalLogHasNoRawPath(t *testing.T) {
	sv := newTestScopeVerifier(t)
	var logBuf syncBuf
	logger := slog.New(slog.NewTextHandler(&logBuf, nil))
	var authenticated atomic.Int64
	mw := Middleware(sv, MiddlewareOptions{Logger: logger, Authenticated: func(context.Context, *Claims) { authenticated.Add(1) }})
	srv := httptest.NewServer(mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	for _, p := range []string{"/fhir/Patient/secret-id-4711", "/fhir/Patient/secret-id-4711/_history/2", "/match/links?sub=secret-id-4711"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: status %d", p, resp.StatusCode)
		}
	}
	if strings.Contains(logBuf.String(), "secret-id-4711") {
		t.Errorf("refusal log holds the path's id:\n%s", logBuf.String())
	}
	if !strings.Contains(logBuf.String(), "/fhir/Patient/…") {
		t.Errorf("refusal log does not say which endpoint:\n%s", logBuf.String())
	}
	req, _ := http.NewRequest("GET", srv.URL+"/fhir/Patient/1", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken(t, "system/Patient.rs"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || authenticated.Load() != 1 {
		t.Errorf("accepted token: status %d, Authenticated hook called %d times", resp.StatusCode, authenticated.Load())
	}
}

// syncBuf collects a log written from many goroutines.
type syncBuf = syncbuf.Buffer
