package scoring

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFuzzyTermFrequenciesOnlyLower: on a random population, with and
// without Compact and the relatives class, the fuzzy levels' adjustment
// never raises a pair's weight or grade over the same scorer without it;
// scores stay symmetric and finite, and the explanation's weights, the
// prior and the relatives' term add up to the pair's weight.
func TestFuzzyTermFrequenciesOnlyLower(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	givens := []string{"robert", "bob", "roberta", "mohammed", "muhammad", "ann", "anne", ""}
	families := []string{"smith", "smyth", "smithe", "hussein", "hussain", "nguyen", "nguyn", "lee", "li", "quartermaine", "quartermaike", ""}
	dates := []string{"1970-05-12", "1970-12-05", "1970-05-13", "1971", ""}
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	spec := func() string {
		return "given=" + pick(givens) + ";family=" + pick(families) + ";birth=" + pick(dates) +
			";sex=" + pick([]string{"male", "female", ""}) + ";postal=" + pick([]string{"2600", "2609", ""}) +
			";phone=" + pick([]string{"0262771234", ""}) + ";ssn=" + pick([]string{"4227775", "", "9967942"})
	}
	var pop []*Prepared
	for range 500 {
		pop = append(pop, PrepareWithoutTF(mustRecord(t, spec())))
	}
	tf := BuildTermFrequencies(pop)
	for _, compact := range []bool{false, true} {
		if compact {
			tf.Compact()
		}
		for _, rel := range []bool{false, true} {
			m := DefaultModel()
			if rel {
				m.Relatives = DefaultRelatives()
			}
			s := MustScorer(m).WithTermFrequencies(tf)
			plain := *s
			plain.tf[CompGivenName].meanF, plain.tf[CompFamilyName].meanF = 0, 0
			lowered := 0
			for range 2000 {
				a, b := s.Prepare(mustRecord(t, spec())), s.Prepare(mustRecord(t, spec()))
				ab, ba := s.Score(a, b), s.Score(b, a)
				if ab != ba {
					t.Fatalf("Score(a, b) %+v != Score(b, a) %+v", ab, ba)
				}
				if math.IsNaN(ab.Weight) || math.IsInf(ab.Weight, 0) {
					t.Fatalf("weight %v", ab.Weight)
				}
				old := plain.Score(a, b)
				if ab.Weight > old.Weight+1e-12 || ab.Grade > old.Grade {
					t.Fatalf("compact %v relatives %v: %.4f %v without the fuzzy adjustment, %.4f %v with it", compact, rel, old.Weight, old.Grade, ab.Weight, ab.Grade)
				}
				if ab.Weight < old.Weight {
					lowered++
				}
				sum := s.prior + ab.Relatives
				for _, x := range s.Explain(a, b) {
					sum += x.Weight
				}
				if math.Abs(sum-ab.Weight) > 1e-9 {
					t.Fatalf("explained weights add up to %v, the pair weighs %v", sum, ab.Weight)
				}
			}
			if lowered == 0 {
				t.Errorf("compact %v relatives %v: no pair lowered; the property was not exercised", compact, rel)
			}
		}
	}
}

// TestFuzzyTermFrequenciesFloor: a very common family name's close
// spelling (smith / smyth) never weighs less than a looser one of the same
// name (smith / spith, jw>=0.80, which the frequencies do not adjust).
func TestFuzzyTermFrequenciesFloor(t *testing.T) {
	var pop []*Prepared
	for range 113 {
		pop = append(pop, PrepareWithoutTF(mustRecord(t, "given=john;family=smith")))
	}
	for i := range 19887 {
		pop = append(pop, PrepareWithoutTF(mustRecord(t, "given=qy"+letters(i)+";family=zq"+letters(i))))
	}
	s := MustScorer(DefaultModel()).WithTermFrequencies(BuildTermFrequencies(pop))
	a := s.Prepare(mustRecord(t, "given=john;family=smith;birth=1970-05-12"))
	family := func(name string) ComparisonResult {
		return s.Explain(a, s.Prepare(mustRecord(t, "given=john;family="+name+";birth=1970-05-12")))[CompFamilyName]
	}
	close, loose := family("smyth"), family("spith")
	if close.Level == loose.Level || !close.TFAdjusted || loose.TFAdjusted {
		t.Fatalf("levels smyth %s (adjusted %v), spith %s (adjusted %v): the case does not test what it says", close.Level, close.TFAdjusted, loose.Level, loose.TFAdjusted)
	}
	if close.Weight < loose.Weight {
		t.Errorf("smith/smyth (%s) weighs %+.2f, less than smith/spith (%s) %+.2f", close.Level, close.Weight, loose.Level, loose.Weight)
	}
}
