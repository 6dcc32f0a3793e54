package fhir

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
)

// TestSearchsetBytes holds the $match answer written directly
// (appendSearchset) to the bytes json.Marshal gives for the fm.Bundle
// searchset builds, which $idi-match still encodes that way.
func TestSearchsetBytes(t *testing.T) {
	resource := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	p1 := resource(map[string]any{"resourceType": "Patient", "id": "p1", "name": []any{map[string]any{"family": "O'Brien <&> \u2028 é", "given": []string{"Ann"}}}})
	p2 := resource(map[string]any{"resourceType": "Patient", "id": "p-2.x"})
	expl := []scoring.ComparisonResult{{Comparison: "given_name", Level: "exact", Weight: 3.25}, {Comparison: "birth_date", Level: "missing"}, {Comparison: "x<&>", Level: "jw>=0.92", Weight: -1.0000004}}
	cases := map[string][]matcher.Match{
		"none":  nil,
		"empty": {},
		"one":   {{ID: "p1", Resource: p1, Probability: 0.999999, Weight: 12.5, Grade: scoring.GradeCertain}},
		"three": {
			{ID: "p1", Resource: p1, Probability: 1, Grade: scoring.GradeCertain, Explanation: expl},
			{ID: "p-2.x", Resource: p2, Probability: 0.5, Grade: scoring.GradeProbable},
			{ID: "p3", Probability: math.NaN(), Grade: scoring.GradePossible, Explanation: expl[:1]},
		},
		"capped": {
			{ID: "p1", Resource: p1, Probability: 1, Grade: scoring.GradePossible, Cap: scoring.CapTwins, Explanation: expl},
			{ID: "p-2.x", Resource: p2, Probability: 0.9, Grade: scoring.GradeProbable, Cap: scoring.CapWeakAgreement},
		},
	}
	for _, base := range []string{"http://mpi.test", "https://mpi.example.org/a&b<c>", ""} {
		s, err := NewServer(newFakeEngine(), Options{BaseURL: base})
		if err != nil {
			t.Fatal(err)
		}
		s.newUUID = func() string { return "0b6e1cbd-5f7a-4c2e-9d1e-1f2a3b4c5d6e" }
		s.now = func() time.Time { return time.Date(2026, 12, 6, 7, 30, 0, 0, time.FixedZone("x", 3600)) }
		r := httptest.NewRequest("POST", "/fhir/Patient/$match", nil)
		for name, ms := range cases {
			for _, explain := range []bool{false, true} {
				want, err := json.Marshal(s.searchset(r, ms, explain))
				if err != nil {
					t.Fatal(err)
				}
				got := s.appendSearchset([]byte("x"), r, ms, explain)
				if !bytes.Equal(got[1:], want) {
					t.Errorf("base %q, %s, explain %v:\n got %s\nwant %s", base, name, explain, got[1:], want)
				}
			}
		}
	}
}
