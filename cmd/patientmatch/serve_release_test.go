package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/patientmatch/patientmatch/internal/storetest"
	"github.com/patientmatch/patientmatch/internal/testgen"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
)

// TestServeStopsOnALostStore: when releasing the store's pages after the
// identity catch-up leaves no store (it could not be opened again), serve
// stops with an error (exit 1, for an orchestrator to restart it) rather
// than serving 503 for ever behind a /healthz that says ok; the identity
// links' KV says matcher.ErrClosed too, so their surfaces answer 503.
func TestServeStopsOnALostStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	eng, err := matcher.Open(dir, matcher.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pats, _ := testgen.SynthPatients(t, 500, 2)
	if _, err := eng.UpsertBatch(ctx, pats); err != nil {
		t.Fatal(err)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	if eng, err = matcher.Open(dir, matcher.Options{}); err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	log := slog.New(slog.DiscardHandler)
	if err := releaseAfterCatchUp(ctx, eng, log); err != nil {
		t.Fatalf("release on a healthy store: %v", err)
	}
	storetest.RemoveTables(t, filepath.Join(dir, "store"))
	// The identity service's catch-up reads the store through the files
	// still mapped; its release after the catch-up cannot open them again,
	// and the loss must reach serve's wait through ids.failure().
	ids, err := openIdentities(ctx, eng, log, scoring.GradePossible)
	if err != nil {
		t.Fatal(err)
	}
	defer ids.Close()
	srv := &servers{errc: make(chan error, 2)}
	waited := make(chan error, 1)
	go func() { waited <- srv.wait(ctx, ids.failure()) }()
	select {
	case err := <-waited:
		if !errors.Is(err, matcher.ErrClosed) {
			t.Errorf("serve's wait after the store was lost: %v, want matcher.ErrClosed", err)
		}
	case <-time.After(e2eHangGuard):
		t.Fatal("serve's wait did not return after the store was lost")
	}
	kv, err := eng.KV(identityNamespace)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (linkStore{kv}).Get(ctx, []byte("k")); !errors.Is(err, matcher.ErrClosed) {
		t.Errorf("identity KV after the store was lost: %v, want matcher.ErrClosed", err)
	}
}
