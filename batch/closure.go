package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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
//   - the shape of two relatives: any rule of the relatives caps
//     (siblings, twins, junior: Scorer.RelativesCap) that reads the pair
//     as two people, also when its score was already below certain and
//     its Cap names no rule or another. A record certain with both twins
//     means one of its links is wrong, not that the twins are one person;
//     and if a single false certain link joins two relatives, the pairs it
//     would promote across them are of that shape, so this is what stops
//     one wrong link from spreading to every record of both people;
//   - a conflict: identifiers of the same type that differ, or sex that
//     differs — evidence of two people that no third record explains away.
//     It is read from the comparison, not from the cap;
//   - a grade below probable: too little own agreement for a third record
//     to vouch for.
//
// The caps do not read every pair of relatives as such: twins whose given
// names are alike (Kristin, Kristen; Mark, Marcus) are held at probable by
// weak_agreement or by the score alone, as one person's slip would be. A
// pair whose given names are two names (Scorer.GivenNamesDiffer: not one
// name, nor a keying error of an established one) in one family is
// promoted only through a third record neither of whose links rests on an
// identifier agreeing across two given names, or across a given name that
// does not say which name it is — a nickname of both (Chris), or none
// (carried). A false certain link is nearly always such a one — a record
// carrying a twin's or a sibling's number (Kristin's record with her twin
// Kristen's SSN is certain with Kristen by the SSN, and with Kristin
// truly) — while a link whose given names agree, exactly or by a slip, is
// not. Unless each link is one slip, one of them crosses the pair's two
// given names or rests on a name that fits both, so a wrong link between
// two relatives is caught here. Birth dates are not read for
// this: relatives who share a given name are the junior's shape, which
// the caps read.
//
// A pair with no household (Comparison.SharesHousehold) and no identifier
// agreeing — namesakes, or one person who moved — is promoted only through
// a third record neither of whose links an identifier carries without the
// household (numberOnly): one record with a namesake's SSN keyed into the
// wrong chart is certain with both, by the address and the MRN and by the
// SSN alone.
//
// What remains — a pair held at probable for want of evidence (the score
// below the certain posterior, weak_agreement, no_corroboration with a
// clean third record) — is what the third record supplies.
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
	// neighbour (relatives' shapes, conflicts, given names) and of its two
	// links (carried). Required; the records must have been prepared with
	// it.
	Scorer *scoring.Scorer
	// Threshold: pairs below this probability take part neither as links
	// nor as candidates for promotion, so that a run which keeps only the
	// pairs at or above it (the dedupe command) and one which sees every
	// candidate pair (bench accuracy) decide alike.
	Threshold float64
}

// promoteCheck is how many pairs Promote judges between looks at its
// context: a large dedupe's pairs take a while to judge.
const promoteCheck = 4096

// ErrNoScorer is returned by Promote without PromoteOptions.Scorer.
var ErrNoScorer = errors.New("batch: promote needs a scorer")

// Promote grades certain, in place, each pair of a dedupe's records that
// two certain pairs join through a third record, unless the pair's own
// evidence contradicts it (see the rules above). A promoted pair keeps its
// own weight and probability; Promoted is set and LinkedBy is the third
// record: of several, the one whose weaker link is the stronger (ties: the
// lower index). The pairs are those of Dedupe (indexes into records) in any
// order; a pair listed twice is judged twice alike. It returns how many
// pairs it promoted; when ctx ends it stops with ctx's error, the pairs
// judged so far raised.
func Promote(ctx context.Context, records []*scoring.Prepared, pairs []Pair, o PromoteOptions) (int, error) {
	if o.Scorer == nil {
		return 0, ErrNoScorer
	}
	g := certainGraph(len(records), pairs, o.Threshold)
	promoted := 0
	var c, l scoring.Comparison
	for k := range pairs {
		if k%promoteCheck == 0 && ctx.Err() != nil {
			return promoted, fmt.Errorf("batch: promote: %w", ctx.Err())
		}
		p := &pairs[k]
		if p.Grade == scoring.GradeCertain || p.Grade < scoring.GradeProbable || p.Probability < o.Threshold {
			continue
		}
		via, ok := g.commonNeighbour(p.Left, p.Right, anyRecord)
		if !ok {
			continue
		}
		a, b := records[p.Left], records[p.Right]
		scoring.Compare(a, b, &c)
		if contradicts(o.Scorer, &c, a, b) {
			continue
		}
		// Two given names in one family: a third record vouches only
		// through links that do not rest on an identifier across two
		// given names (carried).
		// Nothing but name and birth date in common (the namesakes'
		// shape): a third record vouches only through links that do not
		// rest on a number alone (numberOnly).
		shape, thin := relativesShape(o.Scorer, &c, a, b), namesakeShape(&c)
		if shape || thin {
			// Each link of a third record is compared once and read by
			// both rules.
			if via, ok = g.commonNeighbour(p.Left, p.Right, func(v int32) bool {
				x := records[v]
				for _, y := range [2]*scoring.Prepared{a, b} {
					scoring.Compare(x, y, &l)
					if (shape && carried(o.Scorer, x, y, &l)) || (thin && numberOnly(&l)) {
						return false
					}
				}
				return true
			}); !ok {
				continue
			}
		}
		p.Grade, p.Promoted, p.LinkedBy = scoring.GradeCertain, true, via
		promoted++
	}
	return promoted, nil
}

// contradicts reports whether a pair's own evidence forbids its promotion:
// the shape of two relatives (any rule of Scorer.RelativesCap, not only
// the one the pair's Cap names), or a conflict of identifiers or sex.
func contradicts(s *scoring.Scorer, c *scoring.Comparison, a, b *scoring.Prepared) bool {
	return c.Conflicts() || s.RelativesCap(c, a, b) != scoring.CapNone
}

// relativesShape reports a pair whose given names are two names
// (Scorer.GivenNamesDiffer) in one family: the family names agree at some
// level or one is missing. Twins have that shape with their birth dates
// agreeing, siblings with them differing.
func relativesShape(s *scoring.Scorer, c *scoring.Comparison, a, b *scoring.Prepared) bool {
	f := c.Levels[scoring.CompFamilyName]
	return f != scoring.FamilyElse && f != scoring.FamilyCrossed && s.GivenNamesDiffer(c, a, b)
}

// carried reports a link between x and y that is certain by an
// identifier agreeing (exactly or one off) across given names that are
// two names, or that do not say which name it is — a nickname (Chris:
// Christopher or Christian) or a given name missing on a side: only the
// number joins them. That is the shape of nearly every false certain link
// — a record carrying a twin's or a sibling's number (a common mix-up), a
// number shared — while a link whose names agree, exactly or by a slip,
// is not. l is x and y compared.
func carried(s *scoring.Scorer, x, y *scoring.Prepared, l *scoring.Comparison) bool {
	if !l.IDAgrees() {
		return false
	}
	g := l.Levels[scoring.CompGivenName]
	return g == scoring.GivenNickname || g == scoring.GivenMissing || s.GivenNamesDiffer(l, x, y)
}

// namesakeShape reports a pair with nothing in common but what the
// namesakes' pair has — no household (address or contact) and no
// identifier agreeing: two people of one name and birth date, or one who
// moved (CapCorroboration).
func namesakeShape(c *scoring.Comparison) bool {
	return !c.SharesHousehold() && !c.IDAgrees()
}

// numberOnly reports a link between x and y that an identifier agreeing
// (exactly or one off) carries without the household: the shape of a
// record carrying another person's number (a namesake's SSN keyed into the
// wrong chart), which would make two namesakes one person through it. It
// also refuses the person who moved and whose old and new records meet
// only through a record with the number: that pair stays for a reviewer.
// l is the link's two records compared.
func numberOnly(l *scoring.Comparison) bool {
	return l.IDAgrees() && !l.SharesHousehold()
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

// anyRecord accepts every common neighbour.
func anyRecord(int32) bool { return true }

// commonNeighbour returns, of the records certain with both a and b that
// accept takes, the one whose weaker link is the strongest (ties: the
// lower index).
func (g *linkGraph) commonNeighbour(a, b int32, accept func(int32) bool) (int32, bool) {
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
			if w := min(wa[i], wb[j]); (!found || w > bestW) && accept(na[i]) {
				best, bestW, found = na[i], w, true
			}
			i++
			j++
		}
	}
	return best, found
}
