package index

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/patientmatch/patientmatch/record"
)

// singleWrites is how many one-patient writes the merge tests make: each
// is a segment of its own until scorch's background merger folds them.
const singleWrites = 60

// writeSingles writes n patients to ix, one Write (one segment) each.
func writeSingles(t *testing.T, ix *Index, n int) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("single-%d", i)
		r := record.Record{ID: id}
		if err := ix.Write(context.Background(), []Change{{ID: id, Record: &r, Keys: []string{"k" + id}}}, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// assertMerges fails unless scorch's background merger brings the live
// segments of ix under a third of the writes it had: a folder left in the
// bulk configuration keeps every write as its own segment. The merger runs
// in the background, so it waits for it (up to a generous bound, which is
// not a timing assertion: a merging index gets there in far less).
func assertMerges(t *testing.T, ix *Index, writes int) {
	t.Helper()
	want := writes / 3
	n := 0
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n = segmentCount(t, ix); n < want {
			return
		}
	}
	t.Errorf("%d live segments after %d single writes, want fewer than %d: background merging is off", n, writes, want)
}

// assertMergesReopened closes ix, reopens its folder dir without Bulk and
// fails unless single writes to it merge in the background.
func assertMergesReopened(t *testing.T, ix *Index, dir string) {
	t.Helper()
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix, err := OpenIndex(dir, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	writeSingles(t, ix, singleWrites)
	assertMerges(t, ix, singleWrites)
}

// TestIndexMergesAfterBulk: a folder created in the bulk configuration
// (IndexOptions.Bulk, or by a Sync rebuild) merges again in the background
// once opened without Bulk. bleve writes the configuration an index is
// created with into its folder and reads it back at every open, so the
// bulk merge plan stayed with the folder for good.
func TestIndexMergesAfterBulk(t *testing.T) {
	ctx := context.Background()
	t.Run("rebuilt", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "index")
		s := newMemStore(t)
		load(t, s, 200, 31)
		ix, err := OpenIndex(dir, IndexOptions{BatchSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		if err := ix.Sync(ctx, s, nil); err != nil {
			t.Fatal(err)
		}
		assertMergesReopened(t, ix, dir)
	})
	t.Run("created bulk", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "index")
		ix, err := OpenIndex(dir, IndexOptions{Bulk: true})
		if err != nil {
			t.Fatal(err)
		}
		writeSingles(t, ix, 5)
		if err := ix.Compact(ctx); err != nil {
			t.Fatal(err)
		}
		assertMergesReopened(t, ix, dir)
	})
}

// TestWaitEpochPersistError: waiting for the persister stops with an
// error once it fails (a full disk), instead of waiting for good for an
// epoch it keeps failing to write.
func TestWaitEpochPersistError(t *testing.T) {
	var st scorch.Stats
	atomic.StoreUint64(&st.CurRootEpoch, 5)
	atomic.StoreUint64(&st.TotPersistLoopErr, 2) // earlier failures, since recovered
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		time.Sleep(3 * persistPoll)
		atomic.AddUint64(&st.TotPersistLoopErr, 1)
	}()
	err := waitEpoch(ctx, &st)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("waitEpoch = %v (context: %v), want a persister error before the context ends", err, ctx.Err())
	}
	// Persisted: it returns at once, whatever the counter says.
	atomic.StoreUint64(&st.LastPersistedEpoch, 5)
	if err := waitEpoch(ctx, &st); err != nil {
		t.Errorf("waitEpoch on a persisted index: %v", err)
	}
}

// TestWaitEpochStalledPersister: a persister that neither catches up nor
// fails (a stalled disk) holds the wait only as long as its context, which
// is how Close bounds its flush (closeFlushWait) and goes on closing.
func TestWaitEpochStalledPersister(t *testing.T) {
	var st scorch.Stats
	atomic.StoreUint64(&st.CurRootEpoch, 7)
	atomic.StoreUint64(&st.LastPersistedEpoch, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 3*persistPoll)
	defer cancel()
	err := waitEpoch(ctx, &st)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waitEpoch on a stalled persister = %v, want the context's deadline", err)
	}
}

// TestRebuildWorkers: a rebuild builds as many batches at once as the
// process may run goroutines in parallel, within its bound.
func TestRebuildWorkers(t *testing.T) {
	for _, procs := range []int{1, 2, 4, 64} {
		if got, want := rebuildWorkers(procs), min(procs, maxRebuildWorkers); got != want {
			t.Errorf("rebuildWorkers(%d) = %d, want %d", procs, got, want)
		}
	}
	if got := rebuildWorkers(0); got != 1 {
		t.Errorf("rebuildWorkers(0) = %d, want 1", got)
	}
}
