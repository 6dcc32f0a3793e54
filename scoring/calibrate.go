package scoring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// mPseudo is the weight, in pairs, of the base model's m as a Dirichlet
// prior on each comparison's m in candidateM: a level few matches reach
// stays near the built-in value instead of going to an extreme, and a
// level many reach is the data's (the same strength as relativesPseudo).
const mPseudo = relativesPseudo

// candidateM re-estimates m and λ by EM over the distinct candidate pairs
// of all passes, with λ over all pairs of records, starting from m (the
// passes' estimate): the two-class counterpart of FitRelatives. u is held
// as given, or, with random (the level counts of the random pairs u was
// estimated from), taken net of the matches among them at each iteration
// (nonMatchU).
//
// The passes each leave out the comparisons they were blocked on, so a
// comparison every usable pass excludes, or one a file holds beside a
// single other (names and birth date only: blocked on both names, the birth
// date alone cannot tell m from λ), keeps the built-in m — made for cleaner
// data than most files hold (a birth date one digit off: 0.05, noisy files
// 0.10–0.15), which leaves their true pairs with typos below `probable`.
// Over the union of the passes' pairs every comparison is seen beside all
// the others, so each m is estimated wherever the file has its field (its
// levels counted over the pairs some rule left it free in, freePatterns); the
// pairs no rule proposes disagree on every blocking key and are taken as
// non-matches, as in candidatePrior. Each comparison's m is smoothed toward
// base by mPseudo pairs; passive comparisons (the household) are estimated
// but do not vote.
//
// It returns m, u and λ unchanged when there are no candidate pairs, and
// the iterations it ran.
func candidateM(ps []freePattern, all float64, m, base, u Probabilities, lambda float64, passive [NumComparisons]bool, random *LevelCounts) (Probabilities, Probabilities, float64, int) {
	if len(ps) == 0 || all <= 0 {
		return m, u, lambda, 0
	}
	var lmu [NumComparisons][MaxLevels]float64
	it := 0
	for it = 1; it <= 200; it++ {
		if random != nil {
			u = nonMatchU(random, m, u, lambda)
		}
		for c := 0; c < NumComparisons; c++ {
			for l := range specs[c].levels {
				lmu[c][l] = math.Log2(m[c][l] / u[c][l])
			}
		}
		prior := logit2(lambda)
		var nm Probabilities
		var matches float64
		for _, p := range ps {
			w := prior
			for c := 0; c < NumComparisons; c++ {
				if l := int(p.levels[c]); l < len(specs[c].levels) && !passive[c] {
					w += lmu[c][l]
				}
			}
			post := p.count * probability(w)
			matches += post
			for c := 0; c < NumComparisons; c++ {
				if l := int(p.levels[c]); l < len(specs[c].levels) && p.free&(1<<c) != 0 {
					nm[c][l] += post
				}
			}
		}
		next := math.Min(math.Max(matches/all, 1e-12), 0.5)
		delta := math.Abs(next-lambda) / lambda
		for c := 0; c < NumComparisons; c++ {
			L := len(specs[c].levels)
			if sumOf(nm[c][:L]) <= 0 {
				continue // never present on both sides: keep m
			}
			for l := 0; l < L; l++ {
				nm[c][l] += mPseudo * base[c][l]
			}
			normalise(nm[c][:L], 1e-6)
			delta = math.Max(delta, maxDiff(nm[c][:L], m[c][:L]))
			m[c] = nm[c]
		}
		lambda = next
		if delta < 1e-6 || it == 200 {
			break
		}
	}
	return m, u, lambda, it
}

// nonMatchU is u among non-matches from the level counts of random pairs:
// a random pair is a match with probability λ, so the share p of random
// pairs at a level is λ·m + (1−λ)·u, and u = (p − λ·m)/(1 − λ). On a large
// file λ is tiny and this is p; on a small one full of duplicates (FEBRL:
// 1,000 records, one pair in a thousand a match) the matches are most of
// the random pairs that agree exactly or swap their names, and taking p
// for u understates those levels' weight by several bits. A level is
// floored at the half pair EstimateU adds to every level (never zero);
// comparisons no random pair had on both sides keep u.
func nonMatchU(random *LevelCounts, m, u Probabilities, lambda float64) Probabilities {
	for c := 0; c < NumComparisons; c++ {
		L := len(specs[c].levels)
		var tot float64
		for l := 0; l < L; l++ {
			tot += float64(random[c][l])
		}
		if tot == 0 {
			continue
		}
		floor := 0.5 / (tot + 0.5*float64(L))
		for l := 0; l < L; l++ {
			p := float64(random[c][l]) / tot
			u[c][l] = math.Max((p-lambda*m[c][l])/(1-lambda), floor)
		}
		normalise(u[c][:L], floor)
	}
	return u
}

// refitOnCandidates replaces model's m, u and prior by candidateM's, and
// returns the training note that says so.
func refitOnCandidates(model, base *Model, ps []freePattern, all float64, passive [NumComparisons]bool, random *LevelCounts) string {
	m, u := ModelProbabilities(model)
	b, _ := ModelProbabilities(base)
	m, u, lambda, it := candidateM(ps, all, m, b, u, model.Prior, passive, random)
	model.Prior = lambda
	setModelProbabilities(model, &m, &u)
	return fmt.Sprintf("m, u and prior re-estimated by EM over the distinct candidate pairs of all passes (%d iterations): prior %.4g", it, lambda)
}

// swapOnce makes a swap of given and family names one event in training.
// swappedNames decides both comparisons' swapped level, so a swap reaches
// given_name swapped and family_name swapped together: counted twice, EM
// doubles its weight (two levels that random pairs almost never reach),
// and a trained model let every pair of people whose names happen to be
// each other's reversed — different birth date, different household —
// past `probable` (117 false pairs on generated 100k). In training the
// family side of a swap is read as missing; the given name's swapped
// level carries the whole event, and family_name swapped is made neutral
// (neutralFamilySwap).
func swapOnce(v *LevelVector) {
	if v[CompGivenName] == GivenSwapped && v[CompFamilyName] == FamilySwapped {
		v[CompFamilyName] = FamilyMissing
	}
}

// neutralFamilySwap gives family_name swapped weight 0 (m = u), rescaling
// the comparison's other m so that they still sum to 1; see swapOnce.
func neutralFamilySwap(model *Model) string {
	lv := model.Comparisons[CompFamilyName].Levels
	s := &lv[FamilySwapped]
	rest := 1 - s.M
	s.M = s.U
	if rest > 0 {
		k := (1 - s.M) / rest
		for l := range lv {
			if l != FamilySwapped {
				lv[l].M *= k
			}
		}
	}
	return "family_name swapped: weight 0, the given name's swapped level carries a swap (it is one event, not two)"
}

// freePattern is a distinct level vector of candidate pairs with the
// comparisons some pass proposing them did not block on (bit c of free),
// and how many pairs share both.
type freePattern struct {
	levels LevelVector
	free   uint8
	count  float64
}

// freePatterns compares each distinct candidate pair of all passes once,
// and marks the comparisons that at least one pass proposing it left
// free: among pairs blocked on a comparison its agreement is what the
// blocking asked for, not evidence, so candidateM estimates each m only
// from the pairs some other rule found (Splink's reason for leaving a
// pass's blocking fields out of it, kept over the union). A file whose
// true pairs with a date error are found only by name rules and whose
// exact dates by date rules too would otherwise count exact dates twice
// as often as they are. It also returns the number of all pairs of
// records. FitToFile, which has compared the pairs already
// (compareDistinct), compresses its own vectors instead.
func freePatterns(records []*Prepared, passes []TrainingPass) ([]freePattern, float64) {
	distinct, free := distinctPairs(records, passes)
	vectors := make([]LevelVector, len(distinct))
	var cmp Comparison
	for k, ij := range distinct {
		Compare(records[ij[0]], records[ij[1]], &cmp)
		vectors[k] = cmp.Levels
		swapOnce(&vectors[k])
	}
	return compressFree(vectors, free), allPairs(len(records))
}

// passFree is the set of comparisons a pass does not block on (bit c),
// with the household rule of estimatePass: blocked on a household field,
// the family name is not free either.
func passFree(p TrainingPass) uint8 {
	var ex [NumComparisons]bool
	for _, name := range p.Exclude {
		if c := comparisonByName(name); c >= 0 {
			ex[c] = true
		}
	}
	if ex[CompHousehold] {
		ex[CompFamilyName] = true
	}
	var mask uint8
	for c, x := range ex {
		if !x {
			mask |= 1 << c
		}
	}
	return mask
}

// compressFree counts the distinct (levels, free) pairs, in a fixed order
// so that the sums, and the result, do not depend on map iteration.
func compressFree(vectors []LevelVector, free []uint8) []freePattern {
	type key struct {
		levels LevelVector
		free   uint8
	}
	idx := make(map[key]int)
	var ps []freePattern
	for n, v := range vectors {
		k := key{v, free[n]}
		i, ok := idx[k]
		if !ok {
			i = len(ps)
			idx[k] = i
			ps = append(ps, freePattern{levels: v, free: free[n]})
		}
		ps[i].count++
	}
	slices.SortFunc(ps, func(a, b freePattern) int {
		for c := 0; c < NumComparisons; c++ {
			if a.levels[c] != b.levels[c] {
				return int(a.levels[c]) - int(b.levels[c])
			}
		}
		return int(a.free) - int(b.free)
	})
	return ps
}

// fitUPairs is how many random pairs of records FitToFile estimates u
// from: as many as train samples by default (TrainOptions.UPairs), so
// that the built-in model fitted to a file and a model trained on it see
// the same chance agreement.
const fitUPairs = 1_000_000

// minUPairs is the fewest non-matching random pairs (net of the matches
// expected among them, nonMatchU) at which a level's u is taken from the
// sample: a count of k has a relative standard error of about 1/√k, so at
// 20 pairs the estimate is within a third of a bit of weight. A level
// fewer pairs reach (an identifier agreeing, a swap of names, an address
// on a file of four fields) keeps the built-in u rather than going to an
// extreme, as issue 13 item 4 asks of every level EM cannot estimate.
const minUPairs = 20

// sampleU counts the levels of fitUPairs random pairs of records (all
// pairs of a small file), drawn with train's seed so that a fit is
// reproducible. It returns the counts and how many pairs were compared.
func sampleU(records []*Prepared) (LevelCounts, int) {
	rng := rand.New(rand.NewPCG(1, 1^0x9e3779b97f4a7c15))
	_, n, counts := EstimateU(records, fitUPairs, rng)
	return counts, n
}

// uOfSample is u among non-matches from the level counts of random pairs,
// given m and the prior λ (nonMatchU's u = (p − λ·m)/(1 − λ)), for the
// levels it can estimate; every other level keeps base's u, and the
// estimated levels share what the kept ones leave of 1. A level is
// estimated when at least minUPairs non-matching pairs reached it and the
// matches can be at most half of the random pairs there (λ ≤ p/2): m is
// the built-in's, not the file's, and where matches could be most of a
// level's random pairs — a small file full of duplicates, a level as rare
// as a shared e-mail address (splink_fake_1000: λ 2.4e-3 against 1.6e-3 of
// random pairs sharing one) — u net of them is a difference of two like
// numbers, off by any amount m is; at λ ≤ p/2 it is within a factor of
// two (one bit) whatever m is. A comparison no random pair had on both
// sides, or one with no level estimable, keeps base's row. FitToFile asks
// minPairs = minUPairs; training, whose sample is the model's own,
// 0 (refitWithSampleU); an estimate at or below zero is never taken. It
// returns u and the levels it estimated.
func uOfSample(counts *LevelCounts, m, base Probabilities, lambda, minPairs float64) (Probabilities, int) {
	u := base
	fitted := 0
	for c := 0; c < NumComparisons; c++ {
		L := len(specs[c].levels)
		tot := counts.total(c)
		if tot == 0 {
			continue
		}
		var est [MaxLevels]float64
		var ok [MaxLevels]bool
		var estSum, kept float64
		for l := 0; l < L; l++ {
			p := float64(counts[c][l]) / tot
			est[l] = (p - lambda*m[c][l]) / (1 - lambda)
			if ok[l] = est[l]*tot >= minPairs && est[l] > 0 && lambda <= p/2; ok[l] {
				estSum += est[l]
			} else {
				kept += base[c][l]
			}
		}
		if estSum <= 0 || kept >= 1 {
			continue
		}
		k := (1 - kept) / estSum
		for l := 0; l < L; l++ {
			if ok[l] {
				u[c][l] = est[l] * k
				fitted++
			}
		}
	}
	return u, fitted
}

// fitUAndPrior fits m's u to the file from the random pairs' level
// counts (uOfSample, with base's m) and its prior to the level vectors of
// the distinct candidate pairs of n records (priorOfVectors), in turn
// until the prior settles: u is net of the matches among random pairs,
// which the prior counts, and the prior depends on the weights, which u
// sets. It starts from lambda (the prior under base's u).
//
// Each round the agreement levels no random or candidate pair reached
// (seen) are made neutral, the weights ordered as training does
// (constrainWeights): the built-in m spread each comparison over levels
// a file may not have — on a file with a city and no street address, the
// mass the built-in m put on the address levels is what its true pairs
// have at the city level, and without the rescaling a city agreeing among
// many random pairs weighs less than nothing (splink_fake_1000: city
// +1.32 → −0.34 bits, probable+ F1 0.8093 → 0.7966). It returns the
// prior and notes: how many levels took the sample's u, and
// constrainWeights' own; m holds the fitted u, m and prior. What that
// move lifts is not the `certain` bar's: fitMToFile estimates m from the
// file next, and only what moves after that estimate is unmeasured
// (constrainLift).
func fitUAndPrior(m *Model, counts *LevelCounts, seen *[NumComparisons][MaxLevels]bool, vectors []LevelVector, n int, lambda float64, passive [NumComparisons]bool) (float64, []string) {
	base := m.Clone()
	bm, bu := ModelProbabilities(base)
	keep := keepLevels(seen, base)
	var notes []string
	fitted, round := 0, 0
	for round = 1; round <= 20; round++ {
		var u Probabilities
		u, fitted = uOfSample(counts, bm, bu, lambda, minUPairs)
		*m = *base.Clone()
		setU(m, u)
		notes = constrainWeights(m, &keep)
		m.Prior = lambda
		next, _ := priorOfVectors(vectors, n, m, passive)
		done := math.Abs(next-lambda) <= 1e-4*lambda
		lambda = next
		if done {
			break
		}
	}
	m.Prior = lambda
	note := fmt.Sprintf("u: %d levels from the sample (at least %d non-matching pairs, at most half of them possibly matches); the others keep the built-in u; %d rounds with the prior",
		fitted, minUPairs, round)
	return lambda, append([]string{note}, notes...)
}

// keepLevels is the levels constrainWeights must keep as they are: those
// some pair of the file reaches (seen), and every level that counts
// against a match. Only agreement is made neutral where no pair reached
// it: a level that counts against a match (a family name "else" on a
// small file of like names) keeps its weight for the pair that does
// reach it.
func keepLevels(seen *[NumComparisons][MaxLevels]bool, base *Model) [NumComparisons][MaxLevels]bool {
	keep := *seen
	for c := range base.Comparisons {
		for l, lv := range base.Comparisons[c].Levels {
			keep[c][l] = keep[c][l] || lv.Weight() <= 0
		}
	}
	return keep
}

// setU puts u into model's levels.
func setU(model *Model, u Probabilities) {
	for c := range model.Comparisons {
		for l := range model.Comparisons[c].Levels {
			model.Comparisons[c].Levels[l].U = u[c][l]
		}
	}
}

// fitMToFile re-estimates m (fitted u held) by EM over the distinct
// candidate pairs of n records (ps: their levels and free comparisons,
// compressFree; vectors: their levels, for the prior), as training's
// last step does (candidateM: each m counted where no rule blocked on it,
// smoothed toward the built-in m by mPseudo pairs), with training's
// guards after it: the
// person fields' "else" held at most at the built-in m
// (personElseCeiling: two classes count relatives there), weights ordered
// (constrainWeights) and a swap of names one event (neutralFamilySwap).
// The prior is then fitted again under the new weights.
//
// Why: the built-in m are made for clean data — a birth date in the
// neighbouring year m 0.02, a phonetic slip of either name 0.03 — and a
// heavily corrupted file has far fewer exact agreements among its true
// pairs (splink_fake_1000, labelled: 27% of true candidate pairs have the
// birth date in the neighbouring year, 17% a family name and 14% a given
// name only phonetically alike). Under the built-in m such a pair lost
// 3–4 bits per slip and its posterior sat between 0.02 and 0.5, where
// 98% of the pairs at match weight −2…0 were true. The grades compare
// posteriors, so they meant less on that file than on a clean one.
//
// It returns the prior, the bits personElseCeiling and constrainWeights
// lifted a level above EM's estimate (what `certain` must ask on top:
// moved, not measured; see constrainLift) and notes.
func fitMToFile(m, base *Model, ps []freePattern, n int, vectors []LevelVector, lambda float64, passive [NumComparisons]bool, seen *[NumComparisons][MaxLevels]bool) (float64, float64, []string) {
	all := allPairs(n)
	if len(ps) == 0 {
		return lambda, 0, nil
	}
	mm, u := ModelProbabilities(m)
	bm, _ := ModelProbabilities(base)
	mm, _, lambda, it := candidateM(ps, all, mm, bm, u, lambda, passive, nil)
	setModelProbabilities(m, &mm, &u) // u held: only m moves
	notes := []string{fmt.Sprintf("m: re-estimated by EM over the distinct candidate pairs (%d iterations), the fitted u held", it)}
	// EM's estimate, before personElseCeiling: holding an "else" down
	// rescales the comparison's other levels up, a move as unmeasured as
	// constrainWeights'.
	estimated := m.Clone()
	notes = append(notes, personElseCeiling(m, base)...)
	keep := keepLevels(seen, base)
	notes = append(notes, constrainWeights(m, &keep)...)
	notes = append(notes, neutralFamilySwap(m))
	m.Prior = lambda
	if next, _ := priorOfVectors(vectors, n, m, passive); next > 0 {
		lambda = next
	}
	return lambda, constrainLift(m, estimated, seen), notes
}

// constrainLift is the most bits a pair's weight can gain from the moves
// of m after EM (personElseCeiling, constrainWeights) over the estimated
// model: over the comparisons, the sum of the most any level of the
// file's pairs reach (seen) weighs above its estimate. A level no pair
// reaches cannot lift one: EM left its m near mPseudo·m/N, and
// constrainWeights, making it neutral, raised its weight by log2(u/m),
// which grows with the file (200 identical records: 29 bits, a `certain`
// bar of 1, which no model validates).
func constrainLift(m, estimated *Model, seen *[NumComparisons][MaxLevels]bool) float64 {
	lift := 0.0
	for c := range m.Comparisons {
		most := 0.0
		for l, lv := range m.Comparisons[c].Levels {
			if !seen[c][l] {
				continue
			}
			most = max(most, lv.Weight()-estimated.Comparisons[c].Levels[l].Weight())
		}
		lift += most
	}
	return lift
}

// refitWithSampleU gives a trained model the u the fitted built-in model
// takes (uOfSample): each level's from the random pairs net of the
// matches among them where matches can be at most half of them (λ ≤ p/2),
// else the base model's, and re-estimates m and the prior by EM over the
// candidate pairs with that u held. Training's own u (nonMatchU, every
// level from the sample) is a difference of two like numbers where the
// matches are most of a level's random pairs — a shared e-mail on a
// 1,000-record file full of duplicates (splink_fake_1000: λ 2.8e-3, 1.6e-3
// of random pairs share one) — and the contact level there weighed
// +9.5 bits against the fitted built-in model's +14.8; with the fitted
// built-in's m fitted too (fitMToFile), a trained model would otherwise
// be below the built-in one on the same file (issue 13 item 4). Unlike
// FitToFile it takes a level however few random pairs reach it
// (minPairs 0): training's sample is the model's, and with the built-in
// u for rare levels the trained possible+ F1 of generated 100k fell
// 0.8950 → 0.7888.
func refitWithSampleU(model, base *Model, ps []freePattern, all float64, passive [NumComparisons]bool, random *LevelCounts) string {
	m, _ := ModelProbabilities(model)
	bm, bu := ModelProbabilities(base)
	u, fitted := uOfSample(random, m, bu, model.Prior, 0)
	m, u, lambda, it := candidateM(ps, all, m, bm, u, model.Prior, passive, nil)
	model.Prior = lambda
	setModelProbabilities(model, &m, &u)
	return fmt.Sprintf("u: %d levels from the sample net of its matches (at most half of them possibly matches), the others the base model's; m and prior again by EM over the candidate pairs with that u held (%d iterations): prior %.4g",
		fitted, it, lambda)
}
