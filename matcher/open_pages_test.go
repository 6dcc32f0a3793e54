package matcher

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/patientmatch/patientmatch/internal/mapped"
)

// TestOpenReleasesStorePages: opening reads every stored patient (the
// table) through badger's mapped files, and the pages it touched must not
// stay in the process's resident set (dropOpenReads); the same read done
// after Open, by a scan, does leave them there, so the test tells; and
// ReleaseStorePages lets them go again.
func TestOpenReleasesStorePages(t *testing.T) {
	if _, err := mapped.Resident(t.TempDir()); errors.Is(err, errors.ErrUnsupported) {
		t.Skip(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	pats := synthPatients(t, 3000, 7)
	e := reopenedWith(t, dir, pats, 500)
	if e.Len() != len(pats) {
		t.Fatalf("Len = %d after Open, want %d", e.Len(), len(pats))
	}
	storeDir := filepath.Join(dir, "store")
	opened := storeRss(t, storeDir)
	if err := e.Scan(ctx, func(StoredPatient) error { return nil }); err != nil {
		t.Fatal(err)
	}
	scanned := storeRss(t, storeDir)
	if scanned < 256<<10 {
		t.Fatalf("a scan leaves %d bytes of the store's files resident: too few for the test to tell anything", scanned)
	}
	if opened > scanned/4 {
		t.Errorf("store pages resident after Open: %d bytes; after a scan: %d (want at most a quarter)", opened, scanned)
	}
	// What serve does after the identity catch-up, another pass over the
	// store.
	if err := e.ReleaseStorePages(ctx); err != nil {
		t.Fatal(err)
	}
	if released := storeRss(t, storeDir); released > scanned/4 {
		t.Errorf("store pages resident after ReleaseStorePages: %d bytes; after a scan: %d (want at most a quarter)", released, scanned)
	}
	if err := e.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if _, err := e.Get(ctx, *pats[0].Id); err != nil {
		t.Errorf("Get after ReleaseStorePages: %v", err)
	}
}

// storeRss is the resident size of the mapped table and value log files
// of the store in dir.
func storeRss(t *testing.T, dir string) int64 {
	t.Helper()
	n, err := mapped.Resident(dir, ".sst", ".vlog")
	if err != nil {
		t.Fatal(err)
	}
	return n
}
