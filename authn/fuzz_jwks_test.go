package authn

import (
	"encoding/json"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// FuzzParseJWKS feeds arbitrary documents to the JWKS parser (a remote key
// set is outside input): never a panic, and every key kept is a public RSA
// or EC signature key.
func FuzzParseJWKS(f *testing.F) {
	k := keys(f)
	good, _ := json.Marshal(publicJWKS(k))
	f.Add(good)
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":{}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseJWKS(data)
		if err != nil {
			return
		}
		for _, key := range keys {
			if !key.IsPublic() || (key.Use != "" && key.Use != "sig") {
				t.Fatalf("kept key %+v", key)
			}
			if !compatible(key, jose.RS256) && !compatible(key, jose.ES256) && !compatible(key, jose.ES384) && !compatible(key, jose.RS384) {
				t.Fatalf("kept a key no allowed algorithm can use: %T", key.Key)
			}
		}
	})
}

// FuzzParseTrustIssuer: never a panic; a success splits into two non-empty
// parts that join back to the trimmed input.
func FuzzParseTrustIssuer(f *testing.F) {
	for _, s := range []string{"https://idp=https://idp/jwks", "iss=./keys.json", "a=b=c", "=x", "x="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		iss, src, err := ParseTrustIssuer(s)
		if err != nil {
			return
		}
		if iss == "" || src == "" {
			t.Fatalf("ParseTrustIssuer(%q) = %q, %q", s, iss, src)
		}
	})
}
