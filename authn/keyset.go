package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// KeySetOptions configure a KeySet. The zero value is usable.
type KeySetOptions struct {
	// HTTPClient fetches remote JWKS documents. Default: a client with
	// Timeout as its overall timeout that follows at most 5 redirects and
	// none to a plain-HTTP URL (see AllowInsecureHTTP).
	HTTPClient *http.Client
	// Timeout bounds one fetch of a JWKS document. Default 10 s.
	Timeout time.Duration
	// MinRefreshInterval is the least time between two fetches of a remote
	// JWKS (successful or not). An unknown "kid" triggers a refresh, and
	// anyone can mint tokens with random kids: without this limit they could
	// make the server hammer the identity provider. Default 10 s.
	MinRefreshInterval time.Duration
	// MaxAge makes a remote key set refetch on the next lookup once it is
	// older than this, so a key the issuer withdrew stops being trusted.
	// Default 1 h. If that refetch fails the old keys stay in use.
	MaxAge time.Duration
	// MaxBackoff caps the wait after consecutive failed fetches: the wait
	// starts at MinRefreshInterval and doubles per failure up to this, so
	// an identity provider that is down is not hammered and callers are
	// refused at once instead of each waiting for a fetch timeout.
	// Default 5 min.
	MaxBackoff time.Duration
	// MaxBytes caps the size of a JWKS document. Default 1 MiB.
	MaxBytes int64
	// AllowInsecureHTTP permits http:// JWKS URLs on non-loopback hosts.
	// Keys fetched over plain HTTP can be swapped by anyone on the path, so
	// by default http:// is accepted for loopback hosts only (tests, sidecars).
	AllowInsecureHTTP bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (o *KeySetOptions) ensureDefaults() {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MinRefreshInterval <= 0 {
		o.MinRefreshInterval = 10 * time.Second
	}
	if o.MaxAge <= 0 {
		o.MaxAge = time.Hour
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.MaxBackoff < o.MinRefreshInterval {
		o.MaxBackoff = o.MinRefreshInterval
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		allowHTTP := o.AllowInsecureHTTP
		o.HTTPClient = &http.Client{
			Timeout: o.Timeout,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 5 {
					return fmt.Errorf("too many redirects")
				}
				if req.URL.Scheme != "https" && !allowHTTP && !isLoopbackHost(req.URL.Hostname()) {
					return fmt.Errorf("refusing redirect to insecure URL %s", req.URL.Redacted())
				}
				return nil
			},
		}
	}
}

// KeySet is a cached JWKS from a file or an http(s) URL. It is safe for
// concurrent use.
//
// A file is read once, by NewKeySet, and never again (restart to rotate). A
// URL is fetched lazily on first use (call Refresh at startup to fail fast),
// again when a token names a kid the cache lacks — at most once per
// MinRefreshInterval, less often after failures (see MaxBackoff) — and when
// the cache is older than MaxAge.
//
// At most one fetch is in flight (singleflight): concurrent callers share
// it, each waiting at most Timeout, so a stalled endpoint costs them one
// timeout together rather than one each in series. A stale cache keeps
// serving the last good keys while one background fetch revalidates it.
type KeySet struct {
	src    string
	remote *url.URL // nil for a file
	opts   KeySetOptions

	flight      singleflight.Group
	revalidator atomic.Bool // a background revalidation is running

	mu struct {
		sync.RWMutex
		keys      []jose.JSONWebKey // public signature keys only
		fetchedAt time.Time         // last successful load
		retryAt   time.Time         // no fetch before this (rate limit, back-off)
		failures  int               // consecutive failed fetches
	}
}

// NewKeySet returns the key set at src: a file path (or file:// URL) or an
// http(s) URL. Files are read and validated now; URLs are checked for form
// only.
func NewKeySet(src string, opts KeySetOptions) (*KeySet, error) {
	opts.ensureDefaults()
	ks := &KeySet{src: src, opts: opts}
	if src == "" {
		return nil, fmt.Errorf("%w: empty JWKS source", ErrConfig)
	}
	lower := strings.ToLower(src)
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		u, err := url.Parse(src)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: JWKS URL %q is not a valid URL", ErrConfig, src)
		}
		if u.Scheme == "http" && !opts.AllowInsecureHTTP && !isLoopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("%w: JWKS URL %q must use https (plain http is allowed for loopback hosts only)", ErrConfig, src)
		}
		ks.remote = u
		return ks, nil
	case strings.HasPrefix(lower, "file://"):
		u, err := url.Parse(src)
		if err != nil || u.Path == "" {
			return nil, fmt.Errorf("%w: JWKS file URL %q is not valid", ErrConfig, src)
		}
		src = u.Path
	case strings.Contains(lower, "://"):
		return nil, fmt.Errorf("%w: JWKS source %q: only file paths and http(s) URLs are supported", ErrConfig, src)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeySet, err)
	}
	keys, err := parseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeySet, src, err)
	}
	now := opts.Now()
	ks.mu.keys, ks.mu.fetchedAt = keys, now
	return ks, nil
}

// NewStaticKeySet returns a key set holding the given keys and never
// refreshing; private keys are reduced to their public halves. It is meant
// for tests and for callers that obtain keys some other way.
func NewStaticKeySet(set jose.JSONWebKeySet) (*KeySet, error) {
	data, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeySet, err)
	}
	keys, err := parseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeySet, err)
	}
	ks := &KeySet{src: "static"}
	ks.opts.ensureDefaults()
	ks.mu.keys = keys
	return ks, nil
}

// Source returns the file path or URL the key set was made from.
func (ks *KeySet) Source() string { return ks.src }

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseJWKS decodes a JWKS document and keeps the keys usable for verifying
// signatures with the algorithms this package allows: RSA of at least 2048
// bits and EC on P-256 or P-384, public halves only, "use" absent or "sig".
// Symmetric keys are dropped: a shared secret in a published key set would let
// anyone who reads it forge tokens.
func parseJWKS(data []byte) ([]jose.JSONWebKey, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("JWKS is not a JSON key set: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, r := range raw.Keys {
		var k jose.JSONWebKey
		// A key go-jose cannot parse (an unknown kty, an OKP curve) is
		// skipped, not fatal: sets commonly mix key types.
		if err := k.UnmarshalJSON(r); err != nil || !k.Valid() {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if !k.IsPublic() {
			k = k.Public()
		}
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			if pub.N.BitLen() < 2048 {
				continue
			}
		case *ecdsa.PublicKey:
			if pub.Curve != elliptic.P256() && pub.Curve != elliptic.P384() {
				continue
			}
		default:
			continue
		}
		// A key declaring an "alg" its type cannot do (an EC key "RS256")
		// could never verify anything: drop it rather than keep dead keys.
		if !slices.ContainsFunc(defaultAlgorithms, func(a jose.SignatureAlgorithm) bool { return compatible(k, a) }) {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("JWKS holds no usable signature key (RSA >= 2048 bits or EC P-256/P-384)")
	}
	return keys, nil
}

// Refresh fetches a remote key set now, regardless of MinRefreshInterval
// and back-off (joining a fetch already in flight); for a file it does
// nothing. Use it at startup to fail fast on a bad URL.
func (ks *KeySet) Refresh(ctx context.Context) error {
	if ks.remote == nil {
		return nil
	}
	return ks.refresh(ctx, true, "")
}

// keysFor returns the keys that may have signed a token with this kid and
// alg: the keys with that kid, or every compatible key when the token names
// none. Stale keys are returned at once while a background fetch
// revalidates them; an unknown kid or an empty cache waits for one shared,
// rate-limited fetch.
func (ks *KeySet) keysFor(ctx context.Context, kid string, alg jose.SignatureAlgorithm) ([]jose.JSONWebKey, error) {
	keys, stale := ks.lookup(kid, alg)
	if (len(keys) > 0 && !stale) || ks.remote == nil {
		return keys, nil
	}
	if len(keys) > 0 {
		ks.revalidate()
		return keys, nil
	}
	if err := ks.refresh(ctx, false, kid); err != nil {
		return nil, err
	}
	keys, _ = ks.lookup(kid, alg)
	return keys, nil
}

// revalidate starts one background fetch of a stale key set, unless one is
// running or the back-off forbids it.
func (ks *KeySet) revalidate() {
	if !ks.revalidator.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer ks.revalidator.Store(false)
		_ = ks.refresh(context.Background(), false, "")
	}()
}

func (ks *KeySet) lookup(kid string, alg jose.SignatureAlgorithm) (keys []jose.JSONWebKey, stale bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	for _, k := range ks.mu.keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if compatible(k, alg) {
			keys = append(keys, k)
		}
	}
	stale = ks.remote != nil && (ks.mu.fetchedAt.IsZero() || ks.opts.Now().Sub(ks.mu.fetchedAt) > ks.opts.MaxAge)
	return keys, stale
}

// compatible reports whether key k may verify a signature made with alg: the
// key type and curve must fit the algorithm, and a key that declares its own
// "alg" must declare this one.
func compatible(k jose.JSONWebKey, alg jose.SignatureAlgorithm) bool {
	if k.Algorithm != "" && k.Algorithm != string(alg) {
		return false
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		return alg == jose.RS256 || alg == jose.RS384 || alg == jose.RS512 ||
			alg == jose.PS256 || alg == jose.PS384 || alg == jose.PS512
	case *ecdsa.PublicKey:
		switch alg {
		case jose.ES256:
			return pub.Curve == elliptic.P256()
		case jose.ES384:
			return pub.Curve == elliptic.P384()
		}
	}
	return false
}

// refresh fetches the remote JWKS, unless force is false and the rate limit
// or back-off forbids it (ErrKeySet at once, no waiting) or kid arrived
// meanwhile. Concurrent callers share one fetch, which runs on its own
// Timeout and survives any one caller giving up; each caller waits until
// the fetch ends or its own ctx is done.
func (ks *KeySet) refresh(ctx context.Context, force bool, kid string) error {
	key := "fetch"
	if force {
		key = "forced"
	}
	ch := ks.flight.DoChan(key, func() (any, error) { return nil, ks.fetchOnce(force, kid) })
	select {
	case res := <-ch:
		return res.Err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrKeySet, ctx.Err())
	}
}

// fetchOnce is the body of one shared fetch.
func (ks *KeySet) fetchOnce(force bool, kid string) error {
	now := ks.opts.Now()
	ks.mu.RLock()
	retryAt, fetched := ks.mu.retryAt, ks.mu.fetchedAt
	have := kid != "" && slices.ContainsFunc(ks.mu.keys, func(k jose.JSONWebKey) bool { return k.KeyID == kid })
	ks.mu.RUnlock()
	if !force {
		fresh := !fetched.IsZero() && now.Sub(fetched) <= ks.opts.MaxAge
		if have && fresh {
			return nil // another caller fetched it just before
		}
		if now.Before(retryAt) {
			return fmt.Errorf("%w: refresh of %s rate-limited until %s", ErrKeySet, ks.src, retryAt.Format(time.RFC3339))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), ks.opts.Timeout)
	defer cancel()
	keys, err := ks.download(ctx)
	done := ks.opts.Now() // the wait runs from the end of the attempt
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if err != nil {
		ks.mu.failures++
		ks.mu.retryAt = done.Add(ks.backoff(ks.mu.failures))
		return fmt.Errorf("%w: %s: %w", ErrKeySet, ks.src, err)
	}
	ks.mu.keys, ks.mu.fetchedAt = keys, now
	ks.mu.failures = 0
	ks.mu.retryAt = done.Add(ks.opts.MinRefreshInterval)
	return nil
}

// backoff is the wait after the n-th consecutive failure: MinRefreshInterval
// doubled n−1 times, at most MaxBackoff.
func (ks *KeySet) backoff(n int) time.Duration {
	d := ks.opts.MinRefreshInterval
	for i := 1; i < n && d < ks.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, ks.opts.MaxBackoff)
}

func (ks *KeySet) download(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, ks.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.remote.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := ks.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET returned %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, ks.opts.MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > ks.opts.MaxBytes {
		return nil, fmt.Errorf("JWKS larger than %d bytes", ks.opts.MaxBytes)
	}
	return parseJWKS(data)
}
