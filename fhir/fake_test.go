package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
)

// fakeEngine is an in-memory Engine: a map of versioned patients and a fixed
// list of matches, filtered the way the real engine's MatchOptions say.
type fakeEngine struct {
	mu       sync.Mutex
	patients map[string]matcher.StoredPatient
	deleted  map[string]bool

	matches  []matcher.Match // most likely first
	matchErr error
	batchErr error
	pingErr  error
	panicMsg string // Match panics with this when set

	lastRec  record.Record
	lastOpts matcher.MatchOptions
	calls    int
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{patients: map[string]matcher.StoredPatient{}, deleted: map[string]bool{}}
}

var fakeTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func (e *fakeEngine) Match(_ context.Context, r record.Record, o matcher.MatchOptions) ([]matcher.Match, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	e.lastRec, e.lastOpts = r, o
	if e.panicMsg != "" {
		panic(e.panicMsg)
	}
	if e.matchErr != nil {
		return nil, e.matchErr
	}
	// Like the engine: rank, then the one selection rule.
	out := make([]matcher.Match, 0, len(e.matches))
	for _, m := range e.matches {
		if !o.Explain {
			m.Explanation = nil
		}
		out = append(out, m)
	}
	matcher.Rank(out)
	return matcher.Select(out, o), nil
}

func (e *fakeEngine) validate(p *fm.Patient) error {
	if p.Id == nil || *p.Id == "" {
		return fmt.Errorf("%w: patient has no id", matcher.ErrInvalid)
	}
	if len(p.Name) == 0 && p.BirthDate == nil {
		return fmt.Errorf("%w: patient has no name and no birth date", matcher.ErrInvalid)
	}
	return nil
}

func (e *fakeEngine) storeLocked(p *fm.Patient) (matcher.StoredPatient, bool, error) {
	id := *p.Id
	old, exists := e.patients[id]
	v := old.VersionID + 1
	cp := *p
	vs := strconv.FormatUint(v, 10)
	lu := fakeTime.Format(time.RFC3339)
	cp.Meta = &fm.Meta{VersionId: &vs, LastUpdated: &lu}
	raw, err := json.Marshal(cp)
	if err != nil {
		return matcher.StoredPatient{}, false, err
	}
	sp := matcher.StoredPatient{ID: id, Resource: raw, VersionID: v, LastUpdated: fakeTime}
	e.patients[id] = sp
	created := !exists || e.deleted[id]
	delete(e.deleted, id)
	return sp, created, nil
}

func (e *fakeEngine) Upsert(_ context.Context, p *fm.Patient) (matcher.StoredPatient, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.validate(p); err != nil {
		return matcher.StoredPatient{}, false, err
	}
	return e.storeLocked(p)
}

func (e *fakeEngine) UpsertBatch(_ context.Context, ps []*fm.Patient) ([]matcher.StoredPatient, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.batchErr != nil {
		return nil, e.batchErr
	}
	for _, p := range ps {
		if err := e.validate(p); err != nil {
			return nil, err
		}
	}
	out := make([]matcher.StoredPatient, 0, len(ps))
	for _, p := range ps {
		sp, _, err := e.storeLocked(p)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

func (e *fakeEngine) Get(_ context.Context, id string) (matcher.StoredPatient, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	sp, ok := e.patients[id]
	if !ok || e.deleted[id] {
		return matcher.StoredPatient{}, fmt.Errorf("get %s: %w", id, matcher.ErrNotFound)
	}
	return sp, nil
}

func (e *fakeEngine) Delete(_ context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.patients[id]; !ok || e.deleted[id] {
		return fmt.Errorf("delete %s: %w", id, matcher.ErrNotFound)
	}
	e.deleted[id] = true
	return nil
}

func (e *fakeEngine) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.patients) - len(e.deleted)
}

func (e *fakeEngine) Ping(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pingErr
}

var errBoom = errors.New("disk on fire")

// List implements Lister: live patients in id order after the cursor.
func (e *fakeEngine) List(ctx context.Context, after string, fn func(matcher.StoredPatient) (bool, error)) error {
	e.mu.Lock()
	ids := make([]string, 0, len(e.patients))
	for id := range e.patients {
		if id > after && !e.deleted[id] {
			ids = append(ids, id)
		}
	}
	sps := make([]matcher.StoredPatient, 0, len(ids))
	slices.Sort(ids)
	for _, id := range ids {
		sps = append(sps, e.patients[id])
	}
	e.mu.Unlock()
	for _, sp := range sps {
		if err := ctx.Err(); err != nil {
			return err
		}
		more, err := fn(sp)
		if err != nil || !more {
			return err
		}
	}
	return nil
}
