package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/internal/testsets"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
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
// is POSTed to $match and the reply must equal expected.json. A case with
// patients.ndjson runs against the real engine (in memory) holding those
// patients; a case with engine.json (or neither) against the fake engine
// answering those matches, ranked and selected by matcher.Rank and
// matcher.Select as the engine does. Regenerate with:
// go test ./fhir -run Golden -update
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
			var env *testEnv
			if patients := filepath.Join(dir, "patients.ndjson"); fileExists(t, patients) {
				env = newEngineEnv(t, realEngine(t, patients), Options{BaseURL: "http://mpi.test"})
			} else {
				env = newTestEnv(t, fakeEngineOf(t, dir), Options{BaseURL: "http://mpi.test"})
			}
			_, got := env.do(t, "POST", "/fhir/Patient/$match", fhirJSON, string(body))
			got = canonicalJSON(t, stampless(t, got))
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

func fileExists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}

// fakeEngineOf is a fake engine answering the matches of dir/engine.json
// (none when the file is absent).
func fakeEngineOf(t *testing.T, dir string) *fakeEngine {
	t.Helper()
	eng := newFakeEngine()
	b, err := os.ReadFile(filepath.Join(dir, "engine.json"))
	if os.IsNotExist(err) {
		return eng
	}
	if err != nil {
		t.Fatal(err)
	}
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
	return eng
}

// realEngine opens an in-memory engine holding the patients of an NDJSON
// file.
func realEngine(t *testing.T, path string) *matcher.Engine {
	t.Helper()
	eng, err := matcher.Open("", matcher.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := record.NewReader(f, record.FormatNDJSON, record.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ps []*fm.Patient
	for {
		it, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if it.Err != nil {
			t.Fatalf("%s: %v", path, it.Err)
		}
		ps = append(ps, it.Patient)
	}
	if _, err := eng.UpsertBatch(context.Background(), ps); err != nil {
		t.Fatal(err)
	}
	return eng
}

// stampless replaces the meta.lastUpdated of every entry's resource (the
// time the store wrote it) with a fixed text, so that a real-engine reply
// can be compared with a file.
func stampless(t *testing.T, body []byte) []byte {
	t.Helper()
	var b map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		t.Fatalf("reply is not JSON: %v\n%s", err, body)
	}
	entries, _ := b["entry"].([]any)
	for _, e := range entries {
		en, _ := e.(map[string]any)
		res, _ := en["resource"].(map[string]any)
		if meta, ok := res["meta"].(map[string]any); ok && meta["lastUpdated"] != nil {
			meta["lastUpdated"] = "(stored)"
		}
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
