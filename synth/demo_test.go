package synth

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/patientmatch/patientmatch/internal/testsets"
)

// TestDemoUpToDate checks that testdata/demo is what its README's command
// produces, so a change to the generator cannot silently leave the demo
// data stale. After an intended change, regenerate with that command.
func TestDemoUpToDate(t *testing.T) {
	demo := filepath.Join(testsets.ModuleRoot(t), "testdata", "demo")
	for _, name := range []string{"patients.ndjson", "patients.csv"} {
		want, err := os.ReadFile(filepath.Join(demo, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		wantTruth, err := os.ReadFile(filepath.Join(demo, "truth.csv"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := FormatForPath(name)
		if err != nil {
			t.Fatal(err)
		}
		g, err := New(Options{N: 3000, Seed: 1, DupRate: DefaultDupRate})
		if err != nil {
			t.Fatal(err)
		}
		var got, gotTruth bytes.Buffer
		if _, err := g.Write(context.Background(), &got, f, &gotTruth); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) || !bytes.Equal(gotTruth.Bytes(), wantTruth) {
			t.Fatalf("testdata/demo/%s is stale: regenerate it with the command in testdata/demo/README.md", name)
		}
		return
	}
	t.Skip("no demo data in testdata/demo")
}
