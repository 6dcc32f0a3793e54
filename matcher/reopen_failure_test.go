package matcher

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/patientmatch/patientmatch/internal/storetest"
	"github.com/patientmatch/patientmatch/record"
	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// TestReleaseStorePagesFailureIsErrClosed: when the store cannot be
// opened again after ReleaseStorePages closed it (its table files gone),
// the engine says ErrClosed everywhere, from the release itself to Ping,
// reads, matches and writes: the surfaces answer that as unavailable
// (503, UNAVAILABLE) and serve stops on it, where a store error of its own
// was an internal error (500) on every request of a live-looking server.
func TestReleaseStorePagesFailureIsErrClosed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pats := synthPatients(t, 2000, 3)
	e := reopenedWith(t, dir, pats, len(pats), Options{})
	storetest.RemoveTables(t, filepath.Join(dir, "store"))
	if err := e.ReleaseStorePages(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("ReleaseStorePages that cannot open the store again: %v, want ErrClosed", err)
	}
	if err := e.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping: %v, want ErrClosed", err)
	}
	if _, err := e.Get(ctx, *pats[0].Id); !errors.Is(err, ErrClosed) {
		t.Errorf("Get: %v, want ErrClosed", err)
	}
	if _, err := e.Match(ctx, record.FromFHIR(pats[1]), MatchOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Match: %v, want ErrClosed", err)
	}
	if _, err := e.History(ctx, *pats[2].Id); !errors.Is(err, ErrClosed) {
		t.Errorf("History: %v, want ErrClosed", err)
	}
	if err := e.List(ctx, "", func(StoredPatient) (bool, error) { return true, nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("List: %v, want ErrClosed", err)
	}
	if err := e.Delete(ctx, *pats[3].Id); !errors.Is(err, ErrClosed) {
		t.Errorf("Delete: %v, want ErrClosed", err)
	}
	if _, err := e.UpsertBatch(ctx, pats[4:5]); !errors.Is(err, ErrClosed) {
		t.Errorf("UpsertBatch: %v, want ErrClosed", err)
	}
}

// reopenedWith opens an engine in dir, stores pats in batches of batch,
// closes it and returns it opened again with opts, so that what a test
// reads comes from the store and the open path rather than from the
// writes; the test's cleanup closes it.
func reopenedWith(t *testing.T, dir string, pats []*fm.Patient, batch int, opts Options) *Engine {
	t.Helper()
	ctx := context.Background()
	e, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < len(pats); j += batch {
		if _, err := e.UpsertBatch(ctx, pats[j:min(j+batch, len(pats))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if e, err = Open(dir, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
