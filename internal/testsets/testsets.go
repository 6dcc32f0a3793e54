// Package testsets gives tests one way to find and read the labelled
// datasets shared next to the repository (../shared/datasets: FEBRL sets,
// opencr_uganda, splink_fake_1000, each with an id,entity truth file). It
// reads records through the record package's own readers and normalizer, as
// every command does, so a test measures what users get. Only tests import
// it.
package testsets

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/patientmatch/patientmatch/internal/modroot"
	"github.com/patientmatch/patientmatch/record"
)

// ModuleRoot is the directory holding go.mod above the test's working
// directory (modroot.Dir).
func ModuleRoot(t testing.TB) string { return modroot.Dir(t) }

// Committed gives the data and truth files of a labelled set committed
// under testdata/labelled (names2000, civil2000, synth2000, …). Unlike
// Paths it never skips: the sets are part of the repository, so a missing
// one is a failure.
func Committed(t testing.TB, name string) (data, truth string) {
	t.Helper()
	dir := filepath.Join(ModuleRoot(t), "testdata", "labelled")
	return filepath.Join(dir, name+".csv"), filepath.Join(dir, name+".truth.csv")
}

// Dir is ../shared/datasets next to the module root; the test is skipped
// when it is missing (a clone without the shared folder).
func Dir(t testing.TB) string {
	t.Helper()
	ds := filepath.Join(ModuleRoot(t), "..", "shared", "datasets")
	if _, err := os.Stat(ds); err != nil {
		t.Skipf("labelled datasets not available (%s): %v", ds, err)
	}
	return ds
}

// Paths returns the data and truth file of the named set (e.g. "febrl3")
// in Dir, skipping the test when either is missing.
func Paths(t testing.TB, name string) (data, truth string) {
	t.Helper()
	dir := Dir(t)
	data, truth = filepath.Join(dir, name+".csv"), filepath.Join(dir, name+".truth.csv")
	for _, p := range []string{data, truth} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("dataset %s not available: %v", name, err)
		}
	}
	return data, truth
}

// Records reads every record of a data file (format from its extension)
// and normalizes it as the engine does; any bad record fails the test, as
// the shared sets have none.
func Records(t testing.TB, path string) []record.Record {
	t.Helper()
	format, err := record.FormatFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := record.NewReader(f, format, record.ReaderOptions{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []record.Record
	for {
		it, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if it.Err != nil {
			t.Fatalf("%s:%d: %v", path, it.Line, it.Err)
		}
		out = append(out, record.FromFHIR(it.Patient))
	}
}

// CSV reads every row of a CSV file (the header too), failing the test on
// any error.
func CSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// Truth reads a truth file (header id,entity) into a map from record id to
// entity.
func Truth(t testing.TB, path string) map[string]string {
	t.Helper()
	rows := CSV(t, path)
	if len(rows) == 0 || len(rows[0]) < 2 || rows[0][0] != "id" || rows[0][1] != "entity" {
		t.Fatalf("%s: want a header id,entity", path)
	}
	m := make(map[string]string, len(rows)-1)
	for _, r := range rows[1:] {
		m[r[0]] = r[1]
	}
	return m
}
