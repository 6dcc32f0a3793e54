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
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/index"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
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

	// minConcurrentBatch replaces the package's minConcurrentBatch when
	// set (tests make concurrent index batches out of small commits).
	minConcurrentBatch int
	// wrapIndexWrite, when set, wraps the indexer's batch writes (tests
	// control their timing).
	wrapIndexWrite func(indexWriteFunc) indexWriteFunc
}

// indexWriteFunc writes one batch of the indexer (index.Index.Write).
type indexWriteFunc func(ctx context.Context, changes []index.Change, checkpoint uint64) error

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
	opts  Options
	store *index.Store
	idx   *index.Index
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
	indexed    seqWatch
	indexerG   sync.WaitGroup
	scorer     *scoring.Scorer

	// writeMu serialises writes so that versions are assigned in order and
	// the store, the index and the table change together.
	writeMu sync.Mutex
	// deleted holds the ids of deleted patients (tombstones in the store),
	// guarded by writeMu. With the table's live ids it tells which writes
	// are of ids never stored, which the store need not look up first.
	deleted map[string]struct{}

	mu struct {
		sync.RWMutex
		closed bool
		// table holds the prepared form of every live patient, so scoring a
		// candidate never touches the disk.
		table map[string]*scoring.Prepared
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
	store, err := index.OpenStore(filepath.Join(dir, "store"), index.StoreOptions{InMemory: opts.InMemory, Logger: opts.Logger, Stamp: stampMeta, MemTableSize: opts.WriteBuffer})
	if err != nil {
		return nil, fmt.Errorf("matcher: opening store: %w", err)
	}
	e := &Engine{opts: opts, store: store}
	if err := e.loadTable(context.Background(), scorer); err != nil {
		store.Close()
		return nil, err
	}
	idx, err := index.OpenIndex(filepath.Join(dir, "index"), index.IndexOptions{InMemory: opts.InMemory, Logger: opts.Logger, CandidateLimit: opts.CandidateLimit})
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("matcher: opening index: %w", err)
	}
	e.idx = idx
	var progress func(done, total int)
	if opts.Progress != nil {
		progress = func(done, total int) { opts.Progress("indexing", done, total) }
	}
	if err := idx.Sync(context.Background(), store, progress); err != nil {
		idx.Close()
		store.Close()
		return nil, fmt.Errorf("matcher: catching the index up with the store: %w", err)
	}
	e.indexQ = make(chan []index.Change, 8)
	e.writeIndex = idx.Write
	if opts.wrapIndexWrite != nil {
		e.writeIndex = opts.wrapIndexWrite(e.writeIndex)
	}
	e.indexed.init()
	e.indexerG.Add(1)
	go e.indexer()
	return e, nil
}

// maxIndexBatch caps how many changes the indexer coalesces into one bleve
// batch.
const maxIndexBatch = 10000

// indexWorkers is how many bleve batches the indexer has in flight at once.
// bleve builds a batch's segment in the goroutine that hands it over, and
// with one batch at a time that goroutine was the critical path of a bulk
// load (busy 111 s of a 116 s load of 1M patients, while the writer waited
// 34 s to hand it work).
const indexWorkers = 2

// minConcurrentBatch is the least number of changes the indexer starts a
// batch with while another is in flight.
const minConcurrentBatch = maxIndexBatch / 2

// indexJob is one bleve batch of the indexer.
type indexJob struct {
	changes []index.Change
	ids     map[string]struct{}
	last    uint64 // sequence number of the last change
	err     error  // set by the batch's goroutine before it reports
	done    bool   // seen reported; only the indexer goroutine touches it
}

func (j *indexJob) overlaps(o *indexJob) bool {
	a, b := j.ids, o.ids
	if len(a) > len(b) {
		a, b = b, a
	}
	for id := range a {
		if _, ok := b[id]; ok {
			return true
		}
	}
	return false
}

// indexer applies committed changes to the index until indexQ is closed
// (by Close). Up to indexWorkers batches are written at once; a batch
// holding a patient of a batch still in flight waits for it, so each
// patient's changes reach the index in commit order. A change counts as
// indexed (Match waits for it; the checkpoint may record it) only once
// every change before it is in too.
func (e *Engine) indexer() {
	defer e.indexerG.Done()
	ctx := context.Background()
	reported := make(chan *indexJob, indexWorkers)
	var (
		inflight []*indexJob // dispatched and not retired, in commit order
		running  int         // inflight jobs not yet reported
		indexed  uint64      // every change up to it is in the index
		recorded uint64      // highest checkpoint handed to a batch
		broken   bool        // a batch failed: record no more checkpoints
	)
	finish := func(j *indexJob) {
		j.done = true
		running--
		if j.err != nil {
			// The store is right and the index lags; Sync on the next
			// Open replays the changelog from the last checkpoint, which
			// therefore must not move past this batch any more. Until
			// then these patients match only through candidates the index
			// still finds.
			e.opts.Logger.Error("index update failed; it catches up on restart", "err", j.err)
			broken = true
		}
		for len(inflight) > 0 && inflight[0].done {
			indexed = inflight[0].last
			inflight = inflight[1:]
		}
		e.indexed.advance(indexed)
	}
	waitOne := func() { finish(<-reported) }
	// dispatch starts a batch of changes once no batch in flight holds one
	// of its patients and a worker is free.
	dispatch := func(changes []index.Change) {
		job := &indexJob{changes: changes, ids: make(map[string]struct{}, len(changes)), last: changes[len(changes)-1].Seq}
		for _, c := range changes {
			job.ids[c.ID] = struct{}{}
		}
		for running > 0 && (running >= indexWorkers || job.waitsFor(inflight)) {
			waitOne()
		}
		var checkpoint uint64
		if !broken && indexed > recorded {
			checkpoint, recorded = indexed, indexed
		}
		inflight = append(inflight, job)
		running++
		go func() {
			job.err = e.writeIndex(ctx, job.changes, checkpoint)
			reported <- job
		}()
	}
	minConcurrent := minConcurrentBatch
	if e.opts.minConcurrentBatch > 0 {
		minConcurrent = e.opts.minConcurrentBatch
	}
	queue := e.indexQ
	var changes []index.Change // received, not yet dispatched
	for queue != nil || running > 0 || len(changes) > 0 {
		// Dispatch at once when the index is idle (a single write is
		// matchable soonest), but start a second batch only once it is
		// large: small concurrent batches would make many small segments,
		// which cost bleve more to merge and every query more to search.
		if len(changes) > 0 && (running == 0 || queue == nil || len(changes) >= minConcurrent) {
			dispatch(changes)
			changes = nil
			continue
		}
		if queue == nil {
			waitOne()
			continue
		}
		select {
		case c, ok := <-queue:
			if !ok {
				queue = nil
				continue
			}
			changes = append(changes, c...)
		case j := <-reported:
			finish(j)
			continue
		}
		// Take whatever else is already queued into the same bleve batch:
		// fewer, larger segments are much cheaper to build and merge.
	coalesce:
		for len(changes) < maxIndexBatch {
			select {
			case more, ok := <-queue:
				if !ok {
					queue = nil
					break coalesce
				}
				changes = append(changes, more...)
			default:
				break coalesce
			}
		}
	}
	if !broken && indexed > recorded {
		if err := e.idx.SetCheckpoint(indexed); err != nil {
			e.opts.Logger.Error("recording the index checkpoint failed; the index catches up on restart", "err", err)
		}
	}
}

// waitsFor reports whether j holds a patient of an unfinished job.
func (j *indexJob) waitsFor(inflight []*indexJob) bool {
	for _, o := range inflight {
		if !o.done && j.overlaps(o) {
			return true
		}
	}
	return false
}

// WaitIndexed blocks until every write acknowledged so far is in the
// candidate index (bulk loads call it before reporting their time).
func (e *Engine) WaitIndexed(ctx context.Context) error {
	return e.indexed.wait(ctx, e.queued.Load())
}

// seqWatch is a sequence number that goroutines can wait on.
type seqWatch struct {
	mu      sync.Mutex
	seq     uint64
	changed chan struct{} // closed and replaced at every advance
}

func (w *seqWatch) init() { w.changed = make(chan struct{}) }

func (w *seqWatch) advance(seq uint64) {
	w.mu.Lock()
	w.seq = seq
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
}

// wait returns once the sequence number reaches target, or ctx is done.
func (w *seqWatch) wait(ctx context.Context, target uint64) error {
	for {
		w.mu.Lock()
		seq, ch := w.seq, w.changed
		w.mu.Unlock()
		if seq >= target {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
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
// taken from the stored data for the term-frequency adjustment.
func (e *Engine) loadTable(ctx context.Context, base *scoring.Scorer) error {
	var recs []record.Record
	e.deleted = map[string]struct{}{}
	err := e.store.ScanState(ctx, func(en index.Entry) error {
		if en.Deleted {
			e.deleted[en.ID] = struct{}{}
			return nil
		}
		recs = append(recs, en.Record)
		return nil
	})
	if err != nil {
		return fmt.Errorf("matcher: reading the store: %w", err)
	}
	tf := scoring.NewTermFrequencies()
	prepared := make([]scoring.Prepared, len(recs))
	for i := range recs {
		scoring.PrepareInto(&prepared[i], recs[i])
		tf.Add(&prepared[i])
	}
	e.scorer = base.WithTermFrequencies(tf)
	table := make(map[string]*scoring.Prepared, len(recs))
	for i := range prepared {
		e.scorer.PrepareInto(&prepared[i], recs[i])
		table[recs[i].ID] = &prepared[i]
	}
	e.mu.table = table
	return nil
}

// Close finishes indexing what was written, then releases the store and
// the index. It is safe to call more than once.
func (e *Engine) Close() error {
	// Holding writeMu, no write is between its commit and its hand-over to
	// the indexer, so closing indexQ loses nothing.
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.Lock()
	if e.mu.closed {
		e.mu.Unlock()
		return nil
	}
	e.mu.closed = true
	e.mu.table = nil
	e.mu.Unlock()
	close(e.indexQ)
	e.indexerG.Wait()
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
	return len(e.mu.table)
}

// KV returns a durable key-value namespace kept with the patients (OIDC
// identity links live there).
func (e *Engine) KV(namespace string) (*index.KV, error) { return e.store.KV(namespace) }

// Ping reports whether the engine is open (GET /readyz).
func (e *Engine) Ping(context.Context) error {
	if e.isClosed() {
		return ErrClosed
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

// ValidatePatient checks that p can be stored: it needs an id that FHIR
// accepts (1–64 of A–Z a–z 0–9 - .).
func ValidatePatient(p *fm.Patient) error {
	if p == nil {
		return fmt.Errorf("%w: no patient", ErrInvalid)
	}
	if p.Id == nil || *p.Id == "" {
		return fmt.Errorf("%w: patient has no id", ErrInvalid)
	}
	if !validID(*p.Id) {
		return fmt.Errorf("%w: id %q is not a FHIR id (1-64 of A-Z a-z 0-9 - .)", ErrInvalid, *p.Id)
	}
	return nil
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Upsert stores p (create or update by id). Storing a patient identical to
// the stored one (apart from meta) changes nothing and keeps its version.
// The write is acknowledged only after the store has committed it.
func (e *Engine) Upsert(ctx context.Context, p *fm.Patient) (StoredPatient, bool, error) {
	res, err := e.UpsertBatch(ctx, []*fm.Patient{p})
	if err != nil {
		return StoredPatient{}, false, err
	}
	return res[0], res[0].Outcome == Created, nil
}

// UpsertBatch stores every patient of ps, all or nothing, in one commit.
func (e *Engine) UpsertBatch(ctx context.Context, ps []*fm.Patient) ([]StoredPatient, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(ps))
	for i, p := range ps {
		if err := ValidatePatient(p); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		if seen[*p.Id] {
			return nil, fmt.Errorf("%w: entry %d: id %q appears twice in one batch", ErrInvalid, i, *p.Id)
		}
		seen[*p.Id] = true
	}
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if e.isClosed() {
		return nil, ErrClosed
	}
	// Holding writeMu, the table holds exactly the store's live patients
	// (every write updates both before releasing it), so a patient missing
	// from it is new: no need to read the store for it. In a bulk load of
	// new patients these lookups cost as much as the store's own.
	e.mu.RLock()
	live := make([]bool, len(ps))
	for i, p := range ps {
		_, live[i] = e.mu.table[*p.Id]
	}
	e.mu.RUnlock()
	out := make([]StoredPatient, len(ps))
	entries := make([]index.Entry, 0, len(ps))
	slot := make([]int, 0, len(ps)) // out index of each entry
	for i, p := range ps {
		if live[i] {
			prev, err := e.store.Get(ctx, *p.Id)
			if err != nil && !errors.Is(err, index.ErrNotFound) {
				return nil, fmt.Errorf("matcher: %w", err)
			}
			if err == nil && sameContent(prev.Resource, p) {
				out[i] = storedOf(prev, Unchanged)
				continue
			}
		}
		doc, err := marshalForStore(p)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d: %v", ErrInvalid, i, err)
		}
		_, wasDeleted := e.deleted[*p.Id]
		entries = append(entries, index.Entry{ID: *p.Id, Resource: doc, Record: record.FromFHIR(p), KnownNew: !live[i] && !wasDeleted})
		slot = append(slot, i)
	}
	if len(entries) == 0 {
		return out, nil
	}
	vs, err := e.store.Put(ctx, entries)
	if err != nil {
		return nil, fmt.Errorf("matcher: %w", err)
	}
	// The store has committed: from here on the write is durable. The index
	// and the table follow; should the process die in between, Open catches
	// the index up from the store's changelog.
	changes := make([]index.Change, len(entries))
	for k, v := range vs {
		delete(e.deleted, v.ID)
		i := slot[k]
		outcome := Updated
		if v.Created {
			outcome = Created
		}
		out[i] = StoredPatient{ID: v.ID, Resource: v.Resource, VersionID: v.VersionID, LastUpdated: v.LastUpdated, Outcome: outcome}
		changes[k] = index.Change{Seq: v.Seq, ID: v.ID, Record: &entries[k].Record}
	}
	e.apply(changes)
	return out, nil
}

// keysPerRecord is a generous estimate of a record's blocking keys, to
// size the keys buffer of a batch.
const keysPerRecord = 16

// apply brings the table and the index in line with committed changes.
// It sets each written change's Keys from the record it has just prepared
// for the table, so the indexer does not prepare every record again.
func (e *Engine) apply(changes []index.Change) {
	prepared := make([]scoring.Prepared, len(changes))
	// One backing array for the keys of the whole batch (grown if the
	// estimate falls short); each change gets a full slice expression of
	// its part, never nil even when empty, so that the index does not
	// recompute the keys of a record that has none.
	keys := make([]string, 0, keysPerRecord*len(changes))
	// Preparing needs no lock (the caller holds writeMu, and the scorer is
	// fixed after Open), so matches are held up only by the table update.
	for i := range changes {
		c := &changes[i]
		if c.Record == nil {
			continue
		}
		p := &prepared[i]
		e.scorer.PrepareInto(p, *c.Record)
		start := len(keys)
		keys = index.Keys(p, keys)
		c.Keys = keys[start:len(keys):len(keys)]
	}
	e.mu.Lock()
	for i, c := range changes {
		if c.Record == nil {
			delete(e.mu.table, c.ID)
			continue
		}
		e.mu.table[c.ID] = &prepared[i]
	}
	e.mu.Unlock()
	if len(changes) == 0 {
		return
	}
	e.queued.Store(changes[len(changes)-1].Seq)
	e.indexQ <- changes
}

// Delete removes the patient with id: it stops matching at once. Deleting an
// absent patient is ErrNotFound.
func (e *Engine) Delete(ctx context.Context, id string) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if e.isClosed() {
		return ErrClosed
	}
	v, err := e.store.Delete(ctx, id)
	if err != nil {
		if errors.Is(err, index.ErrNotFound) {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return fmt.Errorf("matcher: %w", err)
	}
	e.deleted[id] = struct{}{}
	e.apply([]index.Change{{Seq: v.Seq, ID: id}})
	return nil
}

// Get returns the live patient with id, or ErrNotFound.
func (e *Engine) Get(ctx context.Context, id string) (StoredPatient, error) {
	if e.isClosed() {
		return StoredPatient{}, ErrClosed
	}
	en, err := e.store.Get(ctx, id)
	if errors.Is(err, index.ErrNotFound) {
		return StoredPatient{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return StoredPatient{}, fmt.Errorf("matcher: %w", err)
	}
	return storedOf(en, 0), nil
}

func (e *Engine) isClosed() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.mu.closed
}

func storedOf(en index.Entry, o Outcome) StoredPatient {
	return StoredPatient{ID: en.ID, Resource: en.Resource, VersionID: en.VersionID, LastUpdated: en.LastUpdated, Outcome: o}
}

// The resource JSON is marshalled once, with placeholders for the version
// and the time, which the store fills in inside its write transaction
// (stampMeta) once it has assigned them: a byte replacement instead of a
// second decode and encode. The placeholders cannot occur elsewhere in the
// JSON before meta: the only field before it is the id, which is limited to
// [A-Za-z0-9.-].
const (
	versionPlaceholder = "@@pm-version@@"
	updatedPlaceholder = "@@pm-updated@@"
)

// stampMeta fills in meta.versionId and meta.lastUpdated of a resource
// marshalled by marshalForStore, with the version the store assigned.
func stampMeta(resource json.RawMessage, v index.Version) (json.RawMessage, error) {
	i := bytes.Index(resource, []byte(versionPlaceholder))
	j := bytes.Index(resource, []byte(updatedPlaceholder))
	if i < 0 || j < i {
		return nil, errors.New("matcher: resource has no meta placeholders to stamp")
	}
	out := make([]byte, 0, len(resource)+32)
	out = append(out, resource[:i]...)
	out = strconv.AppendUint(out, v.VersionID, 10)
	out = append(out, resource[i+len(versionPlaceholder):j]...)
	out = v.LastUpdated.UTC().AppendFormat(out, time.RFC3339Nano)
	out = append(out, resource[j+len(updatedPlaceholder):]...)
	return out, nil
}

// marshalForStore marshals p with meta.versionId and meta.lastUpdated set to
// the placeholders stampMeta replaces.
func marshalForStore(p *fm.Patient) (json.RawMessage, error) {
	return withMeta(p, versionPlaceholder, updatedPlaceholder)
}

// withMeta returns p's JSON with meta.versionId and meta.lastUpdated set.
func withMeta(p *fm.Patient, version, lastUpdated string) (json.RawMessage, error) {
	q := *p
	var meta fm.Meta
	if p.Meta != nil {
		meta = *p.Meta
	}
	meta.VersionId, meta.LastUpdated = &version, &lastUpdated
	q.Meta = &meta
	// Patient's own MarshalJSON, not json.Marshal(q): json.Marshal would
	// call it and then validate and copy (compact) its output once more,
	// which cost more than the marshalling itself. The bytes are the same
	// (TestMarshalForStoreBytes).
	return q.MarshalJSON()
}

// sameContent reports whether stored JSON and p are the same patient apart
// from meta.versionId and meta.lastUpdated.
func sameContent(stored json.RawMessage, p *fm.Patient) bool {
	var old fm.Patient
	if err := json.Unmarshal(stored, &old); err != nil {
		return false
	}
	a, err1 := withMeta(&old, "", "")
	b, err2 := withMeta(p, "", "")
	return err1 == nil && err2 == nil && bytes.Equal(a, b)
}

// Match finds the stored patients that q could be, most likely first.
func (e *Engine) Match(ctx context.Context, q record.Record, opts MatchOptions) ([]Match, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if isEmptyQuery(q) {
		return nil, fmt.Errorf("%w: nothing to match on (no name, birth date, contact or identifier)", ErrInvalid)
	}
	e.mu.RLock()
	if e.mu.closed {
		e.mu.RUnlock()
		return nil, ErrClosed
	}
	scorer := e.scorer
	e.mu.RUnlock()

	qp := scorer.Prepare(q)
	keys := index.Keys(qp, nil)
	if len(keys) == 0 {
		return nil, nil
	}
	// Read your writes: every change acknowledged before this query must be
	// in the index first (a no-op unless a bulk load is running).
	if err := e.WaitIndexed(ctx); err != nil {
		return nil, err
	}
	ids, err := e.idx.Candidates(ctx, keys, e.opts.CandidateLimit)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("matcher: candidates: %w", err)
	}
	minGrade := max(opts.MinGrade, scoring.GradePossible)
	type scored struct {
		id  string
		p   *scoring.Prepared
		res scoring.Result
	}
	hits := make([]scored, 0, 16)
	e.mu.RLock()
	for _, id := range ids {
		p := e.mu.table[id]
		if p == nil {
			continue // deleted since the index was read
		}
		res := scorer.Score(qp, p)
		if res.Grade >= minGrade {
			hits = append(hits, scored{id, p, res})
		}
	}
	e.mu.RUnlock()
	slices.SortFunc(hits, func(a, b scored) int {
		if c := cmp.Compare(b.res.Weight, a.res.Weight); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	if opts.OnlyCertain {
		n := 0
		for _, h := range hits {
			if h.res.Grade == scoring.GradeCertain {
				n++
			}
		}
		if n != 1 {
			// None, or more than one person could be meant (ITI-119).
			return nil, nil
		}
		hits = hits[:1]
	}
	count := opts.Count
	if count <= 0 {
		count = 10
	}
	if len(hits) > count {
		hits = hits[:count]
	}
	out := make([]Match, 0, len(hits))
	for _, h := range hits {
		en, err := e.store.Get(ctx, h.id)
		if errors.Is(err, index.ErrNotFound) {
			continue // deleted while we scored
		}
		if err != nil {
			return nil, fmt.Errorf("matcher: %w", err)
		}
		m := Match{ID: h.id, Resource: en.Resource, Probability: h.res.Probability, Weight: h.res.Weight, Grade: h.res.Grade}
		if opts.Explain {
			m.Explanation = scorer.Explain(qp, h.p)
		}
		out = append(out, m)
	}
	return out, nil
}

// isEmptyQuery reports whether q has nothing a comparison could use.
func isEmptyQuery(q record.Record) bool {
	return q.Family == "" && q.Given == "" && q.BirthDate.IsZero() && q.Phone == "" &&
		q.Email == "" && len(q.Identifiers) == 0 && q.Address.IsZero()
}
