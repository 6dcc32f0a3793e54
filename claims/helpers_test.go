package claims

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"log/slog"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/patientmatch/patientmatch/authn"
	"github.com/patientmatch/patientmatch/internal/memkv"
	"github.com/patientmatch/patientmatch/internal/syncbuf"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
)

// fakeMatcher returns canned matches and counts calls.
type fakeMatcher struct {
	mu       sync.Mutex
	matches  []matcher.Match
	err      error
	patients map[string]bool // ids Get finds
	calls    int
	gets     int
	last     record.Record
	lastOpts matcher.MatchOptions
}

func newFakeMatcher(ms ...matcher.Match) *fakeMatcher {
	f := &fakeMatcher{matches: ms, patients: map[string]bool{}}
	for _, m := range ms {
		f.patients[m.ID] = true
	}
	return f
}

func (f *fakeMatcher) Match(_ context.Context, r record.Record, opts matcher.MatchOptions) ([]matcher.Match, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.last, f.lastOpts = r, opts
	// Like the engine: rank, then the one selection rule.
	ms := append([]matcher.Match(nil), f.matches...)
	matcher.Rank(ms)
	return matcher.Select(ms, opts), f.err
}

func (f *fakeMatcher) Get(_ context.Context, id string) (matcher.StoredPatient, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	if !f.patients[id] {
		return matcher.StoredPatient{}, matcher.ErrNotFound
	}
	return matcher.StoredPatient{ID: id}, nil
}

func (f *fakeMatcher) deletePatient(id string) {
	f.mu.Lock()
	delete(f.patients, id)
	f.mu.Unlock()
}

func (f *fakeMatcher) matchCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

const testIssuer = "https://idp.example.org"

// tokenKit signs ID tokens with a P-384 key that a verifier trusts for
// testIssuer, and holds a second, untrusted key.
type tokenKit struct {
	key, other *ecdsa.PrivateKey
	verifier   *authn.Verifier
}

func newTokenKit(t testing.TB) *tokenKit {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := authn.NewStaticKeySet(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := authn.NewVerifier(map[string]*authn.KeySet{testIssuer: ks}, authn.VerifierOptions{
		Now: func() time.Time { return testNow }, Audience: []string{"patientmatch"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &tokenKit{key: key, other: other, verifier: v}
}

// idToken signs an ID token for sub with the extra claims.
func (k *tokenKit) idToken(t testing.TB, key *ecdsa.PrivateKey, sub string, extra map[string]any) string {
	t.Helper()
	c := map[string]any{
		"iss": testIssuer, "sub": sub, "aud": "patientmatch",
		"iat": testNow.Add(-time.Minute).Unix(), "exp": testNow.Add(10 * time.Minute).Unix(),
	}
	for name, v := range extra {
		c[name] = v
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer = syncbuf.Buffer

func testLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{ReplaceAttr: dropTime})), buf
}

// dropTime removes the timestamp from test log lines, so that checks that
// no patient data reached the log cannot trip over the clock's digits.
func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// NewMemKV is the in-memory KV the tests keep their state in.
func NewMemKV() *memkv.KV { return memkv.New() }
