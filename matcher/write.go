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
	if precondition != nil {
		if err := precondition(); err != nil {
			return nil, err
		}
	}
	// Holding writeMu, the table holds exactly the store's live patients
	// (every write updates both before releasing it), so a patient missing
	// from it is new: no need to read the store for it. In a bulk load of
	// new patients these lookups cost as much as the store's own.
	e.mu.RLock()
	live := make([]bool, len(ps))
	for i, p := range ps {
		live[i] = e.mu.table.has(*p.Id)
	}
	e.mu.RUnlock()
	out := make([]StoredPatient, len(ps))
	entries := make([]store.Entry, 0, len(ps))
	slot := make([]int, 0, len(ps)) // out index of each entry
	for i, p := range ps {
		if live[i] {
			prev, err := e.store.Get(ctx, *p.Id)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
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
		entries = append(entries, store.Entry{ID: *p.Id, Resource: doc, Record: record.FromFHIR(p), KnownNew: !live[i] && !wasDeleted})
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
	e.notify(ctx, changes)
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
	var buf []byte
	e.mu.Lock()
	for i, c := range changes {
		if c.Record == nil {
			e.mu.table.remove(c.ID)
			continue
		}
		buf = e.mu.table.put(c.ID, &prepared[i], buf)
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
		return fmt.Errorf("matcher: %w", err)
	}
	e.deleted[id] = struct{}{}
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
		return StoredPatient{}, fmt.Errorf("matcher: %w", err)
	}
	return storedOf(en, 0), nil
}

func storedOf(en store.Entry, o Outcome) StoredPatient {
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
func stampMeta(resource json.RawMessage, v store.Version) (json.RawMessage, error) {
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
