package fhir

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/patientmatch/patientmatch/internal/testsets"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
)

var update = flag.Bool("update", false, "rewrite testdata/match/*/expected.json from the current output")

// fakeMatch is one answer of the fake engine in a golden case's engine.json.
type fakeMatch struct {
	ID          string                     `json:"id"`
	Probability float64                    `json:"probability"`
	Weight      float64                    `json:"weight"`
	Grade       string                     `json:"grade"`
	Resource    json.RawMessage            `json:"resource"`
	Explanation []scoring.ComparisonResult `json:"explanation"`
}

// canonicalJSON re-encodes b with sorted keys and indentation so that
// golden comparisons ignore key order and spacing.
func canonicalJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// TestMatchGolden runs the fixture suite testdata/match/<case>/: request.json
// is POSTed to $match while the fake engine answers engine.json (filtered by
// the request's options as the real engine would); the reply must equal
// expected.json. The lead's real-engine suite adds patients.ndjson to the
// same directories. Regenerate with: go test ./fhir -run Golden -update
func TestMatchGolden(t *testing.T) {
	root := filepath.Join(testsets.ModuleRoot(t), "testdata", "match")
	dirs, err := filepath.Glob(filepath.Join(root, "*", "request.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases under %s (%v)", root, err)
	}
	for _, req := range dirs {
		dir := filepath.Dir(req)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			body, err := os.ReadFile(req)
			if err != nil {
				t.Fatal(err)
			}
			eng := newFakeEngine()
			if b, err := os.ReadFile(filepath.Join(dir, "engine.json")); err == nil {
				var fms []fakeMatch
				if err := json.Unmarshal(b, &fms); err != nil {
					t.Fatalf("engine.json: %v", err)
				}
				for _, f := range fms {
					g, ok := scoring.ParseGrade(f.Grade)
					if !ok {
						t.Fatalf("engine.json: grade %q", f.Grade)
					}
					eng.matches = append(eng.matches, matcher.Match{ID: f.ID, Resource: f.Resource,
						Probability: f.Probability, Weight: f.Weight, Grade: g, Explanation: f.Explanation})
				}
			} else if !os.IsNotExist(err) {
				t.Fatal(err)
			}
			env := newTestEnv(t, eng, Options{BaseURL: "http://mpi.test"})
			_, got := env.do(t, "POST", "/fhir/Patient/$match", fhirJSON, string(body))
			got = canonicalJSON(t, got)
			expPath := filepath.Join(dir, "expected.json")
			if *update {
				if err := os.WriteFile(expPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(expPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if want = canonicalJSON(t, want); !bytes.Equal(got, want) {
				t.Errorf("reply differs from %s:\n--- got\n%s\n--- want\n%s", expPath, got, want)
			}
		})
	}
}
