package scoring

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// probableThreshold estimates from the file where a trained model's
// `probable` grade should start: the posterior that maximises the F1 of
// `probable`-or-better the model itself expects over the distinct candidate
// pairs of all passes, no labels needed. A pair at posterior p is a match
// with probability p (training fitted m, u and λ to this file), so
// grading the pairs down to a threshold t is expected to find Σp of the
// Σp matches the candidates hold, at the cost of Σ(1−p) false pairs. The
// pairs the hazard caps hold below `probable` (relatives' shapes,
// conflicts) are left out, as the engine grades them.
//
// Why not one posterior for every file (the built-in 0.95): that threshold
// means different things on a file whose records carry an address, contact
// details and identifiers and on one of names and birth dates. With twelve
// fields nearly every pair sits at a posterior near 0 or 1 and the band
// between 0.5 and 0.95 is thin; with four, a true pair with one typo sits
// in that band, uncapped — 4–7% of all true pairs on our sparse sets
// (names, civil, splink_fake_1000), at a posterior the trained model gets
// about right (bench/README "sparse (session 3)"). The expected-F1 optimum of a calibrated posterior lies at F1/2 (at
// most 0.5) wherever that band holds pairs, and stays near 1 on a clean
// file where it does not.
//
// The estimate only lowers m's threshold, and never below possible, so
// that the grades stay ordered: on a clean file the expected F1 is flat
// above the band, and its optimum, a tie among thresholds that grade
// almost the same pairs, is no reason to demand more than the base model
// does (on febrl1 it lay at 0.983 and cost a true pair). It returns the
// threshold and a training note; with no candidate pairs it returns m's
// own threshold.
func probableThreshold(records []*Prepared, passes []TrainingPass, m *Model, tf *TermFrequencies) (float64, string) {
	var pairs []fitPair
	eachDistinctPair(records, passes, func(_ int, i, j int32, first bool) {
		if first {
			p := fitPair{i: i, j: j}
			Compare(records[i], records[j], &p.cmp)
			pairs = append(pairs, p)
		}
	})
	return probableOfPairs(records, pairs, m, tf, nameFrequencies(records, tf))
}

// fitPair is a distinct candidate pair, compared once (FitToFile).
type fitPair struct {
	i, j int32
	cmp  Comparison
}

// probableOfPairs is probableThreshold over pairs already compared, with
// freq the records' name frequencies in tf (nameFrequencies).
func probableOfPairs(records []*Prepared, pairs []fitPair, m *Model, tf *TermFrequencies, freq [][2]float64) (float64, string) {
	th := m.Thresholds
	s, err := NewScorer(m)
	if err != nil {
		return th.Probable, fmt.Sprintf("probable threshold: kept %g (%v)", th.Probable, err)
	}
	s = s.WithTermFrequencies(tf)
	var allowed []float64 // posteriors of the pairs the caps let reach probable
	var matches float64   // expected matches among all candidate pairs
	var ca, cb Prepared
	withTF := func(i int32, c *Prepared) *Prepared {
		if r := records[i]; r.GivenTF == freq[i][0] && r.FamilyTF == freq[i][1] {
			return r // prepared with tf already (batch.WithInputFrequencies)
		}
		*c = *records[i]
		c.GivenTF, c.FamilyTF = freq[i][0], freq[i][1]
		return c
	}
	for k := range pairs {
		p := &pairs[k]
		a, b := withTF(p.i, &ca), withTF(p.j, &cb)
		r := s.ScoreComparison(&p.cmp, a, b)
		matches += r.Probability
		if g, _ := applyCaps(&p.cmp, GradeProbable, s.nameTypos(&p.cmp, a, b)); g == GradeProbable {
			allowed = append(allowed, r.Probability)
		}
	}
	if len(allowed) == 0 || matches <= 0 {
		return th.Probable, fmt.Sprintf("probable threshold: kept %g (no candidate pairs to estimate it from)", th.Probable)
	}
	t, f1 := expectedF1Optimum(allowed, matches)
	if math.IsNaN(t) {
		return th.Probable, fmt.Sprintf("probable threshold: kept %g (the estimate was not a number)", th.Probable)
	}
	est := min(max(t, th.Possible), th.Probable)
	return est, fmt.Sprintf("probable threshold: %.4g; the F1 of probable+ the model expects over the candidate pairs (%.0f expected matches; %d pairs the caps let reach probable) is highest, %.4f, at posterior %.4g (kept within possible %g and the base %g)",
		est, matches, len(allowed), f1, t, th.Possible, th.Probable)
}

// nameFrequencies returns each record's given and family name frequency
// in tf (zero without tf), as Scorer.PrepareInto would set them: training
// prepares records without them, and looking them up once per record
// rather than once per pair keeps the pass over the candidate pairs cheap.
func nameFrequencies(records []*Prepared, tf *TermFrequencies) [][2]float64 {
	out := make([][2]float64, len(records))
	for i, p := range records {
		out[i] = [2]float64{tf.GivenFrequency(p.given), tf.FamilyFrequency(p.family)}
	}
	return out
}

// expectedF1Optimum returns the posterior t at which grading the pairs of
// posteriors probs at t or above gives the highest expected F1, and that
// F1: expected true positives Σp over the pairs graded, over the number
// graded plus the expected matches (the F1 of counts, 2TP/(graded +
// matches)). It sorts probs.
//
// t lies halfway, in match weight, between the lowest posterior graded and
// the highest one not graded (boundaryBelow), not at the lowest graded
// one: the engine grades by match weight against the threshold's logit,
// and a pair whose posterior is the threshold itself came out a rounding
// error below it — febrl1, a swap of names at posterior 0.92396…, graded
// `possible` under a `probable` threshold estimated at its own posterior.
func expectedF1Optimum(probs []float64, matches float64) (t, f1 float64) {
	slices.Sort(probs)
	var tp float64
	best := -1
	for k := len(probs) - 1; k >= 0; k-- {
		tp += probs[k]
		n := float64(len(probs) - k)
		if f := 2 * tp / (n + matches); f > f1 {
			f1, best = f, k
		}
	}
	if best < 0 {
		return 0, 0
	}
	return boundaryBelow(probs, best), f1
}

// boundaryMargin is how far below the lowest graded posterior, in bits of
// match weight, boundaryBelow puts the threshold when no pair lies below
// it: far more than the rounding of a weight (about 1e-15 bits), far less
// than any difference between two pairs' weights that means anything.
const boundaryMargin = 1e-6

// boundaryBelow returns the threshold that grades sorted[k] and every
// posterior above it and none below: halfway in match weight between
// sorted[k] and the highest posterior below it, or boundaryMargin bits
// below sorted[k] when none is. A posterior of exactly 1 or 0 has an
// infinite weight (a pair of 60 bits rounds to 1): the boundary is then
// one bit from the finite side, or 1/2 between a 0 and a 1, never the
// NaN that halving an infinite gap would give.
func boundaryBelow(sorted []float64, k int) float64 {
	hi := logit2(sorted[k])
	for j := k - 1; j >= 0; j-- {
		if sorted[j] < sorted[k] {
			lo := logit2(sorted[j])
			switch {
			case math.IsInf(hi, 1) && math.IsInf(lo, -1):
				return 0.5
			case math.IsInf(hi, 1):
				return probability(lo + 1)
			case math.IsInf(lo, -1):
				return probability(hi - 1)
			}
			return probability(hi - (hi-lo)/2)
		}
	}
	return probability(hi - boundaryMargin)
}

// FitToFile returns base fitted to one file: u from random pairs of
// records, m by EM over the candidate pairs (fitMToFile), the prior λ and
// the posterior at which `probable` starts, all estimated from records and
// the candidate pairs of passes, no labels needed. It is for the
// built-in model on a file it was not trained on. The built-in u were set for a dense US file; a file of
// names and birth dates, or one from another country, has other chance
// agreement rates (a family name within Jaro–Winkler 0.92 of another by
// chance: built-in 3e-3, 1e-4 among random pairs of a German names file),
// and the built-in weights then leave its true pairs with a typo below
// `probable` (bench/README "fitted u (session 4)"). u is the one part of
// the model random pairs estimate without EM (Splink's "u from random
// sampling"). A level too few random pairs reach keeps the built-in u
// (uOfSample). m is then re-estimated from the file as training's last
// step does, the built-in m its starting point and a Dirichlet prior of
// mPseudo pairs, under training's guards against learning households
// (fitMToFile): the built-in m are made for clean data, and on a heavily
// corrupted file the true pairs with a slip sat at posteriors 0.02–0.5
// where the labels found 55–98% of them true (bench/README "uk (session
// 5)").
//
// The fixed prior (1e-4) and `probable` at 0.95 mean different things on
// different files: λ is the share of matches among all pairs of records,
// which falls with the file's size (a fifteenth of 1e-4 on a
// household-rich 100,000-record file) and rises with its duplicates (FEBRL
// 1,000 records: ten times 1e-4), so the same 0.95 is a stricter bar on
// one file than another; and a sparse file's pairs with one typo sit in
// the band a fixed 0.95 leaves at `possible` (probableThreshold).
//
// `certain` keeps its evidence. The grades compare posteriors, which
// include the prior, so a fitted prior above the base one (FEBRL: ten
// times 1e-4) would otherwise lower the likelihood ratio a pair needs for
// `certain` by as much. When the fitted prior is higher, the `certain`
// threshold is raised to the posterior that the base threshold's
// likelihood ratio gives under it (certainForPrior); a lower prior leaves
// it as it is, which only asks more. It is raised again by the most bits
// the guards after the m fit (personElseCeiling, constrainWeights) lift a
// level the file's pairs reach above EM's estimate (constrainLift): moved,
// not measured. It is kept below 1, which no model may ask.
//
// λ is estimated by EM for λ alone over the distinct candidate pairs (the
// pairs no rule proposes taken as non-matches, candidatePrior) with the
// household comparison passive: household members agree on address and
// phone as duplicates do, and with the household voting the estimate
// counts relatives among the matches. u and λ are fitted in turn until λ
// settles (fitUAndPrior). It returns base's own values when there are no
// candidate pairs, and notes that say what it set.
//
// tf is the file's name counts when the caller already has them (the
// reader counts them, batch.WithInputFrequencies); nil counts them here.
// Each distinct candidate pair is compared once, for both estimates
// (bench/README "identifiers of unknown kind (session 4)").
func FitToFile(records []*Prepared, passes []TrainingPass, base *Model, tf *TermFrequencies) (*Model, []string) {
	m := base.Clone()
	pairs, vectors, free := compareDistinct(records, passes)
	var passive [NumComparisons]bool
	passive[CompHousehold] = true
	lambda, n := priorOfVectors(vectors, len(records), m, passive)
	if lambda <= 0 {
		return m, []string{"model: kept the prior and thresholds (no candidate pairs to fit them to)"}
	}
	var notes []string
	lift := 0.0
	if counts, sampled := sampleU(records); sampled > 0 {
		seen := seenLevels(&counts, vectors)
		var uNotes []string
		// The u fit's move of the built-in m onto the levels the file
		// reaches is not the `certain` bar's: m is then estimated from the
		// file, and only what moves after that estimate is unmeasured
		// (constrainLift).
		lambda, uNotes = fitUAndPrior(m, &counts, &seen, vectors, len(records), lambda, passive)
		notes = append(notes, fmt.Sprintf("u: fitted to %d random pairs of records", sampled))
		notes = append(notes, uNotes...)
		var mNotes []string
		ps := compressFree(vectors, free)
		lambda, lift, mNotes = fitMToFile(m, base, ps, len(records), vectors, lambda, passive, &seen)
		notes = append(notes, mNotes...)
	}
	notes = append(notes, fmt.Sprintf("prior: %.4g, fitted to the %d distinct candidate pairs (was %.4g)", lambda, n, base.Prior))
	m.Prior = lambda
	if c := certainForPrior(base.Thresholds.Certain, base.Prior, lambda); c > m.Thresholds.Certain {
		notes = append(notes, fmt.Sprintf("certain threshold: %.10g (was %.10g), the built-in likelihood ratio under the fitted prior", c, m.Thresholds.Certain))
		m.Thresholds.Certain = c
	}
	if lift > 0 {
		// Kept below 1, which Validate refuses: a bar of 1 would be no
		// model at all, where one below it still asks every bit of lift.
		c := math.Min(probability(logit2(m.Thresholds.Certain)+lift), math.Nextafter(1, 0))
		notes = append(notes, fmt.Sprintf("certain threshold: %.12g, %.2f bits more, the most moving the m of levels this file cannot reach lifted a level it can above its estimate", c, lift))
		m.Thresholds.Certain = c
	}
	if tf == nil {
		tf = BuildTermFrequencies(records)
	}
	probable, note := probableOfPairs(records, pairs, m, tf, nameFrequencies(records, tf))
	m.Thresholds.Probable = probable
	m.Description += "; u, m, prior and probable threshold fitted to the file"
	return m, append(notes, note)
}

// compareDistinct compares each distinct candidate pair of passes once
// (distinctPairs), and returns the pairs with their comparisons, the
// level vectors the prior is fitted to (a swap of names one event,
// swapOnce) and each pair's free comparisons (distinctPairs), which with
// the vectors are fitMToFile's patterns (compressFree).
func compareDistinct(records []*Prepared, passes []TrainingPass) ([]fitPair, []LevelVector, []uint8) {
	distinct, free := distinctPairs(records, passes)
	pairs := make([]fitPair, len(distinct))
	vectors := make([]LevelVector, len(distinct))
	for k, ij := range distinct {
		p := &pairs[k]
		p.i, p.j = ij[0], ij[1]
		Compare(records[p.i], records[p.j], &p.cmp)
		vectors[k] = p.cmp.Levels
		swapOnce(&vectors[k])
	}
	return pairs, vectors, free
}

// distinctPairs returns the pairs of records the passes propose, each once
// (ordered i < j), in the order eachDistinctPair first meets them, so that
// sums over them come out the same, and for each the comparisons that at
// least one pass proposing it left free (the OR of their passFree masks;
// freePatterns). It finds the repeats by sorting the pairs' keys rather
// than with a set: a map of several hundred thousand pairs cost FitToFile
// as much as comparing them.
func distinctPairs(records []*Prepared, passes []TrainingPass) ([][2]int32, []uint8) {
	type keyed struct {
		key uint64
		at  int
	}
	n := 0
	for _, p := range passes {
		n += len(p.Pairs)
	}
	all := make([]keyed, 0, n)
	masks := make([]uint8, len(passes))
	ends := make([]int, len(passes)) // all[ends[p-1]:ends[p]] are pass p's
	for np, p := range passes {
		masks[np] = passFree(p)
		for _, ij := range p.Pairs {
			i, j, ok := orderedPair(ij, len(records))
			if !ok {
				continue
			}
			all = append(all, keyed{uint64(i)<<32 | uint64(j), len(all)})
		}
		ends[np] = len(all)
	}
	maskAt := func(at int) uint8 {
		np, _ := slices.BinarySearch(ends, at+1)
		return masks[np]
	}
	byKey := slices.Clone(all)
	slices.SortFunc(byKey, func(x, y keyed) int {
		if x.key != y.key {
			return cmp.Compare(x.key, y.key)
		}
		return cmp.Compare(x.at, y.at)
	})
	// groupFree[at] is the OR over the pair's group, kept at its first
	// proposal (the group's least at, first in byKey).
	groupFree := make([]uint8, len(all))
	first := make([]bool, len(all))
	distinct, lead := 0, 0
	for k := range byKey {
		if k == 0 || byKey[k].key != byKey[k-1].key {
			lead = byKey[k].at
			first[lead] = true
			distinct++
		}
		groupFree[lead] |= maskAt(byKey[k].at)
	}
	out := make([][2]int32, 0, distinct)
	free := make([]uint8, 0, distinct)
	for k, x := range all {
		if first[k] {
			out = append(out, [2]int32{int32(x.key >> 32), int32(uint32(x.key))})
			free = append(free, groupFree[k])
		}
	}
	return out, free
}

// certainForPrior returns the posterior threshold that asks, under prior,
// for the same likelihood ratio as threshold asks under basePrior:
// invlogit(logit(threshold) − logit(basePrior) + logit(prior)). A
// threshold or prior outside (0, 1) is returned as it is.
func certainForPrior(threshold, basePrior, prior float64) float64 {
	if threshold <= 0 || threshold >= 1 || basePrior <= 0 || basePrior >= 1 || prior <= 0 || prior >= 1 {
		return threshold
	}
	logit := func(p float64) float64 { return math.Log(p / (1 - p)) }
	x := logit(threshold) - logit(basePrior) + logit(prior)
	return 1 / (1 + math.Exp(-x))
}

// seenLevels marks the levels some random pair or candidate pair reached.
func seenLevels(counts *LevelCounts, vectors []LevelVector) [NumComparisons][MaxLevels]bool {
	var seen [NumComparisons][MaxLevels]bool
	for c := range seen {
		for l := range seen[c] {
			seen[c][l] = counts[c][l] > 0
		}
	}
	for _, v := range vectors {
		for c := range seen {
			if l := int(v[c]); l < MaxLevels {
				seen[c][l] = true
			}
		}
	}
	return seen
}
