package scoring

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/patientmatch/patientmatch/internal/testsets"
)

// TestExpectedF1Optimum checks the optimum on posteriors worked out by
// hand: ten pairs at 0.99, ten at 0.6, ten at 0.1 (16.9 expected matches).
// Grading down to 0.99 expects F1 2·9.9/(10+16.9) = 0.736, down to 0.6
// 2·15.9/(20+16.9) = 0.862, down to 0.1 2·16.9/(30+16.9) = 0.721.
func TestExpectedF1Optimum(t *testing.T) {
	var probs []float64
	for _, p := range []float64{0.99, 0.6, 0.1} {
		for k := 0; k < 10; k++ {
			probs = append(probs, p)
		}
	}
	th, f1 := expectedF1Optimum(probs, 16.9)
	if th != 0.6 || math.Abs(f1-31.8/36.9) > 1e-9 {
		t.Errorf("optimum at %v (F1 %.4f), want 0.6 (F1 %.4f)", th, f1, 31.8/36.9)
	}
	// All pairs near certain: the optimum grades them all, at the
	// lowest posterior.
	th, _ = expectedF1Optimum([]float64{0.999, 0.9999, 0.99999}, 0.999+0.9999+0.99999)
	if th != 0.999 {
		t.Errorf("optimum at %v, want 0.999", th)
	}
}

// TestFitToFileKeepsCertainEvidence: a file with many duplicates fits a
// prior far above the built-in 1e-4; the `certain` bar must then ask the
// built-in likelihood ratio, not less, so a pair the built-in model held
// at `probable` by its score (no cap) is not made `certain` by the fit.
func TestFitToFileKeepsCertainEvidence(t *testing.T) {
	base := DefaultModel()
	var recs []*Prepared
	for i := 0; i < 60; i++ {
		given := fmt.Sprintf("%c%c%cina", 'a'+i%26, 'b'+i/26, 'k'+i%7)
		spec := fmt.Sprintf("given=%s;family=%c%cowski;birth=19%02d-%02d-%02d;sex=female;phone=02627%05d",
			given, 'a'+i%26, 'c'+i/26, 40+i%50, 1+i%12, 2+i%27, 10000+i)
		for k := 0; k < 2; k++ {
			recs = append(recs, PrepareWithoutTF(mustRecord(t, spec)))
		}
	}
	var all [][2]int32
	for i := range recs {
		for j := i + 1; j < len(recs); j++ {
			all = append(all, [2]int32{int32(i), int32(j)})
		}
	}
	m, notes := FitToFile(recs, []TrainingPass{{Name: "all", Pairs: all}}, base, nil)
	t.Logf("notes: %v", notes)
	if m.Prior <= 10*base.Prior {
		t.Fatalf("fitted prior %g: the case needs one well above the built-in %g", m.Prior, base.Prior)
	}
	if want := certainForPrior(base.Thresholds.Certain, base.Prior, m.Prior); m.Thresholds.Certain != want || want <= base.Thresholds.Certain {
		t.Errorf("certain threshold %v, want %v (above the built-in %v)", m.Thresholds.Certain, want, base.Thresholds.Certain)
	}
	// A married name with only the phone kept: uncapped, probable by score
	// under the built-in model.
	a := mustRecord(t, "given=margaret;family=kowalczyk;birth=1984-07-19;sex=female;email=m.k@mail.com;"+household)
	b := mustRecord(t, "given=margaret;family=ostrander;birth=1984-07-19;sex=female;phone=0262771234;number=7;street=high;type=st;city=sydney;postal=2000")
	grade := func(m *Model) Result {
		s := MustScorer(m)
		return s.Score(s.Prepare(a), s.Prepare(b))
	}
	if r := grade(base); r.Grade != GradeProbable || r.Cap != CapNone {
		t.Fatalf("built-in: grade %v (cap %v, p=%.7f), the case needs probable by score", r.Grade, r.Cap, r.Probability)
	}
	if r := grade(m); r.Grade == GradeCertain {
		t.Errorf("fitted prior %g: certain (p=%.7f, bar %.10f); the built-in model held it at probable", m.Prior, r.Probability, m.Thresholds.Certain)
	}
	// The same fit with the built-in bar kept would have made it certain:
	// the case tests the raised bar, not something else.
	kept := m.Clone()
	kept.Thresholds.Certain = base.Thresholds.Certain
	if r := grade(kept); r.Grade != GradeCertain {
		t.Errorf("fitted prior, built-in certain bar: grade %v (p=%.7f), the case expects certain", r.Grade, r.Probability)
	}
}

// TestCertainForPrior: the same likelihood ratio under another prior;
// the base prior returns the threshold itself.
func TestCertainForPrior(t *testing.T) {
	if got := certainForPrior(0.99999, 1e-4, 1e-4); math.Abs(got-0.99999) > 1e-12 {
		t.Errorf("same prior: %v, want 0.99999", got)
	}
	// Odds 99999 at prior odds 1e-4/(1-1e-4) is a ratio of about 1e9;
	// at prior 1e-3 the odds are ten times higher.
	got := certainForPrior(0.99999, 1e-4, 1e-3)
	odds := got / (1 - got)
	want := 99999 * (1e-3 / (1 - 1e-3)) / (1e-4 / (1 - 1e-4))
	if math.Abs(odds/want-1) > 1e-6 {
		t.Errorf("prior 1e-3: odds %v, want %v", odds, want)
	}
	if got := certainForPrior(0.99999, 1e-4, 1e-5); got >= 0.99999 {
		t.Errorf("lower prior: %v, want below 0.99999", got)
	}
}

// TestFitToFileOnePass: FitToFile compares each distinct candidate pair
// once and takes the name counts it is given, and must fit exactly what
// the two passes it replaced fitted (candidatePrior, then probableThreshold
// over freshly counted names), on a committed labelled set, whether the
// records carry the counts already (the dedupe path) or not.
func TestFitToFileOnePass(t *testing.T) {
	for _, set := range []string{"synth2000", "names2000"} {
		t.Run(set, func(t *testing.T) {
			data, _ := testsets.Committed(t, set)
			var recs []*Prepared
			for _, r := range testsets.Records(t, data) {
				recs = append(recs, PrepareWithoutTF(r))
			}
			passes := testPasses(recs)
			base := DefaultModel()

			// The two passes FitToFile replaced.
			old := base.Clone()
			var passive [NumComparisons]bool
			passive[CompHousehold] = true
			lambda, _ := candidatePrior(recs, passes, old, passive)
			old.Prior = lambda
			if c := certainForPrior(base.Thresholds.Certain, base.Prior, lambda); c > old.Thresholds.Certain {
				old.Thresholds.Certain = c
			}
			tf := BuildTermFrequencies(recs)
			old.Thresholds.Probable, _ = probableThreshold(recs, passes, old, tf)

			fitted, _ := FitToFile(recs, passes, base, nil)
			s := MustScorer(base).WithTermFrequencies(tf)
			counted := make([]*Prepared, len(recs))
			for i, p := range recs {
				counted[i] = s.Prepare(p.Rec)
			}
			given, _ := FitToFile(counted, passes, base, tf)
			for _, m := range []*Model{fitted, given} {
				if m.Prior != old.Prior || m.Thresholds != old.Thresholds {
					t.Errorf("prior %v thresholds %+v, the two passes gave %v %+v", m.Prior, m.Thresholds, old.Prior, old.Thresholds)
				}
			}
			if old.Prior == base.Prior || old.Thresholds.Probable == base.Thresholds.Probable && set == "names2000" {
				t.Errorf("nothing fitted (prior %v, probable %v): the case needs a fit", old.Prior, old.Thresholds.Probable)
			}
			var want [][2]int32
			eachDistinctPair(recs, passes, func(_ int, i, j int32, first bool) {
				if first {
					want = append(want, [2]int32{i, j})
				}
			})
			if got := distinctPairs(recs, passes); !slices.Equal(got, want) {
				t.Errorf("distinctPairs: %d pairs, eachDistinctPair %d, or in another order", len(got), len(want))
			}
		})
	}
}

// testPasses are two overlapping candidate passes without the blocking
// package (which imports this one): records sharing a family-name Soundex
// code, and records sharing a birth year.
func testPasses(recs []*Prepared) []TrainingPass {
	byKey := func(key func(*Prepared) string) [][2]int32 {
		groups := map[string][]int32{}
		var keys []string
		for i, p := range recs {
			k := key(p)
			if k == "" {
				continue
			}
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], int32(i))
		}
		var pairs [][2]int32
		for _, k := range keys {
			g := groups[k]
			for x := range g {
				for y := x + 1; y < len(g) && y < x+20; y++ {
					pairs = append(pairs, [2]int32{g[y], g[x]})
				}
			}
		}
		return pairs
	}
	return []TrainingPass{
		{Name: "family", Pairs: byKey(func(p *Prepared) string { return p.FamilySoundex })},
		{Name: "year", Pairs: byKey(func(p *Prepared) string {
			if p.birth.Year == 0 {
				return ""
			}
			return fmt.Sprint(p.birth.Year)
		})},
	}
}
