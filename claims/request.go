// Package claims answers an authorization server's question "which patient
// is this user?" from OpenID Connect claims or a verified ID token: it turns
// the claims into demographics through record.Normalize, asks the matching
// engine, and decides match / ambiguous / no_match — or "linked", when an
// earlier certain match stored the token's (iss, sub) against a patient.
//
// A false "match" hands a stranger's chart to the user, so the decision is
// deliberately conservative: one certain candidate, clearly ahead of the next,
// and no second candidate that is probable or better (twins, namesakes and
// juniors must come out ambiguous).
package claims

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/patientmatch/patientmatch/internal/elide"
)

// Sentinel errors of the package.
var (
	// ErrBadRequest: the request cannot be decoded or makes no sense. The
	// wrapped message says what is wrong and may be shown to the caller
	// (it never contains patient data).
	ErrBadRequest = errors.New("claims: invalid request")
	// ErrNoDemographics: after dropping unverified contact claims nothing is
	// left to match on. Wraps ErrBadRequest.
	ErrNoDemographics = fmt.Errorf("%w: no demographic claims to match on", ErrBadRequest)
	// ErrInvalidToken: the ID token failed verification (or token
	// verification is not configured). The wrapped reason is for logs only.
	ErrInvalidToken = errors.New("claims: invalid token")
)

// Request is the body of POST /match/claims and of the gRPC MatchClaims call:
// exactly one of Claims and IDToken.
type Request struct {
	// Claims are OIDC standard claims asserted by the (already
	// authenticated) caller.
	Claims *OIDCClaims `json:"claims,omitempty"`
	// IDToken is a compact JWS ID token from a trusted issuer; its claims are
	// used instead, and its iss and sub make linking possible.
	IDToken string `json:"id_token,omitempty"`
	// Link asks to store (iss, sub) → patient when the decision is "match".
	// It needs IDToken: claims alone carry no verified subject.
	Link bool `json:"link,omitempty"`
}

// OIDCClaims are the OpenID Connect Core 1.0 §5.1 standard claims used for
// matching; unknown claims are ignored.
type OIDCClaims struct {
	Name                string        `json:"name,omitempty"`
	GivenName           string        `json:"given_name,omitempty"`
	FamilyName          string        `json:"family_name,omitempty"`
	MiddleName          string        `json:"middle_name,omitempty"`
	Birthdate           string        `json:"birthdate,omitempty"`
	Gender              string        `json:"gender,omitempty"`
	Address             *AddressClaim `json:"address,omitempty"`
	PhoneNumber         string        `json:"phone_number,omitempty"`
	PhoneNumberVerified *FlexBool     `json:"phone_number_verified,omitempty"`
	Email               string        `json:"email,omitempty"`
	EmailVerified       *FlexBool     `json:"email_verified,omitempty"`
	// ACR is the authentication context class reference; it is recorded in
	// the answer and the audit log, never matched on.
	ACR string `json:"acr,omitempty"`
}

// AddressClaim is the OIDC address claim (§5.1.1). Some providers send a bare
// string; it is taken as Formatted.
type AddressClaim struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"street_address,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Country       string `json:"country,omitempty"`
}

// UnmarshalJSON accepts an object or a string (taken as Formatted).
func (a *AddressClaim) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*a = AddressClaim{Formatted: s}
		return nil
	}
	type plain AddressClaim
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*a = AddressClaim(p)
	return nil
}

// FlexBool is a boolean claim that some providers (AWS Cognito among them)
// send as the string "true" or "false".
type FlexBool bool

// UnmarshalJSON accepts true, false, "true" and "false" (any case).
func (b *FlexBool) UnmarshalJSON(data []byte) error {
	var v bool
	if err := json.Unmarshal(data, &v); err == nil {
		*b = FlexBool(v)
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("want a boolean, got %s", elide.Text(string(data), 20))
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		*b = true
	case "false":
		*b = false
	default:
		return fmt.Errorf("want a boolean, got %q", elide.Text(s, 20))
	}
	return nil
}

// maxRequestBytes bounds a request body.
const maxRequestBytes = 1 << 20

// ParseClaimsRequest decodes a request body: one JSON object with "claims"
// or "id_token" (not both) and optional "link". Unknown top-level fields are
// refused (a misspelt "id_token" must not silently become a claims-less
// request); unknown claims inside "claims" are ignored.
func ParseClaimsRequest(data []byte) (Request, error) {
	if len(data) > maxRequestBytes {
		return Request{}, fmt.Errorf("%w: body larger than %d bytes", ErrBadRequest, maxRequestBytes)
	}
	// Strict at the top level only: DisallowUnknownFields would reach into
	// the claims too, and providers add claims of their own.
	var top struct {
		Claims  json.RawMessage `json:"claims"`
		IDToken string          `json:"id_token"`
		Link    bool            `json:"link"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&top); err != nil {
		return Request{}, fmt.Errorf("%w: %s", ErrBadRequest, describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Request{}, fmt.Errorf("%w: trailing data after the JSON object", ErrBadRequest)
	}
	req := Request{IDToken: top.IDToken, Link: top.Link}
	if len(top.Claims) > 0 && !bytes.Equal(top.Claims, []byte("null")) {
		req.Claims = new(OIDCClaims)
		if err := json.Unmarshal(top.Claims, req.Claims); err != nil {
			return Request{}, fmt.Errorf("%w: claims: %s", ErrBadRequest, describeJSONError(err))
		}
	}
	if err := req.Validate(); err != nil {
		return Request{}, err
	}
	return req, nil
}

// Validate checks that exactly one of Claims and IDToken is given.
func (r Request) Validate() error {
	switch {
	case r.Claims != nil && r.IDToken != "":
		return fmt.Errorf("%w: give either \"claims\" or \"id_token\", not both", ErrBadRequest)
	case r.Claims == nil && r.IDToken == "":
		return fmt.Errorf("%w: \"claims\" or \"id_token\" is required", ErrBadRequest)
	}
	return nil
}

// describeJSONError turns a decoding error into a message safe to show: it
// names the field and position, never the value.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q: want %s, got JSON %s", typ.Field, typ.Type, typ.Value)
		}
		return fmt.Sprintf("want a JSON object, got JSON %s", typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "empty or truncated body"
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field") {
		return strings.TrimPrefix(msg, "json: ")
	}
	return elide.Text("bad JSON: "+msg, 200)
}
