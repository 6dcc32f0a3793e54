package batch

import (
	"cmp"
	"errors"
	"slices"

	"github.com/patientmatch/patientmatch/scoring"
)

// Certain through a third record (issue 13). A dedupe job grades each pair
// on its own evidence, so two records of one person that each carry their
// own slip (a given name spelt phonetically on one, a birth day off on the
// other) stay probable, although each is certain with a third, clean
// record of that person. If A≡B and B≡C are both certain, A≡C follows: the
// chance it is wrong is at most the sum of the two links' (the union
// bound), and at the certain posterior that sum is still far below what
// probable allows. Promote grades such a pair certain by way of B.
//
// What may not be promoted is decided by the pair's own evidence, which can
// contradict the two links but never add to them:
//
//   - a relatives cap (siblings, twins, junior): the pair has the shape of
//     two relatives. A record certain with both twins means one of its
//     links is wrong, not that the twins are one person; and if a single
//     false certain link joins two relatives, the pairs it would promote
//     across them are exactly of that shape, so this is what stops one
//     wrong link from spreading to every record of both people;
//   - a conflict: identifiers of the same type that differ, or sex that
//     differs — evidence of two people that no third record explains away.
//     It is read from the comparison, not only from the cap: the pair's cap
//     names the first rule that set its grade, and an earlier one
//     (no_corroboration) can hide a conflict;
//   - a grade below probable: too little own agreement for a third record
//     to vouch for.
//
// What remains — a pair held at probable for want of evidence (the score
// below the certain posterior, weak_agreement, no_corroboration) — is
// what the third record supplies.
//
// Only pairs with a common certain neighbour are promoted, and promoted
// pairs are never links themselves: the error of a promotion is bounded by
// two links, not by a chain of any length. On the generated registry and
// household sets (seed 1) no certain component holds two people, and
// pairs two certain links apart cover all but a few of the pairs a
// component-wide closure would promote.

// PromoteOptions configure Promote.
type PromoteOptions struct {
	// Scorer re-reads the own evidence of a pair that has a common certain
	// neighbour (its cap and conflicts). Required; the records must have
	// been prepared with it.
	Scorer *scoring.Scorer
	// Threshold: pairs below this probability take part neither as links
	// nor as candidates for promotion, so that a run which keeps only the
	// pairs at or above it (the dedupe command) and one which sees every
	// candidate pair (bench accuracy) decide alike.
	Threshold float64
}

// ErrNoScorer is returned by Promote without PromoteOptions.Scorer.
var ErrNoScorer = errors.New("batch: promote needs a scorer")

// Promote grades certain, in place, each pair of a dedupe's records that
// two certain pairs join through a third record, unless the pair's own
// evidence contradicts it (see the rules above). A promoted pair keeps its
// own weight and probability; Promoted is set and LinkedBy is the third
// record: of several, the one whose weaker link is the stronger (ties: the
// lower index). The pairs are those of Dedupe (indexes into records) in any
// order; a pair listed twice is judged twice alike. It returns how many
// pairs it promoted.
func Promote(records []*scoring.Prepared, pairs []Pair, o PromoteOptions) (int, error) {
	if o.Scorer == nil {
		return 0, ErrNoScorer
	}
	g := certainGraph(len(records), pairs, o.Threshold)
	promoted := 0
	var c scoring.Comparison
	for k := range pairs {
		p := &pairs[k]
		if p.Grade == scoring.GradeCertain || p.Grade < scoring.GradeProbable || p.Probability < o.Threshold {
			continue
		}
		via, ok := g.commonNeighbour(p.Left, p.Right)
		if !ok {
			continue
		}
		a, b := records[p.Left], records[p.Right]
		scoring.Compare(a, b, &c)
		if contradicts(&c, o.Scorer.ScoreComparison(&c, a, b)) {
			continue
		}
		p.Grade, p.Promoted, p.LinkedBy = scoring.GradeCertain, true, via
		promoted++
	}
	return promoted, nil
}

// contradicts reports whether a pair's own evidence forbids its promotion:
// a relatives cap, or a conflict of identifiers or sex.
func contradicts(c *scoring.Comparison, r scoring.Result) bool {
	switch r.Cap {
	case scoring.CapSiblings, scoring.CapTwins, scoring.CapJunior, scoring.CapConflict:
		return true
	}
	return c.IDConflict || c.Levels[scoring.CompIdentifier] == scoring.IDDisagree ||
		c.Levels[scoring.CompSex] == scoring.SexDisagree
}

// linkGraph is the certain pairs as adjacency lists (CSR), each record's
// neighbours sorted by index, with the weight of the link.
type linkGraph struct {
	start []int32
	nb    []int32
	w     []float64
}

// certainGraph collects the pairs graded certain on their own evidence (a
// promoted pair is not a link) at or above threshold.
func certainGraph(n int, pairs []Pair, threshold float64) *linkGraph {
	isLink := func(p *Pair) bool {
		return p.Grade == scoring.GradeCertain && !p.Promoted && p.Probability >= threshold
	}
	g := &linkGraph{start: make([]int32, n+1)}
	for k := range pairs {
		if p := &pairs[k]; isLink(p) {
			g.start[p.Left+1]++
			g.start[p.Right+1]++
		}
	}
	for i := 1; i <= n; i++ {
		g.start[i] += g.start[i-1]
	}
	g.nb = make([]int32, g.start[n])
	g.w = make([]float64, g.start[n])
	fill := slices.Clone(g.start[:n])
	add := func(x, y int32, w float64) {
		g.nb[fill[x]], g.w[fill[x]] = y, w
		fill[x]++
	}
	for k := range pairs {
		if p := &pairs[k]; isLink(p) {
			add(p.Left, p.Right, p.Weight)
			add(p.Right, p.Left, p.Weight)
		}
	}
	for i := range n {
		lo, hi := g.start[i], g.start[i+1]
		sortByNeighbour(g.nb[lo:hi], g.w[lo:hi])
	}
	return g
}

// sortByNeighbour sorts one record's neighbours by index, weights along.
func sortByNeighbour(nb []int32, w []float64) {
	if len(nb) < 2 {
		return
	}
	type link struct {
		nb int32
		w  float64
	}
	ls := make([]link, len(nb))
	for i := range nb {
		ls[i] = link{nb[i], w[i]}
	}
	slices.SortFunc(ls, func(x, y link) int { return cmp.Compare(x.nb, y.nb) })
	for i, l := range ls {
		nb[i], w[i] = l.nb, l.w
	}
}

// commonNeighbour returns the record certain with both a and b whose weaker
// link is the strongest (ties: the lower index).
func (g *linkGraph) commonNeighbour(a, b int32) (int32, bool) {
	na, wa := g.nb[g.start[a]:g.start[a+1]], g.w[g.start[a]:g.start[a+1]]
	nb, wb := g.nb[g.start[b]:g.start[b+1]], g.w[g.start[b]:g.start[b+1]]
	best, bestW, found := int32(-1), 0.0, false
	for i, j := 0, 0; i < len(na) && j < len(nb); {
		switch {
		case na[i] < nb[j]:
			i++
		case na[i] > nb[j]:
			j++
		default:
			if w := min(wa[i], wb[j]); !found || w > bestW {
				best, bestW, found = na[i], w, true
			}
			i++
			j++
		}
	}
	return best, found
}
