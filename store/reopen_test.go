package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/patientmatch/patientmatch/internal/storetest"
	"github.com/patientmatch/patientmatch/internal/testgen"
)

// TestStoreReopenKeepsEverything: Reopen loses nothing (the patients, a
// delete, a KV value, the changelog's sequence) and the store, its KV
// handles included, works on after it; a closed store refuses it.
func TestStoreReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	s, err := OpenStore(t.TempDir(), StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs, batch := putGenerated(t, s, 40, 3, 10)
	if _, err := s.Delete(ctx, recs[5].Rec.ID); err != nil {
		t.Fatal(err)
	}
	kv, _ := s.KV("links")
	if err := kv.Put(ctx, "iss|sub", []byte("Patient/1")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Reopen(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s.LastSeq() != 41 {
		t.Errorf("LastSeq after Reopen = %d, want 41", s.LastSeq())
	}
	checkStored(t, s, recs, 5, "after Reopen")
	if v, err := kv.Get(ctx, "iss|sub"); err != nil || string(v) != "Patient/1" {
		t.Errorf("KV after Reopen: %q %v", v, err)
	}
	vs, err := s.Put(ctx, batch[:1])
	if err != nil || vs[0].Seq != 42 || vs[0].VersionID != 2 {
		t.Errorf("Put after Reopen: %+v %v", vs, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Reopen(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Reopen after Close: %v, want ErrClosed", err)
	}
}

// TestStoreReopenUnderTraffic: reads and writes running while the store
// reopens wait for it and succeed (run with -race: db is swapped under
// them), and Reopen gets in although they leave the store no idle moment,
// also when two run at once.
func TestStoreReopenUnderTraffic(t *testing.T) {
	ctx := context.Background()
	s, err := OpenStore(t.TempDir(), StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, batch := putGenerated(t, s, 200, 4, 50)
	// The operations may leave no idle moment: then Reopen gets in by
	// holding new ones back (lockHolding) after a short patience; which
	// way it gets in depends on the scheduler, so the holding way is
	// tested on its own (TestStoreReopenHoldsNewOperationsBack).
	s.reopen.patience = 10 * time.Millisecond
	stop := make(chan struct{})
	errs := make(chan error, 3)
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				e := batch[(w*67+i)%len(batch)]
				var err error
				if w == 0 {
					_, err = s.Put(ctx, []Entry{e})
				} else {
					_, err = s.Get(ctx, e.ID)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	// Two at once (they take turns).
	reopened := make(chan error, 2)
	for range 2 {
		go func() { reopened <- s.Reopen(ctx) }()
	}
	for range 2 {
		if err := <-reopened; err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("operation during Reopen: %v", err)
	}
}

// TestStoreReopenReleasesMappedPages: what Reopen is for. A scan touches
// every page of the store's table files through badger's mappings, and
// they count in the process's resident set; after Reopen the files are
// mapped afresh and hold (nearly) none of those pages.
func TestStoreReopenReleasesMappedPages(t *testing.T) {
	storetest.SkipUnsupported(t)
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenStore(dir, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := putGenerated(t, s, 5000, 5, 1000)
	// Closing flushes the patients into a table file; a fresh open maps it
	// untouched.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = OpenStore(dir, StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	if err := s.ScanRecords(ctx, func(Entry) error { n++; return nil }); err != nil || n != len(recs) {
		t.Fatalf("scan: %d patients, %v", n, err)
	}
	scanned := storetest.Scanned(t, dir)
	if err := s.Reopen(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.CheckReleased(t, dir, scanned, "Reopen")
	if _, err := s.Get(ctx, recs[0].Rec.ID); err != nil {
		t.Errorf("Get after Reopen: %v", err)
	}
}

// heldScan starts a scan of s that stops in its first patient until
// endScan is called; it returns once the scan is under way. endScan lets
// the scan finish and fails the test on its error.
func heldScan(t *testing.T, s *Store) (endScan func()) {
	t.Helper()
	inScan, release := make(chan struct{}), make(chan struct{})
	scanned := make(chan error, 1)
	go func() {
		first := true
		scanned <- s.ScanRecords(context.Background(), func(Entry) error {
			if first {
				first = false
				close(inScan)
				<-release
			}
			return nil
		})
	}()
	<-inScan
	return func() {
		t.Helper()
		close(release)
		if err := <-scanned; err != nil {
			t.Errorf("scan: %v", err)
		}
	}
}

// openWithPatients opens a store in a temporary folder holding n
// generated patients, one commit each.
func openWithPatients(t *testing.T, n int) (*Store, []testgen.Record) {
	t.Helper()
	s, err := OpenStore(t.TempDir(), StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	recs, _ := putGenerated(t, s, n, 6, 1)
	return s, recs
}

// busySignal sets s's busy hook to signal the returned channel (without
// blocking) every time Reopen finds an operation under way.
func busySignal(s *Store) chan struct{} {
	busy := make(chan struct{}, 1)
	s.reopen.busy = func() {
		select {
		case busy <- struct{}{}:
		default:
		}
	}
	return busy
}

// TestStoreReopenWaitsForAnIdleMoment: Reopen does not queue behind an
// operation under way (a scan), which would hold up every operation after
// it: others go on while it waits, and it gives up when its context ends,
// leaving the store as it was.
func TestStoreReopenWaitsForAnIdleMoment(t *testing.T) {
	ctx := context.Background()
	s, recs := openWithPatients(t, 3)
	s.reopen.patience, s.reopen.tries = time.Hour, 1 // it waits until cancelled
	busy := busySignal(s)
	endScan := heldScan(t, s)
	reopened := make(chan error, 1)
	rctx, cancel := context.WithCancel(ctx)
	go func() { reopened <- s.Reopen(rctx) }()
	<-busy // Reopen is waiting: it found the scan under way
	got := make(chan error, 1)
	go func() {
		_, err := s.Get(ctx, recs[1].Rec.ID)
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("Get while Reopen waits: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("a Get waited behind a waiting Reopen")
	}
	cancel()
	select {
	case err := <-reopened:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Reopen with its context cancelled during a scan: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Reopen did not give up when its context ended")
	}
	endScan()
	if err := s.Ping(); err != nil {
		t.Errorf("Ping after a Reopen that gave up: %v", err)
	}
	if err := s.Reopen(ctx); err != nil {
		t.Errorf("Reopen once idle: %v", err)
	}
}

// TestStoreReopenGivesUpWhenNeverIdle: when its patience runs out behind
// a long read, Reopen gives up (ErrBusy), changing nothing, rather than
// queueing for the lock (which would hold up every operation after it
// until the read ends, and ignore its context); operations go on, and a
// later Reopen, once the store is idle, gets in.
func TestStoreReopenGivesUpWhenNeverIdle(t *testing.T) {
	ctx := context.Background()
	s, recs := openWithPatients(t, 3)
	s.reopen.patience, s.reopen.hold, s.reopen.tries = 5*time.Millisecond, 5*time.Millisecond, 2
	endScan := heldScan(t, s)
	reopened := make(chan error, 1)
	go func() { reopened <- s.Reopen(ctx) }()
	select {
	case err := <-reopened:
		if !errors.Is(err, ErrBusy) {
			t.Errorf("Reopen behind a scan that outlasts its patience: %v, want ErrBusy", err)
		}
	case <-time.After(10 * time.Second):
		endScan() // let the scan, then the queued Reopen, through
		t.Fatal("Reopen still waiting behind the scan after its patience ran out")
	}
	if _, err := s.Get(ctx, recs[1].Rec.ID); err != nil {
		t.Errorf("Get after a Reopen that gave up: %v", err)
	}
	endScan()
	if err := s.Reopen(ctx); err != nil {
		t.Errorf("Reopen once idle: %v", err)
	}
}

// TestStoreReopenRetriesTheOpen: a store that fails to open again is
// tried again; one that opens on a later try works on, losing nothing.
func TestStoreReopenRetriesTheOpen(t *testing.T) {
	ctx := context.Background()
	s, recs := openWithPatients(t, 3)
	s.reopen.openBackoff = time.Millisecond
	open, failures := s.open, 0
	s.open = func() (*badger.DB, error) {
		if failures < s.reopen.openTries-1 {
			failures++
			return nil, errors.New("out of file descriptors")
		}
		return open()
	}
	if err := s.Reopen(ctx); err != nil {
		t.Fatalf("Reopen that opens on its last try: %v", err)
	}
	if failures != s.reopen.openTries-1 {
		t.Errorf("%d failed opens, want %d", failures, s.reopen.openTries-1)
	}
	if _, err := s.Get(ctx, recs[2].Rec.ID); err != nil {
		t.Errorf("Get after a Reopen that needed retries: %v", err)
	}
}

// TestStoreReopenFailureClosesTheStore: a store that cannot be opened
// again after every try is closed, and says so: Reopen, Ping and every
// operation fail with ErrClosed (which the engine maps to its own).
func TestStoreReopenFailureClosesTheStore(t *testing.T) {
	ctx := context.Background()
	s, recs := openWithPatients(t, 3)
	s.reopen.openBackoff = time.Millisecond
	tries := 0
	s.open = func() (*badger.DB, error) {
		tries++
		return nil, errors.New("table file missing")
	}
	if err := s.Reopen(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Reopen that cannot open: %v, want ErrClosed", err)
	}
	if tries != s.reopen.openTries {
		t.Errorf("%d tries to open, want %d", tries, s.reopen.openTries)
	}
	if err := s.Ping(); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping: %v, want ErrClosed", err)
	}
	if _, err := s.Get(ctx, recs[0].Rec.ID); !errors.Is(err, ErrClosed) {
		t.Errorf("Get: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after a failed Reopen: %v", err)
	}
}

// TestStoreReopenSecondGivesUpOnItsContext: a Reopen waiting for another
// (itself waiting behind a long read) gives up when its own context ends,
// instead of waiting as long as the first (second review).
func TestStoreReopenSecondGivesUpOnItsContext(t *testing.T) {
	ctx := context.Background()
	s, _ := openWithPatients(t, 3)
	s.reopen.patience, s.reopen.tries = time.Hour, 1 // the first waits until cancelled
	busy := busySignal(s)
	endScan := heldScan(t, s)
	firstCtx, cancelFirst := context.WithCancel(ctx)
	first := make(chan error, 1)
	go func() { first <- s.Reopen(firstCtx) }()
	<-busy // the first Reopen is waiting behind the scan
	secondCtx, cancelSecond := context.WithCancel(ctx)
	second := make(chan error, 1)
	go func() { second <- s.Reopen(secondCtx) }()
	cancelSecond()
	select {
	case err := <-second:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("second Reopen, its context cancelled: %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Error("a second Reopen waited for the first although its context ended")
	}
	cancelFirst()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("first Reopen: %v, want context.Canceled", err)
	}
	endScan()
}

// TestStoreReopenFinishesAfterItsContextEnds: once the database is
// closed, a context ending between tries to open it again does not leave
// the store closed: the tries go on, and the store opens (second review).
func TestStoreReopenFinishesAfterItsContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, recs := openWithPatients(t, 3)
	s.reopen.openBackoff = time.Millisecond
	open, failures := s.open, 0
	s.open = func() (*badger.DB, error) {
		if failures == 0 {
			failures++
			cancel() // the caller goes away after the first failed open
			return nil, errors.New("out of file descriptors")
		}
		return open()
	}
	if err := s.Reopen(ctx); err != nil {
		t.Fatalf("Reopen whose context ended between tries to open: %v", err)
	}
	if _, err := s.Get(context.Background(), recs[0].Rec.ID); err != nil {
		t.Errorf("Get after it: %v", err)
	}
}

// TestStoreReopenHoldsNewOperationsBack: when its patience runs out with
// an operation under way, Reopen holds new operations back until those
// under way finish, gets in, and lets the held ones go on the reopened
// store (second review: no test reached this way for certain).
func TestStoreReopenHoldsNewOperationsBack(t *testing.T) {
	ctx := context.Background()
	s, recs := openWithPatients(t, 3)
	s.reopen.patience, s.reopen.hold, s.reopen.tries = time.Nanosecond, time.Hour, 1
	var calls int
	holding := make(chan struct{})
	s.reopen.busy = func() {
		// The first call ends the patience; the second is the hold.
		if calls++; calls == 2 {
			close(holding)
		}
	}
	endScan := heldScan(t, s)
	reopened := make(chan error, 1)
	go func() { reopened <- s.Reopen(ctx) }()
	<-holding
	got := make(chan error, 1)
	go func() {
		_, err := s.Get(ctx, recs[1].Rec.ID)
		got <- err
	}()
	endScan() // the scan under way finishes; Reopen gets in
	if err := <-reopened; err != nil {
		t.Errorf("Reopen by holding new operations back: %v", err)
	}
	if err := <-got; err != nil {
		t.Errorf("Get held back during the Reopen: %v", err)
	}
}
