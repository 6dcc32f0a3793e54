package matcher

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/patientmatch/patientmatch/index"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
	"github.com/patientmatch/patientmatch/store"
)

// Match finds the stored patients that q could be, most likely first.
func (e *Engine) Match(ctx context.Context, q record.Record, opts MatchOptions) (ms []Match, err error) {
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
	defer func() {
		if err == nil {
			e.metrics.observe(len(ids), ms)
		}
	}()
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
		if errors.Is(err, store.ErrNotFound) {
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
