package scoring

import (
	"math"
	"slices"
)

// LevelVector is one compared pair: the level reached in each comparison.
type LevelVector = [NumComparisons]uint8

// Probabilities holds one probability per level of each comparison — the m
// or the u of a model. The missing level's entry is unused.
type Probabilities [NumComparisons][MaxLevels]float64

// ModelProbabilities returns the m and u of a model.
func ModelProbabilities(m *Model) (mp, up Probabilities) {
	for c, cm := range m.Comparisons {
		for l, lv := range cm.Levels {
			mp[c][l], up[c][l] = lv.M, lv.U
		}
	}
	return mp, up
}

// setModelProbabilities writes m and u into model's levels: the inverse
// of ModelProbabilities.
func setModelProbabilities(model *Model, m, u *Probabilities) {
	for c := range model.Comparisons {
		for l := range model.Comparisons[c].Levels {
			model.Comparisons[c].Levels[l].M = m[c][l]
			model.Comparisons[c].Levels[l].U = u[c][l]
		}
	}
}

// EMOptions tune the expectation–maximisation core.
type EMOptions struct {
	// MaxIterations caps the iterations (default 200).
	MaxIterations int
	// Tolerance stops EM when no m, u or λ changes by more than it between
	// iterations (default 1e-6).
	Tolerance float64
	// MinProbability floors every estimated m and u, so that weights stay
	// finite whatever the data (default 1e-6); the ceiling follows, as each
	// comparison's probabilities sum to 1.
	MinProbability float64
	// EstimateU re-estimates u too (the classic Fellegi–Sunter EM). The
	// default holds u fixed, as Splink does, with u from random pairs.
	EstimateU bool
	// Passive comparisons have their m estimated from the posteriors but
	// do not vote in the E step. Train makes the household comparison
	// passive: among blocked pairs, household members outnumber duplicates
	// and agree on address and phone as well as duplicates do, so an active
	// household comparison pulls EM toward the "same household" class.
	// Estimated passively, its m describes the persons the other
	// comparisons found.
	Passive [NumComparisons]bool
	// MPseudoCount is added to every level's expected count of matching
	// pairs in each M step (default 0.5; negative for none): a symmetric
	// Dirichlet prior on m, the same half pair EstimateU adds to every
	// level of u. Without it a level that no pair the E step calls a match
	// reaches — a day/month transposition in data that has none among its
	// duplicates — is driven to MinProbability, and its weight becomes a
	// large negative number for what is, when it occurs, a near agreement.
	// With it such a level's m is about half a pair over the matches found,
	// which a few thousand matches make small but not absurd.
	MPseudoCount float64
}

func (o EMOptions) withDefaults() EMOptions {
	if o.MaxIterations <= 0 {
		o.MaxIterations = 200
	}
	if o.Tolerance <= 0 {
		o.Tolerance = 1e-6
	}
	if o.MinProbability <= 0 {
		o.MinProbability = 1e-6
	}
	if o.MPseudoCount == 0 {
		o.MPseudoCount = 0.5
	}
	return o
}

// EMResult is the outcome of one EM run.
type EMResult struct {
	M, U Probabilities
	// Lambda is the estimated share of matches among the vectors.
	Lambda float64
	// Matches is the expected number of matching vectors (Lambda × count).
	Matches    float64
	Iterations int
	Converged  bool
}

// pattern is a distinct level vector and how often it occurs. EM works on
// patterns: a few thousand distinct vectors stand for millions of pairs.
type pattern struct {
	levels LevelVector
	count  float64
}

func compress(vectors []LevelVector) []pattern {
	idx := make(map[LevelVector]int)
	var ps []pattern
	for _, v := range vectors {
		i, ok := idx[v]
		if !ok {
			i = len(ps)
			idx[v] = i
			ps = append(ps, pattern{levels: v})
		}
		ps[i].count++
	}
	// A fixed order makes the floating-point sums, and so the result,
	// independent of map iteration.
	slices.SortFunc(ps, func(a, b pattern) int {
		for c := 0; c < NumComparisons; c++ {
			if a.levels[c] != b.levels[c] {
				return int(a.levels[c]) - int(b.levels[c])
			}
		}
		return 0
	})
	return ps
}

// RunEM estimates m (and λ, and u with EstimateU) from level vectors by
// expectation–maximisation, starting from m0, u and lambda0. Comparisons
// marked in exclude (those the pairs were blocked on, whose levels are
// therefore not informative) keep their m0 and are left out of the
// likelihood, as are missing levels.
func RunEM(vectors []LevelVector, exclude [NumComparisons]bool, m0, u Probabilities, lambda0 float64, opt EMOptions) EMResult {
	opt = opt.withDefaults()
	ps := compress(vectors)
	res := EMResult{M: m0, U: u, Lambda: lambda0}
	if len(ps) == 0 {
		res.Converged = true
		return res
	}
	nLevels := func(c int) int { return len(specs[c].levels) }
	total := float64(len(vectors))
	post := make([]float64, len(ps))
	lambda := math.Min(math.Max(lambda0, 1e-6), 1-1e-6)
	m, uu := m0, u
	for it := 1; it <= opt.MaxIterations; it++ {
		// E step: posterior match probability of each pattern.
		for i, p := range ps {
			lm, lu := math.Log(lambda), math.Log(1-lambda)
			for c := 0; c < NumComparisons; c++ {
				l := int(p.levels[c])
				if exclude[c] || opt.Passive[c] || l >= nLevels(c) {
					continue
				}
				lm += math.Log(m[c][l])
				lu += math.Log(uu[c][l])
			}
			post[i] = 1 / (1 + math.Exp(lu-lm))
		}
		// M step.
		var nm, nu Probabilities
		var sumPost float64
		for i, p := range ps {
			wm := p.count * post[i]
			wu := p.count * (1 - post[i])
			sumPost += wm
			for c := 0; c < NumComparisons; c++ {
				l := int(p.levels[c])
				if exclude[c] || l >= nLevels(c) {
					continue
				}
				nm[c][l] += wm
				nu[c][l] += wu
			}
		}
		newLambda := math.Min(math.Max(sumPost/total, 1e-9), 1-1e-9)
		delta := math.Abs(newLambda - lambda)
		for c := 0; c < NumComparisons; c++ {
			if exclude[c] {
				continue
			}
			if opt.MPseudoCount > 0 && sumOf(nm[c][:nLevels(c)]) > 0 {
				// A comparison no pair has on both sides keeps m0 (the
				// prior needs some data to smooth).
				for l := 0; l < nLevels(c); l++ {
					nm[c][l] += opt.MPseudoCount
				}
			}
			if normalise(nm[c][:nLevels(c)], opt.MinProbability) {
				delta = math.Max(delta, maxDiff(nm[c][:nLevels(c)], m[c][:nLevels(c)]))
				m[c] = nm[c]
			}
			if opt.EstimateU && normalise(nu[c][:nLevels(c)], opt.MinProbability) {
				delta = math.Max(delta, maxDiff(nu[c][:nLevels(c)], uu[c][:nLevels(c)]))
				uu[c] = nu[c]
			}
		}
		lambda = newLambda
		res.Iterations = it
		if delta < opt.Tolerance {
			res.Converged = true
			break
		}
	}
	res.M, res.U, res.Lambda = m, uu, lambda
	res.Matches = lambda * total
	return res
}

// normalise turns counts into probabilities floored at floor, in place. It
// returns false (leaving p alone) when there is nothing to normalise.
func normalise(p []float64, floor float64) bool {
	var s float64
	for _, x := range p {
		s += x
	}
	if s <= 0 {
		return false
	}
	// Floor, then rescale the rest so the whole still sums to 1.
	var free, fixed float64
	for i := range p {
		p[i] /= s
		if p[i] < floor {
			p[i] = floor
			fixed += floor
		} else {
			free += p[i]
		}
	}
	if free > 0 {
		k := (1 - fixed) / free
		for i := range p {
			if p[i] > floor {
				p[i] *= k
			}
		}
	}
	return true
}

func sumOf(p []float64) float64 {
	s := 0.0
	for _, x := range p {
		s += x
	}
	return s
}

func maxDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}
