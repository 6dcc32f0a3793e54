package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/patientmatch/patientmatch/authn"
	"github.com/patientmatch/patientmatch/claims"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/store"
)

// addAuthFlags registers the access-control and OIDC-claims flags.
func (c *serveConfig) addAuthFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.auth, "auth", "none", "access control: none (loopback only) or jwt (SMART Backend Services bearer tokens)")
	fs.StringVar(&c.authJWKS, "auth-jwks", "", "JWKS file or URL whose keys sign access tokens (--auth jwt)")
	fs.StringVar(&c.audience, "auth-audience", "", "the aud access tokens must carry (required with --auth jwt), e.g. this server's base URL")
	fs.StringVar(&c.authIssuer, "auth-issuer", "", "the iss access tokens must carry (required with --auth jwt)")
	fs.DurationVar(&c.maxLifetime, "auth-max-lifetime", 5*time.Minute, "longest access-token lifetime accepted (exp - iat)")
	fs.BoolVar(&c.jtiOnce, "auth-jti-once", false, "make access tokens single-use: jti required, a replayed jti refused until the token expires")
	fs.Var(&c.trust, "trust-issuer", "ISSUER=JWKS_FILE_OR_URL trusted to sign ID tokens for /match/claims (repeatable; needs --id-token-audience)")
	fs.Var(&c.idTokenAud, "id-token-audience", "client id an ID token's aud must name for /match/claims (repeatable; required with --trust-issuer)")
}

// validateAuth checks --auth and what it needs: without access control
// the server listens on loopback only.
func (c *serveConfig) validateAuth() error {
	switch c.auth {
	case "none":
		for _, a := range []string{c.httpAddr, c.grpcAddr} {
			if a != "" && !isLoopback(a) {
				return usageErrorf("--auth none refuses to listen on %s: use a loopback address or --auth jwt", a)
			}
		}
	case "jwt":
		switch {
		case c.authJWKS == "":
			return usageErrorf("--auth jwt needs --auth-jwks")
		case c.authIssuer == "":
			return usageErrorf("--auth jwt needs --auth-issuer (the iss of the access tokens to accept)")
		case c.audience == "":
			return usageErrorf("--auth jwt needs --auth-audience (the aud access tokens must carry, e.g. this server's base URL)")
		}
	default:
		return usageErrorf("--auth must be none or jwt, not %q", c.auth)
	}
	if len(c.trust) > 0 && len(c.idTokenAud) == 0 {
		return usageErrorf("--trust-issuer needs --id-token-audience: an ID token issued to another client must not be accepted")
	}
	if c.maxLifetime < 0 {
		return usageErrorf("--auth-max-lifetime must be positive")
	}
	return nil
}

// accessControl returns the bearer-token verifier both APIs check with
// --auth jwt, or nil with --auth none.
func accessControl(ctx context.Context, c serveConfig) (*authn.ScopeVerifier, error) {
	if c.auth != "jwt" {
		return nil, nil
	}
	ks, err := authn.NewKeySet(c.authJWKS, authn.KeySetOptions{})
	if err != nil {
		return nil, fmt.Errorf("--auth-jwks: %w", err)
	}
	if err := ks.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("--auth-jwks: %w", err)
	}
	opts := authn.VerifierOptions{
		Algorithms:  authn.SMARTBackendAlgorithms(),
		Audience:    []string{c.audience},
		MaxLifetime: c.maxLifetime,
		Types:       authn.AccessTokenTypes(),
	}
	if c.jtiOnce {
		opts.Replay = authn.NewReplayCache(0, nil)
	}
	v, err := authn.NewVerifier(map[string]*authn.KeySet{c.authIssuer: ks}, opts)
	if err != nil {
		return nil, err
	}
	return authn.NewScopeVerifier(v), nil
}

// claimsService builds the OIDC-claims service shared by HTTP
// /match/claims and gRPC: ID tokens checked against --trust-issuer, identity
// links kept in the engine's store.
func claimsService(ctx context.Context, eng servedEngine, m claims.Matcher, c serveConfig, base string, log *slog.Logger) (*claims.Service, error) {
	issuers := map[string]*authn.KeySet{}
	for _, t := range c.trust {
		iss, src, err := authn.ParseTrustIssuer(t)
		if err != nil {
			return nil, usageErrorf("--trust-issuer: %v", err)
		}
		ks, err := authn.NewKeySet(src, authn.KeySetOptions{})
		if err != nil {
			return nil, fmt.Errorf("--trust-issuer %s: %w", iss, err)
		}
		issuers[iss] = ks
	}
	links, err := linksOf(ctx, eng)
	if err != nil {
		return nil, err
	}
	copts := claims.Options{BaseURL: base, Logger: log, Links: claims.NewLinkStore(links)}
	if len(issuers) > 0 {
		v, err := authn.NewVerifier(issuers, authn.VerifierOptions{Audience: c.idTokenAud, Types: authn.IDTokenTypes()})
		if err != nil {
			return nil, err
		}
		copts.Verifier = v
	}
	return claims.NewService(m, copts)
}

// linkStore adapts the engine's durable KV namespace to the claims
// package's KV, so identity links survive restarts.
type linkStore struct{ kv *store.KV }

func (l linkStore) Get(ctx context.Context, key []byte) ([]byte, error) {
	v, err := l.kv.Get(ctx, string(key))
	if errors.Is(err, store.ErrKeyNotFound) {
		return nil, nil
	}
	return v, matcher.FromStore(err)
}

func (l linkStore) Set(ctx context.Context, key, value []byte) error {
	return matcher.FromStore(l.kv.Put(ctx, string(key), value))
}

func (l linkStore) Delete(ctx context.Context, key []byte) error {
	return matcher.FromStore(l.kv.Delete(ctx, string(key)))
}

func (l linkStore) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	return matcher.FromStore(l.kv.List(ctx, string(prefix), func(k string, v []byte) error { return fn([]byte(k), v) }))
}
