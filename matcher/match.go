package matcher

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/patientmatch/patientmatch/index"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// DefaultCount is the number of matches Match returns when
// MatchOptions.Count is 0.
const DefaultCount = 10

// Match finds the stored patients that q could be, in Rank order, selected
// by opts (Select).
func (e *Engine) Match(ctx context.Context, q record.Record, opts MatchOptions) (ms []Match, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !q.HasDemographics() {
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
	hits, err := e.score(scorer, qp, ids, max(opts.MinGrade, scoring.GradePossible), opts.Explain)
	if err != nil {
		return nil, err
	}
	return e.resolve(ctx, scorer, qp, hits, opts)
}

// hit is a scored candidate: its match without the resource, and, when an
// explanation is asked for, its prepared record.
type hit struct {
	m Match
	p *scoring.Prepared
}

// score scores the candidates ids against qp, keeping those graded
// minGrade or better, in Rank order. Each candidate is unpacked from the
// table into one scratch record; a kept one gets its own copy only when
// it is to be explained.
func (e *Engine) score(scorer *scoring.Scorer, qp *scoring.Prepared, ids []string, minGrade scoring.Grade, explain bool) ([]hit, error) {
	hits := make([]hit, 0, 16)
	var p scoring.Prepared
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.mu.closed {
		return nil, ErrClosed
	}
	refs := make([]ref, len(ids))
	e.mu.table.findAll(ids, refs)
	for i, id := range ids {
		if refs[i] == noRef {
			continue // deleted since the index was read
		}
		if err := e.mu.table.unpack(refs[i], &p); err != nil {
			return nil, err
		}
		res := scorer.Score(qp, &p)
		if res.Grade >= minGrade {
			h := hit{m: Match{ID: id, Probability: res.Probability, Weight: res.Weight, Grade: res.Grade}}
			if explain {
				h.p = new(scoring.Prepared)
				if err := e.mu.table.unpack(refs[i], h.p); err != nil {
					return nil, err
				}
			}
			hits = append(hits, h)
		}
	}
	slices.SortFunc(hits, func(a, b hit) int { return compareRank(&a.m, &b.m) })
	return hits, nil
}

// resolve selects among ranked hits (Select) and fills in the stored
// resources, and explanations when asked.
func (e *Engine) resolve(ctx context.Context, scorer *scoring.Scorer, qp *scoring.Prepared, hits []hit, opts MatchOptions) ([]Match, error) {
	ms := make([]Match, len(hits))
	for i := range hits {
		ms[i] = hits[i].m
	}
	// Select keeps a prefix of ranked matches, so hits[i] is ms[i].
	ms = Select(ms, opts)
	if len(ms) == 0 {
		return ms, nil
	}
	ids := make([]string, len(ms))
	for i := range ms {
		ids[i] = ms[i].ID
	}
	resources, err := e.store.Resources(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("matcher: %w", err)
	}
	out := ms[:0]
	for i, m := range ms {
		if resources[i] == nil {
			continue // deleted while we scored
		}
		m.Resource = resources[i]
		if opts.Explain {
			m.Explanation = scorer.Explain(qp, hits[i].p)
		}
		out = append(out, m)
	}
	return out, nil
}

// Rank orders matches best first, the one order of every answer: grade
// (certain before probable before possible), then match weight, then id
// for a stable answer. Grade comes first because a capped candidate (a
// twin, a junior) can outweigh the one the grades single out.
func Rank(ms []Match) {
	slices.SortFunc(ms, func(a, b Match) int { return compareRank(&a, &b) })
}

func compareRank(a, b *Match) int {
	if c := cmp.Compare(b.Grade, a.Grade); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Weight, a.Weight); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// Select applies a request's selection to matches in Rank order and
// returns a prefix of them:
//   - OnlyCertain: the one certain match, or none when no match or more
//     than one is certain (IHE PDQm ITI-119: more than one person could be
//     meant);
//   - OnlySingle: the best match alone, or none when the next has the same
//     grade (the best is then not clearly the one person meant);
//   - then at most Count (DefaultCount when 0).
//
// Every surface (FHIR $match and $idi-match, gRPC, the claims decision)
// gets its answer through Engine.Match, which applies it.
func Select(ms []Match, opts MatchOptions) []Match {
	if opts.OnlyCertain {
		n := 0
		for _, m := range ms {
			if m.Grade == scoring.GradeCertain {
				n++
			}
		}
		if n != 1 {
			return ms[:0]
		}
		ms = ms[:1] // in Rank order the certain match is first
	}
	if opts.OnlySingle {
		if len(ms) == 0 || (len(ms) > 1 && ms[1].Grade >= ms[0].Grade) {
			return ms[:0]
		}
		ms = ms[:1]
	}
	count := opts.Count
	if count <= 0 {
		count = DefaultCount
	}
	return ms[:min(len(ms), count)]
}
