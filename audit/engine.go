package audit

import (
	"context"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
)

// Engine is the matching engine seen through the audit trail: every patient
// that Match, Get, Upsert, UpsertBatch or Delete returns or changes is noted
// on the request's Note (when the request is audited). Every other method
// of *matcher.Engine is promoted unchanged, so the HTTP and gRPC services
// take it wherever they take the engine and no handler needs to know.
type Engine struct {
	*matcher.Engine
}

// Wrap returns eng seen through the audit trail.
func Wrap(eng *matcher.Engine) *Engine { return &Engine{Engine: eng} }

// Match notes each match with its grade.
func (e *Engine) Match(ctx context.Context, q record.Record, opts matcher.MatchOptions) ([]matcher.Match, error) {
	ms, err := e.Engine.Match(ctx, q, opts)
	if n := NoteFrom(ctx); n != nil {
		for _, m := range ms {
			n.Add(Patient{ID: m.ID, Action: "matched", Grade: m.Grade.String()})
		}
	}
	return ms, err
}

// Get notes the patient read.
func (e *Engine) Get(ctx context.Context, id string) (matcher.StoredPatient, error) {
	sp, err := e.Engine.Get(ctx, id)
	if err == nil {
		NoteFrom(ctx).Add(Patient{ID: sp.ID, Action: "read"})
	}
	return sp, err
}

// Upsert notes the patient written.
func (e *Engine) Upsert(ctx context.Context, p *fm.Patient) (matcher.StoredPatient, bool, error) {
	sp, created, err := e.Engine.Upsert(ctx, p)
	if err == nil {
		NoteFrom(ctx).Add(Patient{ID: sp.ID, Action: outcomeName(sp.Outcome)})
	}
	return sp, created, err
}

// UpsertBatch notes every patient written.
func (e *Engine) UpsertBatch(ctx context.Context, ps []*fm.Patient) ([]matcher.StoredPatient, error) {
	sps, err := e.Engine.UpsertBatch(ctx, ps)
	if n := NoteFrom(ctx); n != nil && err == nil {
		for _, sp := range sps {
			n.Add(Patient{ID: sp.ID, Action: outcomeName(sp.Outcome)})
		}
	}
	return sps, err
}

// Delete notes the patient deleted.
func (e *Engine) Delete(ctx context.Context, id string) error {
	err := e.Engine.Delete(ctx, id)
	if err == nil {
		NoteFrom(ctx).Add(Patient{ID: id, Action: "deleted"})
	}
	return err
}

func outcomeName(o matcher.Outcome) string {
	switch o {
	case matcher.Created:
		return "created"
	case matcher.Updated:
		return "updated"
	}
	return "unchanged"
}
