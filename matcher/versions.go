package matcher

import (
	"context"
	"errors"
	"fmt"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/store"
)

// The engine's view of the versions the store keeps, for FHIR vread,
// _history, If-Match and search. None of it scores: a search is a filter
// over stored patients, not a match.

// PatientVersion is one version of a patient: a stored resource, or a
// delete (Deleted set, no Resource).
type PatientVersion struct {
	StoredPatient
	Deleted bool
}

func versionOf(en store.Entry) PatientVersion {
	return PatientVersion{StoredPatient: storedOf(en, 0), Deleted: en.Deleted}
}

// History returns every version of id kept, newest first, deletes
// included. An id never stored is ErrNotFound.
func (e *Engine) History(ctx context.Context, id string) ([]PatientVersion, error) {
	if e.isClosed() {
		return nil, ErrClosed
	}
	ens, err := e.store.History(ctx, id)
	if err != nil {
		return nil, storeError(id, err)
	}
	out := make([]PatientVersion, len(ens))
	for i, en := range ens {
		out[i] = versionOf(en)
	}
	return out, nil
}

// Version returns version v of id (Deleted set for a delete), or
// ErrNotFound when that version was never stored.
func (e *Engine) Version(ctx context.Context, id string, v uint64) (PatientVersion, error) {
	if e.isClosed() {
		return PatientVersion{}, ErrClosed
	}
	en, err := e.store.GetVersion(ctx, id, v)
	if err != nil {
		return PatientVersion{}, storeError(id, err)
	}
	return versionOf(en), nil
}

// List calls fn with the live patients whose id sorts after `after`, in id
// order, until fn returns false or an error.
func (e *Engine) List(ctx context.Context, after string, fn func(StoredPatient) (bool, error)) error {
	if e.isClosed() {
		return ErrClosed
	}
	err := e.store.List(ctx, after, func(en store.Entry) (bool, error) { return fn(storedOf(en, 0)) })
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("matcher: list: %w", FromStore(err))
	}
	return err
}

// UpsertIfVersion is Upsert when the live patient p.Id has version
// `version`, checked under the write lock so no other write slips in
// between; otherwise (another version, or no live patient) it writes
// nothing and fails with ErrVersionMismatch.
func (e *Engine) UpsertIfVersion(ctx context.Context, p *fm.Patient, version uint64) (StoredPatient, bool, error) {
	if err := ValidatePatient(p); err != nil {
		return StoredPatient{}, false, err
	}
	res, err := e.upsertBatch(ctx, []*fm.Patient{p}, e.versionIs(ctx, *p.Id, version))
	if err != nil {
		return StoredPatient{}, false, err
	}
	return res[0], res[0].Outcome == Created, nil
}

// DeleteIfVersion is Delete when the live patient id has version
// `version`; otherwise ErrVersionMismatch (ErrNotFound when id is not live).
func (e *Engine) DeleteIfVersion(ctx context.Context, id string, version uint64) error {
	return e.delete(ctx, id, e.versionIs(ctx, id, version))
}

// versionIs is the precondition "the live patient id has version want".
func (e *Engine) versionIs(ctx context.Context, id string, want uint64) func() error {
	return func() error {
		en, err := e.store.Get(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("%w: %s has no current version (want %d)", ErrVersionMismatch, id, want)
		case err != nil:
			return fmt.Errorf("matcher: %w", FromStore(err))
		case en.VersionID != want:
			return fmt.Errorf("%w: %s is at version %d, not %d", ErrVersionMismatch, id, en.VersionID, want)
		}
		return nil
	}
}

// storeError maps a store error about id to the engine's sentinels.
func storeError(id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return fmt.Errorf("matcher: %w", FromStore(err))
}
