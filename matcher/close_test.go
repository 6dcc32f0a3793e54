package matcher

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/index"
	"github.com/patientmatch/patientmatch/store"
)

// TestCloseWhileIndexing closes the engine while writers are busy and
// index batches are in flight (as serve does when it is stopped during the
// demo load). Close must let every in-flight index write finish before it
// closes the index: no panic, no race, no error; every write acknowledged
// before Close is in the index when Close returns (its checkpoint is the
// store's last change, so the next Open replays nothing); writers refused
// after Close get ErrClosed. Repeated, because the interleaving differs
// every time; each round holds Close until an index write is running.
func TestCloseWhileIndexing(t *testing.T) {
	rounds := 12
	if testing.Short() {
		rounds = 3
	}
	for round := range rounds {
		closeWhileIndexing(t, round)
		if t.Failed() {
			return
		}
	}
}

func closeWhileIndexing(t *testing.T, round int) {
	dir := t.TempDir()
	var writing atomic.Int64 // index writes running now
	started := make(chan struct{}, 1)
	wrap := func(next indexWriteFunc) indexWriteFunc {
		return func(ctx context.Context, changes []index.Change, checkpoint uint64) error {
			writing.Add(1)
			defer writing.Add(-1)
			select {
			case started <- struct{}{}:
			default:
			}
			return next(ctx, changes, checkpoint)
		}
	}
	e, err := Open(dir, Options{NoSync: true, minConcurrentBatch: 1, wrapIndexWrite: wrap})
	if err != nil {
		t.Fatal(err)
	}
	const writers, perBatch = 3, 40
	var acked atomic.Int64
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				batch := make([]*fm.Patient, perBatch)
				for k := range batch {
					batch[k] = testPatient(fmt.Sprintf("r%dw%di%dk%d", round, w, i, k), "Closer", fmt.Sprintf("G%d", k), fmt.Sprintf("19%02d-0%d-1%d", 40+i%50, 1+k%9, w))
				}
				if _, err := e.UpsertBatch(context.Background(), batch); err != nil {
					errs[w] = err
					return
				}
				acked.Add(perBatch)
			}
		})
	}
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-started: // an index write is running: close now
	case <-stopped:
		t.Fatalf("round %d: writers stopped before any index write: %v", round, errs)
	}
	if err := e.Close(); err != nil {
		t.Errorf("round %d: Close: %v", round, err)
	}
	if n := writing.Load(); n != 0 {
		t.Errorf("round %d: Close returned with %d index writes still running", round, n)
	}
	wg.Wait()
	for w, err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("round %d: writer %d ended with %v, want ErrClosed", round, w, err)
		}
	}
	// The index never claims more than the store holds, and the next Open
	// catches it up: everything acknowledged is stored and indexed.
	st, err := store.OpenStore(filepath.Join(dir, "store"), store.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	last := st.LastSeq()
	st.Close()
	ix, err := index.OpenIndex(filepath.Join(dir, "index"), index.IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ix.Checkpoint()
	ix.Close()
	if err != nil || cp > last {
		t.Errorf("round %d: index checkpoint after Close = %d (%v), past the store's last change %d", round, cp, err, last)
	}
	reopened, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	docs, err := reopened.idx.DocCount()
	if err != nil || int64(docs) != acked.Load() || int64(reopened.Len()) != acked.Load() {
		t.Errorf("round %d: %d acknowledged, %d stored, %d indexed (%v)", round, acked.Load(), reopened.Len(), docs, err)
	}
}

// TestCloseLeavesQueuedIndexingToOpen: Close waits for the index batches in
// flight but starts none of the queued ones (the store has them; the next
// Open replays them), so it does not take as long as indexing a full
// queue; WaitIndexed callers waiting at Close get ErrClosed; reopened, the
// index holds every patient.
func TestCloseLeavesQueuedIndexingToOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	release := make(chan struct{})
	entered := make(chan struct{}, 16)
	var written atomic.Int64 // changes written to the index
	wrap := func(next indexWriteFunc) indexWriteFunc {
		return func(ctx context.Context, changes []index.Change, checkpoint uint64) error {
			entered <- struct{}{}
			<-release
			err := next(ctx, changes, checkpoint)
			written.Add(int64(len(changes)))
			return err
		}
	}
	e, err := Open(dir, Options{NoSync: true, minConcurrentBatch: 1, wrapIndexWrite: wrap})
	if err != nil {
		t.Fatal(err)
	}
	const perCommit, commits = 5, 8
	commit := func(i int) {
		t.Helper()
		batch := make([]*fm.Patient, perCommit)
		for k := range batch {
			batch[k] = testPatient(fmt.Sprintf("q%dk%d", i, k), "Queued", fmt.Sprintf("G%d", i), fmt.Sprintf("1970-0%d-1%d", 1+k, i))
		}
		if _, err := e.UpsertBatch(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	// Two batches in flight (both held), one commit each, then the rest
	// queued behind them.
	commit(0)
	<-entered
	commit(1)
	<-entered
	for i := 2; i < commits; i++ {
		commit(i)
	}
	waited := make(chan error, 1)
	go func() { waited <- e.WaitIndexed(ctx) }()
	closed := make(chan error, 1)
	go func() { closed <- e.Close() }()
	for !e.stopIndexing.Load() {
		runtime.Gosched() // until Close has stopped the indexer
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := written.Load(); got != 2*perCommit {
		t.Errorf("Close wrote %d changes to the index, want the %d of the two batches in flight", got, 2*perCommit)
	}
	if err := <-waited; !errors.Is(err, ErrClosed) {
		t.Errorf("WaitIndexed waiting at Close: %v, want ErrClosed", err)
	}
	reopened, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	if docs, err := reopened.idx.DocCount(); err != nil || docs != perCommit*commits {
		t.Errorf("reopened index holds %d patients (%v), want %d", docs, err, perCommit*commits)
	}
	ms, err := reopened.Match(ctx, query(testPatient("", "Queued", fmt.Sprint("G", commits-1), fmt.Sprintf("1970-01-1%d", commits-1))), MatchOptions{})
	if err != nil || len(ms) == 0 || ms[0].ID != fmt.Sprintf("q%dk0", commits-1) {
		t.Errorf("the last queued patient after reopening: %v (%v)", ms, err)
	}
}
