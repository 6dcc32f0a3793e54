package scoring

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestCandidateMRecoversKnownM: EM over candidate pairs, with λ counted over
// all pairs of records, finds the m and λ the pairs were drawn with,
// although it starts from the built-in m. The candidates are made as
// blocking makes them: every pair of records is drawn, and kept only when
// its names or birth dates agree at some level (a match of three
// disagreements, one in 3,000 here, is lost as blocking loses it).
func TestCandidateMRecoversKnownM(t *testing.T) {
	trueM, _ := syntheticTruth()
	m0, u := ModelProbabilities(DefaultModel())
	r := rand.New(rand.NewPCG(21, 22))
	const matches, nonMatches = 6000, 2_000_000
	var vectors []LevelVector
	for _, v := range append(syntheticVectors(r, matches, trueM, u, 1), syntheticVectors(r, nonMatches, trueM, u, 0)...) {
		if v[CompGivenName] != GivenElse || v[CompFamilyName] != FamilyElse || v[CompBirthDate] != BirthElse {
			vectors = append(vectors, v)
		}
	}
	all := float64(matches + nonMatches)
	m, gotU, got, it := candidateM(allFree(vectors), all, m0, m0, u, 1e-2, [NumComparisons]bool{}, nil)
	t.Logf("%d candidates, λ %.4g after %d iterations", len(vectors), got, it)
	if want := matches / all; it >= 200 || math.Abs(got-want)/want > 0.05 {
		t.Errorf("λ = %.4g after %d iterations, want %.4g ± 5%%", got, it, want)
	}
	if gotU != u {
		t.Error("u changed without random-pair counts")
	}
	for c := 0; c < NumComparisons; c++ {
		for l := 0; l < NumLevels(c)-1; l++ {
			if d := math.Abs(m[c][l] - trueM[c][l]); d > 0.03 {
				t.Errorf("m(%s %s) = %.4f, true %.4f", ComparisonName(c), LevelLabel(c, l), m[c][l], trueM[c][l])
			}
		}
	}
}

// TestCandidateMKeepsAbsentComparison: a comparison no candidate pair has
// on both sides keeps its m (no data, no estimate).
func TestCandidateMKeepsAbsentComparison(t *testing.T) {
	trueM, trueU := syntheticTruth()
	r := rand.New(rand.NewPCG(23, 24))
	vectors := syntheticVectors(r, 5000, trueM, trueU, 0.2)
	for i := range vectors {
		vectors[i][CompSex] = SexMissing
	}
	m0, _ := ModelProbabilities(DefaultModel())
	m, _, _, _ := candidateM(allFree(vectors), 1e7, m0, m0, trueU, 1e-4, [NumComparisons]bool{}, nil)
	if m[CompSex] != m0[CompSex] {
		t.Errorf("m(sex) = %v, want the starting %v", m[CompSex][:2], m0[CompSex][:2])
	}
}

// TestNonMatchU: random pairs hold matches at the share λ; u is what is
// left of each level's share once they are taken out, floored at the half
// pair EstimateU adds.
func TestNonMatchU(t *testing.T) {
	m, u := syntheticTruth()
	const lambda, pairs = 0.01, 1e8
	var counts LevelCounts
	for c := 0; c < NumComparisons; c++ {
		for l := 0; l < NumLevels(c)-1; l++ {
			counts[c][l] = int(math.Round(pairs * (lambda*m[c][l] + (1-lambda)*u[c][l])))
		}
	}
	var start Probabilities
	got := nonMatchU(&counts, m, start, lambda)
	for c := 0; c < NumComparisons; c++ {
		for l := 0; l < NumLevels(c)-1; l++ {
			if d := math.Abs(got[c][l] - u[c][l]); d > 1e-6 {
				t.Errorf("u(%s %s) = %.7f, want %.7f", ComparisonName(c), LevelLabel(c, l), got[c][l], u[c][l])
			}
		}
	}
	// Every random pair at exact birth date, and m says matches would
	// reach it more often than seen: the level keeps the floor, not 0.
	var one LevelCounts
	one[CompBirthDate][BirthExact] = 10
	one[CompBirthDate][BirthElse] = 990
	mm := m
	mm[CompBirthDate][BirthExact] = 1
	got = nonMatchU(&one, mm, start, 0.5)
	if got[CompBirthDate][BirthExact] <= 0 || got[CompBirthDate][BirthExact] > 0.5/1000 {
		t.Errorf("u(birth exact) = %g, want the floor ≈ %g", got[CompBirthDate][BirthExact], 0.5/1003.0)
	}
}

// TestSwapOnce: a swap of given and family names reaches both comparisons'
// swapped level; training reads it once, and the family level is neutral.
func TestSwapOnce(t *testing.T) {
	a := PrepareWithoutTF(recordOf("ann", "lee", "1980-01-02"))
	b := PrepareWithoutTF(recordOf("lee", "ann", "1980-01-02"))
	var cmp Comparison
	Compare(a, b, &cmp)
	if cmp.Levels[CompGivenName] != GivenSwapped || cmp.Levels[CompFamilyName] != FamilySwapped {
		t.Fatalf("levels %v: want both names swapped", cmp.Levels)
	}
	swapOnce(&cmp.Levels)
	if cmp.Levels[CompGivenName] != GivenSwapped || cmp.Levels[CompFamilyName] != FamilyMissing {
		t.Errorf("after swapOnce: given %d family %d, want swapped and missing", cmp.Levels[CompGivenName], cmp.Levels[CompFamilyName])
	}
	m := DefaultModel()
	neutralFamilySwap(m)
	lv := m.Comparisons[CompFamilyName].Levels
	if w := lv[FamilySwapped].Weight(); math.Abs(w) > 1e-12 {
		t.Errorf("family swapped weight %g, want 0", w)
	}
	var sum float64
	for _, l := range lv {
		sum += l.M
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("family m sums to %g", sum)
	}
	if err := m.Validate(); err != nil {
		t.Error(err)
	}
}

// allFree is compressFree for pairs no pass blocked on.
func allFree(vectors []LevelVector) []freePattern {
	free := make([]uint8, len(vectors))
	for i := range free {
		free[i] = 1<<NumComparisons - 1
	}
	return compressFree(vectors, free)
}

// TestUOfSample: a level takes the sample's u net of matches only with at
// least minUPairs non-matching pairs and matches at most half its random
// pairs; the others keep the base u, the estimated ones share the rest,
// and a comparison no random pair had keeps its row.
func TestUOfSample(t *testing.T) {
	base := DefaultModel()
	m, bu := ModelProbabilities(base)
	c := CompBirthDate
	for _, tc := range []struct {
		name   string
		lambda float64
		exact  int // random pairs at birth_date exact of 1,000,000
		fitted bool
	}{
		{"enough pairs, few matches", 1e-5, 200, true},
		{"too few pairs", 1e-5, 15, false},
		{"matches could be most of them", 1.5e-4, 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var counts LevelCounts
			counts[c][BirthExact] = tc.exact
			counts[c][BirthOneDigit] = 2_000
			counts[c][BirthElse] = 1_000_000 - tc.exact - 2_000
			u, _ := uOfSample(&counts, m, bu, tc.lambda, minUPairs)
			L := len(specs[c].levels)
			if s := sumOf(u[c][:L]); math.Abs(s-1) > 1e-9 {
				t.Errorf("u sums to %v", s)
			}
			// The estimated levels are rescaled together (they share what
			// the kept ones leave), so their ratio is the sample's.
			net := func(l, n int) float64 { return (float64(n)/1e6 - tc.lambda*m[c][l]) / (1 - tc.lambda) }
			want := net(BirthExact, tc.exact) / net(BirthOneDigit, 2_000)
			got := u[c][BirthExact] / u[c][BirthOneDigit]
			if tc.fitted && math.Abs(got/want-1) > 1e-9 || !tc.fitted && u[c][BirthExact] != bu[c][BirthExact] {
				t.Errorf("u(exact) %v, u(exact)/u(one digit) %v, want %v (fitted %v; built-in %v)", u[c][BirthExact], got, want, tc.fitted, bu[c][BirthExact])
			}
			if u[c][BirthTransposed] != bu[c][BirthTransposed] {
				t.Errorf("a level no pair reached: u %v, want the built-in %v", u[c][BirthTransposed], bu[c][BirthTransposed])
			}
			if u[CompIdentifier] != bu[CompIdentifier] {
				t.Errorf("identifier, no pair on both sides: u %v, want the built-in row", u[CompIdentifier])
			}
		})
	}
}
