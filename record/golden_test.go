package record

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// goldenRecord is a normalized record as the golden file shows it.
type goldenRecord struct {
	ID     string   `json:"id"`
	Fields []string `json:"fields"`
}

// TestGolden reads testdata/patients.ndjson through the NDJSON reader and
// FromFHIR, and compares the normalized records with
// testdata/patients.golden.json (go test -run TestGolden -update rewrites
// it; review the diff).
func TestGolden(t *testing.T) {
	f, err := os.Open("testdata/patients.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := NewReader(f, FormatNDJSON, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good, bad := readAll(t, r)
	if len(bad) > 0 {
		t.Fatalf("bad records in patients.ndjson: %v", bad[0].Err)
	}
	var got []goldenRecord
	for _, it := range good {
		rec := FromFHIR(it.Patient)
		got = append(got, goldenRecord{ID: rec.ID, Fields: flatten(rec)})
	}
	js, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	js = append(js, '\n')
	const golden = "testdata/patients.golden.json"
	if *update {
		if err := os.WriteFile(golden, js, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(js, want) {
		t.Errorf("normalized records differ from %s (rerun with -update and review the diff):\n%s", golden, js)
	}
}
