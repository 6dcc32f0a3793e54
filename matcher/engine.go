// Package matcher is patientmatch's engine: the one matching path every API
// (CLI, FHIR REST, OIDC claims, gRPC, batch) goes through.
//
// A match is normalize → blocking keys → candidates from the index → score
// each candidate with the Fellegi–Sunter model → rank → grade → top N.
// The badger store is the source of truth; the bleve index and the in-memory
// table of prepared records are derived from it and rebuilt or caught up on
// Open.
package matcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patientmatch/patientmatch/index"
	"github.com/patientmatch/patientmatch/internal/seqwatch"
	"github.com/patientmatch/patientmatch/scoring"
	"github.com/patientmatch/patientmatch/store"
)

// Options configure an Engine. The zero value is usable.
type Options struct {
	// CandidateLimit caps the candidates fetched from the index per match,
	// best first. Default 64.
	CandidateLimit int
	// Model is the scoring model. Default: DIR/model.json when it exists,
	// else scoring.DefaultModel().
	Model *scoring.Model
	// InMemory keeps store and index in memory (tests). dir is ignored.
	InMemory bool
	// Logger receives operational logs (never demographics). Default: discard.
	Logger *slog.Logger
	// Progress, when set, is told how start-up work (index rebuild or
	// catch-up) advances.
	Progress func(stage string, done, total int)
	// WriteBuffer is the size in bytes of each of the store's two write
	// buffers (badger memtables). Larger buffers mean fewer, larger flushes
	// and far less compaction while bulk loading, for more memory while
	// writing. Default (0) 64 MiB, which suits a server; BulkWriteBuffer
	// suits a bulk load. Must be 0 or at least 1 MiB.
	WriteBuffer int64
	// TermFrequencies, when set, is the name-frequency table of the
	// term-frequency adjustment instead of one counted from the stored
	// patients at Open. A cluster sets it on every shard's engine to the
	// cluster-wide table, so that every shard scores as one engine holding
	// all patients would.
	TermFrequencies *scoring.TermFrequencies
	// NoSync commits without fsync: for an engine whose writes can be
	// replayed (a cluster shard, fed from the replicated stream; see
	// store.StoreOptions.NoSync). Default false: every acknowledged write
	// is on disk.
	NoSync bool
	// BulkLoad leaves the index's segments unmerged until Compact (see
	// index.IndexOptions.Bulk): for a bulk load that compacts at the end,
	// which then merges each patient once instead of at every tier of
	// bleve's background merges. Matches meanwhile search every segment.
	// Default false.
	BulkLoad bool
	// ReleaseOpenReads reopens the store once Open has read it (the
	// table's scan, an index rebuild), so that the pages of its files those
	// reads mapped in leave the process's resident set (see
	// ReleaseStorePages): at 1M patients 373 MiB of a 1.5 GiB server,
	// which would otherwise stay resident for the life of the process
	// though queries read a few pages each. For a long-lived process
	// (serve, a cluster shard); the reopen takes 40–70 ms at 1M, which a
	// one-shot command that exits a moment later would pay for nothing.
	// Default false.
	ReleaseOpenReads bool

	// minConcurrentBatch replaces the package's minConcurrentBatch when
	// set (tests make concurrent index batches out of small commits).
	minConcurrentBatch int
	// wrapIndexWrite, when set, wraps the indexer's batch writes (tests
	// control their timing).
	wrapIndexWrite func(indexWriteFunc) indexWriteFunc
}

// BulkWriteBuffer is the WriteBuffer for bulk loads (the load command):
// at a million patients it spares most of the store's compaction work.
const BulkWriteBuffer = 512 << 20

// Validate reports every problem with o at once.
func (o Options) Validate() error {
	var errs []error
	if o.CandidateLimit < 0 {
		errs = append(errs, fmt.Errorf("CandidateLimit %d is negative", o.CandidateLimit))
	}
	if o.WriteBuffer < 0 || (o.WriteBuffer > 0 && o.WriteBuffer < 1<<20) {
		errs = append(errs, fmt.Errorf("WriteBuffer %d must be 0 or at least 1 MiB", o.WriteBuffer))
	}
	if o.Model != nil {
		if err := o.Model.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (o *Options) ensureDefaults() {
	if o.CandidateLimit == 0 {
		o.CandidateLimit = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Engine stores patients and matches demographics against them. It is safe
// for concurrent use.
type Engine struct {
	opts Options
	// dir is the data folder ("" in memory).
	dir   string
	store *store.Store
	idx   *index.Index
	// metrics counts what Match answers (see Collectors).
	metrics *engineMetrics
	// indexQ carries committed changes to the indexer goroutine, so that
	// indexing one chunk overlaps with storing the next (both cores busy
	// during a bulk load). It is bounded: a writer that outruns the index
	// waits. indexed is how far the indexer has got; Match waits for it to
	// reach every change queued before the query, so a patient is matchable
	// as soon as its write has been acknowledged.
	indexQ chan []index.Change
	// writeIndex writes one batch of the indexer: e.idx.Write, possibly
	// wrapped by a test (Options.wrapIndexWrite).
	writeIndex indexWriteFunc
	queued     atomic.Uint64
	indexed    seqwatch.Watch
	indexerG   sync.WaitGroup
	// stopIndexing is set by Close: the indexer dispatches no more batches
	// (see indexer).
	stopIndexing atomic.Bool
	scorer       *scoring.Scorer

	// writeMu serialises writes so that versions are assigned in order and
	// the store, the index and the table change together.
	writeMu sync.Mutex
	// deleted holds the ids of deleted patients (tombstones in the store)
	// with the version of their delete, guarded by writeMu. With the
	// table's live ids it tells which writes are of ids never stored, which
	// the store need not look up first, and which version a re-create gets.
	deleted map[string]uint64
	// observer, when set, is told of every committed write (SetObserver);
	// guarded by writeMu.
	observer Observer

	mu struct {
		sync.RWMutex
		closed bool
		// table holds the prepared form of every live patient, so scoring a
		// candidate never touches the disk (table.go).
		table *table
		// carriers says which identifiers of unknown kind (a payer's
		// member number) stored records of different people carry, kept
		// with the table on every write and built at Open: a query is
		// compared without them (prepareQuery), as dedupe compares a
		// file's records (scoring.SetAsideSharedIdentifiers).
		carriers *scoring.IdentifierCarriers
	}
}

// Open opens (creating when needed) the engine's data folder: DIR/store is
// the badger store, DIR/index the bleve index, DIR/model.json the model.
func Open(dir string, opts Options) (*Engine, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("matcher: %w", err)
	}
	opts.ensureDefaults()
	model := opts.Model
	if model == nil {
		m, err := loadModel(dir, opts.InMemory)
		if err != nil {
			return nil, err
		}
		model = m
	}
	scorer, err := scoring.NewScorer(model)
	if err != nil {
		return nil, fmt.Errorf("matcher: model: %w", err)
	}
	if !opts.InMemory {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("matcher: %w", err)
		}
	}
	st, err := store.OpenStore(filepath.Join(dir, "store"), store.StoreOptions{InMemory: opts.InMemory, Logger: opts.Logger, MemTableSize: opts.WriteBuffer, NoSync: opts.NoSync})
	if err != nil {
		return nil, fmt.Errorf("matcher: opening store: %w", err)
	}
	e := &Engine{opts: opts, store: st, metrics: newEngineMetrics()}
	if !opts.InMemory {
		e.dir = dir
	}
	if err := e.loadTable(context.Background(), scorer); err != nil {
		st.Close()
		return nil, err
	}
	idx, err := index.OpenIndex(filepath.Join(dir, "index"), index.IndexOptions{InMemory: opts.InMemory, Logger: opts.Logger, CandidateLimit: opts.CandidateLimit, Bulk: opts.BulkLoad})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("matcher: opening index: %w", err)
	}
	e.idx = idx
	var progress func(done, total int)
	if opts.Progress != nil {
		progress = func(done, total int) { opts.Progress("indexing", done, total) }
	}
	if err := idx.Sync(context.Background(), st, progress); err != nil {
		idx.Close()
		st.Close()
		return nil, fmt.Errorf("matcher: catching the index up with the store: %w", err)
	}
	if err := e.dropOpenReads(); err != nil {
		idx.Close()
		st.Close()
		return nil, err
	}
	e.indexQ = make(chan []index.Change, 8)
	e.writeIndex = idx.Write
	if opts.wrapIndexWrite != nil {
		e.writeIndex = opts.wrapIndexWrite(e.writeIndex)
	}
	e.indexed.Init(0)
	e.indexerG.Add(1)
	go e.indexer()
	return e, nil
}

// dropOpenReads reopens the store when Options.ReleaseOpenReads asks for
// it and opening read it: the table's scan (and an index rebuild's)
// touched every stored patient through badger's mapped files
// (store.Reopen). Nothing else uses the store yet: the indexer starts
// after, and Open has not returned.
func (e *Engine) dropOpenReads() error {
	if !e.opts.ReleaseOpenReads || (e.Len() == 0 && len(e.deleted) == 0) {
		return nil // nothing was read: a reopen would only cost time
	}
	return e.ReleaseStorePages(context.Background())
}

// ReleaseStorePages drops from the process's resident set the pages of the
// store's files that reads so far mapped in, by reopening the store
// (store.Reopen): for after a pass over much of the store, such as the
// identity service's replay of its log and its catch-up, whose pages no
// query needs again (at 1M patients the log alone is 280 MiB). Store reads
// and writes wait for it meanwhile: 40–70 ms at 1M on an idle machine.
// It gives up, changing nothing, when the store is never idle (an error
// wrapping store.ErrBusy) or ctx ends. A store that cannot be opened again
// (after a few tries) leaves the engine without one: the error, Ping and
// every operation from then on are ErrClosed, and the process should stop
// (serve does) so that it is restarted.
func (e *Engine) ReleaseStorePages(ctx context.Context) error {
	start := time.Now()
	if err := e.store.Reopen(ctx); err != nil {
		return fmt.Errorf("matcher: %w", FromStore(err))
	}
	e.opts.Logger.Info("store reopened to release the pages read so far", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// loadModel reads DIR/model.json, or returns the built-in model when absent.
func loadModel(dir string, inMemory bool) (*scoring.Model, error) {
	if inMemory {
		return scoring.DefaultModel(), nil
	}
	f, err := os.Open(filepath.Join(dir, "model.json"))
	if errors.Is(err, os.ErrNotExist) {
		return scoring.DefaultModel(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("matcher: %w", err)
	}
	defer f.Close()
	m, err := scoring.LoadModel(f)
	if err != nil {
		return nil, fmt.Errorf("matcher: %s: %w", f.Name(), err)
	}
	return m, nil
}

// loadTable prepares every live record of the store, with name frequencies
// taken from the stored data for the term-frequency adjustment. Records
// are prepared and packed as the store is read (the table's frequencies
// are written in once all names are counted), so opening holds one
// decoded record at a time, not a million.
func (e *Engine) loadTable(ctx context.Context, base *scoring.Scorer) error {
	e.deleted = map[string]uint64{}
	tf := scoring.NewTermFrequencies()
	t := newTable(0)
	carriers := scoring.NewIdentifierCarriers(t.unpackHash)
	var (
		p   scoring.Prepared
		buf []byte
	)
	err := e.store.ScanState(ctx, func(en store.Entry) error {
		if en.Deleted {
			e.deleted[en.ID] = en.VersionID
			return nil
		}
		scoring.PrepareIntoWithoutTF(&p, en.Record)
		tf.Add(&p)
		buf = t.put(en.Record.ID, &p, buf)
		carriers.Add(t.hash(en.Record.ID), &p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("matcher: reading the store: %w", err)
	}
	if e.opts.TermFrequencies != nil {
		tf = e.opts.TermFrequencies
	}
	e.scorer = base.WithTermFrequencies(tf)
	err = nil
	var q scoring.Prepared
	t.each(func(b []byte) {
		if err == nil {
			err = scoring.UnpackPrepared(&q, b)
			given, family := e.scorer.TermFrequenciesOf(&q)
			scoring.SetPackedTermFrequencies(b, given, family)
		}
	})
	if err != nil {
		return fmt.Errorf("matcher: preparing the table: %w", err)
	}
	e.mu.table, e.mu.carriers = t, carriers
	return nil
}

// Close stops the indexer, waits for the index batches in flight, then
// releases the index and the store. Every acknowledged write is in the
// store already; what the index has not taken in yet, the next Open
// replays from the store's changelog (WaitIndexed first for an index that
// is complete at Close). Matches and WaitIndexed calls waiting for the
// index get ErrClosed. It is safe to call more than once.
func (e *Engine) Close() error {
	// Holding writeMu, no write is between its commit and its hand-over to
	// the indexer, and none comes after.
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.Lock()
	if e.mu.closed {
		e.mu.Unlock()
		return nil
	}
	e.mu.closed = true
	e.mu.table, e.mu.carriers = nil, nil
	e.mu.Unlock()
	e.stopIndexing.Store(true)
	close(e.indexQ)
	// No index write runs once the indexer has returned: only then is the
	// index closed.
	e.indexerG.Wait()
	e.indexed.Stop()
	var errs []error
	if e.idx != nil {
		errs = append(errs, e.idx.Close())
	}
	errs = append(errs, e.store.Close())
	return errors.Join(errs...)
}

// Len is the number of live patients.
func (e *Engine) Len() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.mu.table == nil {
		return 0
	}
	return e.mu.table.len()
}

// KV returns a durable key-value namespace kept with the patients (OIDC
// identity links live there).
func (e *Engine) KV(namespace string) (*store.KV, error) { return e.store.KV(namespace) }

// Ping reports whether the engine is open (GET /readyz), its store
// included (see ReleaseStorePages).
func (e *Engine) Ping(context.Context) error {
	if e.isClosed() {
		return ErrClosed
	}
	if err := e.store.Ping(); err != nil {
		return fmt.Errorf("matcher: %w", FromStore(err))
	}
	return nil
}

// Scorer returns the scorer the engine uses (model plus the term
// frequencies of the stored data). Batch jobs share it.
func (e *Engine) Scorer() *scoring.Scorer {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.scorer
}

func (e *Engine) isClosed() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.mu.closed
}
