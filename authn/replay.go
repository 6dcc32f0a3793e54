package authn

import (
	"sync"
	"time"

	"github.com/patientmatch/patientmatch/internal/elide"
)

// DefaultReplayCacheSize bounds a ReplayCache made with size 0.
const DefaultReplayCacheSize = 1 << 20

// ReplayCache remembers the (iss, jti) of every token accepted until the
// token expires, so that a Verifier using it accepts each token once. With a
// maximum token lifetime (VerifierOptions.MaxLifetime) its size is bounded by
// the rate at which the trusted issuers mint tokens, not by attackers: only
// correctly signed tokens reach it.
//
// When full of unexpired entries it refuses new tokens (failing closed)
// rather than forgetting one that could then be replayed.
type ReplayCache struct {
	max int
	now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // iss + "\x00" + jti → exp
	// nextSweep is when expired entries are next dropped, so a busy cache
	// does not walk its map on every token.
	nextSweep time.Time
}

// NewReplayCache returns a cache holding at most size unexpired tokens
// (DefaultReplayCacheSize when size ≤ 0); now is the clock (time.Now when nil).
func NewReplayCache(size int, now func() time.Time) *ReplayCache {
	if size <= 0 {
		size = DefaultReplayCacheSize
	}
	if now == nil {
		now = time.Now
	}
	return &ReplayCache{max: size, now: now, seen: make(map[string]time.Time)}
}

// Check records (iss, jti) as used until exp, or fails (wrapping
// ErrInvalidToken) when jti is empty, was used before, or the cache is full.
func (c *ReplayCache) Check(iss, jti string, exp time.Time) error {
	if jti == "" {
		return invalid("no jti claim (tokens are single-use on this server)")
	}
	key := iss + "\x00" + jti
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if until, ok := c.seen[key]; ok && now.Before(until) {
		return invalid("token replayed (jti %q already used)", elide.Text(jti, 64))
	}
	if len(c.seen) >= c.max || now.After(c.nextSweep) {
		c.sweep(now)
	}
	if len(c.seen) >= c.max {
		return invalid("replay cache full (%d unexpired tokens)", c.max)
	}
	c.seen[key] = exp
	return nil
}

// sweep drops expired entries; c.mu is held.
func (c *ReplayCache) sweep(now time.Time) {
	for k, exp := range c.seen {
		if !now.Before(exp) {
			delete(c.seen, k)
		}
	}
	c.nextSweep = now.Add(time.Minute)
}

// Len is the number of tokens remembered (expired ones not yet swept included).
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
