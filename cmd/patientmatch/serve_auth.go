package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/patientmatch/patientmatch/authn"
	"github.com/patientmatch/patientmatch/claims"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/store"
)

// addAuthFlags registers the access-control and OIDC-claims flags.
func (c *serveConfig) addAuthFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.auth, "auth", "none", "access control: none (loopback only) or jwt (SMART Backend Services bearer tokens)")
	fs.StringVar(&c.authJWKS, "auth-jwks", "", "JWKS file or URL whose keys sign access tokens (--auth jwt)")
	fs.StringVar(&c.audience, "auth-audience", "", "required aud of access tokens (--auth jwt); recommended")
	fs.Var(&c.trust, "trust-issuer", "ISSUER=JWKS_FILE_OR_URL trusted to sign ID tokens for /match/claims (repeatable)")
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
		if c.authJWKS == "" {
			return usageErrorf("--auth jwt needs --auth-jwks")
		}
	default:
		return usageErrorf("--auth must be none or jwt, not %q", c.auth)
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
	v, err := authn.NewKeySetVerifier(ks, authn.VerifierOptions{Algorithms: authn.SMARTBackendAlgorithms(), Audience: audiences(c.audience)})
	if err != nil {
		return nil, err
	}
	return authn.NewScopeVerifier(v), nil
}

// audiences turns the --auth-audience flag into the verifier's list.
func audiences(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// claimsService builds the OIDC-claims service shared by HTTP
// /match/claims and gRPC: ID tokens checked against --trust-issuer, identity
// links kept in the engine's store.
func claimsService(eng *matcher.Engine, c serveConfig, base string, log *slog.Logger) (*claims.Service, error) {
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
	linkKV, err := eng.KV("links")
	if err != nil {
		return nil, err
	}
	copts := claims.Options{BaseURL: base, Logger: log, Links: claims.NewLinkStore(linkStore{linkKV})}
	if len(issuers) > 0 {
		v, err := authn.NewVerifier(issuers, authn.VerifierOptions{})
		if err != nil {
			return nil, err
		}
		copts.Verifier = v
	}
	return claims.NewService(eng, copts)
}

// linkStore adapts the engine's durable KV namespace to the claims
// package's KV, so identity links survive restarts.
type linkStore struct{ kv *store.KV }

func (l linkStore) Get(ctx context.Context, key []byte) ([]byte, error) {
	v, err := l.kv.Get(ctx, string(key))
	if errors.Is(err, store.ErrKeyNotFound) {
		return nil, nil
	}
	return v, err
}

func (l linkStore) Set(ctx context.Context, key, value []byte) error {
	return l.kv.Put(ctx, string(key), value)
}

func (l linkStore) Delete(ctx context.Context, key []byte) error {
	return l.kv.Delete(ctx, string(key))
}

func (l linkStore) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	return l.kv.List(ctx, string(prefix), func(k string, v []byte) error { return fn([]byte(k), v) })
}
