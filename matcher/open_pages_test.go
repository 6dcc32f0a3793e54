package matcher

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/patientmatch/patientmatch/internal/storetest"
)

// TestOpenReleasesStorePages: opening reads every stored patient (the
// table) through badger's mapped files, and the pages it touched must not
// stay in the process's resident set (dropOpenReads); the same read done
// after Open, by a scan, does leave them there, so the test tells; and
// ReleaseStorePages lets them go again.
func TestOpenReleasesStorePages(t *testing.T) {
	storetest.SkipUnsupported(t)
	ctx := context.Background()
	dir := t.TempDir()
	pats := synthPatients(t, 3000, 7)
	e := reopenedWith(t, dir, pats, 500)
	if e.Len() != len(pats) {
		t.Fatalf("Len = %d after Open, want %d", e.Len(), len(pats))
	}
	storeDir := filepath.Join(dir, "store")
	opened := storetest.StoreRss(t, storeDir)
	if err := e.Scan(ctx, func(StoredPatient) error { return nil }); err != nil {
		t.Fatal(err)
	}
	scanned := storetest.Scanned(t, storeDir)
	if opened > scanned/4 {
		t.Errorf("store pages resident after Open: %d bytes; after a scan: %d (want at most a quarter)", opened, scanned)
	}
	// What serve does after the identity catch-up, another pass over the
	// store.
	if err := e.ReleaseStorePages(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.CheckReleased(t, storeDir, scanned, "ReleaseStorePages")
	if err := e.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if _, err := e.Get(ctx, *pats[0].Id); err != nil {
		t.Errorf("Get after ReleaseStorePages: %v", err)
	}
}
