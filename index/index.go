package index

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	"github.com/blevesearch/bleve/v2/mapping"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
	"github.com/patientmatch/patientmatch/store"
)

// keyField is the one field of an index document: the patient's blocking
// keys, each one term (keyword analyzer), indexed only — nothing stored,
// no term vectors, no doc values, no composite _all field.
const keyField = "k"

// checkpointKey is the bleve internal key holding the store sequence
// number the index reflects.
var checkpointKey = []byte("pm.seq")

// KeysVersion names the index keys (Keys: the blocking keys and the
// exact-identity key). An index built with other keys would answer with
// candidates chosen by rules the engine no longer has, and patients whose
// new keys are missing would not be found through them; OpenIndex rebuilds
// such an index from the store. Change it whenever Keys change: the test
// TestKeysVersion fails until it is.
const KeysVersion = "6"

// keysVersionKey is the bleve internal key holding the KeysVersion the
// index was built with. Indexes made before it was kept have none, and are
// rebuilt once.
var keysVersionKey = []byte("pm.keys")

// Defaults of IndexOptions.
const (
	DefaultCandidateLimit = 64
	// DefaultBatchSize: large batches make few segments, each built
	// once, for the rebuild's Compact to merge.
	DefaultBatchSize = 10000
)

// IndexOptions configure OpenIndex. The zero value is valid.
type IndexOptions struct {
	// InMemory keeps the index in memory and ignores dir (tests).
	// Default false.
	InMemory bool
	// Logger receives notices (rebuilding a damaged index). Default:
	// discarded.
	Logger *slog.Logger
	// CandidateLimit is the number of candidates Candidates returns when
	// called with limit <= 0. Default DefaultCandidateLimit.
	CandidateLimit int
	// BatchSize is the number of documents per bleve batch in Sync.
	// Default DefaultBatchSize.
	BatchSize int
	// Bulk turns off bleve's background merging while the index is open:
	// every batch stays its own segment until Compact merges them all,
	// each document once, instead of the merge planner merging the same
	// documents again at every tier while a bulk load writes. Queries
	// meanwhile search every segment: for a load that ends with Compact
	// (the load command), not for a server. Default false.
	Bulk bool
}

// Validate reports every problem with o at once.
func (o IndexOptions) Validate() error {
	var errs []error
	if o.CandidateLimit < 0 {
		errs = append(errs, fmt.Errorf("%w: CandidateLimit must be >= 0, got %d", ErrInvalid, o.CandidateLimit))
	}
	if o.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("%w: BatchSize must be >= 0, got %d", ErrInvalid, o.BatchSize))
	}
	return errors.Join(errs...)
}

func (o *IndexOptions) ensureDefaults() {
	if o.CandidateLimit == 0 {
		o.CandidateLimit = DefaultCandidateLimit
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Index is the bleve candidate index: one document per live patient,
// holding its blocking keys. It is derived from the Store and records in
// itself (atomically with the documents) the store sequence number it
// reflects, so Sync can catch up after a crash. It is safe for concurrent
// use; updates are serialised.
type Index struct {
	dir      string
	opts     IndexOptions
	analyzer analysis.Analyzer

	// mu serialises updates (Sync) and guards idx
	// replacement; searches hold it shared.
	mu     sync.RWMutex
	idx    bleve.Index
	closed bool
	// rebuilt reports that OpenIndex found the folder damaged and
	// started over.
	rebuilt bool
	// bulkNow opens the index in the bulk configuration while a rebuild
	// fills it (see rebuildLocked).
	bulkNow bool
}

// newMapping is the index mapping: documents are written with
// IndexAdvanced (bypassing the mapping), but the mapping still describes
// them for anyone opening the folder, and supplies the analyzer.
func newMapping() *mapping.IndexMappingImpl {
	im := bleve.NewIndexMapping()
	im.DefaultAnalyzer = keyword.Name
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false
	dm := bleve.NewDocumentStaticMapping()
	fm := bleve.NewKeywordFieldMapping()
	fm.Store = false
	fm.IncludeTermVectors = false
	fm.IncludeInAll = false
	fm.DocValues = false
	dm.AddFieldMappingsAt(keyField, fm)
	im.DefaultMapping = dm
	return im
}

// OpenIndex opens the index in dir, creating it when missing. A folder
// that does not open (damaged, half-written, another format) is removed
// and created afresh; Rebuilt then reports true and the next Sync fills
// it from the store.
func OpenIndex(dir string, opts IndexOptions) (*Index, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.ensureDefaults()
	ix := &Index{dir: dir, opts: opts}
	im := newMapping()
	ix.analyzer = im.AnalyzerNamed(keyword.Name)
	if ix.analyzer == nil {
		return nil, errors.New("index: keyword analyzer not registered")
	}
	idx, err := ix.open(im)
	if err != nil {
		return nil, err
	}
	ix.idx = idx
	return ix, nil
}

// scorchConfig is the runtime configuration of the bleve index: in bulk
// mode, a merge plan under which no segment is small enough to merge
// (segments of at least one document are never under half of
// MaxSegmentSize 2), so the background merger leaves them to Compact;
// otherwise scorch's default plan.
//
// The merge plan is given at every open, never left out: bleve writes the
// configuration an index is created with into its folder and merges the
// one given at open over it (key by key), so a folder created in bulk mode
// (a load, a rebuild) would otherwise keep the bulk plan, and never merge
// again, whoever opens it. Given each time, it also repairs such folders.
// Only MaxSegmentSize is given (scorch starts from its defaults and reads
// the given fields over them): the options struct itself has a func field
// and does not marshal.
func (ix *Index) scorchConfig() map[string]any {
	size := mergeplan.DefaultMergePlanOptions.MaxSegmentSize
	if ix.opts.Bulk || ix.bulkNow {
		size = 2
	}
	return map[string]any{"scorchMergePlanOptions": map[string]any{"MaxSegmentSize": size}}
}

func (ix *Index) open(im mapping.IndexMapping) (bleve.Index, error) {
	if ix.opts.InMemory {
		idx, err := bleve.NewUsing("", im, scorch.Name, scorch.Name, ix.scorchConfig())
		if err != nil {
			return nil, fmt.Errorf("index: create in-memory index: %w", err)
		}
		return idx, nil
	}
	if _, err := os.Stat(ix.dir); err == nil {
		idx, stale, err := ix.openExisting()
		if err == nil && !stale {
			return idx, nil
		}
		if err != nil {
			ix.opts.Logger.Warn("index: cannot open candidate index, rebuilding it from the store", "dir", ix.dir, "err", err)
		}
		if err := os.RemoveAll(ix.dir); err != nil {
			return nil, fmt.Errorf("index: remove index: %w", err)
		}
		ix.rebuilt = true
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("index: %w", err)
	}
	idx, err := bleve.NewUsing(ix.dir, im, scorch.Name, scorch.Name, ix.scorchConfig())
	if err != nil {
		return nil, fmt.Errorf("index: create index %s: %w", ix.dir, err)
	}
	if err := idx.SetInternal(keysVersionKey, []byte(KeysVersion)); err != nil {
		idx.Close()
		return nil, fmt.Errorf("index: create index %s: %w", ix.dir, err)
	}
	return idx, nil
}

// openExisting opens the folder's index; stale reports (with the index
// closed) that it was built with other keys than KeysVersion.
func (ix *Index) openExisting() (idx bleve.Index, stale bool, err error) {
	idx, err = bleve.OpenUsing(ix.dir, ix.scorchConfig())
	if err != nil {
		return nil, false, err
	}
	v, err := idx.GetInternal(keysVersionKey)
	if err == nil && string(v) == KeysVersion {
		return idx, false, nil
	}
	if err := idx.Close(); err != nil {
		return nil, false, fmt.Errorf("close: %w", err)
	}
	ix.opts.Logger.Warn("index: built with other keys, rebuilding it from the store", "dir", ix.dir, "keys", string(v), "now", KeysVersion)
	return nil, true, nil
}

// Rebuilt reports whether OpenIndex had to discard a damaged folder.
func (ix *Index) Rebuilt() bool { return ix.rebuilt }

// Close closes the index; it is idempotent.
func (ix *Index) Close() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		return nil
	}
	ix.closed = true
	// scorch's Close does not wait for its persister: let it write the
	// current snapshot out first (a merge just introduced, the last
	// batches), for a bounded time, so that a folder closed right after a
	// Compact or a write opens as it was left rather than replaying.
	if adv, err := ix.idx.Advanced(); err == nil {
		if s, ok := adv.(*scorch.Scorch); ok {
			ctx, cancel := context.WithTimeout(context.Background(), closeFlushWait)
			_ = ix.waitPersisted(ctx, s) // best effort: Close goes on regardless
			cancel()
		}
	}
	if err := ix.idx.Close(); err != nil {
		return fmt.Errorf("index: close index: %w", err)
	}
	return nil
}

// closeFlushWait bounds how long Close waits for scorch's persister.
const closeFlushWait = 5 * time.Second

// Checkpoint returns the store sequence number the index reflects.
func (ix *Index) Checkpoint() (uint64, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return 0, ErrClosed
	}
	return ix.checkpointLocked()
}

func (ix *Index) checkpointLocked() (uint64, error) {
	v, err := ix.idx.GetInternal(checkpointKey)
	if err != nil {
		return 0, fmt.Errorf("index: read checkpoint: %w", err)
	}
	if len(v) == 0 {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("index: corrupt checkpoint %x", v)
	}
	return binary.BigEndian.Uint64(v), nil
}

// DocCount returns the number of indexed patients.
func (ix *Index) DocCount() (uint64, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return 0, ErrClosed
	}
	return ix.idx.DocCount()
}

// newDocument builds the index document of a patient from its blocking keys:
// one field holding all of them, separated by keySep and split by
// keysAnalyzer. One field instead of one per key saves bleve a
// token-frequency map and an analysis pass per key, which dominated bulk
// indexing.
func newDocument(id string, keys []string) *document.Document {
	n := 0
	for _, k := range keys {
		n += len(k) + 1
	}
	val := make([]byte, 0, n)
	for i, k := range keys {
		if i > 0 {
			val = append(val, keySep)
		}
		val = append(val, k...)
	}
	doc := document.NewDocument(id)
	doc.AddField(document.NewTextFieldCustom(keyField, nil, val, bindex.IndexField, keysAnalyzer{}))
	return doc
}

// recordKeys appends the blocking keys of r to dst, computed exactly as a
// query's are. It prepares r from scratch, which is most
// of a write's indexing cost outside bleve: the engine's write path sends
// the keys along in Change.Keys instead; only replay, rebuild and callers
// without a prepared record come here. Keys read no term frequencies, so
// no scorer is needed.
func recordKeys(r *record.Record, dst []string) []string {
	return Keys(scoring.PrepareWithoutTF(*r), dst)
}

// keySep separates the blocking keys in a document's key field; keys are
// printable ASCII and never contain it.
const keySep = 0x1f

// keysAnalyzer splits a key field at keySep: each key is one term, exactly
// as written (queries are exact term queries on the same keys).
type keysAnalyzer struct{}

func (keysAnalyzer) Analyze(b []byte) analysis.TokenStream {
	out := make(analysis.TokenStream, 0, bytes.Count(b, []byte{keySep})+1)
	start := 0
	for i := 0; i <= len(b); i++ {
		if i < len(b) && b[i] != keySep {
			continue
		}
		if i > start {
			out = append(out, &analysis.Token{Start: start, End: i, Term: b[start:i], Position: len(out) + 1, Type: analysis.AlphaNumeric})
		}
		start = i + 1
	}
	return out
}

// Change is one patient write to apply to the index: Record nil means
// the patient is gone.
type Change struct {
	Seq    uint64
	ID     string
	Record *record.Record
	// Keys, when not nil, are Record's blocking keys, exactly as
	// blocking.Keys gives them for the prepared record. The engine has
	// prepared every record it writes already (for its table), so passing
	// the keys spares the index preparing it a second time, phonetic codes
	// and all. Nil means the index computes them from Record; an empty
	// non-nil slice means the record has no keys.
	Keys []string
}

// Write indexes changes (the engine's write path, after the store
// committed them), leaving ordering and the checkpoint to the caller, so that several Writes can run at once: bleve
// builds each batch's segment in the calling goroutine, and one goroutine
// building segments is what limits a bulk load. The caller keeps the
// changes of one patient in order (a Write holding an id finishes before
// the next Write holding it starts) and passes checkpoint > 0 only when
// every change up to that sequence number is already indexed; it is then
// recorded in the same batch. Two concurrent Writes may record their
// checkpoints in either order, so the recorded value can step back to an
// older, still true one: Sync then replays a little more than needed,
// which is harmless.
func (ix *Index) Write(ctx context.Context, changes []Change, checkpoint uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Shared: Writes and searches run together; Sync and Close,
	// which replace or close the bleve index, wait.
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return ErrClosed
	}
	b := ix.idx.NewBatch()
	var keys []string
	for _, c := range changes {
		var err error
		if keys, err = addChange(b, c, keys); err != nil {
			return fmt.Errorf("index: write %q: %w", c.ID, err)
		}
	}
	if checkpoint > 0 {
		b.SetInternal(checkpointKey, seqBytes(checkpoint))
	}
	if err := ix.idx.Batch(b); err != nil {
		return fmt.Errorf("index: write: %w", err)
	}
	return nil
}

// SetCheckpoint records that every change up to seq is indexed (the
// engine's indexer, after its last Write).
func (ix *Index) SetCheckpoint(seq uint64) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return ErrClosed
	}
	if err := ix.idx.SetInternal(checkpointKey, seqBytes(seq)); err != nil {
		return fmt.Errorf("index: record checkpoint: %w", err)
	}
	return nil
}

// addChange adds one change to b: the patient's document, or its removal.
// keys is a scratch buffer for records without Change.Keys; the grown
// buffer is returned for the next call.
func addChange(b *bleve.Batch, c Change, keys []string) ([]string, error) {
	if c.Record == nil {
		b.Delete(c.ID)
		return keys, nil
	}
	k := c.Keys
	if k == nil {
		keys = recordKeys(c.Record, keys[:0])
		k = keys
	}
	return keys, b.IndexAdvanced(newDocument(c.ID, k))
}

func seqBytes(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// Source is what Sync needs of the store (implemented by *store.Store).
type Source interface {
	LastSeq() uint64
	Changes(ctx context.Context, afterSeq uint64, fn func(seq uint64, id string, deleted bool) error) error
	Get(ctx context.Context, id string) (store.Entry, error)
	ScanRecords(ctx context.Context, fn func(store.Entry) error) error
}

// Sync brings the index up to the store: it replays the changelog after
// the index's checkpoint, or rebuilds the index from a full scan of the
// store when the index is empty (new or discarded folder) or ahead of the
// store (a different store). progress, when not nil, is called with the
// work done and the total (changes replayed, or patients indexed for a
// rebuild, whose total is an estimate: the store's sequence number).
func (ix *Index) Sync(ctx context.Context, src Source, progress func(done, total int)) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		return ErrClosed
	}
	cp, err := ix.checkpointLocked()
	if err != nil {
		return err
	}
	last := src.LastSeq()
	switch {
	case cp == last:
		return nil
	case cp > last, cp == 0:
		return ix.rebuildLocked(ctx, src, progress)
	}
	return ix.replayLocked(ctx, src, cp, last, progress)
}

// maxRebuildWorkers bounds rebuildWorkers: each batch in flight holds
// its documents and the segment bleve builds from them in memory.
const maxRebuildWorkers = 8

// rebuildWorkers is how many batches a rebuild has bleve build at once,
// while the scan prepares the next: bleve builds a batch's segment in the
// goroutine that hands it over, so one per core the process may use
// (procs, runtime.GOMAXPROCS) keeps them busy on whatever machine it runs,
// within maxRebuildWorkers.
func rebuildWorkers(procs int) int {
	return min(max(procs, 1), maxRebuildWorkers)
}

// rebuildLocked fills an empty index from a full scan of the store the way
// a bulk load does: with bleve's background merging off (the bulk
// configuration), batches built by rebuildWorkers goroutines while the
// scan goes on, and one Compact at the end, so that the rebuilt index is
// one segment, as fast to query as a compacted load. The checkpoint goes
// in with the last batch: a rebuild cut short leaves an index that the
// next Sync rebuilds again.
func (ix *Index) rebuildLocked(ctx context.Context, src Source, progress func(done, total int)) error {
	// Start from an empty index, so no document of a deleted patient
	// survives, in the bulk configuration.
	if err := ix.reopenLocked(true); err != nil {
		return err
	}
	// The sequence number is read before the scan: writes racing with
	// the scan are replayed by the next Sync (applying twice is harmless).
	last := src.LastSeq()
	w := newBatchWriter(ctx, ix.idx, rebuildWorkers(runtime.GOMAXPROCS(0)))
	b := ix.idx.NewBatch()
	var keys []string
	done := 0
	err := src.ScanRecords(ctx, func(e store.Entry) error {
		keys = recordKeys(&e.Record, keys[:0])
		if err := b.IndexAdvanced(newDocument(e.ID, keys)); err != nil {
			return fmt.Errorf("%q: %w", e.ID, err)
		}
		done++
		if b.Size() < ix.opts.BatchSize {
			return nil
		}
		// A new batch, not b.Reset(): scorch may still read the old one
		// from a goroutine of its own after Batch returns (the race
		// detector catches it).
		err := w.write(b)
		b = ix.idx.NewBatch()
		if progress != nil {
			progress(done, max(int(last), done))
		}
		return err
	})
	if err == nil {
		err = w.wait()
	} else {
		w.wait()
	}
	if err == nil {
		b.SetInternal(checkpointKey, seqBytes(last))
		err = ix.idx.Batch(b)
	}
	if err != nil {
		return fmt.Errorf("index: rebuild: %w", err)
	}
	if progress != nil {
		progress(done, max(int(last), done))
	}
	if err := ix.compactLocked(ctx); err != nil {
		return fmt.Errorf("index: rebuild: %w", err)
	}
	return ix.reopenLocked(false)
}

// batchWriter hands bleve batches over from up to n goroutines at once
// and keeps the first error.
type batchWriter struct {
	ctx   context.Context
	idx   bleve.Index
	slots chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error
}

func newBatchWriter(ctx context.Context, idx bleve.Index, n int) *batchWriter {
	return &batchWriter{ctx: ctx, idx: idx, slots: make(chan struct{}, n)}
}

// write starts writing b once a goroutine is free; it returns the first
// error of an earlier batch, if any.
func (w *batchWriter) write(b *bleve.Batch) error {
	select {
	case w.slots <- struct{}{}:
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
	if err := w.firstErr(); err != nil {
		<-w.slots
		return err
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() { <-w.slots }()
		if err := w.idx.Batch(b); err != nil {
			w.mu.Lock()
			w.err = cmp.Or(w.err, err)
			w.mu.Unlock()
		}
	}()
	return nil
}

func (w *batchWriter) firstErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// wait waits for every batch and returns the first error.
func (w *batchWriter) wait() error {
	w.wg.Wait()
	return w.firstErr()
}

// reopenLocked replaces the bleve index with a reopened one, in the bulk
// configuration or not (see IndexOptions.Bulk): an index that is rebuilt
// takes no background merges until its Compact, then serves as configured.
// Reopened in the bulk configuration it is emptied first.
func (ix *Index) reopenLocked(bulk bool) error {
	if !bulk && (ix.opts.Bulk || ix.opts.InMemory) {
		// It stays in the bulk configuration; an in-memory index would
		// lose its documents, and merges only segments on disk anyway.
		ix.bulkNow = false
		return nil
	}
	if err := ix.idx.Close(); err != nil {
		return fmt.Errorf("index: close for reopening: %w", err)
	}
	ix.bulkNow = bulk
	if bulk && !ix.opts.InMemory {
		if err := os.RemoveAll(ix.dir); err != nil {
			return fmt.Errorf("index: reset: %w", err)
		}
	}
	idx, err := ix.open(newMapping())
	if err != nil {
		ix.closed = true
		return err
	}
	ix.idx = idx
	return nil
}

func (ix *Index) replayLocked(ctx context.Context, src Source, cp, last uint64, progress func(done, total int)) error {
	// Collect the changed ids first: a patient written many times is
	// indexed once, in its current state.
	type change struct {
		seq     uint64
		deleted bool
	}
	latest := map[string]change{}
	var order []string
	err := src.Changes(ctx, cp, func(seq uint64, id string, deleted bool) error {
		if seq > last {
			return errStop
		}
		if _, ok := latest[id]; !ok {
			order = append(order, id)
		}
		latest[id] = change{seq, deleted}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return fmt.Errorf("index: read changelog: %w", err)
	}
	b := ix.idx.NewBatch()
	var keys []string
	total := len(order)
	for i, id := range order {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, err := src.Get(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			b.Delete(id)
		case err != nil:
			return fmt.Errorf("index: replay %q: %w", id, err)
		default:
			keys = recordKeys(&e.Record, keys[:0])
			if err := b.IndexAdvanced(newDocument(id, keys)); err != nil {
				return fmt.Errorf("index: replay %q: %w", id, err)
			}
		}
		final := i == len(order)-1
		if final {
			b.SetInternal(checkpointKey, seqBytes(last))
		}
		if final || b.Size() >= ix.opts.BatchSize {
			if err := ix.idx.Batch(b); err != nil {
				return fmt.Errorf("index: replay: %w", err)
			}
			b = ix.idx.NewBatch() // never Reset: see rebuildLocked
			if progress != nil {
				progress(i+1, total)
			}
		}
	}
	return nil
}

var errStop = errors.New("stop")

// Candidates returns the ids of the patients sharing the most selective
// of the given keys, best first, at most limit (the configured default
// when limit <= 0): every patient sharing one of the rarest keys while
// those hold at most limit patients, then those whose shared keys are the
// rarest and the most (see candidates in retrieve.go).
func (ix *Index) Candidates(ctx context.Context, keys []string, limit int) ([]string, error) {
	if limit <= 0 {
		limit = ix.opts.CandidateLimit
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return ix.candidates(ctx, keys, limit)
}

// Compact merges the index's segments into one. Every query looks each of
// its keys up in every segment's term dictionary, so a bulk load, which
// leaves tens of segments, ends with it; it costs a pass over the index.
//
// One scorch ForceMerge merges at most 10 segments into each new one (its
// single-segment plan's SegmentsPerMergeTask), so after a bulk load of
// 1M patients it left 5 segments; Compact repeats it until one is left,
// compactStalls rounds in a row merge nothing, or compactRounds have run.
func (ix *Index) Compact(ctx context.Context) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return ErrClosed
	}
	return ix.compactLocked(ctx)
}

// compactLocked is Compact; ix.mu is held (shared or not).
func (ix *Index) compactLocked(ctx context.Context) error {
	adv, err := ix.idx.Advanced()
	if err != nil {
		return fmt.Errorf("index: compact: %w", err)
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return fmt.Errorf("index: compact: index is a %T, not scorch", adv)
	}
	for prev, stalls, rounds := -1, 0, 0; ; rounds++ {
		// scorch merges only segments on disk, and a Close does not wait
		// for its persister: wait for it to write the last batches out
		// before a round, and the merged segment after the last.
		if err := ix.waitPersisted(ctx, s); err != nil {
			return err
		}
		n, err := liveSegments(s)
		if err != nil {
			return fmt.Errorf("index: compact: %w", err)
		}
		if n <= 1 || rounds >= compactRounds || ctx.Err() != nil {
			return ctx.Err()
		}
		// A round that merged nothing may have met the online index's
		// background merger working on the same segments (its result, or
		// ours, is then dropped as obsolete): wait a moment and try again,
		// a few times, before settling for what there is.
		if n != prev {
			stalls = 0
		} else {
			if stalls++; stalls > compactStalls {
				return nil
			}
			select {
			case <-time.After(persistPoll):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		prev = n
		if err := s.ForceMerge(ctx, compactPlan(n)); err != nil {
			return fmt.Errorf("index: compact: %w", err)
		}
	}
}

// compactStalls is how many rounds in a row that merge nothing Compact
// tries before it settles for the segments there are.
const compactStalls = 3

// compactRounds bounds Compact's rounds: Compact holds the index only for
// reading, so steady writes meanwhile add segments, and it settles for
// what there is rather than chase them. Each round merges up to
// compactWidth segments into one, so a bulk load's segments take two or
// three.
const compactRounds = 16

// compactWidth is the most segments Compact merges into one at a time.
// zap's merge steps through the union of the segments' term dictionaries
// comparing every segment's current term at each step, so a very wide merge
// costs more per term than it saves in rounds.
const compactWidth = 32

// compactPlan is scorch's single-segment merge plan, merging up to
// compactWidth of the n live segments at once instead of its 10: a bulk
// load's segments are then merged once (up to 32 of them) or twice, not
// once per round of ten.
func compactPlan(n int) *mergeplan.MergePlanOptions {
	o := mergeplan.SingleSegmentMergePlanOptions
	o.SegmentsPerMergeTask = min(max(n, 2), compactWidth)
	return &o
}

// persistPoll is how often Compact looks whether scorch's persister has
// written the index's current state out (scorch offers no way to wait
// for it).
const persistPoll = 10 * time.Millisecond

// waitPersisted waits until the index's current snapshot is on disk (an
// in-memory index never is: it returns at once).
func (ix *Index) waitPersisted(ctx context.Context, s *scorch.Scorch) error {
	st, ok := s.Stats().(*scorch.Stats)
	if ix.opts.InMemory || !ok {
		return nil
	}
	return waitEpoch(ctx, st)
}

// waitEpoch waits until st's persisted epoch reaches its current one. A
// persister that fails (a full disk) retries for good and the epoch never
// comes, so it stops with an error as soon as scorch counts a persister
// failure after it started waiting.
func waitEpoch(ctx context.Context, st *scorch.Stats) error {
	failed := atomic.LoadUint64(&st.TotPersistLoopErr)
	for atomic.LoadUint64(&st.LastPersistedEpoch) < atomic.LoadUint64(&st.CurRootEpoch) {
		if n := atomic.LoadUint64(&st.TotPersistLoopErr); n > failed {
			return fmt.Errorf("index: bleve could not write the index out (%d persister failures since waiting; disk full?)", n-failed)
		}
		select {
		case <-time.After(persistPoll):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// liveSegments counts the segments of s's current snapshot that hold
// documents.
func liveSegments(s *scorch.Scorch) (int, error) {
	rd, err := s.Reader()
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	snap, ok := rd.(*scorch.IndexSnapshot)
	if !ok {
		return 0, fmt.Errorf("reader is a %T, not a scorch snapshot", rd)
	}
	n := 0
	for _, seg := range snap.Segments() {
		if seg.Count() > 0 {
			n++
		}
	}
	return n, nil
}
