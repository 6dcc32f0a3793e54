// Package modroot finds the module's root directory from a test, for tests
// that read testdata/ or the README at the top. It imports no project
// package, so any package's tests can use it (internal/testsets, which
// reads records, cannot serve package record's own tests).
package modroot

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir is the directory holding go.mod above the test's working directory;
// the test fails when there is none.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package directory")
		}
		dir = parent
	}
}
