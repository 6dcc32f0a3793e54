// Package storetest holds what the store's, the engine's and serve's
// tests do to a badger store's folder: measure how much of its files is
// resident (through package mapped), to check that reopening the store
// lets go of the pages its reads mapped in, and remove its table files,
// to make reopening it fail. Only tests import it.
package storetest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/patientmatch/patientmatch/internal/mapped"
)

// SkipUnsupported skips the test where mapped.Resident cannot measure
// (elsewhere than on Linux).
func SkipUnsupported(tb testing.TB) {
	tb.Helper()
	if _, err := mapped.Resident(tb.TempDir()); errors.Is(err, errors.ErrUnsupported) {
		tb.Skip(err)
	}
}

// StoreRSS is the resident size of the badger table and value log files
// of the store in dir.
func StoreRSS(tb testing.TB, dir string) int64 {
	tb.Helper()
	n, err := mapped.Resident(dir, ".sst", ".vlog")
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// Scanned returns StoreRSS of dir just after a read of the whole store,
// and stops the test when that leaves too little resident for a
// comparison with it to tell anything.
func Scanned(tb testing.TB, dir string) int64 {
	tb.Helper()
	n := StoreRSS(tb, dir)
	if n < 256<<10 {
		tb.Fatalf("after a scan %d bytes of the store's files are resident: too few for the test to tell anything", n)
	}
	return n
}

// AroundScan returns StoreRSS of dir before scan (a read of every stored
// patient) and Scanned after it: how much a test's open left resident,
// and what the same read leaves when nothing lets it go.
func AroundScan(tb testing.TB, dir string, scan func() error) (before, after int64) {
	tb.Helper()
	before = StoreRSS(tb, dir)
	if err := scan(); err != nil {
		tb.Fatal(err)
	}
	return before, Scanned(tb, dir)
}

// CheckReleased fails the test when more than a quarter of what a scan
// left resident (scanned) is resident in dir's store files after what
// (a reopen) should have let it go.
func CheckReleased(tb testing.TB, dir string, scanned int64, what string) {
	tb.Helper()
	if n := StoreRSS(tb, dir); n > scanned/4 {
		tb.Errorf("store pages resident after %s: %d bytes; after a scan: %d (want at most a quarter)", what, n, scanned)
	}
}

// RemoveTables removes the badger table files of the store in dir, so
// that opening it again fails (the files still mapped keep serving until
// then).
func RemoveTables(tb testing.TB, dir string) {
	tb.Helper()
	ssts, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil || len(ssts) == 0 {
		tb.Fatalf("no table files to remove: %v", err)
	}
	for _, f := range ssts {
		if err := os.Remove(f); err != nil {
			tb.Fatal(err)
		}
	}
}
