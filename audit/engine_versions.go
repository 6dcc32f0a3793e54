package audit

import (
	"context"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/matcher"
)

// The FHIR REST conventions (vread, _history, If-Match, search) reach
// patients through these methods; each notes what it returned or changed,
// as Get and Upsert do.

// History notes every version read.
func (e *Engine) History(ctx context.Context, id string) ([]matcher.PatientVersion, error) {
	vs, err := e.Engine.History(ctx, id)
	if err == nil && len(vs) > 0 {
		NoteFrom(ctx).Add(Patient{ID: id, Action: "read"})
	}
	return vs, err
}

// Version notes the version read.
func (e *Engine) Version(ctx context.Context, id string, v uint64) (matcher.PatientVersion, error) {
	pv, err := e.Engine.Version(ctx, id, v)
	if err == nil {
		NoteFrom(ctx).Add(Patient{ID: id, Action: "read"})
	}
	return pv, err
}

// UpsertIfVersion notes the patient written.
func (e *Engine) UpsertIfVersion(ctx context.Context, p *fm.Patient, version uint64) (matcher.StoredPatient, bool, error) {
	sp, created, err := e.Engine.UpsertIfVersion(ctx, p, version)
	if err == nil {
		NoteFrom(ctx).Add(Patient{ID: sp.ID, Action: outcomeName(sp.Outcome)})
	}
	return sp, created, err
}

// DeleteIfVersion notes the patient deleted.
func (e *Engine) DeleteIfVersion(ctx context.Context, id string, version uint64) error {
	err := e.Engine.DeleteIfVersion(ctx, id, version)
	if err == nil {
		NoteFrom(ctx).Add(Patient{ID: id, Action: "deleted"})
	}
	return err
}

// Searched notes the patients a FHIR search returned (the FHIR server
// calls it with the ids of each page; the store walk behind a search
// reads more patients than it returns, and those are not noted).
func (e *Engine) Searched(ctx context.Context, ids []string) {
	n := NoteFrom(ctx)
	for _, id := range ids {
		n.Add(Patient{ID: id, Action: "read"})
	}
}
