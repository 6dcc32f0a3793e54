package matcher

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/patientmatch/patientmatch/internal/storetest"
)

// TestOpenReleasesStorePages: opening reads every stored patient (the
// table) through badger's mapped files. With Options.ReleaseOpenReads the
// pages it touched must not stay in the process's resident set
// (dropOpenReads); the same read done after Open, by a scan, does leave
// them there, so the test tells. Without it (one-shot commands) Open does
// not reopen the store, and the pages stay. Either way ReleaseStorePages
// lets them go.
func TestOpenReleasesStorePages(t *testing.T) {
	storetest.SkipUnsupported(t)
	pats := synthPatients(t, 3000, 7)
	for _, release := range []bool{true, false} {
		t.Run(fmt.Sprintf("ReleaseOpenReads=%v", release), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			e := reopenedWith(t, dir, pats, 500, Options{ReleaseOpenReads: release})
			if e.Len() != len(pats) {
				t.Fatalf("Len = %d after Open, want %d", e.Len(), len(pats))
			}
			storeDir := filepath.Join(dir, "store")
			opened, scanned := storetest.AroundScan(t, storeDir, func() error {
				return e.Scan(ctx, func(StoredPatient) error { return nil })
			})
			if release && opened > scanned/4 {
				t.Errorf("store pages resident after Open: %d bytes; after a scan: %d (want at most a quarter)", opened, scanned)
			}
			if !release && opened <= scanned/4 {
				t.Errorf("store pages resident after Open: %d bytes; after a scan: %d (want more than a quarter: Open reopened the store unasked)", opened, scanned)
			}
			// What serve does after the identity catch-up, another pass
			// over the store.
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
		})
	}
}
