package claims

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseClaimsRequest(t *testing.T) {
	tests := []struct {
		name string
		body string
		ok   bool
		why  string
		chk  func(t *testing.T, r Request)
	}{
		{name: "claims", body: `{"claims":{"given_name":"Ana","family_name":"Lima","birthdate":"1985-02-03","email_verified":false,"nickname":"x"}}`, ok: true,
			chk: func(t *testing.T, r Request) {
				if r.Claims.GivenName != "Ana" || r.Claims.EmailVerified == nil || bool(*r.Claims.EmailVerified) || r.Link {
					t.Errorf("got %+v", r.Claims)
				}
			}},
		{name: "token and link", body: `{"id_token":"a.b.c","link":true}`, ok: true,
			chk: func(t *testing.T, r Request) {
				if r.IDToken != "a.b.c" || !r.Link || r.Claims != nil {
					t.Errorf("got %+v", r)
				}
			}},
		{name: "string booleans", body: `{"claims":{"email":"a@b.c","email_verified":"TRUE","phone_number_verified":"false"}}`, ok: true,
			chk: func(t *testing.T, r Request) {
				if !bool(*r.Claims.EmailVerified) || bool(*r.Claims.PhoneNumberVerified) {
					t.Errorf("got %+v", r.Claims)
				}
			}},
		{name: "address as string", body: `{"claims":{"address":"12 Main St, Springfield"}}`, ok: true,
			chk: func(t *testing.T, r Request) {
				if r.Claims.Address == nil || r.Claims.Address.Formatted != "12 Main St, Springfield" {
					t.Errorf("got %+v", r.Claims.Address)
				}
			}},
		{name: "address object", body: `{"claims":{"address":{"street_address":"12 Main St","locality":"Springfield","postal_code":"12345"}}}`, ok: true,
			chk: func(t *testing.T, r Request) {
				if a := r.Claims.Address; a == nil || a.Locality != "Springfield" || a.StreetAddress != "12 Main St" {
					t.Errorf("got %+v", a)
				}
			}},
		{name: "both", body: `{"claims":{},"id_token":"a.b.c"}`, why: "not both"},
		{name: "neither", body: `{"link":true}`, why: "required"},
		{name: "unknown top-level field", body: `{"idtoken":"a.b.c"}`, why: "unknown field"},
		{name: "trailing data", body: `{"id_token":"a.b.c"} {}`, why: "trailing"},
		{name: "not an object", body: `[1,2]`, why: "JSON"},
		{name: "syntax", body: `{"claims":`, why: "truncated"},
		{name: "empty", body: ``, why: "empty"},
		{name: "wrong type", body: `{"claims":{"given_name":7}}`, why: "given_name"},
		{name: "bad boolean", body: `{"claims":{"email_verified":"yes"}}`, why: "boolean"},
		{name: "link not bool", body: `{"id_token":"x","link":"yes"}`, why: "link"},
		{name: "too big", body: `{"id_token":"` + strings.Repeat("a", maxRequestBytes) + `"}`, why: "larger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseClaimsRequest([]byte(tt.body))
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseClaimsRequest: %v", err)
				}
				tt.chk(t, r)
				return
			}
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("err = %v, want ErrBadRequest", err)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("err %q does not mention %q", err, tt.why)
			}
		})
	}
}

// FuzzParseClaimsRequest: decoding never panics, errors are ErrBadRequest,
// and a decoded request survives a marshal/parse round trip and mapping to
// demographics.
func FuzzParseClaimsRequest(f *testing.F) {
	for _, s := range []string{
		`{"claims":{"given_name":"Ana","family_name":"Lima","birthdate":"0000-02-03","email":"a@b.c","email_verified":"false"}}`,
		`{"id_token":"a.b.c","link":true}`,
		`{"claims":{"address":{"street_address":"1 A St\nApt 2","locality":"X"}}}`,
		`{"claims":{"address":"12 Main St"}}`,
		`{"claims":{"phone_number":"+1 555 0100","phone_number_verified":true}}`,
		`{"claims":null}`, `{}`, `[]`, `"x"`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseClaimsRequest(data)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v is not ErrBadRequest", err)
			}
			return
		}
		if (r.Claims == nil) == (r.IDToken == "") {
			t.Fatalf("accepted request without exactly one of claims and id_token: %+v", r)
		}
		_ = ToRaw(r.Claims, RawOptions{})
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		r2, err := ParseClaimsRequest(again)
		if err != nil {
			t.Fatalf("round trip of %s: %v", again, err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", r, r2)
		}
	})
}
