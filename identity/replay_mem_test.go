package identity

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/patientmatch/patientmatch/store"
)

// TestReplayMemory replays the identity log of a data folder (the 1M
// bench folder, say) and reports the heap the replayed state holds per
// assigned patient: the identity state's share of a server's resident
// memory. It needs PM_IDENTITY_DATA=<folder> (a copy: opening a store
// may write to it), or PM_IDENTITY_LOG=<file> (a log TestScaleCatchUp
// saved), and reports figures only; PM_IDENTITY_HEAP=<file> also writes
// a heap profile.
func TestReplayMemory(t *testing.T) {
	if f := os.Getenv("PM_IDENTITY_LOG"); f != "" && os.Getenv("PM_IDENTITY_ENGINE") == "" {
		reportReplay(t, loadLog(t, f))
		return
	}
	dir := os.Getenv("PM_IDENTITY_DATA")
	if dir == "" {
		t.Skip("PM_IDENTITY_DATA not set")
	}
	kv := openDataLog(t, dir)
	reportReplay(t, kv)
}

// reportReplay replays the log in kv into a new state and reports the
// heap it holds per assigned patient; PM_IDENTITY_HEAP=<file> also
// writes a heap profile.
func reportReplay(t *testing.T, kv KV) {
	before := heapInUse()
	start := time.Now()
	state, _, err := replay(context.Background(), kv)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	state.Tasks(StatusOpen, "", 0, 1) // the sort a first page does
	after := heapInUse()
	if f := os.Getenv("PM_IDENTITY_HEAP"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(out); err != nil {
			t.Fatal(err)
		}
		out.Close()
	}
	n := state.assigned
	if n == 0 {
		t.Fatal("the identity log assigns no patient")
	}
	_, open := state.Tasks(StatusOpen, "", 0, 0)
	t.Logf("replayed %d patients, %d identities, %d tasks (%d open live) in %v; heap %d MiB, %d B/patient",
		n, len(state.idents), len(state.tasks), open, took.Round(time.Millisecond),
		(after-before)>>20, (after-before)/uint64(n))
	runtime.KeepAlive(state)
}

// loadLog reads a log saveLog wrote into a memory KV.
func loadLog(t *testing.T, file string) KV {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kv := NewMemKV()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<30)
	for i := 0; sc.Scan(); i++ {
		if err := kv.Set(context.Background(), batchKey(uint64(i)), bytes.Clone(sc.Bytes())); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return kv
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// storeKV adapts a store namespace to KV (cmd/patientmatch has the same
// adapter for the server).
type storeKV struct{ kv *store.KV }

func (s storeKV) Get(ctx context.Context, key []byte) ([]byte, error) {
	v, err := s.kv.Get(ctx, string(key))
	if errors.Is(err, store.ErrKeyNotFound) {
		return nil, nil
	}
	return v, err
}
func (s storeKV) Set(ctx context.Context, key, value []byte) error {
	return s.kv.Put(ctx, string(key), value)
}
func (s storeKV) Delete(ctx context.Context, key []byte) error { return s.kv.Delete(ctx, string(key)) }
func (s storeKV) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	return s.kv.List(ctx, string(prefix), func(k string, v []byte) error { return fn([]byte(k), v) })
}

// TestPutLog replaces the identity log of the data folder PM_IDENTITY_DATA
// with the one TestScaleCatchUp saved to PM_IDENTITY_PUT_LOG, so a server
// can be measured on it. Skipped unless both are set.
func TestPutLog(t *testing.T) {
	dir, file := os.Getenv("PM_IDENTITY_DATA"), os.Getenv("PM_IDENTITY_PUT_LOG")
	if dir == "" || file == "" {
		t.Skip("PM_IDENTITY_DATA and PM_IDENTITY_PUT_LOG not set")
	}
	kv := openDataLog(t, dir)
	ctx := context.Background()
	var old [][]byte
	if err := kv.Scan(ctx, []byte(batchPrefix), func(k, _ []byte) error {
		old = append(old, bytes.Clone(k))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, k := range old {
		if err := kv.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	err := loadLog(t, file).Scan(ctx, []byte(batchPrefix), func(_, v []byte) error {
		var b batch
		if err := json.Unmarshal(v, &b); err != nil {
			return err
		}
		n++
		return kv.Set(ctx, batchKey(b.Events[0].Seq), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("replaced %d log batches with %d", len(old), n)
}

// openDataLog opens the identity log of the data folder dir (its store's
// "identity" namespace, as serve keeps it), closed when the test ends.
func openDataLog(t *testing.T, dir string) storeKV {
	t.Helper()
	st, err := store.OpenStore(filepath.Join(dir, "store"), store.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kv, err := st.KV("identity")
	if err != nil {
		t.Fatal(err)
	}
	return storeKV{kv}
}
