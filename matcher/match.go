package matcher

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
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
	scorer, qp, err := e.prepareQuery(q)
	if err != nil {
		return nil, err
	}
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

// PrepareQuery prepares q for comparison with the stored patients as
// Match does, for a diagnostic that scores one pair as Match would (bench
// match's account of misses): the scorer's query form (see
// scoring.Scorer.PrepareQuery), without the identifiers of unknown kind
// that prepareQuery sets aside.
func (e *Engine) PrepareQuery(q record.Record) (*scoring.Prepared, error) {
	_, qp, err := e.prepareQuery(q)
	return qp, err
}

// prepareQuery returns the engine's scorer and q prepared by it, without
// the identifiers of unknown kind that stored records of different people
// carry, or that would be so with q counted as one more carrier (a
// family's member number: it says "household", which the address and
// family name already say; scoring.IdentifierCarriers). The candidates
// keep them: such a value agrees only when both sides carry it. q's
// record, and so its blocking keys, keep them too.
func (e *Engine) prepareQuery(q record.Record) (*scoring.Scorer, *scoring.Prepared, error) {
	e.mu.RLock()
	if e.mu.closed {
		e.mu.RUnlock()
		return nil, nil, ErrClosed
	}
	scorer := e.scorer
	e.mu.RUnlock()
	// Preparing takes a few microseconds; no lock is held meanwhile.
	qp := scorer.PrepareQuery(q)
	if !qp.HasUntypedIdentifier() {
		return scorer, qp, nil // nothing the carriers could set aside
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.mu.closed {
		return nil, nil, ErrClosed
	}
	e.mu.carriers.SetAsideFor(qp)
	return scorer, qp, nil
}

// hits are the scored candidates kept, in Rank order: their matches
// without the resources, and, only when an explanation is asked for, their
// prepared records (ps[i] is ms[i]'s). Keeping the matches in the slice
// that Match returns saves a copy per request.
type hits struct {
	ms []Match
	ps []*scoring.Prepared
}

// explained sorts hits that carry prepared records, keeping each with its
// match (sort.Interface; only explained requests pay for the interface).
type explained hits

func (h explained) Len() int           { return len(h.ms) }
func (h explained) Less(i, j int) bool { return compareRank(&h.ms[i], &h.ms[j]) < 0 }
func (h explained) Swap(i, j int) {
	h.ms[i], h.ms[j] = h.ms[j], h.ms[i]
	h.ps[i], h.ps[j] = h.ps[j], h.ps[i]
}

// score scores the candidates ids against qp, keeping those graded
// minGrade or better, in Rank order. Each candidate is unpacked from the
// table into one scratch record; a kept one gets its own copy only when
// it is to be explained.
func (e *Engine) score(scorer *scoring.Scorer, qp *scoring.Prepared, ids []string, minGrade scoring.Grade, explain bool) (hits, error) {
	var h hits
	var p scoring.Prepared
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.mu.closed {
		return h, ErrClosed
	}
	refs := make([]ref, len(ids))
	e.mu.table.findAll(ids, refs)
	for i, id := range ids {
		if refs[i] == noRef {
			continue // deleted since the index was read
		}
		if err := e.mu.table.unpack(refs[i], &p); err != nil {
			return h, err
		}
		res := scorer.Score(qp, &p)
		if res.Grade < minGrade {
			continue
		}
		h.ms = append(h.ms, Match{ID: id, Probability: res.Probability, Weight: res.Weight, Grade: res.Grade, Cap: res.Cap})
		if explain {
			kept := new(scoring.Prepared)
			if err := e.mu.table.unpack(refs[i], kept); err != nil {
				return h, err
			}
			h.ps = append(h.ps, kept)
		}
	}
	// compareRank ends on the id, so both sorts give the one Rank order.
	if explain {
		sort.Sort(explained(h))
	} else {
		slices.SortFunc(h.ms, func(a, b Match) int { return compareRank(&a, &b) })
	}
	return h, nil
}

// resolve selects among ranked hits (Select) and fills in the stored
// resources, and explanations when asked.
func (e *Engine) resolve(ctx context.Context, scorer *scoring.Scorer, qp *scoring.Prepared, h hits, opts MatchOptions) ([]Match, error) {
	// Select keeps a prefix of ranked matches, so h.ps[i] is still ms[i]'s.
	ms := Select(h.ms, opts)
	if len(ms) == 0 {
		return []Match{}, nil // empty, not nil, as before: no allocation
	}
	ids := make([]string, len(ms))
	for i := range ms {
		ids[i] = ms[i].ID
	}
	resources, err := e.store.Resources(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("matcher: %w", FromStore(err))
	}
	out := ms[:0]
	for i, m := range ms {
		if resources[i] == nil {
			continue // deleted while we scored
		}
		m.Resource = resources[i]
		if opts.Explain {
			m.Explanation = scorer.Explain(qp, h.ps[i])
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
