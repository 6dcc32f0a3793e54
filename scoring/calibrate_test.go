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
