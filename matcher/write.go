package matcher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/index"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
	"github.com/patientmatch/patientmatch/store"
)

// ValidatePatient checks that p can be stored: it needs an id that FHIR
// accepts (1–64 of A–Z a–z 0–9 - .).
func ValidatePatient(p *fm.Patient) error {
	if p == nil {
		return fmt.Errorf("%w: no patient", ErrInvalid)
	}
	if p.Id == nil || *p.Id == "" {
		return fmt.Errorf("%w: patient has no id", ErrInvalid)
	}
	if !record.ValidID(*p.Id) {
		return fmt.Errorf("%w: id %q is not a FHIR id (1-64 of A-Z a-z 0-9 - .)", ErrInvalid, *p.Id)
	}
	return nil
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
	return e.upsertBatch(ctx, ps, nil)
}

// upsertBatch is UpsertBatch; precondition, when set, runs under the write
// lock before anything is written, and its error aborts the write (If-Match).
func (e *Engine) upsertBatch(ctx context.Context, ps []*fm.Patient, precondition func() error) ([]StoredPatient, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkBatch(ps); err != nil {
		return nil, err
	}
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if e.isClosed() {
		return nil, ErrClosed
	}
	if precondition != nil {
		if err := precondition(); err != nil {
			return nil, err
		}
	}
	out, entries, slot, err := e.entriesLocked(ctx, ps)
	if err != nil || len(entries) == 0 {
		return out, err
	}
	vs, err := e.store.Put(ctx, entries)
	if err != nil {
		return nil, fmt.Errorf("matcher: %w", FromStore(err))
	}
	// The store has committed: from here on the write is durable. The index
	// and the table follow; should the process die in between, Open catches
	// the index up from the store's changelog.
	changes := make([]index.Change, len(entries))
	for k, v := range vs {
		delete(e.deleted, v.ID)
		outcome := Updated
		if v.Created {
			outcome = Created
		}
		out[slot[k]] = StoredPatient{ID: v.ID, Resource: entries[k].Resource, VersionID: v.VersionID, LastUpdated: v.LastUpdated, Outcome: outcome}
		changes[k] = index.Change{Seq: v.Seq, ID: v.ID, Record: &entries[k].Record}
	}
	e.apply(changes)
	e.notify(ctx, changes)
	return out, nil
}

// checkBatch refuses a batch with an invalid patient or an id given twice.
func checkBatch(ps []*fm.Patient) error {
	seen := make(map[string]bool, len(ps))
	for i, p := range ps {
		if err := ValidatePatient(p); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if seen[*p.Id] {
			return fmt.Errorf("%w: entry %d: id %q appears twice in one batch", ErrInvalid, i, *p.Id)
		}
		seen[*p.Id] = true
	}
	return nil
}

// entriesLocked decides what each patient of ps writes; e.writeMu is held.
// A patient identical to its stored version is answered at once in out
// (Unchanged); the others become store entries, stamped with the version
// and time they are written with (the store checks the version in its
// transaction), and slot gives each entry's index in out.
func (e *Engine) entriesLocked(ctx context.Context, ps []*fm.Patient) (out []StoredPatient, entries []store.Entry, slot []int, err error) {
	// Holding writeMu, the table holds exactly the store's live patients
	// (every write updates both before releasing it), so a patient missing
	// from it is new or deleted (e.deleted): no need to read the store for
	// it. In a bulk load of new patients these lookups cost as much as the
	// store's own.
	e.mu.RLock()
	live := make([]bool, len(ps))
	for i, p := range ps {
		live[i] = e.mu.table.has(*p.Id)
	}
	e.mu.RUnlock()
	now := time.Now().UTC()
	out = make([]StoredPatient, len(ps))
	entries = make([]store.Entry, 0, len(ps))
	slot = make([]int, 0, len(ps))
	for i, p := range ps {
		deletedAt, wasDeleted := e.deleted[*p.Id]
		prevVersion := deletedAt
		if live[i] {
			prev, err := e.store.Get(ctx, *p.Id)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, nil, nil, fmt.Errorf("matcher: %w", FromStore(err))
			}
			if err == nil && sameContent(prev.Resource, p) {
				out[i] = storedOf(prev, Unchanged)
				continue
			}
			if err == nil {
				prevVersion = prev.VersionID
			}
		}
		version := prevVersion + 1
		doc, err := marshalForStore(p, version, now)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: entry %d: %v", ErrInvalid, i, err)
		}
		entries = append(entries, store.Entry{ID: *p.Id, Resource: doc, Record: record.FromFHIR(p),
			VersionID: version, LastUpdated: now, KnownNew: !live[i] && !wasDeleted})
		slot = append(slot, i)
	}
	return out, entries, slot, nil
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
	var (
		buf []byte
		old scoring.Prepared
	)
	e.mu.Lock()
	t, carriers := e.mu.table, e.mu.carriers
	for i, c := range changes {
		key := t.hash(c.ID)
		// Only a stored record that carries an identifier of unknown kind
		// counts in carriers: with none counted there is none to remove.
		if carriers.Carried() && t.unpackHash(key, &old) && old.Rec.ID == c.ID {
			carriers.Remove(key, &old)
		}
		if c.Record == nil {
			t.remove(c.ID)
			continue
		}
		buf = t.put(c.ID, &prepared[i], buf)
		carriers.Add(key, &prepared[i])
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
	return e.delete(ctx, id, nil)
}

// delete is Delete with an optional precondition, as upsertBatch has.
func (e *Engine) delete(ctx context.Context, id string, precondition func() error) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if e.isClosed() {
		return ErrClosed
	}
	if precondition != nil {
		if err := precondition(); err != nil {
			return err
		}
	}
	v, err := e.store.Delete(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return fmt.Errorf("matcher: %w", FromStore(err))
	}
	e.deleted[id] = v.VersionID
	changes := []index.Change{{Seq: v.Seq, ID: id}}
	e.apply(changes)
	e.notify(ctx, changes)
	return nil
}

// Get returns the live patient with id, or ErrNotFound.
func (e *Engine) Get(ctx context.Context, id string) (StoredPatient, error) {
	if e.isClosed() {
		return StoredPatient{}, ErrClosed
	}
	en, err := e.store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return StoredPatient{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return StoredPatient{}, fmt.Errorf("matcher: %w", FromStore(err))
	}
	return storedOf(en, 0), nil
}

func storedOf(en store.Entry, o Outcome) StoredPatient {
	return StoredPatient{ID: en.ID, Resource: en.Resource, VersionID: en.VersionID, LastUpdated: en.LastUpdated, Outcome: o}
}

// marshalForStore marshals p as the store keeps it: meta.versionId and
// meta.lastUpdated set to the version and time it is written with.
func marshalForStore(p *fm.Patient, version uint64, at time.Time) (json.RawMessage, error) {
	return withMeta(p, strconv.FormatUint(version, 10), at.UTC().Format(time.RFC3339Nano))
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
