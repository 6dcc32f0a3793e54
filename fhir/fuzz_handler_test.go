package fhir

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzHandler drives the whole HTTP handler (guard, routing, every
// decoder: Patient, Parameters, Bundle) with arbitrary method, path,
// Content-Type and body under LocalOnly: never a panic, never a 5xx, always
// a response.
func FuzzHandler(f *testing.F) {
	bundle := `{"resourceType":"Bundle","type":"batch","entry":[{"resource":` + patientJSON + `,"request":{"method":"PUT","url":"Patient/p1"}},{"request":{"method":"DELETE","url":"Patient/p2"}}]}`
	for _, s := range []struct{ m, p, ct, b string }{
		{"POST", "/fhir/Patient/$match", fhirJSON, patientJSON},
		{"POST", "/fhir/Patient/$idi-match", fhirJSON, params(resourceParam)},
		{"PUT", "/fhir/Patient/p1", fhirJSON, patientJSON},
		{"POST", "/fhir", fhirJSON, bundle},
		{"POST", "/fhir", "", bundle},
		{"GET", "/fhir/Patient/../x", "", ""},
		{"DELETE", "/fhir/Patient/p1", "", ""},
		{"POST", "/fhir/Patient", "text/plain", "{}"},
		{"GET", "/fhir/metadata", "", ""},
	} {
		f.Add(s.m, s.p, s.ct, []byte(s.b))
	}
	f.Fuzz(func(t *testing.T, method, path, ct string, body []byte) {
		srv, err := NewServer(newFakeEngine(), Options{LocalOnly: true, AllowedHosts: []string{"example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		h := srv.Handler()
		req, err := http.NewRequest(method, "http://example.com/", bytes.NewReader(body))
		if err != nil {
			return // not a method net/http accepts
		}
		req.URL.Path = path
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 || rec.Code < 100 {
			t.Fatalf("%s %q (%q): status %d: %s", method, path, ct, rec.Code, rec.Body.Bytes())
		}
	})
}
