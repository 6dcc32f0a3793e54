package authn

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// remoteVerifier builds a verifier whose only issuer's keys are served by js.
func remoteVerifier(t *testing.T, js *jwksServer, clock *mutableClock) (*Verifier, *KeySet) {
	t.Helper()
	// A fetch timeout far above any fetch from a loopback server: a slow,
	// loaded machine must not turn a fetch into a failure (and then a
	// back-off on the test's frozen clock).
	ks, err := NewKeySet(js.URL+"/jwks", KeySetOptions{Now: clock.Now, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(map[string]*KeySet{testIssuer: ks}, VerifierOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return v, ks
}

func TestKeySetUnknownKidRefreshesOnce(t *testing.T) {
	k := keys(t)
	js := newJWKSServer(t, publicJWKS(k))
	clock := &mutableClock{t: testNow}
	v, _ := remoteVerifier(t, js, clock)
	ctx := context.Background()

	// First use fetches lazily.
	if _, err := v.Verify(ctx, sign(t, jose.RS256, k.rsa, "rsa1", stdClaims(nil))); err != nil {
		t.Fatalf("first verify: %v", err)
	}
	if got := js.fetches.Load(); got != 1 {
		t.Fatalf("fetches after first verify = %d, want 1", got)
	}
	// A known kid does not fetch again.
	if _, err := v.Verify(ctx, sign(t, jose.ES384, k.ec384, "ec384", stdClaims(nil))); err != nil {
		t.Fatalf("known kid: %v", err)
	}
	if got := js.fetches.Load(); got != 1 {
		t.Fatalf("fetches after known kid = %d, want 1", got)
	}

	// The issuer rotates in a new key. Within the rate limit the unknown kid
	// is refused without fetching...
	set := publicJWKS(k)
	set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.rsaNew.PublicKey, KeyID: "rsa2", Use: "sig"})
	js.setKeys(set)
	rotated := sign(t, jose.RS256, k.rsaNew, "rsa2", stdClaims(nil))
	if _, err := v.Verify(ctx, rotated); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("unknown kid inside rate limit: err = %v", err)
	}
	if got := js.fetches.Load(); got != 1 {
		t.Fatalf("fetches inside rate limit = %d, want 1", got)
	}
	// ...and after it, one refresh finds the key.
	clock.Advance(11 * time.Second)
	if _, err := v.Verify(ctx, rotated); err != nil {
		t.Fatalf("rotated key after refresh: %v", err)
	}
	if got := js.fetches.Load(); got != 2 {
		t.Fatalf("fetches after rotation = %d, want 2", got)
	}
	// Random kids from an attacker cost at most one fetch per interval.
	for i := range 20 {
		tok := sign(t, jose.RS256, k.rsaOther, "junk-"+string(rune('a'+i)), stdClaims(nil))
		if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("junk kid accepted: %v", err)
		}
	}
	if got := js.fetches.Load(); got != 2 {
		t.Fatalf("fetches after junk kids = %d, want 2 (rate-limited)", got)
	}
	clock.Advance(11 * time.Second)
	_, _ = v.Verify(ctx, sign(t, jose.RS256, k.rsaOther, "junk-z", stdClaims(nil)))
	if got := js.fetches.Load(); got != 3 {
		t.Fatalf("fetches after interval = %d, want 3", got)
	}
}

func TestKeySetConcurrentUnknownKidOneFetch(t *testing.T) {
	k := keys(t)
	js := newJWKSServer(t, publicJWKS(k))
	clock := &mutableClock{t: testNow}
	v, ks := remoteVerifier(t, js, clock)
	if err := ks.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	set := publicJWKS(k)
	set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.rsaNew.PublicKey, KeyID: "rsa2", Use: "sig"})
	js.setKeys(set)
	clock.Advance(time.Minute)
	tok := sign(t, jose.RS256, k.rsaNew, "rsa2", stdClaims(map[string]any{"exp": testNow.Add(time.Hour).Unix()}))

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent verify: %v", err)
		}
	}
	if got := js.fetches.Load(); got != 2 {
		t.Errorf("fetches = %d, want 2 (startup + one refresh)", got)
	}
}

func TestKeySetMaxAgeRefetchesAndKeepsKeysOnFailure(t *testing.T) {
	k := keys(t)
	js := newJWKSServer(t, publicJWKS(k))
	clock := &mutableClock{t: testNow}
	v, ks := remoteVerifier(t, js, clock)
	ctx := context.Background()
	claims := stdClaims(map[string]any{"exp": testNow.Add(3 * time.Hour).Unix()})
	tok := sign(t, jose.RS256, k.rsa, "rsa1", claims)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// The issuer is down when the cache expires: old keys keep working
	// while a background fetch tries to revalidate them.
	js.setStatus(http.StatusInternalServerError)
	clock.Advance(61 * time.Minute)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("stale keys with IdP down: %v", err)
	}
	waitRevalidated(t, ks)
	if got := js.fetches.Load(); got != 2 {
		t.Fatalf("fetches = %d, want 2 (first use, one revalidation)", got)
	}
	// Backing off: still the stale keys, and no fetch.
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("stale keys after a failed revalidation: %v", err)
	}
	waitRevalidated(t, ks)
	if got := js.fetches.Load(); got != 2 {
		t.Fatalf("fetches during the back-off = %d, want 2", got)
	}
	// The issuer withdraws rsa1: the next stale use still answers from the
	// last good set and revalidates; once that fetch is in, rsa1 is refused.
	js.setStatus(http.StatusOK)
	set := publicJWKS(k)
	set.Keys = set.Keys[1:]
	js.setKeys(set)
	clock.Advance(61 * time.Minute) // past the stale age and the back-off
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("stale keys while revalidating: %v", err)
	}
	waitRevalidated(t, ks)
	if got := js.fetches.Load(); got != 3 {
		t.Fatalf("fetches = %d, want 3", got)
	}
	if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("withdrawn key after revalidation: %v, want ErrInvalidToken", err)
	}
}

// waitRevalidated waits until the background revalidation that a stale
// lookup started has ended. Its fetch has its own timeout (remoteVerifier's
// is long), so this ends; the guard only turns a hang into a failure
// before the test binary's own timeout.
func waitRevalidated(t *testing.T, ks *KeySet) {
	t.Helper()
	guard := time.Now().Add(2 * time.Minute)
	if dl, ok := t.Deadline(); ok && dl.Add(-5*time.Second).Before(guard) {
		guard = dl.Add(-5 * time.Second)
	}
	for ks.revalidator.Load() {
		if time.Now().After(guard) {
			t.Fatalf("background revalidation still running")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestKeySetRemoteErrors(t *testing.T) {
	k := keys(t)
	ctx := context.Background()

	js := newJWKSServer(t, publicJWKS(k))
	js.setStatus(http.StatusNotFound)
	ks, err := NewKeySet(js.URL, KeySetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Refresh(ctx); !errors.Is(err, ErrKeySet) {
		t.Errorf("404: err = %v, want ErrKeySet", err)
	}

	// Only symmetric and small keys: nothing usable.
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	js2 := newJWKSServer(t, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hmac"},
		{Key: &small.PublicKey, KeyID: "small"},
		{Key: &k.rsa.PublicKey, KeyID: "enc", Use: "enc"},
	}})
	ks2, err := NewKeySet(js2.URL, KeySetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ks2.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "no usable") {
		t.Errorf("unusable set: err = %v", err)
	}

	// A cancelled context stops the fetch.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	ks3, _ := NewKeySet(js.URL, KeySetOptions{})
	if err := ks3.Refresh(cctx); err == nil {
		t.Error("refresh with cancelled context succeeded")
	}
}

func TestNewKeySetSources(t *testing.T) {
	k := keys(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "jwks.json")
	data, err := json.Marshal(publicJWKS(k))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, data, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"keys": 3}`), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		src     string
		opts    KeySetOptions
		wantErr error
	}{
		{src: good},
		{src: "file://" + good},
		{src: "https://idp.example.org/jwks"},
		{src: "http://127.0.0.1:1/jwks"},
		{src: "http://localhost/jwks"},
		{src: "http://[::1]:8080/jwks"},
		{src: "http://idp.example.org/jwks", opts: KeySetOptions{AllowInsecureHTTP: true}},
		{src: "http://idp.example.org/jwks", wantErr: ErrConfig},
		{src: "ftp://idp.example.org/jwks", wantErr: ErrConfig},
		{src: "", wantErr: ErrConfig},
		{src: filepath.Join(dir, "missing.json"), wantErr: ErrKeySet},
		{src: bad, wantErr: ErrKeySet},
	}
	for _, tt := range tests {
		ks, err := NewKeySet(tt.src, tt.opts)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("NewKeySet(%q) err = %v, want %v", tt.src, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewKeySet(%q): %v", tt.src, err)
			continue
		}
		if ks.Source() != tt.src {
			t.Errorf("Source() = %q", ks.Source())
		}
	}

	// A file key set verifies without any network.
	ks, err := NewKeySet(good, KeySetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(map[string]*KeySet{testIssuer: ks}, VerifierOptions{Now: fixedClock()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), sign(t, jose.ES384, k.ec384, "ec384", stdClaims(nil))); err != nil {
		t.Errorf("file key set: %v", err)
	}
}

func TestRedirectToInsecureRefused(t *testing.T) {
	// A loopback redirector pointing at a non-loopback http URL.
	redir := httptest.NewServer(http.RedirectHandler("http://idp.example.invalid/jwks", http.StatusFound))
	t.Cleanup(redir.Close)
	ks, err := NewKeySet(redir.URL, KeySetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "insecure") {
		t.Errorf("redirect to plain http: err = %v", err)
	}
}
