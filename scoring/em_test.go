package scoring

import (
	"math"
	"math/rand/v2"
	"testing"
)

// syntheticTruth returns m and u that differ from DefaultModel's (so EM
// cannot pass by returning its starting point).
func syntheticTruth() (m, u Probabilities) {
	dm, du := ModelProbabilities(DefaultModel())
	for c := 0; c < NumComparisons; c++ {
		L := NumLevels(c) - 1
		for l := 0; l < L; l++ {
			m[c][l] = 0.6*dm[c][l] + 0.4/float64(L)
			u[c][l] = 0.7*du[c][l] + 0.3*float64(l+1)/float64(L*(L+1)/2)
		}
	}
	return m, u
}

// drawLevel picks a level from probabilities p over L levels.
func drawLevel(r *rand.Rand, p *[MaxLevels]float64, L int) uint8 {
	x := r.Float64()
	for l := 0; l < L-1; l++ {
		x -= p[l]
		if x < 0 {
			return uint8(l)
		}
	}
	return uint8(L - 1)
}

// syntheticVectors draws n level vectors, a share lambda of them matches,
// each comparison missing with probability 0.1.
func syntheticVectors(r *rand.Rand, n int, m, u Probabilities, lambda float64) []LevelVector {
	out := make([]LevelVector, n)
	for i := range out {
		p := &u
		if r.Float64() < lambda {
			p = &m
		}
		for c := 0; c < NumComparisons; c++ {
			if r.Float64() < 0.1 {
				out[i][c] = uint8(NumLevels(c) - 1)
				continue
			}
			out[i][c] = drawLevel(r, &p[c], NumLevels(c)-1)
		}
	}
	return out
}

func TestEMRecoversKnownM(t *testing.T) {
	const tol = 0.03
	trueM, trueU := syntheticTruth()
	r := rand.New(rand.NewPCG(11, 12))
	vectors := syntheticVectors(r, 40000, trueM, trueU, 0.15)
	m0, _ := ModelProbabilities(DefaultModel())
	res := RunEM(vectors, [NumComparisons]bool{}, m0, trueU, 0.5, EMOptions{})
	if !res.Converged {
		t.Errorf("EM did not converge in %d iterations", res.Iterations)
	}
	t.Logf("u fixed: %d iterations, λ=%.4f", res.Iterations, res.Lambda)
	if math.Abs(res.Lambda-0.15) > 0.01 {
		t.Errorf("λ = %.4f, want 0.15 ± 0.01", res.Lambda)
	}
	worst := 0.0
	for c := 0; c < NumComparisons; c++ {
		for l := 0; l < NumLevels(c)-1; l++ {
			d := math.Abs(res.M[c][l] - trueM[c][l])
			worst = math.Max(worst, d)
			if d > tol {
				t.Errorf("m(%s %s) = %.4f, true %.4f", ComparisonName(c), LevelLabel(c, l), res.M[c][l], trueM[c][l])
			}
		}
	}
	t.Logf("largest |m̂−m| = %.4f", worst)

	// Classic EM estimating u too, from a u start that is off.
	_, u0 := ModelProbabilities(DefaultModel())
	full := RunEM(vectors, [NumComparisons]bool{}, m0, u0, 0.5, EMOptions{EstimateU: true})
	worstM, worstU := 0.0, 0.0
	for c := 0; c < NumComparisons; c++ {
		for l := 0; l < NumLevels(c)-1; l++ {
			worstM = math.Max(worstM, math.Abs(full.M[c][l]-trueM[c][l]))
			worstU = math.Max(worstU, math.Abs(full.U[c][l]-trueU[c][l]))
		}
	}
	t.Logf("u estimated: %d iterations, λ=%.4f, largest |m̂−m| = %.4f, |û−u| = %.4f", full.Iterations, full.Lambda, worstM, worstU)
	if worstM > tol || worstU > tol || math.Abs(full.Lambda-0.15) > 0.01 {
		t.Errorf("full EM: |m̂−m| ≤ %.4f, |û−u| ≤ %.4f, λ=%.4f; want ≤ %v and λ≈0.15", worstM, worstU, full.Lambda, tol)
	}
}

// TestEMExclude: an excluded comparison keeps its starting m and does not
// sway the others.
func TestEMExclude(t *testing.T) {
	trueM, trueU := syntheticTruth()
	r := rand.New(rand.NewPCG(13, 14))
	vectors := syntheticVectors(r, 20000, trueM, trueU, 0.2)
	// Block on birth date: every vector agrees exactly.
	for i := range vectors {
		vectors[i][CompBirthDate] = BirthExact
	}
	m0, _ := ModelProbabilities(DefaultModel())
	var ex [NumComparisons]bool
	ex[CompBirthDate] = true
	res := RunEM(vectors, ex, m0, trueU, 0.5, EMOptions{})
	if res.M[CompBirthDate] != m0[CompBirthDate] {
		t.Errorf("excluded m changed: %v", res.M[CompBirthDate])
	}
	if d := math.Abs(res.M[CompGivenName][GivenExact] - trueM[CompGivenName][GivenExact]); d > 0.03 {
		t.Errorf("given exact m off by %.4f", d)
	}
	if math.Abs(res.Lambda-0.2) > 0.015 {
		t.Errorf("λ = %.4f, want 0.2", res.Lambda)
	}
}

// TestEMPseudoCount: a level no match reaches is not starved to the floor
// (its weight would be a large negative number for a near agreement); its m
// is about half a pair over the matches, and none when the prior is off.
func TestEMPseudoCount(t *testing.T) {
	trueM, trueU := syntheticTruth()
	// No match has a transposed birth date.
	trueM[CompBirthDate][BirthExact] += trueM[CompBirthDate][BirthTransposed]
	trueM[CompBirthDate][BirthTransposed] = 0
	r := rand.New(rand.NewPCG(5, 6))
	vectors := syntheticVectors(r, 20000, trueM, trueU, 0.2)
	var exclude [NumComparisons]bool
	m0, _ := ModelProbabilities(DefaultModel())
	for _, tc := range []struct {
		name   string
		pseudo float64
		lo, hi float64 // bounds on m(birth transposed) × matches
	}{
		{"default half pair", 0, 0.25, 1.5},
		{"none", -1, 0, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := RunEM(vectors, exclude, m0, trueU, 0.1, EMOptions{MPseudoCount: tc.pseudo})
			got := res.M[CompBirthDate][BirthTransposed] * res.Matches
			if got < tc.lo || got > tc.hi {
				t.Errorf("m(transposed) × matches = %.3g (m=%.3g, matches %.0f), want %v..%v",
					got, res.M[CompBirthDate][BirthTransposed], res.Matches, tc.lo, tc.hi)
			}
			if d := math.Abs(res.M[CompGivenName][GivenExact] - trueM[CompGivenName][GivenExact]); d > 0.03 {
				t.Errorf("given exact m off by %.4f", d)
			}
		})
	}
}

func TestNormaliseFloors(t *testing.T) {
	p := []float64{100, 0, 0, 1}
	normalise(p, 1e-3)
	s := 0.0
	for _, x := range p {
		s += x
		if x < 1e-3 {
			t.Errorf("below floor: %v", p)
		}
	}
	if math.Abs(s-1) > 1e-12 {
		t.Errorf("sum %v", s)
	}
}

func BenchmarkEM(b *testing.B) {
	trueM, trueU := syntheticTruth()
	r := rand.New(rand.NewPCG(15, 16))
	vectors := syntheticVectors(r, 100000, trueM, trueU, 0.1)
	m0, _ := ModelProbabilities(DefaultModel())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		RunEM(vectors, [NumComparisons]bool{}, m0, trueU, 0.5, EMOptions{})
	}
}
