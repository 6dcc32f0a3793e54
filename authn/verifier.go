package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/patientmatch/patientmatch/internal/elide"
)

// defaultAlgorithms are the signature algorithms accepted by default and the
// most any Verifier accepts: RSA PKCS#1 v1.5 and ECDSA with SHA-256/384.
// "none", HMAC and everything else are refused by the JOSE parser itself,
// before any key is consulted.
var defaultAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.ES256, jose.ES384}

// SMARTBackendAlgorithms are the algorithms SMART Backend Services require
// clients and servers to support (RS384, ES384); the access-token verifier of
// --auth jwt accepts only these.
func SMARTBackendAlgorithms() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{jose.RS384, jose.ES384}
}

// DefaultAlgorithms returns RS256, RS384, ES256 and ES384.
func DefaultAlgorithms() []jose.SignatureAlgorithm { return slices.Clone(defaultAlgorithms) }

// maxTokenBytes bounds the size of a token accepted for parsing; real ID and
// access tokens are a few KiB.
const maxTokenBytes = 64 << 10

// VerifierOptions configure a Verifier. The zero value is usable.
type VerifierOptions struct {
	// Audience, when non-empty, requires the token's "aud" to contain at
	// least one of these values. Default: "aud" is not checked.
	Audience []string
	// Leeway is the clock skew tolerated on exp, nbf and iat. Default 60 s;
	// a negative value means none.
	Leeway time.Duration
	// Algorithms allowed in the JOSE header. Default DefaultAlgorithms().
	// Only RS256, RS384, ES256 and ES384 may be listed; anything else is a
	// configuration error reported by NewVerifier.
	Algorithms []jose.SignatureAlgorithm
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// MaxLifetime, when positive, refuses a token whose exp − iat exceeds
	// it (without iat: whose exp lies further than this from now). A token
	// valid until year 9999 is a permanent credential once leaked; SMART
	// Backend Services limit access tokens to 5 minutes. Default: no limit.
	MaxLifetime time.Duration
	// Types lists the JOSE "typ" header values accepted when a token has
	// one (compared case-insensitively, an "application/" prefix ignored).
	// It keeps one kind of token from being replayed as another: an access
	// token ("at+jwt", RFC 9068) is not an ID token. A token without "typ"
	// is accepted. Default AccessTokenTypes().
	Types []string
	// Replay, when set, makes tokens single-use: "jti" is required and a
	// (iss, jti) pair already seen is refused until the token expires.
	Replay *ReplayCache
}

// IDTokenTypes are the "typ" values accepted on OpenID Connect ID tokens.
func IDTokenTypes() []string { return []string{"JWT"} }

// AccessTokenTypes are the "typ" values accepted on access tokens: "JWT"
// and RFC 9068's "at+jwt".
func AccessTokenTypes() []string { return []string{"JWT", "at+jwt"} }

// Validate reports every problem with the options at once.
func (o VerifierOptions) Validate() error {
	var errs []error
	for _, a := range o.Algorithms {
		if !slices.Contains(defaultAlgorithms, a) {
			errs = append(errs, fmt.Errorf("%w: algorithm %q is not allowed (RS256, RS384, ES256, ES384 only)", ErrConfig, a))
		}
	}
	for _, a := range o.Audience {
		if a == "" {
			errs = append(errs, fmt.Errorf("%w: empty audience", ErrConfig))
		}
	}
	if o.MaxLifetime < 0 {
		errs = append(errs, fmt.Errorf("%w: negative maximum token lifetime %v", ErrConfig, o.MaxLifetime))
	}
	for _, t := range o.Types {
		if strings.TrimSpace(t) == "" {
			errs = append(errs, fmt.Errorf("%w: empty token type", ErrConfig))
		}
	}
	return errors.Join(errs...)
}

func (o *VerifierOptions) ensureDefaults() {
	switch {
	case o.Leeway == 0:
		o.Leeway = jwt.DefaultLeeway
	case o.Leeway < 0:
		o.Leeway = 0
	}
	if len(o.Algorithms) == 0 {
		o.Algorithms = DefaultAlgorithms()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(o.Types) == 0 {
		o.Types = AccessTokenTypes()
	}
}

// Claims are the verified claims of a token.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	ID        string    // "jti"
	Expiry    time.Time // zero when absent (never: exp is required)
	NotBefore time.Time // zero when absent
	IssuedAt  time.Time // zero when absent
	// Raw holds every claim of the payload, standard ones included, as the
	// issuer sent it.
	Raw map[string]json.RawMessage
}

// StringClaim decodes the raw claim name as a JSON string; ok is false when the
// claim is absent or not a string.
func (c *Claims) StringClaim(name string) (s string, ok bool) {
	r, found := c.Raw[name]
	if !found {
		return "", false
	}
	if err := json.Unmarshal(r, &s); err != nil {
		return "", false
	}
	return s, true
}

// Verifier checks JWT signatures and claims against trusted issuers' key
// sets. It is safe for concurrent use.
type Verifier struct {
	issuers map[string]*KeySet // issuer → keys; nil when anyIssuer is used
	any     *KeySet            // keys trusted whatever the issuer
	opts    VerifierOptions
}

// NewVerifier returns a verifier that accepts tokens whose "iss" is a key of
// issuers, signed by a key from that issuer's set. The map is copied.
func NewVerifier(issuers map[string]*KeySet, opts VerifierOptions) (*Verifier, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if len(issuers) == 0 {
		return nil, fmt.Errorf("%w: no trusted issuer", ErrConfig)
	}
	m := make(map[string]*KeySet, len(issuers))
	for iss, ks := range issuers {
		if iss == "" || ks == nil {
			return nil, fmt.Errorf("%w: trusted issuer %q needs a name and a key set", ErrConfig, iss)
		}
		m[iss] = ks
	}
	opts.ensureDefaults()
	return &Verifier{issuers: m, opts: opts}, nil
}

// NewKeySetVerifier returns a verifier that accepts tokens signed by a key of
// ks, whatever their issuer. It serves --auth-jwks, where the key set itself
// is the trust anchor (the server's own authorization server). The "iss"
// claim is still required so audit logs can name the issuer.
func NewKeySetVerifier(ks *KeySet, opts VerifierOptions) (*Verifier, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if ks == nil {
		return nil, fmt.Errorf("%w: nil key set", ErrConfig)
	}
	opts.ensureDefaults()
	return &Verifier{any: ks, opts: opts}, nil
}

// ParseTrustIssuer splits a --trust-issuer flag value "ISSUER=JWKS". Issuers
// are URLs that may themselves contain "=" (in a query), so the split is at
// the first "=" followed by "http://", "https://", "file://", "/" or ".",
// falling back to the last "=" (for a bare relative file name).
func ParseTrustIssuer(s string) (issuer, src string, err error) {
	s = strings.TrimSpace(s)
	idx := -1
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			continue
		}
		rest := strings.ToLower(s[i+1:])
		if strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://") ||
			strings.HasPrefix(rest, "file://") || strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, ".") {
			idx = i
			break
		}
	}
	if idx < 0 {
		idx = strings.LastIndexByte(s, '=')
	}
	if idx <= 0 || idx == len(s)-1 {
		return "", "", fmt.Errorf("%w: --trust-issuer %q: want ISSUER=JWKS_FILE_OR_URL", ErrConfig, s)
	}
	issuer, src = s[:idx], s[idx+1:]
	if strings.ContainsAny(issuer, " \t\n") {
		return "", "", fmt.Errorf("%w: --trust-issuer %q: issuer contains white space", ErrConfig, s)
	}
	return issuer, src, nil
}

// invalid wraps a reason for logs under ErrInvalidToken.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
}

// Verify checks token and returns its claims. Every failure wraps
// ErrInvalidToken; the rest of the message says why, for logs.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if token == "" {
		return nil, invalid("empty token")
	}
	if len(token) > maxTokenBytes {
		return nil, invalid("token longer than %d bytes", maxTokenBytes)
	}
	// The allowed algorithms go to the parser, which rejects any other
	// "alg" (none, HS256, ...) before anything else happens.
	tok, err := jwt.ParseSigned(token, v.opts.Algorithms)
	if err != nil {
		return nil, fmt.Errorf("%w: parse: %w", ErrInvalidToken, err)
	}
	if len(tok.Headers) != 1 {
		return nil, invalid("want exactly one signature, got %d", len(tok.Headers))
	}
	hdr := tok.Headers[0]
	alg := jose.SignatureAlgorithm(hdr.Algorithm)
	if !slices.Contains(v.opts.Algorithms, alg) { // belt and braces: the parser already checked
		return nil, invalid("algorithm %q not allowed", hdr.Algorithm)
	}
	if err := v.checkType(hdr); err != nil {
		return nil, err
	}

	// The issuer is read before verification only to choose whose keys to
	// verify with; a forged "iss" then fails against that issuer's keys.
	var unverified struct {
		Issuer string `json:"iss"`
	}
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrInvalidToken, err)
	}
	ks := v.any
	if ks == nil {
		ks = v.issuers[unverified.Issuer]
		if ks == nil {
			return nil, invalid("untrusted issuer %q", elide.Text(unverified.Issuer, 200))
		}
	}
	keys, err := ks.keysFor(ctx, hdr.KeyID, alg)
	if err != nil {
		return nil, fmt.Errorf("%w: keys: %w", ErrInvalidToken, err)
	}
	if len(keys) == 0 {
		return nil, invalid("no key for kid %q and alg %s", elide.Text(hdr.KeyID, 100), alg)
	}

	var std jwt.Claims
	var raw map[string]json.RawMessage
	verified := false
	for _, k := range keys {
		if err := tok.Claims(k.Key, &std, &raw); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, invalid("bad signature (kid %q, alg %s)", elide.Text(hdr.KeyID, 100), alg)
	}

	if err := v.checkClaims(&std, unverified.Issuer); err != nil {
		return nil, err
	}
	return claimsOf(&std, raw), nil
}

// checkClaims validates the verified registered claims: iss (the one the
// keys were chosen by), exp, nbf, iat, aud, the lifetime bound and, when
// configured, single use of jti.
func (v *Verifier) checkClaims(std *jwt.Claims, keyIssuer string) error {
	if std.Issuer == "" {
		return invalid("no iss claim")
	}
	if v.any == nil && std.Issuer != keyIssuer { // cannot differ; guard anyway
		return invalid("issuer changed during verification")
	}
	if std.Expiry == nil {
		return invalid("no exp claim")
	}
	exp := jwt.Expected{Time: v.opts.Now()}
	if len(v.opts.Audience) > 0 {
		exp.AnyAudience = v.opts.Audience
	}
	if err := std.ValidateWithLeeway(exp, v.opts.Leeway); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if len(v.opts.Audience) > 0 && len(std.Audience) == 0 {
		return invalid("no aud claim")
	}
	if err := v.checkLifetime(std); err != nil {
		return err
	}
	if v.opts.Replay != nil {
		if err := v.opts.Replay.Check(std.Issuer, std.ID, std.Expiry.Time().Add(v.opts.Leeway)); err != nil {
			return err
		}
	}
	return nil
}

// claimsOf turns verified registered claims into Claims.
func claimsOf(std *jwt.Claims, raw map[string]json.RawMessage) *Claims {
	c := &Claims{
		Issuer:   std.Issuer,
		Subject:  std.Subject,
		Audience: []string(std.Audience),
		ID:       std.ID,
		Raw:      raw,
	}
	c.Expiry = std.Expiry.Time()
	if std.NotBefore != nil {
		c.NotBefore = std.NotBefore.Time()
	}
	if std.IssuedAt != nil {
		c.IssuedAt = std.IssuedAt.Time()
	}
	return c
}

// checkType refuses a "typ" header that is not one of opts.Types.
func (v *Verifier) checkType(hdr jose.Header) error {
	raw, ok := hdr.ExtraHeaders[jose.HeaderType]
	if !ok {
		return nil
	}
	typ, isString := raw.(string)
	if !isString {
		return invalid("typ header is not a string")
	}
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		return strings.TrimPrefix(s, "application/")
	}
	for _, want := range v.opts.Types {
		if norm(typ) == norm(want) {
			return nil
		}
	}
	return invalid("token type %q not accepted", elide.Text(typ, 40))
}

// checkLifetime refuses a token valid for longer than opts.MaxLifetime
// (plus leeway, as for the other time claims).
func (v *Verifier) checkLifetime(std *jwt.Claims) error {
	if v.opts.MaxLifetime <= 0 {
		return nil
	}
	exp := std.Expiry.Time()
	from := v.opts.Now()
	if std.IssuedAt != nil {
		from = std.IssuedAt.Time()
	}
	if life := exp.Sub(from); life > v.opts.MaxLifetime+v.opts.Leeway {
		return invalid("token lifetime %v exceeds the maximum %v", life.Round(time.Second), v.opts.MaxLifetime)
	}
	return nil
}
