package index

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/patientmatch/patientmatch/internal/testgen"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
	"github.com/patientmatch/patientmatch/store"
)

func newMemIndex(t testing.TB) *Index {
	t.Helper()
	ix, err := OpenIndex("", IndexOptions{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

// newMemStore opens an in-memory store closed at the end of the test.
func newMemStore(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.OpenStore("", store.StoreOptions{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// entryOf is r as a store entry; the index reads only the record.
func entryOf(r record.Record) store.Entry {
	return store.Entry{ID: r.ID, Resource: []byte(`{"resourceType":"Patient"}`), Record: r}
}

// load puts generated records into the store, in commits of 1000, and
// returns them.
func load(t testing.TB, s *store.Store, n int, seed uint64) []testgen.Record {
	t.Helper()
	recs := testgen.Generate(n, seed)
	for start := 0; start < len(recs); start += 1000 {
		chunk := recs[start:min(start+1000, len(recs))]
		entries := make([]store.Entry, len(chunk))
		for i, g := range chunk {
			entries[i] = entryOf(g.Rec)
		}
		if _, err := s.Put(context.Background(), entries); err != nil {
			t.Fatal(err)
		}
	}
	return recs
}

func candidatesOf(t testing.TB, ix *Index, r record.Record, limit int) []string {
	t.Helper()
	ids, err := ix.Candidates(context.Background(), Keys(scoring.PrepareWithoutTF(r), nil), limit)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestIndexCandidatesTypo(t *testing.T) {
	ctx := context.Background()
	s := newMemStore(t)
	ix := newMemIndex(t)
	load(t, s, 500, 21)
	target := record.Record{ID: "target", Given: "katherine", Family: "oyelaran",
		BirthDate: record.Date{Year: 1971, Month: 7, Day: 19, Valid: true},
		Address:   record.Address{Number: "9", Street: "lark", PostalCode: "55555"}}
	if _, err := s.Put(ctx, []store.Entry{entryOf(target)}); err != nil {
		t.Fatal(err)
	}
	var calls int
	if err := ix.Sync(ctx, s, func(done, total int) { calls++ }); err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Error("no progress reported")
	}
	if n, _ := ix.DocCount(); n != 501 {
		t.Errorf("DocCount = %d, want 501", n)
	}
	for _, q := range []record.Record{
		{Given: "katherine", Family: "oyelaren", BirthDate: target.BirthDate},                      // family typo
		{Given: "kathy", Family: "oyelaran", BirthDate: record.Date{Year: 1971, Month: 7, Day: 1}}, // nickname, wrong day
		{Given: "oyelaran", Family: "katherine"},                                                   // swapped, no date
		{Given: "katherin", Family: "smith", Address: target.Address, BirthDate: target.BirthDate}, // married, typo
	} {
		ids := candidatesOf(t, ix, q, 10)
		if len(ids) == 0 || ids[0] != "target" {
			t.Errorf("query %+v: candidates %v, want target first", q, ids)
		}
	}
	if ids, _ := ix.Candidates(ctx, nil, 10); len(ids) != 0 {
		t.Errorf("no keys gave %v", ids)
	}
	if ids := candidatesOf(t, ix, record.Record{Given: "zzyzx", Family: "qwerty"}, 10); len(ids) != 0 {
		t.Errorf("stranger gave %v", ids)
	}
}

// TestIndexCatchUpAfterCrash: writes reach the store but not the index
// (the process dies in between); on reopen the index replays them.
func TestIndexCatchUpAfterCrash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.OpenStore(filepath.Join(dir, "store"), store.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := OpenIndex(filepath.Join(dir, "index"), IndexOptions{BatchSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	recs := load(t, s, 300, 22)
	if err := ix.Sync(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	if cp, _ := ix.Checkpoint(); cp != s.LastSeq() {
		t.Fatalf("checkpoint %d after sync, store at %d", cp, s.LastSeq())
	}
	// Writes the index never sees before the "crash".
	moved := recs[0].Rec
	moved.Family, moved.Given = "zanzibar", "quentin"
	if _, err := s.Put(ctx, []store.Entry{entryOf(moved)}); err != nil {
		t.Fatal(err)
	}
	gone := recs[1].Rec
	if _, err := s.Delete(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	fresh := record.Record{ID: "fresh", Given: "ulysses", Family: "brightwater", BirthDate: record.Date{Year: 1990, Month: 1, Day: 2}}
	if _, err := s.Put(ctx, []store.Entry{entryOf(fresh)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ix.Close()

	s, err = store.OpenStore(filepath.Join(dir, "store"), store.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ix, err = OpenIndex(filepath.Join(dir, "index"), IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if ix.Rebuilt() {
		t.Error("healthy index reported as rebuilt")
	}
	cp, _ := ix.Checkpoint()
	if cp != s.LastSeq()-3 {
		t.Fatalf("checkpoint %d, store %d: expected 3 unapplied writes", cp, s.LastSeq())
	}
	var last [2]int
	if err := ix.Sync(ctx, s, func(done, total int) { last = [2]int{done, total} }); err != nil {
		t.Fatal(err)
	}
	if last != [2]int{3, 3} {
		t.Errorf("progress %v, want 3 of 3", last)
	}
	if cp, _ := ix.Checkpoint(); cp != s.LastSeq() {
		t.Errorf("checkpoint %d after catch-up, store %d", cp, s.LastSeq())
	}
	if ids := candidatesOf(t, ix, moved, 5); !slices.Contains(ids, moved.ID) {
		t.Errorf("updated patient not found under new name: %v", ids)
	}
	if ids := candidatesOf(t, ix, fresh, 5); !slices.Contains(ids, "fresh") {
		t.Errorf("new patient not found: %v", ids)
	}
	if ids := candidatesOf(t, ix, gone, 100); slices.Contains(ids, gone.ID) {
		t.Errorf("deleted patient still a candidate")
	}
	if n, _ := ix.DocCount(); n != 300 {
		t.Errorf("DocCount %d, want 300", n)
	}
}

// TestIndexRebuild: a deleted or damaged index folder is rebuilt from the
// store.
func TestIndexRebuild(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := newMemStore(t)
	recs := load(t, s, 400, 23)
	if _, err := s.Delete(ctx, recs[5].Rec.ID); err != nil {
		t.Fatal(err)
	}
	idxDir := filepath.Join(dir, "index")
	check := func(ix *Index) {
		t.Helper()
		if n, _ := ix.DocCount(); n != 399 {
			t.Errorf("DocCount %d, want 399", n)
		}
		if ids := candidatesOf(t, ix, recs[7].Rec, 5); !slices.Contains(ids, recs[7].Rec.ID) {
			t.Errorf("record not its own candidate after rebuild: %v", ids)
		}
	}
	for _, damage := range []string{"missing", "garbage"} {
		t.Run(damage, func(t *testing.T) {
			if err := os.RemoveAll(idxDir); err != nil {
				t.Fatal(err)
			}
			if damage == "garbage" {
				if err := os.MkdirAll(idxDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(idxDir, "index_meta.json"), []byte("{not json"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ix, err := OpenIndex(idxDir, IndexOptions{BatchSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			if got, want := ix.Rebuilt(), damage == "garbage"; got != want {
				t.Errorf("Rebuilt = %v, want %v", got, want)
			}
			var calls, done int
			if err := ix.Sync(ctx, s, func(d, total int) { calls++; done = d }); err != nil {
				t.Fatal(err)
			}
			if calls < 4 || done != 399 {
				t.Errorf("progress: %d calls, done %d", calls, done)
			}
			// Four batches, built while merging was off, then compacted.
			if n := segmentCount(t, ix); n != 1 {
				t.Errorf("%d segments after the rebuild, want 1", n)
			}
			if cp, _ := ix.Checkpoint(); cp != s.LastSeq() {
				t.Errorf("checkpoint %d after the rebuild, store at %d", cp, s.LastSeq())
			}
			check(ix)
			// Back in the serving configuration, it takes writes as before.
			if ix.bulkNow {
				t.Error("still in the bulk configuration after the rebuild")
			}
			// ... and merges again in the background: the rebuild's
			// bulk merge plan does not stay with the folder.
			writeSingles(t, ix, singleWrites)
			assertMerges(t, ix, singleWrites)
			r := recs[9].Rec
			r.ID = "new-after-rebuild"
			if err := ix.Write(ctx, []Change{{ID: r.ID, Record: &r}}, 0); err != nil {
				t.Fatal(err)
			}
			if ids := candidatesOf(t, ix, r, 5); !slices.Contains(ids, r.ID) {
				t.Errorf("a write after the rebuild is not found: %v", ids)
			}
		})
	}
	// An index ahead of the store (another store's index) is rebuilt by
	// Sync, and no document of it survives.
	ix := newMemIndex(t)
	stale := record.Record{Given: "stale", Family: "ghost", BirthDate: record.Date{Year: 1950, Month: 1, Day: 1}}
	if err := ix.Write(ctx, []Change{{ID: "ghost", Record: &stale}}, s.LastSeq()+100); err != nil {
		t.Fatal(err)
	}
	if err := ix.Sync(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	if ids := candidatesOf(t, ix, stale, 5); len(ids) != 0 {
		t.Errorf("stale document survived the rebuild: %v", ids)
	}
	if cp, _ := ix.Checkpoint(); cp != s.LastSeq() {
		t.Errorf("checkpoint %d after the rebuild, store at %d", cp, s.LastSeq())
	}
	check(ix)
}

// TestIndexWriteCheckpoint: Write records the checkpoint it is given, and
// only that; a removal takes the patient out of the candidates.
func TestIndexWriteCheckpoint(t *testing.T) {
	ctx := context.Background()
	ix := newMemIndex(t)
	r := record.Record{Given: "ann", Family: "lee", BirthDate: record.Date{Year: 1970, Month: 1, Day: 2}}
	if err := ix.Write(ctx, []Change{{Seq: 1, ID: "a", Record: &r}, {Seq: 2, ID: "b", Record: &r}}, 2); err != nil {
		t.Fatal(err)
	}
	if cp, _ := ix.Checkpoint(); cp != 2 {
		t.Errorf("checkpoint %d, want 2", cp)
	}
	// A batch written without a checkpoint (an earlier one still in
	// flight) must not move it.
	if err := ix.Write(ctx, []Change{{Seq: 4, ID: "c", Record: &r}}, 0); err != nil {
		t.Fatal(err)
	}
	if cp, _ := ix.Checkpoint(); cp != 2 {
		t.Errorf("no checkpoint given: checkpoint %d, want 2", cp)
	}
	if err := ix.Write(ctx, []Change{{Seq: 3, ID: "a"}}, 4); err != nil {
		t.Fatal(err)
	}
	if cp, _ := ix.Checkpoint(); cp != 4 {
		t.Errorf("delete: checkpoint %d, want 4", cp)
	}
	if err := ix.SetCheckpoint(5); err != nil {
		t.Fatal(err)
	}
	if cp, _ := ix.Checkpoint(); cp != 5 {
		t.Errorf("SetCheckpoint: checkpoint %d, want 5", cp)
	}
	ids := candidatesOf(t, ix, r, 10)
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"b", "c"}) {
		t.Errorf("candidates %v, want [b c]", ids)
	}
	ix.Close()
	if _, err := ix.Candidates(ctx, []string{"x"}, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if err := ix.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestIndexWriteKeys checks that Write indexes the keys a change carries
// instead of computing them, and computes them when a change has none.
func TestIndexWriteKeys(t *testing.T) {
	ctx := context.Background()
	ix := newMemIndex(t)
	r := record.Record{Given: "ann", Family: "lee", BirthDate: record.Date{Year: 1970, Month: 1, Day: 2}}
	computed := recordKeys(&r, nil)
	if len(computed) == 0 {
		t.Fatal("test record has no keys")
	}
	changes := []Change{
		{Seq: 1, ID: "given", Record: &r, Keys: []string{"zz:given"}},
		{Seq: 2, ID: "none", Record: &r, Keys: []string{}},
		{Seq: 3, ID: "computed", Record: &r},
	}
	if err := ix.Write(ctx, changes, 3); err != nil {
		t.Fatal(err)
	}
	if ids, err := ix.Candidates(ctx, []string{"zz:given"}, 10); err != nil || !slices.Equal(ids, []string{"given"}) {
		t.Errorf("candidates for the given key: %v (%v), want [given]", ids, err)
	}
	if ids, err := ix.Candidates(ctx, computed, 10); err != nil || !slices.Equal(ids, []string{"computed"}) {
		t.Errorf("candidates for the computed keys: %v (%v), want [computed]", ids, err)
	}
	if n, err := ix.DocCount(); err != nil || n != 3 {
		t.Errorf("DocCount = %d (%v), want 3", n, err)
	}
}

func TestIndexOptionsValidate(t *testing.T) {
	if err := (IndexOptions{CandidateLimit: -1, BatchSize: -1}).Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Validate = %v", err)
	}
	if _, err := OpenIndex("", IndexOptions{InMemory: true, BatchSize: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("OpenIndex with bad options: %v", err)
	}
}

// TestIndexVersusBruteForce runs every 25th record of a generated set
// (with households and typo'd duplicates) as a query and compares the index's
// candidates with two brute-force oracles over all records:
//   - keys: every record sharing a blocking key with the query (what the
//     index could return without a limit);
//   - score: every record the default scoring model grades possible or
//     better against the query (what the engine would want).
//
// It reports the loss of each, and of the true duplicates, at the default
// candidate limit, and fails if more than 1% of the true duplicates that
// share a key are lost.
func TestIndexVersusBruteForce(t *testing.T) {
	n := 5000
	if testing.Short() {
		n = 1500
	}
	ctx := context.Background()
	s := newMemStore(t)
	ix := newMemIndex(t)
	recs := load(t, s, n, 24)
	start := time.Now()
	if err := ix.Sync(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("indexed %d records in %v", n, time.Since(start).Round(time.Millisecond))

	scorer, err := scoring.NewScorer(scoring.DefaultModel())
	if err != nil {
		t.Fatal(err)
	}
	prepared := make([]*scoring.Prepared, n)
	keys := make([][]string, n)
	pos := map[string]int{}
	for i, g := range recs {
		prepared[i] = scorer.Prepare(g.Rec)
		keys[i] = Keys(prepared[i], nil)
		pos[g.Rec.ID] = i
	}
	var keyOracle, keyFound, scoreOracle, scoreFound, scoreNoKey, dupOracle, dupFound, dupTotal int
	start = time.Now()
	limit := DefaultCandidateLimit
	queries := 0
	for q := 0; q < n; q += 25 {
		queries++
		ids, err := ix.Candidates(ctx, keys[q], limit+1) // the query itself is indexed
		if err != nil {
			t.Fatal(err)
		}
		got := make(map[int]bool, len(ids))
		for _, id := range ids {
			got[pos[id]] = true
		}
		for j := range recs {
			if j == q {
				continue
			}
			share := shareKey(keys[q], keys[j])
			dup := recs[j].Entity == recs[q].Entity
			good := scorer.Score(prepared[q], prepared[j]).Grade >= scoring.GradePossible
			if dup {
				dupTotal++
			}
			if share {
				keyOracle++
				if got[j] {
					keyFound++
				}
				if dup {
					dupOracle++
					if got[j] {
						dupFound++
					}
				}
			}
			if good {
				scoreOracle++
				if got[j] {
					scoreFound++
				}
				if !share {
					scoreNoKey++
				}
			}
		}
	}
	t.Logf("%d queries in %v, limit %d", queries, time.Since(start).Round(time.Millisecond), limit)
	ratio := func(a, b int) float64 {
		if b == 0 {
			return 1
		}
		return float64(a) / float64(b)
	}
	t.Logf("oracle keys : %7d pairs, index found %7d (%.4f)", keyOracle, keyFound, ratio(keyFound, keyOracle))
	t.Logf("oracle score: %7d pairs graded >= possible, index found %7d (%.4f); %d share no key", scoreOracle, scoreFound, ratio(scoreFound, scoreOracle), scoreNoKey)
	t.Logf("duplicates  : %7d true pairs, %d share a key (%.4f), index found %d (%.4f of those sharing a key)",
		dupTotal, dupOracle, ratio(dupOracle, dupTotal), dupFound, ratio(dupFound, dupOracle))
	if r := ratio(dupFound, dupOracle); r < 0.99 {
		t.Errorf("index lost %.2f%% of true duplicates sharing a key", 100*(1-r))
	}
}

func shareKey(a, b []string) bool {
	for _, k := range a {
		if slices.Contains(b, k) {
			return true
		}
	}
	return false
}

// BenchmarkIndexBatch: documents indexed per second through Sync's
// rebuild path (blocking keys + bleve batches), 10k records in memory.
func BenchmarkIndexBatch(b *testing.B) {
	s := newMemStore(b)
	load(b, s, 10_000, 31)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		ix, err := OpenIndex("", IndexOptions{InMemory: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := ix.Sync(ctx, s, nil); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		ix.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(10_000*b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkCandidates: one candidate query against 100k documents (on
// disk, as served), keys of generated records.
func BenchmarkCandidates(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	s := newMemStore(b)
	recs := load(b, s, n, 32)
	ix, err := OpenIndex(filepath.Join(b.TempDir(), "index"), IndexOptions{BatchSize: 5000})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	start := time.Now()
	if err := ix.Sync(ctx, s, nil); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d docs in %v", n, time.Since(start).Round(time.Millisecond))
	queries := make([][]string, 1000)
	for i := range queries {
		queries[i] = Keys(scoring.PrepareWithoutTF(recs[(i*97)%n].Rec), nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := ix.Candidates(ctx, queries[i%len(queries)], DefaultCandidateLimit); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
