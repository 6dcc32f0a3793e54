package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/patientmatch/patientmatch/record"
)

// Key layout in badger. One byte of namespace, then:
//
//	p<id>                      patient value (see encodePatient)
//	s<seq: 8 bytes big-endian> changelog: flags byte + id
//	k<namespace>\x00<key>      KV namespaces of other packages
//	h<id>\x00<version: 8 bytes> a superseded version, as p<id> held it (see history.go)
//
// Big-endian sequence numbers sort numerically, so the changelog is read
// in order by a plain prefix iteration.
const (
	prefixPatient = 'p'
	prefixSeq     = 's'
	prefixKV      = 'k'
	prefixHistory = 'h'
)

// MaxIDLen bounds patient ids (FHIR allows 64 characters; some sources
// use longer ones, but a key of kilobytes is a mistake).
const MaxIDLen = 1024

// StoreOptions configure OpenStore. The zero value is valid.
type StoreOptions struct {
	// InMemory keeps everything in memory and ignores dir (tests).
	// Default false.
	InMemory bool
	// Logger receives badger's warnings and errors (its info chatter is
	// dropped). Default: discarded.
	Logger *slog.Logger
	// MemTableSize is badger's memtable size in bytes; it also bounds the
	// size of one transaction (about 15% of it). Default 64 MiB on disk,
	// 16 MiB in memory.
	MemTableSize int64
	// Now is the clock stamping LastUpdated when the writer gives none.
	// Default time.Now.
	Now func() time.Time

	// NoSync turns off fsync on commit, for a store whose writes can be
	// replayed from elsewhere: a cluster shard, fed from the replicated
	// stream, which records how far it has applied in a later commit. A
	// process crash loses nothing (the OS holds the writes); a machine
	// crash may lose the last commits, but only as a suffix (badger
	// replays its log up to the first damaged entry), so the shard's
	// record of how far it applied never runs ahead of its data. Default
	// false.
	NoSync bool

	// noSync turns off fsync on commit; only benchmarks measuring the
	// cost of durability set it.
	noSync bool
	// valueLogFileSize, when set, replaces badger's 1 GiB value log file
	// size (tests copying an open store's files keep them small).
	valueLogFileSize int64
}

// Validate reports every problem with o at once.
func (o StoreOptions) Validate() error {
	var errs []error
	if o.MemTableSize < 0 || (o.MemTableSize > 0 && o.MemTableSize < 1<<20) {
		errs = append(errs, fmt.Errorf("%w: MemTableSize must be 0 or >= 1 MiB, got %d", ErrInvalid, o.MemTableSize))
	}
	return errors.Join(errs...)
}

func (o *StoreOptions) ensureDefaults() {
	if o.MemTableSize == 0 {
		o.MemTableSize = 64 << 20
		if o.InMemory {
			o.MemTableSize = 16 << 20
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Entry is one patient as stored.
type Entry struct {
	ID string
	// Resource is the FHIR Patient JSON.
	Resource json.RawMessage
	// Record is the normalized record; its ID equals ID.
	Record record.Record
	// VersionID is 1 on create and grows by one with every update and
	// delete; a re-created patient continues the count. The store assigns
	// it. A writer that has already put it in Resource (meta.versionId)
	// sets it for Put to check: Put fails with ErrVersionConflict, writing
	// nothing, unless it is the version the store assigns. Zero: no check.
	VersionID uint64
	// LastUpdated is the time of the last write. A writer that has put it
	// in Resource (meta.lastUpdated) sets it for Put to store; zero: the
	// store's clock.
	LastUpdated time.Time
	// Deleted is true for a tombstone: only ScanState passes tombstones
	// (with the id alone), never Get or ScanRecords.
	Deleted bool
	// KnownNew is a hint for Put: the caller knows that no
	// version of the id was ever stored, live or deleted, and that it does
	// not occur earlier in the same call. The store then skips reading the
	// previous version, a lookup that costs as much as the write itself in
	// a bulk load of new patients. A wrong hint restarts the id's version
	// count at 1; the engine sets it from its in-memory view of the store
	// (live ids and tombstones, see ScanState), exact under its write lock.
	KnownNew bool
}

// Version is what a write did.
type Version struct {
	ID          string
	VersionID   uint64
	LastUpdated time.Time
	// Seq is the changelog sequence number of the write.
	Seq uint64
	// Created is true when no live patient had the id before.
	Created bool
}

// Store is the badger-backed source of truth. It is safe for concurrent
// use. Writes are serialised (one writer at a time) so that changelog
// sequence numbers are committed in order: a reader that has seen
// sequence n has seen every write before it.
type Store struct {
	// db is replaced by Reopen, under closing held exclusively.
	db   *badger.DB
	opts StoreOptions

	lastSeq atomic.Uint64

	// writeMu serialises writes (see Store).
	writeMu sync.Mutex
	// closing is held shared by every operation using db and exclusively
	// by Close and Reopen, so db is never closed under a running operation.
	closing sync.RWMutex
	closed  atomic.Bool

	// held, while Reopen holds new operations back (lockIdle), is a
	// channel they wait on until it is closed.
	held atomic.Pointer[chan struct{}]
	// reopening serialises Reopen calls (held is one Reopen's at a time):
	// a one-slot semaphore, so that a Reopen waiting for another can give
	// up when its context ends.
	reopening chan struct{}
	// reopen paces Reopen (defaults: defaultReopenTiming; tests shorten
	// it), and open opens db again for Reopen (tests make it fail).
	reopen reopenTiming
	open   func() (*badger.DB, error)
}

// OpenStore opens (creating if needed) the store in dir.
func OpenStore(dir string, opts StoreOptions) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.ensureDefaults()
	db, err := openBadger(dir, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, opts: opts, reopen: defaultReopenTiming, reopening: make(chan struct{}, 1)}
	s.open = func() (*badger.DB, error) { return openBadger(dir, opts) }
	last, err := s.readLastSeq()
	if err != nil {
		db.Close()
		return nil, err
	}
	s.lastSeq.Store(last)
	return s, nil
}

// openBadger opens the badger database of a store in dir, with larger
// memtables than opts asks for when a log left in dir needs them to be
// replayed (replayableMemTable): only that open; a Reopen, after Close
// flushed the log, is back to opts.MemTableSize.
func openBadger(dir string, opts StoreOptions) (*badger.DB, error) {
	if !opts.InMemory {
		mt, err := replayableMemTable(dir, opts.MemTableSize)
		if err != nil {
			return nil, err
		}
		if mt != opts.MemTableSize {
			opts.Logger.Info("store: a previous run wrote with larger memtables; using their size to replay its log", "dir", dir, "bytes", mt)
			opts.MemTableSize = mt
		}
	}
	db, err := badger.Open(badgerOptions(dir, opts))
	if err != nil {
		return nil, fmt.Errorf("store: open store %s: %w", dir, err)
	}
	return db, nil
}

// badgerOptions are the badger options of a store in dir.
func badgerOptions(dir string, opts StoreOptions) badger.Options {
	bo := badger.DefaultOptions(dir).
		WithInMemory(opts.InMemory).
		WithSyncWrites(!opts.noSync && !opts.NoSync && !opts.InMemory).
		WithLogger(badgerLogger{opts.Logger}).
		WithMemTableSize(opts.MemTableSize).
		// Two memtables, not badger's five: a server holding a million
		// patients should not keep 320 MiB of write buffers resident.
		WithNumMemtables(2).
		WithBlockCacheSize(64 << 20).
		WithIndexCacheSize(32 << 20).
		WithNumVersionsToKeep(1).
		// Patients (a few KB) stay in the LSM tree, next to their keys,
		// which makes a scan a sequential read; rare huge resources go to
		// the value log.
		WithValueThreshold(64 << 10).
		WithMetricsEnabled(false)
	if opts.valueLogFileSize > 0 {
		bo = bo.WithValueLogFileSize(opts.valueLogFileSize)
	}
	if opts.InMemory {
		bo.Dir, bo.ValueDir = "", ""
		bo = bo.WithBlockCacheSize(8 << 20).WithIndexCacheSize(0).WithNumMemtables(2)
	}
	return bo
}

// replayableMemTable returns the memtable size to open dir with: want,
// or more when a write-ahead log file left in dir (a bulk load that died
// before flushing) was written with larger memtables. Badger replays such
// a log into one memtable and fails when it does not fit, so the store
// would not open; a log file is created at twice its memtable's size.
func replayableMemTable(dir string, want int64) (int64, error) {
	logs, err := filepath.Glob(filepath.Join(dir, "*.mem"))
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	for _, l := range logs {
		fi, err := os.Stat(l)
		if err != nil {
			return 0, fmt.Errorf("store: %w", err)
		}
		want = max(want, fi.Size()/2)
	}
	return want, nil
}

// readLastSeq finds the highest changelog sequence number.
func (s *Store) readLastSeq() (uint64, error) {
	var last uint64
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte{prefixSeq}})
		defer it.Close()
		it.Seek([]byte{prefixSeq, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		if it.Valid() {
			k := it.Item().Key()
			if len(k) != 9 {
				return fmt.Errorf("store: corrupt changelog key %x", k)
			}
			last = binary.BigEndian.Uint64(k[1:])
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: read changelog: %w", err)
	}
	return last, nil
}

// Close closes the store. It is idempotent; later calls return nil.
func (s *Store) Close() error {
	s.closing.Lock()
	defer s.closing.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close store: %w", err)
	}
	return nil
}

// Ping reports whether the store is open: ErrClosed after Close, or after
// a Reopen that could not open it again.
func (s *Store) Ping() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

// enter takes closing shared for an operation, after waiting while
// Reopen holds new operations back (see lockIdle).
func (s *Store) enter() {
	if h := s.held.Load(); h != nil {
		<-*h
	}
	s.closing.RLock()
}

// read runs fn in a read transaction unless the store is closed.
func (s *Store) read(fn func(txn *badger.Txn) error) error {
	s.enter()
	defer s.closing.RUnlock()
	if s.closed.Load() {
		return ErrClosed
	}
	return s.db.View(fn)
}

// write runs fn holding the write lock unless the store is closed.
func (s *Store) write(fn func() error) error {
	s.enter()
	defer s.closing.RUnlock()
	if s.closed.Load() {
		return ErrClosed
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return fn()
}

// LastSeq returns the sequence number of the last committed write (0 for
// an empty store).
func (s *Store) LastSeq() uint64 { return s.lastSeq.Load() }

// Put writes the entries in one transaction: all are committed (and
// synced to disk) or none. An entry's ID, Resource and Record are stored
// as given; its version is assigned (and checked against VersionID when
// that is set), its time is LastUpdated or the store's clock (see Entry).
// The store never rewrites a resource: a writer that wants meta.versionId
// and meta.lastUpdated in it computes them first (the engine does, under
// its write lock) and states them in the Entry. An id may occur more than
// once; later entries win and each gets its own version. A batch too large
// for one transaction fails with ErrBatchTooBig.
func (s *Store) Put(ctx context.Context, entries []Entry) ([]Version, error) {
	for i := range entries {
		if err := checkEntry(&entries[i]); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var vs []Version
	err := s.write(func() (err error) {
		vs, err = s.putLocked(entries)
		return err
	})
	if errors.Is(err, badger.ErrTxnTooBig) {
		return nil, fmt.Errorf("%w: %d entries", ErrBatchTooBig, len(entries))
	}
	return vs, err
}

func checkEntry(e *Entry) error {
	switch {
	case e.ID == "":
		return fmt.Errorf("%w: entry without id", ErrInvalid)
	case len(e.ID) > MaxIDLen:
		return fmt.Errorf("%w: id longer than %d bytes", ErrInvalid, MaxIDLen)
	case e.Record.ID != "" && e.Record.ID != e.ID:
		return fmt.Errorf("%w: record id %q differs from entry id %q", ErrInvalid, e.Record.ID, e.ID)
	}
	return nil
}

// putLocked writes entries in one transaction; s.writeMu is held.
func (s *Store) putLocked(entries []Entry) ([]Version, error) {
	now := s.opts.Now().UTC()
	seq := s.lastSeq.Load()
	vs := make([]Version, 0, len(entries))
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	for i := range entries {
		e := &entries[i]
		var (
			prev   patientMeta
			exists bool
			err    error
		)
		if !e.KnownNew {
			if prev, exists, err = getMeta(txn, e.ID); err != nil {
				return nil, err
			}
		}
		if exists {
			if err := keepVersion(txn, e.ID, prev.version); err != nil {
				return nil, err
			}
		}
		seq++
		v := Version{ID: e.ID, VersionID: prev.version + 1, LastUpdated: now, Seq: seq, Created: !exists || prev.deleted}
		if e.VersionID != 0 && e.VersionID != v.VersionID {
			return nil, fmt.Errorf("%w: %q would be version %d, the writer stamped %d", ErrVersionConflict, e.ID, v.VersionID, e.VersionID)
		}
		if !e.LastUpdated.IsZero() {
			v.LastUpdated = e.LastUpdated.UTC()
		}
		rec := e.Record
		rec.ID = e.ID
		// badger keeps the value slice until commit: a fresh one each time.
		val := encodePatient(nil, patientMeta{version: v.VersionID, updated: v.LastUpdated, seq: seq}, &rec, e.Resource)
		if err := txn.Set(patientKey(e.ID), val); err != nil {
			return nil, err
		}
		if err := txn.Set(seqKey(seq), changeValue(e.ID, false)); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	if err := txn.Commit(); err != nil {
		if errors.Is(err, badger.ErrTxnTooBig) {
			return nil, err
		}
		return nil, fmt.Errorf("store: commit: %w", err)
	}
	s.lastSeq.Store(seq)
	return vs, nil
}

// Delete marks the patient deleted: a tombstone keeps its version so a
// later re-create continues the count. Deleting an absent or deleted
// patient fails with ErrNotFound.
func (s *Store) Delete(ctx context.Context, id string) (Version, error) {
	if err := ctx.Err(); err != nil {
		return Version{}, err
	}
	var v Version
	err := s.write(func() (err error) {
		v, err = s.deleteLocked(id)
		return err
	})
	return v, err
}

func (s *Store) deleteLocked(id string) (Version, error) {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	prev, exists, err := getMeta(txn, id)
	if err != nil {
		return Version{}, err
	}
	if !exists || prev.deleted {
		return Version{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err := keepVersion(txn, id, prev.version); err != nil {
		return Version{}, err
	}
	now := s.opts.Now().UTC()
	seq := s.lastSeq.Load() + 1
	m := patientMeta{version: prev.version + 1, updated: now, seq: seq, deleted: true}
	if err := txn.Set(patientKey(id), encodePatient(nil, m, nil, nil)); err != nil {
		return Version{}, err
	}
	if err := txn.Set(seqKey(seq), changeValue(id, true)); err != nil {
		return Version{}, err
	}
	if err := txn.Commit(); err != nil {
		return Version{}, fmt.Errorf("store: commit: %w", err)
	}
	s.lastSeq.Store(seq)
	return Version{ID: id, VersionID: m.version, LastUpdated: now, Seq: seq}, nil
}

// Get returns the live patient with the id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	var e Entry
	err := s.read(func(txn *badger.Txn) error {
		item, err := txn.Get(patientKey(id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: %q", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			var err error
			e, err = decodePatient(id, v, true)
			return err
		})
	})
	if err != nil {
		return Entry{}, err
	}
	if e.Deleted {
		return Entry{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return e, nil
}

// Scan is ScanRecords with each patient's FHIR resource: what exporting
// the store (patientmatch export) needs.
func (s *Store) Scan(ctx context.Context, fn func(Entry) error) error {
	return s.scan(ctx, true, false, fn)
}

// ScanRecords calls fn with every live patient without its FHIR resource
// (Resource is nil), in id order, stopping at the first error fn returns
// (which ScanRecords returns): what rebuilding the candidate index needs,
// at less than half the copying. The Entry's memory is fn's to keep.
func (s *Store) ScanRecords(ctx context.Context, fn func(Entry) error) error {
	return s.scan(ctx, false, false, fn)
}

// ScanState is ScanRecords that also calls fn for every deleted patient
// (Entry.Deleted set, only ID and version filled in): the engine learns at
// start which ids are taken, so its writes of new patients can be marked
// KnownNew.
func (s *Store) ScanState(ctx context.Context, fn func(Entry) error) error {
	return s.scan(ctx, false, true, fn)
}

func (s *Store) scan(ctx context.Context, withResource, withDeleted bool, fn func(Entry) error) error {
	return s.read(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte{prefixPatient}
		opts.PrefetchSize = 256
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			id := string(item.Key()[1:])
			var e Entry
			err := item.Value(func(v []byte) error {
				var err error
				e, err = decodePatient(id, v, withResource)
				return err
			})
			if err != nil {
				return err
			}
			if e.Deleted && !withDeleted {
				continue
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// Changes calls fn for every write with a sequence number above afterSeq,
// in order: the patient id and whether the write deleted it. Only the
// last write of a patient shows its current state; callers re-read the
// patient (Get) to apply a change.
func (s *Store) Changes(ctx context.Context, afterSeq uint64, fn func(seq uint64, id string, deleted bool) error) error {
	return s.read(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte{prefixSeq}
		opts.PrefetchSize = 1024
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(seqKey(afterSeq + 1)); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			k := item.Key()
			if len(k) != 9 {
				return fmt.Errorf("store: corrupt changelog key %x", k)
			}
			seq := binary.BigEndian.Uint64(k[1:])
			var id string
			var deleted bool
			err := item.Value(func(v []byte) error {
				if len(v) < 1 {
					return fmt.Errorf("store: corrupt changelog entry %d", seq)
				}
				deleted = v[0]&flagDeleted != 0
				id = string(v[1:])
				return nil
			})
			if err != nil {
				return err
			}
			if err := fn(seq, id, deleted); err != nil {
				return err
			}
		}
		return nil
	})
}

// patientMeta is the fixed part of a stored patient.
type patientMeta struct {
	version uint64
	updated time.Time
	seq     uint64
	deleted bool
}

const (
	patientFormat = 1
	flagDeleted   = 1
)

func patientKey(id string) []byte {
	k := make([]byte, 1+len(id))
	k[0] = prefixPatient
	copy(k[1:], id)
	return k
}

func seqKey(seq uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixSeq
	binary.BigEndian.PutUint64(k[1:], seq)
	return k
}

func changeValue(id string, deleted bool) []byte {
	v := make([]byte, 1+len(id))
	if deleted {
		v[0] = flagDeleted
	}
	copy(v[1:], id)
	return v
}

// encodePatient lays out a patient value: format, flags, version, time,
// seq, record (length-prefixed), then the resource to the end.
func encodePatient(b []byte, m patientMeta, r *record.Record, resource []byte) []byte {
	b = append(b, patientFormat)
	var flags byte
	if m.deleted {
		flags |= flagDeleted
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, m.version)
	b = binary.AppendVarint(b, m.updated.UnixNano())
	b = binary.AppendUvarint(b, m.seq)
	if r == nil {
		return binary.AppendUvarint(b, 0)
	}
	rec := appendRecord(make([]byte, 0, 256), r)
	b = binary.AppendUvarint(b, uint64(len(rec)))
	b = append(b, rec...)
	return append(b, resource...)
}

// readMeta decodes the fixed part of a patient value and returns the rest.
func readMeta(v []byte) (patientMeta, []byte, error) {
	var m patientMeta
	if len(v) < 2 || v[0] != patientFormat {
		return m, nil, fmt.Errorf("%w: unknown patient format", errCorrupt)
	}
	m.deleted = v[1]&flagDeleted != 0
	v = v[2:]
	var n int
	if m.version, n = binary.Uvarint(v); n <= 0 {
		return m, nil, fmt.Errorf("%w: version", errCorrupt)
	}
	v = v[n:]
	ns, n := binary.Varint(v)
	if n <= 0 {
		return m, nil, fmt.Errorf("%w: time", errCorrupt)
	}
	m.updated = time.Unix(0, ns).UTC()
	v = v[n:]
	if m.seq, n = binary.Uvarint(v); n <= 0 {
		return m, nil, fmt.Errorf("%w: seq", errCorrupt)
	}
	return m, v[n:], nil
}

func decodePatient(id string, v []byte, withResource bool) (Entry, error) {
	m, rest, err := readMeta(v)
	if err != nil {
		return Entry{}, fmt.Errorf("patient %q: %w", id, err)
	}
	e := Entry{ID: id, VersionID: m.version, LastUpdated: m.updated, Deleted: m.deleted}
	if m.deleted {
		return e, nil
	}
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return Entry{}, fmt.Errorf("patient %q: %w: record length", id, errCorrupt)
	}
	rest = rest[k:]
	if err := decodeRecord(rest[:n], &e.Record); err != nil {
		return Entry{}, fmt.Errorf("patient %q: %w", id, err)
	}
	if withResource {
		e.Resource = append(json.RawMessage(nil), rest[n:]...)
	}
	return e, nil
}

// getMeta reads the fixed part of the stored patient, if any, in txn.
func getMeta(txn *badger.Txn, id string) (patientMeta, bool, error) {
	item, err := txn.Get(patientKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return patientMeta{}, false, nil
	}
	if err != nil {
		return patientMeta{}, false, err
	}
	var m patientMeta
	err = item.Value(func(v []byte) error {
		var err error
		m, _, err = readMeta(v)
		return err
	})
	return m, err == nil, err
}

// badgerLogger sends badger's warnings and errors to slog and drops its
// informational chatter (compactions, value log GC, startup banners).
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error("badger: " + trimNL(fmt.Sprintf(f, a...)))
}

func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn("badger: " + trimNL(fmt.Sprintf(f, a...)))
}
func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

func trimNL(s string) string {
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return s
}
