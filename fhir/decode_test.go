package fhir

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzDecodeMatchRequest(f *testing.F) {
	seeds := []string{
		patientJSON,
		params(resourceParam),
		params(resourceParam, `{"name":"count","valueInteger":3}`, `{"name":"onlyCertainMatches","valueBoolean":true}`),
		params(`{"name":"IDIPatient","resource":`+patientJSON+`}`, `{"name":"onlySingleMatch","valueBoolean":false}`),
		params(`{"name":"resource"}`),
		params(`{"name":"count","valuePositiveInt":-1}`),
		`{"resourceType":"Parameters","parameter":{}}`,
		`{"resourceType":"Patient","birthDate":5}`,
		`{"resourceType":7}`,
		`null`, `[]`, `""`, `{`, ``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if dirs, _ := filepath.Glob("../testdata/match/*/request.json"); len(dirs) > 0 {
		for _, d := range dirs {
			if b, err := os.ReadFile(d); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeMatchRequest(data)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v is not a bad-request *Error", err)
			}
			if fe.Status < 400 || fe.Status > 499 || fe.Diagnostics == "" {
				t.Fatalf("error %+v: want a 4xx with diagnostics", fe)
			}
			if _, err := json.Marshal(fe.outcome()); err != nil {
				t.Fatalf("outcome does not encode: %v", err)
			}
			return
		}
		if req.Patient == nil {
			t.Fatal("no error and no Patient")
		}
		if req.Count < 0 || req.Count > maxCount {
			t.Fatalf("count %d out of range", req.Count)
		}
		// Round trip: the decoded Patient encodes and decodes again.
		b, err := json.Marshal(req.Patient)
		if err != nil {
			t.Fatalf("decoded Patient does not encode: %v", err)
		}
		if _, err := decodePatient(b); err != nil {
			t.Fatalf("re-decoding the Patient: %v\n%s", err, b)
		}
	})
}

func TestDecodeMatchRequestErrorsAreTyped(t *testing.T) {
	for _, in := range []string{`{`, `{"resourceType":"X"}`, params(), params(`{"name":"count","valueInteger":0}`)} {
		_, err := decodeMatchRequest([]byte(in))
		var fe *Error
		if !errors.As(err, &fe) || !errors.Is(err, ErrBadRequest) || fe.Status != 400 {
			t.Errorf("%s: error %v", in, err)
		}
	}
}

// TestDecodePatientIssues pins how each problem record.DecodePatient
// reports becomes an OperationOutcome issue.
func TestDecodePatientIssues(t *testing.T) {
	for _, tc := range []struct {
		in, code, diag string
	}{
		{`{"name":[]}`, "required", "resourceType is missing"},
		{`{"resourceType":""}`, "required", "resourceType is missing"},
		{`{"resourceType":"Person","name":"x"}`, "invalid", `resourceType is "Person"; expected Patient`},
		{`{"resourceType":"Patient",`, "structure", "malformed JSON: syntax error at byte offset 26"},
		{`{"resourceType":"Patient","name":"Smith"}`, "structure", "Patient does not follow the FHIR R4 JSON format: field \"name\" must be a JSON array, not string"},
		{`{"resourceType":"Patient","gender":"M"}`, "structure", "Patient does not follow the FHIR R4 JSON format"},
		{`[{"resourceType":"Patient"}]`, "structure", "malformed JSON: expected a JSON object, not an array"},
		{` `, "structure", "malformed JSON: empty input"},
	} {
		_, err := decodePatient([]byte(tc.in))
		var fe *Error
		if !errors.As(err, &fe) || fe.Status != 400 {
			t.Errorf("%s: error %v, want a 400 *Error", tc.in, err)
			continue
		}
		if got := fe.Code.Code(); got != tc.code || !strings.Contains(fe.Diagnostics, tc.diag) {
			t.Errorf("%s: %s %q, want %s containing %q", tc.in, got, fe.Diagnostics, tc.code, tc.diag)
		}
	}
}
