package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patientmatch/patientmatch/internal/storetest"
	"github.com/patientmatch/patientmatch/internal/testgen"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
)

// TestServeReleasesOpenReads: serve opens its engine with
// Options.ReleaseOpenReads, so the pages of the store that opening read
// (the table's scan) are not resident once it has opened: at 1M patients
// 373 MiB of a long-lived process (bench/README "resident (session 4)").
// A scan afterwards shows what they would have been.
func TestServeReleasesOpenReads(t *testing.T) {
	storetest.SkipUnsupported(t)
	dir := storedFolder(t, 3000, 7)
	eng := openServedFolder(t, dir, slog.New(slog.DiscardHandler))
	opened, scanned := storetest.AroundScan(t, filepath.Join(dir, "store"), func() error {
		return eng.Scan(context.Background(), func(matcher.StoredPatient) error { return nil })
	})
	if opened > scanned/4 {
		t.Errorf("store pages resident after serve's open: %d bytes; after a scan: %d (want at most a quarter)", opened, scanned)
	}
}

// TestServeStopsOnALostStore: when releasing the store's pages after the
// identity catch-up leaves no store (it could not be opened again), serve
// stops with an error (exit 1, for an orchestrator to restart it) rather
// than serving 503 for ever behind a /healthz that says ok; the identity
// links' KV says matcher.ErrClosed too, so their surfaces answer 503.
func TestServeStopsOnALostStore(t *testing.T) {
	ctx := context.Background()
	dir := storedFolder(t, 500, 2)
	log := slog.New(slog.DiscardHandler)
	eng := openServedFolder(t, dir, log)
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

// storedFolder returns a data folder holding n synthetic patients (seed),
// written by an engine closed since.
func storedFolder(t *testing.T, n int, seed uint64) string {
	t.Helper()
	dir := t.TempDir()
	eng, err := matcher.Open(dir, matcher.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pats, _ := testgen.SynthPatients(t, n, seed)
	if _, err := eng.UpsertBatch(context.Background(), pats); err != nil {
		t.Fatal(err)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// openServedFolder opens the engine of dir as serve does; the test's
// cleanup closes it.
func openServedFolder(t *testing.T, dir string, log *slog.Logger) *matcher.Engine {
	t.Helper()
	env := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	eng, err := openServedEngine(context.Background(), env, serveConfig{data: dir}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}
