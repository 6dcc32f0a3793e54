package scoring

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// ErrTraining is wrapped by training errors.
var ErrTraining = errors.New("scoring: training")

// TrainingPass is one EM pass: candidate pairs from one blocking rule, and
// the comparisons that rule blocked on. Those are left out of the pass,
// because among pairs that were made to agree on them their levels say
// nothing about matching (Splink's approach); their m comes from the other
// passes.
type TrainingPass struct {
	Name string
	// Pairs index the records slice given to EstimateM or Train.
	Pairs [][2]int32
	// Exclude names the comparisons the pairs were blocked on
	// ("family_name", "birth_date", ...). Excluding "household" also
	// excludes "family_name" (see EstimateM).
	Exclude []string
	// Recall is the share of all true matches the blocking rule keeps, used
	// to turn the matches EM finds in this pass into the prior λ. Zero means
	// estimate it as the product, over the excluded comparisons, of m at
	// their exact level — right for blocking on exact values, an
	// underestimate (so λ is overestimated) for looser keys such as a
	// phonetic code.
	Recall float64
}

// EstimateU estimates u, the level probabilities among non-matches, from
// nPairs pairs of records drawn at random with rng (all pairs when there
// are no more than nPairs). Random pairs are almost all non-matches. It also
// returns how many pairs were compared and how many reached each level; a
// comparison missing from every pair keeps no estimate (its row is zero).
func EstimateU(records []*Prepared, nPairs int, rng *rand.Rand) (u Probabilities, pairs int, counts LevelCounts) {
	n := len(records)
	if n < 2 || nPairs <= 0 {
		return u, 0, counts
	}
	var cmp Comparison
	add := func(i, j int) {
		Compare(records[i], records[j], &cmp)
		for c := 0; c < NumComparisons; c++ {
			counts[c][cmp.Levels[c]]++
		}
		pairs++
	}
	if all := n * (n - 1) / 2; all <= nPairs {
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				add(i, j)
			}
		}
	} else {
		for pairs < nPairs {
			i, j := rng.IntN(n), rng.IntN(n)
			if i != j {
				add(i, j)
			}
		}
	}
	for c := 0; c < NumComparisons; c++ {
		L := len(specs[c].levels)
		tot := counts.total(c)
		if tot == 0 {
			continue
		}
		// Add half a pair to every level so that a level never seen among
		// random pairs (swapped names, identifier exact) gets a small u,
		// not zero.
		for l := 0; l < L; l++ {
			u[c][l] = (float64(counts[c][l]) + 0.5) / (tot + 0.5*float64(L))
		}
	}
	return u, pairs, counts
}

// LevelCounts counts pairs per level of each comparison.
type LevelCounts [NumComparisons][MaxLevels]int

// total is how many pairs k counts for comparison c: the sum over its
// levels, as a float64 since it divides the level counts into shares.
func (k *LevelCounts) total(c int) float64 {
	var tot float64
	for l := 0; l < len(specs[c].levels); l++ {
		tot += float64(k[c][l])
	}
	return tot
}

// MEstimate is the outcome of EstimateM.
type MEstimate struct {
	// M combines the passes: each comparison's m is the average of the
	// passes that did not exclude it, weighted by the matches each found.
	// A comparison every pass excluded keeps the starting m.
	M Probabilities
	// Lambda is the prior: expected matches over all pairs of records (the
	// median of the passes' estimates).
	Lambda float64
	Passes []PassStats
	// Counts are the pairs at each level, over the passes that did not
	// exclude the comparison.
	Counts LevelCounts
	// Unused says which passes' estimates were left out, and why (see
	// passUnused).
	Unused []string
}

// passUnused says why one EM pass cannot estimate m for persons, or ""
// when it can:
//
//   - fewer than two comparisons take part in its E step (not excluded,
//     not passive, present in some pair): with u held fixed, one
//     comparison's level shares are explained as well by any m with a
//     matching λ — EM only returns where it started from. On a file of
//     names and birth dates, a pass blocked on both names has the birth
//     date alone.
//   - its matches look like households: m of "given name else" or "birth
//     date else" above householdMaxElse (HouseholdWarnings). Blocked on a
//     place and a family name, the pairs of a sparse file are mostly
//     siblings, and averaging their m in would teach the model families.
func passUnused(vectors []LevelVector, exclude, passive [NumComparisons]bool, m Probabilities) string {
	var present [NumComparisons]bool
	for _, v := range vectors {
		for c := 0; c < NumComparisons; c++ {
			if int(v[c]) < len(specs[c].levels) {
				present[c] = true
			}
		}
	}
	active := 0
	for c := 0; c < NumComparisons; c++ {
		if present[c] && !exclude[c] && !passive[c] {
			active++
		}
	}
	if active < 2 {
		return fmt.Sprintf("%d comparison(s) to learn from, EM cannot tell m from λ", active)
	}
	for _, cl := range [][2]int{{CompGivenName, GivenElse}, {CompBirthDate, BirthElse}} {
		c, l := cl[0], cl[1]
		if present[c] && !exclude[c] && m[c][l] > householdMaxElse {
			return fmt.Sprintf("m(%s %s) = %.3f > %.2f, households rather than persons", specs[c].name, specs[c].levels[l], m[c][l], householdMaxElse)
		}
	}
	return ""
}

// EstimateM estimates m by EM over each pass's pairs with u held fixed,
// starting from m0, and combines the passes. lambda0 starts each pass (0.1
// when not in (0,1)).
func EstimateM(records []*Prepared, passes []TrainingPass, m0, u Probabilities, lambda0 float64, opt EMOptions) (MEstimate, error) {
	if !(lambda0 > 0 && lambda0 < 1) {
		lambda0 = 0.1
	}
	var out MEstimate
	if len(passes) == 0 {
		return out, fmt.Errorf("%w: no training passes", ErrTraining)
	}
	var results []passResult
	for _, p := range passes {
		pr, err := estimatePass(records, p, m0, u, lambda0, opt, &out.Counts)
		if err != nil {
			return out, err
		}
		if pr.unused != "" {
			out.Unused = append(out.Unused, fmt.Sprintf("pass %q: %s; its estimates are not used", p.Name, pr.unused))
		}
		results = append(results, pr)
		out.Passes = append(out.Passes, PassStats{
			Name: p.Name, Pairs: pr.pairs, Excluded: excludedNames(pr.exclude),
			Iterations: pr.res.Iterations, Converged: pr.res.Converged,
			Lambda: pr.res.Lambda, Matches: pr.res.Matches,
		})
	}
	out.M = combineM(results, m0)
	out.Lambda = medianLambda(results, out.M, allPairs(len(records)))
	return out, nil
}

// passResult is one pass's EM outcome, kept until all passes have run
// because m and λ are combined across passes.
type passResult struct {
	exclude [NumComparisons]bool
	res     EMResult
	recall  float64
	pairs   int
	// unused says why the pass's estimates are left out ("" when
	// they are used).
	unused string
}

// estimatePass runs EM over one pass's pairs, with the comparisons the
// pass blocked on excluded, and adds the pass's level counts to counts
// (which decide later which levels no pair reached). A pair outside
// records is an error, not skipped: passes come from the caller's own
// blocking of these records, so one means the two disagree.
func estimatePass(records []*Prepared, p TrainingPass, m0, u Probabilities, lambda0 float64, opt EMOptions, counts *LevelCounts) (passResult, error) {
	var pr passResult
	for _, name := range p.Exclude {
		c := comparisonByName(name)
		if c < 0 {
			return pr, fmt.Errorf("%w: pass %q excludes unknown comparison %q", ErrTraining, p.Name, name)
		}
		pr.exclude[c] = true
	}
	if pr.exclude[CompHousehold] {
		// Pairs blocked on a household field (postal code, address,
		// phone) are mostly household members, who share the family
		// name: within such a block family-name agreement is common
		// among non-matches, far more than u from random pairs says, and
		// EM would take households for persons.
		pr.exclude[CompFamilyName] = true
	}
	vectors := make([]LevelVector, 0, len(p.Pairs))
	var cmp Comparison
	for _, ij := range p.Pairs {
		i, j := int(ij[0]), int(ij[1])
		if i < 0 || j < 0 || i >= len(records) || j >= len(records) {
			return pr, fmt.Errorf("%w: pass %q: pair (%d,%d) outside %d records", ErrTraining, p.Name, i, j, len(records))
		}
		if i == j {
			continue
		}
		Compare(records[i], records[j], &cmp)
		swapOnce(&cmp.Levels)
		vectors = append(vectors, cmp.Levels)
		for c := 0; c < NumComparisons; c++ {
			if !pr.exclude[c] {
				counts[c][cmp.Levels[c]]++
			}
		}
	}
	pr.res = RunEM(vectors, pr.exclude, m0, u, lambda0, opt)
	pr.recall = p.Recall
	pr.pairs = len(vectors)
	pr.unused = passUnused(vectors, pr.exclude, opt.Passive, pr.res.M)
	return pr, nil
}

// combineM averages each comparison's m over the passes that estimated
// it, weighted by the matches each found: a pass that found more matches
// saw more of the comparison's levels among them. A comparison no used
// pass estimated keeps m0.
func combineM(results []passResult, m0 Probabilities) Probabilities {
	m := m0
	for c := 0; c < NumComparisons; c++ {
		var sum [MaxLevels]float64
		var weight float64
		for _, r := range results {
			if r.exclude[c] || r.res.Matches <= 0 || r.unused != "" {
				continue
			}
			for l := range sum {
				sum[l] += r.res.Matches * r.res.M[c][l]
			}
			weight += r.res.Matches
		}
		if weight > 0 {
			for l := range sum {
				m[c][l] = sum[l] / weight
			}
		}
	}
	return m
}

// medianLambda turns each used pass's matches into a prior over all pairs
// by dividing by the recall of its blocking rule (given, or the combined
// m of exact agreement on the comparisons it blocked on), and returns the
// median: one pass with a badly estimated recall does not move it. It
// returns 0 when no pass gives an estimate.
func medianLambda(results []passResult, m Probabilities, allPairs float64) float64 {
	var lambdas []float64
	for _, r := range results {
		if r.unused != "" {
			continue
		}
		recall := r.recall
		if recall <= 0 {
			recall = 1
			for c := 0; c < NumComparisons; c++ {
				if r.exclude[c] {
					recall *= m[c][0]
				}
			}
		}
		if recall > 0 && allPairs > 0 {
			lambdas = append(lambdas, math.Min(r.res.Matches/recall/allPairs, 0.5))
		}
	}
	if len(lambdas) == 0 {
		return 0
	}
	slices.Sort(lambdas)
	lambda := lambdas[len(lambdas)/2]
	if len(lambdas)%2 == 0 {
		lambda = (lambdas[len(lambdas)/2-1] + lambda) / 2
	}
	return lambda
}

func excludedNames(ex [NumComparisons]bool) []string {
	var names []string
	for c, x := range ex {
		if x {
			names = append(names, specs[c].name)
		}
	}
	return names
}

func comparisonByName(name string) int {
	for c := 0; c < NumComparisons; c++ {
		if specs[c].name == name {
			return c
		}
	}
	return -1
}

// TrainOptions tune Train.
type TrainOptions struct {
	// UPairs is the number of random pairs u is estimated from (default
	// 1,000,000; all pairs when there are fewer).
	UPairs int
	// Seed seeds the random pair sampler (default 1), so training is
	// reproducible.
	Seed uint64
	// EM tunes the EM core.
	EM EMOptions
	// Base supplies the starting m, the thresholds, TF settings, and the
	// u of comparisons no random pair could estimate (default DefaultModel).
	Base *Model
	// NoTermFrequencies leaves the trained model without term frequencies
	// (the engine then builds them from its store, or TF stays off).
	NoTermFrequencies bool
	// ActiveHousehold lets the household comparison vote in EM's E step.
	// By default it is passive (see EMOptions.Passive): on household-rich
	// data an active household comparison makes EM learn households.
	ActiveHousehold bool
	// Relatives fits the relatives class (FitRelatives) after m and u,
	// and the model grades against it.
	Relatives bool
}

// Train estimates a model from unlabelled records: u from random pairs, m
// and λ by EM over each pass's candidate pairs, then m, u and λ again by EM
// over the distinct candidate pairs of all passes (refitOnCandidates), then
// u from the sample net of its matches, held, and m and λ once more by EM
// (refitWithSampleU), term frequencies from the records, and the posterior
// at which `probable` starts (probableThreshold). Household-learning symptoms are reported
// in Model.Training.Warnings (see HouseholdWarnings).
func Train(records []*Prepared, passes []TrainingPass, opt TrainOptions) (*Model, error) {
	if len(records) < 2 {
		return nil, fmt.Errorf("%w: need at least 2 records, have %d", ErrTraining, len(records))
	}
	base, opt, em, err := trainDefaults(opt)
	if err != nil {
		return nil, err
	}
	m0, u0 := ModelProbabilities(base)
	rng := rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15))
	u, nPairs, uCounts := EstimateU(records, opt.UPairs, rng)
	for c := 0; c < NumComparisons; c++ {
		if u[c][0] == 0 { // no pair had the value on both sides
			u[c] = u0[c]
		} else {
			normalise(u[c][:len(specs[c].levels)], em.MinProbability)
		}
	}
	est, err := EstimateM(records, passes, m0, u, 0.1, em)
	if err != nil {
		return nil, err
	}

	m := estimatedModel(base, est, u)
	seen := levelsSeen(&uCounts, &est.Counts)
	notes := append([]string(nil), est.Unused...)
	if ps, all := freePatterns(records, passes); len(ps) > 0 {
		notes = append(notes, refitOnCandidates(m, base, ps, all, em.Passive, &uCounts))
		notes = append(notes, refitWithSampleU(m, base, ps, all, em.Passive, &uCounts))
	}
	notes = append(notes, personFallback(m, base)...)
	notes = append(notes, personElseCeiling(m, base)...)
	notes = append(notes, constrainWeights(m, &seen)...)
	notes = append(notes, neutralFamilySwap(m))
	// The household passive here too, as in FitToFile: voting, it counted
	// relatives as matches (registry 20k: 6.0e-5, labelled 3.3e-5).
	if lambda, pairs := candidatePrior(records, passes, m, em.Passive); lambda > 0 {
		notes = append(notes, fmt.Sprintf("prior: %.4g from the %d distinct candidate pairs of all passes (the passes' own estimates gave %.4g)",
			lambda, pairs, m.Prior))
		m.Prior = lambda
	}
	if opt.Relatives {
		fit, err := FitRelatives(records, passes, m)
		if err != nil {
			return nil, err
		}
		notes = append(notes, applyRelatives(m, fit))
	}
	tf := BuildTermFrequencies(records)
	tf.Compact()
	probable, note := probableThreshold(records, passes, m, tf)
	m.Thresholds.Probable = probable
	notes = append(notes, note)
	if !opt.NoTermFrequencies {
		m.TermFrequencies = tf
	}
	m.Training = trainingInfo(m, len(records), nPairs, est.Passes, notes)
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: estimated model: %w", ErrTraining, err)
	}
	return m, nil
}

// trainDefaults fills in opt's defaults and checks the base model before
// any work, so a bad base fails fast rather than after the pair sampling.
// It also returns the EM options, with the household comparison passive
// unless opt.ActiveHousehold.
func trainDefaults(opt TrainOptions) (*Model, TrainOptions, EMOptions, error) {
	base := opt.Base
	if base == nil {
		base = DefaultModel()
	}
	if err := base.Validate(); err != nil {
		return nil, opt, EMOptions{}, fmt.Errorf("%w: base model: %w", ErrTraining, err)
	}
	if opt.UPairs <= 0 {
		opt.UPairs = 1_000_000
	}
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	em := opt.EM.withDefaults()
	if !opt.ActiveHousehold {
		em.Passive[CompHousehold] = true
	}
	return base, opt, em, nil
}

// estimatedModel is base with the estimated m, u and prior: base keeps
// what training does not estimate (thresholds, TF settings, level labels).
// A pass-based prior of 0 (no pass gave one) keeps base's.
func estimatedModel(base *Model, est MEstimate, u Probabilities) *Model {
	m := base.Clone()
	m.Description = "trained: u from random pairs, m and prior by EM over blocked pairs"
	if est.Lambda > 0 {
		m.Prior = math.Min(math.Max(est.Lambda, 1e-12), 0.5)
	}
	for c := range m.Comparisons {
		for l := range m.Comparisons[c].Levels {
			m.Comparisons[c].Levels[l].M = est.M[c][l]
			m.Comparisons[c].Levels[l].U = u[c][l]
		}
	}
	return m
}

// levelsSeen marks the levels some pair reached, in the random sample or
// in a pass: only those have an estimate (see constrainWeights).
func levelsSeen(uCounts, passCounts *LevelCounts) [NumComparisons][MaxLevels]bool {
	var seen [NumComparisons][MaxLevels]bool
	for c := range seen {
		for l := range seen[c] {
			seen[c][l] = uCounts[c][l] > 0 || passCounts[c][l] > 0
		}
	}
	return seen
}

// applyRelatives puts the relatives fit into m — its prior replaces the
// two-class one, since the matches are now told from relatives — and
// returns the training note that says what it found.
func applyRelatives(m *Model, fit RelativesFit) string {
	m.Prior = fit.Prior
	m.Relatives = &RelativesClass{Prior: fit.RelativesPrior, PersonAgreement: fit.PersonAgreement}
	for c := range m.Comparisons {
		for l := range m.Comparisons[c].Levels {
			m.Comparisons[c].Levels[l].R = fit.R[c][l]
		}
	}
	return fmt.Sprintf("relatives: three-class EM over the candidate pairs found %.0f matches and %.0f relatives (priors %.3g and %.3g, person agreement %.3g) in %d iterations",
		fit.Matches, fit.Relatives, fit.Prior, fit.RelativesPrior, fit.PersonAgreement, fit.Iterations)
}

// trainingInfo records how m was trained, with the warnings a user should
// see before trusting it: the household symptoms of the final model and
// every pass that stopped before converging.
func trainingInfo(m *Model, records, uPairs int, passes []PassStats, notes []string) *TrainingInfo {
	info := &TrainingInfo{Records: records, UPairs: uPairs, Passes: passes}
	info.Notes = notes
	info.Warnings = HouseholdWarnings(m)
	for _, p := range passes {
		if !p.Converged {
			info.Warnings = append(info.Warnings,
				fmt.Sprintf("pass %q did not converge in %d iterations", p.Name, p.Iterations))
		}
	}
	return info
}

// personFallback replaces the m of the given-name and birth-date
// comparisons with the base model's when EM learned households for them
// (m of "else" above householdMaxElse, see HouseholdWarnings): on files
// where relatives share family name and place (civil records: birth place
// instead of address) the passes' "matches" are families, and such an m
// makes a trained model worse than the built-in one. u stays as estimated.
func personFallback(m, base *Model) []string {
	var notes []string
	for _, c := range []int{CompGivenName, CompBirthDate} {
		last := len(m.Comparisons[c].Levels) - 1
		if got := m.Comparisons[c].Levels[last].M; got > householdMaxElse {
			for l := range m.Comparisons[c].Levels {
				m.Comparisons[c].Levels[l].M = base.Comparisons[c].Levels[l].M
			}
			notes = append(notes, fmt.Sprintf("%s: EM gave m(else) = %.3f > %.2f, households rather than persons; kept the base model's m",
				m.Comparisons[c].Name, got, householdMaxElse))
		}
	}
	return notes
}

// personElseCeiling holds the m of "given name else" and "birth date
// else" at most at the base model's, the other levels of the comparison
// rescaled so m still sums to 1. Two classes cannot tell a duplicate from
// the relatives closest to one (same family name and household, one person
// field different), and EM counts some of them into m at exactly these two
// levels, below personFallback's bar: on registry 20k it gave 0.059 and
// 0.034 where the labelled share of true pairs is 0.032 and 0.005 (base
// 0.025 and 0.03). Every relative with another given name then lost 1.2
// bits less than under the built-in m, and the false pairs graded
// `possible` were 4,098 against the fitted built-in model's 2,942, most of
// them same family name, other given name and birth date (bench/README
// "fitted u (session 4)"). An m below the base's is the data's and kept.
func personElseCeiling(m, base *Model) []string {
	var notes []string
	for _, c := range []int{CompGivenName, CompBirthDate} {
		lv := m.Comparisons[c].Levels
		last := len(lv) - 1
		got, ceil := lv[last].M, base.Comparisons[c].Levels[last].M
		if got <= ceil || got >= 1 {
			continue
		}
		scale := (1 - ceil) / (1 - got)
		for l := range lv[:last] {
			lv[l].M *= scale
		}
		lv[last].M = ceil
		notes = append(notes, fmt.Sprintf("%s else: m %.4f held to the base model's %.4f (two classes count relatives that look like matches here)",
			m.Comparisons[c].Name, got, ceil))
	}
	return notes
}

// householdMaxElse is the largest m a trained model may give "given name
// else" or "birth date else" before HouseholdWarnings complains. True
// duplicates rarely have entirely different given names or birth dates (a
// few percent in poor data); when EM says a fifth of matches do, the
// "matches" it found are households, not people.
const householdMaxElse = 0.2

// HouseholdWarnings checks a model for the signs that EM has learned
// households instead of persons: a large m for a disagreeing given name or
// birth date, or disagreement weights that are not negative.
func HouseholdWarnings(m *Model) []string {
	var w []string
	check := func(c, l int) {
		if c >= len(m.Comparisons) || l >= len(m.Comparisons[c].Levels) {
			return
		}
		lv := m.Comparisons[c].Levels[l]
		if lv.M > householdMaxElse {
			w = append(w, fmt.Sprintf("m(%s %s) = %.3f > %.2f: EM may have learned households, not persons; check blocking and passes",
				m.Comparisons[c].Name, lv.Label, lv.M, householdMaxElse))
		} else if lv.Weight() >= 0 {
			w = append(w, fmt.Sprintf("%s %s has weight %+.2f: disagreement should count against a match",
				m.Comparisons[c].Name, lv.Label, lv.Weight()))
		}
	}
	check(CompGivenName, GivenElse)
	check(CompBirthDate, BirthElse)
	return w
}

// constrainWeights applies the constraints EM alone does not know, and
// returns notes on what it changed:
//
//   - a comparison no pair had on both sides keeps the base model's m and u;
//   - a level no pair reached (in the random sample or in any pass) has no
//     estimate: it is made neutral, weight 0, as Splink does (keeping the
//     base model's weight instead was measured: trained febrl2, febrl3 and
//     splink_fake_1000 each lost a few true pairs, bench/README);
//   - no agreement level weighs less than the comparison's disagreement
//     level (its last): agreeing partly is never worse evidence than
//     disagreeing, even when the data held too few such pairs for EM (a
//     level EM drives to its floor otherwise gets a large negative weight);
//   - household "address+contact" weighs at least as much as "address",
//     since it is that and more.
//
// Weights are set through m (m = u·2^w); the comparison's other levels are
// then rescaled so that m sums to 1 again.
func constrainWeights(m *Model, seen *[NumComparisons][MaxLevels]bool) []string {
	var notes []string
	for c := range m.Comparisons {
		lv := m.Comparisons[c].Levels
		last := len(lv) - 1
		any := false
		for l := range lv {
			any = any || seen[c][l]
		}
		if !any {
			notes = append(notes, fmt.Sprintf("%s: never present on both sides; kept the base model's m and u", m.Comparisons[c].Name))
			continue
		}
		var fixed [MaxLevels]bool
		setW := func(l int, w float64) {
			// Never give one level all the mass: past that the constraint
			// cannot hold with the estimated u, and the estimate stands.
			lv[l].M = min(lv[l].U*math.Exp2(w), 0.5)
			fixed[l] = true
		}
		for l := range lv {
			if !seen[c][l] {
				setW(l, 0)
				notes = append(notes, fmt.Sprintf("%s %s: no pair in the data reached this level; weight set to 0",
					m.Comparisons[c].Name, lv[l].Label))
			}
		}
		// Rescaling the free levels moves the disagreement weight a little,
		// so apply the rules until they hold.
		for iter := 0; iter < 20; iter++ {
			violated := false
			floor := lv[last].Weight()
			for l := 0; l < last; l++ {
				if lv[l].Weight() < floor-1e-12 {
					setW(l, floor)
					violated = true
				}
			}
			if c == CompHousehold {
				if w := lv[HouseAddress].Weight(); lv[HouseAddressContact].Weight() < w-1e-12 {
					setW(HouseAddressContact, w)
					violated = true
				}
			}
			// Rescale the levels not set so that m sums to 1 again.
			var setSum, freeSum float64
			for l := range lv {
				if fixed[l] {
					setSum += lv[l].M
				} else {
					freeSum += lv[l].M
				}
			}
			if freeSum > 0 && setSum < 1 {
				k := (1 - setSum) / freeSum
				for l := range lv {
					if !fixed[l] {
						lv[l].M *= k
					}
				}
			}
			if !violated {
				break
			}
		}
	}
	return notes
}

// candidatePrior estimates the prior λ with m and u as trained: the
// expected number of matches among all pairs of records, over their number.
// It is the M step of EM for λ alone, iterated to its fixed point, over the
// distinct candidate pairs of all passes; the pairs no blocking rule
// proposes disagree on every blocking key and are taken as non-matches.
//
// The passes' own estimates divide the matches each found by the recall of
// its blocking rule, and that recall is only known for rules blocking on
// exact values of the comparisons they exclude: for an initial, a phonetic
// code, a birth year or a postal code it is estimated by m at the exact
// level, far too low, and λ comes out several times too large (twice the
// truth on the FEBRL sets, three times on household-rich synthetic data),
// every match weight a bit or more too high. Here each candidate pair
// counts once, whichever rules proposed it, so no recall is needed; pairs
// missed by every rule make it a slight underestimate.
//
// Passive comparisons do not vote (Train and FitToFile make the household
// passive: with it voting, relatives count as matches).
// It returns 0 when there are no candidate pairs.
func candidatePrior(records []*Prepared, passes []TrainingPass, m *Model, passive [NumComparisons]bool) (lambda float64, pairs int) {
	return priorOfVectors(candidateVectors(records, passes), len(records), m, passive)
}

// priorOfVectors is candidatePrior over the level vectors of the distinct
// candidate pairs (candidateVectors) of n records.
func priorOfVectors(vectors []LevelVector, n int, m *Model, passive [NumComparisons]bool) (lambda float64, pairs int) {
	all := allPairs(n)
	if len(vectors) == 0 || all <= 0 {
		return 0, 0
	}
	// Log2 likelihood ratio of each distinct pattern; missing is neutral.
	ps := compress(vectors)
	llr := make([]float64, len(ps))
	for i, p := range ps {
		for c := range m.Comparisons {
			if l := int(p.levels[c]); l < len(m.Comparisons[c].Levels) && !passive[c] {
				llr[i] += m.Comparisons[c].Levels[l].Weight()
			}
		}
	}
	lambda = m.Prior
	for it := 0; it < 200; it++ {
		prior := logit2(lambda)
		var matches float64
		for i, p := range ps {
			matches += p.count * probability(prior+llr[i])
		}
		next := math.Min(math.Max(matches/all, 1e-12), 0.5)
		done := math.Abs(next-lambda) <= 1e-6*lambda
		lambda = next
		if done {
			break
		}
	}
	return lambda, len(vectors)
}
