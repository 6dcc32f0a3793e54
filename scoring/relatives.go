package scoring

import (
	"fmt"
	"math"
)

// relativesPseudo is the weight, in pairs, of the base model's r as a
// Dirichlet prior on each comparison's estimated r: a level few relatives
// reach keeps close to the built-in value instead of going to an extreme.
const relativesPseudo = 20

// RelativesFit is the outcome of FitRelatives.
type RelativesFit struct {
	R               Probabilities
	Prior           float64 // λm, matches over all pairs of records
	RelativesPrior  float64 // λr
	PersonAgreement float64
	Iterations      int
	Converged       bool
	// Matches and Relatives are the expected numbers among the candidate
	// pairs.
	Matches, Relatives float64
}

// FitRelatives fits the third class of the model — different people of
// one household — by EM over the distinct candidate pairs of all passes,
// with every comparison active and m and u held as trained: the relatives'
// r, both priors and the class's person agreement. Pairs no rule proposes
// are taken as strangers (they disagree on every blocking key).
//
// m comes from the two-class passes, each leaving out the fields its pairs
// were blocked on and the household passive, so it describes persons; the
// relatives class then takes the pairs that agree on the household and the
// family name but not on the person, which a two-class model can only
// call matches or strangers.
//
// The person agreement is not identified by this fit: with m held, every
// pair whose given name and birth date agree is explained by the match
// class, so EM takes it to its floor, 1e-9, on every file measured
// (bench/README "relclass (session 6)"), whatever share of twins with
// alike names the file holds.
func FitRelatives(records []*Prepared, passes []TrainingPass, m *Model) (RelativesFit, error) {
	var fit RelativesFit
	base := m.Relatives
	if base == nil {
		base = DefaultRelatives()
	}
	ps, all := candidatePatterns(records, passes)
	if len(ps) == 0 || all <= 0 {
		return fit, fmt.Errorf("%w: no candidate pairs to fit relatives on", ErrTraining)
	}
	lmu, r0, err := relativesStart(m)
	if err != nil {
		return fit, err
	}
	r := r0
	lm, lr, pa := m.Prior, base.Prior, base.PersonAgreement
	for it := 1; it <= 200; it++ {
		e := relativesEStep(ps, &lmu, relativesCompiled(m, r, lm, lr, pa), lm, lr)
		delta := relativesMStepR(&e.nr, &r0, &r)
		nlm := math.Min(math.Max(e.matches/all, 1e-12), 0.4)
		nlr := math.Min(math.Max(e.relatives/all, 1e-12), 0.4)
		npa := 1e-9
		if e.present > 0 {
			npa = math.Min(math.Max(e.both/e.present, 1e-9), 0.5)
		}
		delta = math.Max(delta, math.Max(math.Abs(nlm-lm)/lm, math.Abs(nlr-lr)/lr))
		lm, lr, pa = nlm, nlr, npa
		fit.Iterations = it
		fit.Matches, fit.Relatives = e.matches, e.relatives
		if delta < 1e-6 {
			fit.Converged = true
			break
		}
	}
	fit.R, fit.Prior, fit.RelativesPrior, fit.PersonAgreement = r, lm, lr, pa
	return fit, nil
}

// relativesStart reads what EM holds fixed and where it starts from the
// trained model: log2(m/u) of every level, which the relatives fit does
// not re-estimate, and the base r, which is both EM's starting point and
// the Dirichlet prior that keeps rarely reached levels near it. A model
// without r cannot start the fit, so that is an error rather than a zero.
func relativesStart(m *Model) (lmu [NumComparisons][MaxLevels]float64, r0 Probabilities, err error) {
	for c, cm := range m.Comparisons {
		for l, lv := range cm.Levels {
			lmu[c][l] = lv.Weight()
			r0[c][l] = lv.R
			if r0[c][l] <= 0 {
				return lmu, r0, fmt.Errorf("%w: base model has no r for %s %s", ErrTraining, cm.Name, lv.Label)
			}
		}
	}
	return lmu, r0, nil
}

// relativesExpected is what one E step of the relatives fit expects among
// the candidate pairs, the sufficient statistics of its M step.
type relativesExpected struct {
	// matches and relatives are the expected numbers of pairs of each
	// class.
	matches, relatives float64
	// nr counts relatives at each level, for r.
	nr Probabilities
	// present counts relatives with both given name and birth date
	// present, both those that also agree on them, for the person
	// agreement.
	present, both float64
}

// relativesEStep computes the three classes' posteriors for every pattern
// with the current parameters and sums them, weighted by how many pairs
// share the pattern. It is kept apart from the M step so that each half of
// EM can be read against its formula.
func relativesEStep(ps []pattern, lmu *[NumComparisons][MaxLevels]float64, rc relCompiled, lm, lr float64) relativesExpected {
	var e relativesExpected
	lu := 1 - lm - lr
	for _, p := range ps {
		wm, wr := math.Log2(lm/lu), rc.prior
		for c := 0; c < NumComparisons; c++ {
			l := p.levels[c]
			wm += lmu[c][l]
			wr += lmu[c][l] - rc.mr[c][l]
		}
		var cmp Comparison
		cmp.Levels = p.levels
		wr += rc.personCorrection(&cmp)
		// Posteriors of the three classes, stably.
		top := math.Max(0, math.Max(wm, wr))
		em, er, eu := math.Exp2(wm-top), math.Exp2(wr-top), math.Exp2(-top)
		z := em + er + eu
		pm, pr := em/z, er/z
		e.matches += p.count * pm
		e.relatives += p.count * pr
		for c := 0; c < NumComparisons; c++ {
			if l := int(p.levels[c]); l < len(specs[c].levels) {
				e.nr[c][l] += p.count * pr
			}
		}
		if g, b := p.levels[CompGivenName], p.levels[CompBirthDate]; g != GivenMissing && b != BirthMissing {
			e.present += p.count * pr
			if g <= GivenJW92 && b <= BirthOneDigit {
				e.both += p.count * pr
			}
		}
	}
	return e
}

// relativesMStepR updates r from the expected level counts nr, smoothed
// towards the base r0 by relativesPseudo pairs, and returns the largest
// change, for the convergence test. nr is consumed. A comparison whose
// counts cannot be normalised keeps its r.
func relativesMStepR(nr, r0, r *Probabilities) (delta float64) {
	for c := 0; c < NumComparisons; c++ {
		L := len(specs[c].levels)
		for l := 0; l < L; l++ {
			nr[c][l] += relativesPseudo * r0[c][l]
		}
		if normalise(nr[c][:L], 1e-6) {
			delta = math.Max(delta, maxDiff(nr[c][:L], r[c][:L]))
			r[c] = nr[c]
		}
	}
	return delta
}

// relativesCompiled compiles a relatives class from r and the priors, as
// Scorer does from a model.
func relativesCompiled(m *Model, r Probabilities, lm, lr, pa float64) relCompiled {
	c := m.Clone()
	c.Prior = lm
	c.Relatives = &RelativesClass{Prior: lr, PersonAgreement: pa}
	for i := range c.Comparisons {
		for l := range c.Comparisons[i].Levels {
			c.Comparisons[i].Levels[l].R = r[i][l]
		}
	}
	var s Scorer
	s.compileRelatives(c)
	return s.rel
}

// candidatePatterns compresses the distinct candidate pairs of all passes
// into patterns, and returns the number of all pairs of records.
func candidatePatterns(records []*Prepared, passes []TrainingPass) ([]pattern, float64) {
	return compress(candidateVectors(records, passes)), allPairs(len(records))
}

// candidateVectors compares each distinct candidate pair of all passes
// once, whichever passes proposed it, in the order first proposed. The
// fits over all candidate pairs (candidatePrior, FitRelatives) count a pair
// once, as it is one pair of records however many rules found it. Pairs
// of a record with itself or outside records are skipped.
func candidateVectors(records []*Prepared, passes []TrainingPass) []LevelVector {
	var vectors []LevelVector
	var cmp Comparison
	eachDistinctPair(records, passes, func(_ int, i, j int32, first bool) {
		if first {
			Compare(records[i], records[j], &cmp)
			swapOnce(&cmp.Levels)
			vectors = append(vectors, cmp.Levels)
		}
	})
	return vectors
}

// eachDistinctPair calls fn for every pair of records each pass proposes,
// pass by pass, ordered so that i < j, with the pass's number and whether
// this is the pair's first proposal.
// Pairs of a record with itself or outside records are skipped.
func eachDistinctPair(records []*Prepared, passes []TrainingPass, fn func(pass int, i, j int32, first bool)) {
	seen := make(map[[2]int32]struct{})
	for n, p := range passes {
		for _, ij := range p.Pairs {
			i, j, ok := orderedPair(ij, len(records))
			if !ok {
				continue
			}
			k := [2]int32{i, j}
			_, dup := seen[k]
			if !dup {
				seen[k] = struct{}{}
			}
			fn(n, i, j, !dup)
		}
	}
}

// orderedPair returns a pass's pair ij ordered so that i < j, and false
// for a pair of a record with itself or with one outside the n records,
// which distinctPairs and eachDistinctPair skip.
func orderedPair(ij [2]int32, n int) (i, j int32, ok bool) {
	i, j = ij[0], ij[1]
	if i == j || i < 0 || j < 0 || int(i) >= n || int(j) >= n {
		return 0, 0, false
	}
	if i > j {
		i, j = j, i
	}
	return i, j, true
}

// allPairs is the number of unordered pairs of n records, as a float64
// since it is used as a denominator and overflows int32 on large files.
func allPairs(n int) float64 {
	f := float64(n)
	return f * (f - 1) / 2
}
