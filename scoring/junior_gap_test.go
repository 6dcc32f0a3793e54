package scoring

import (
	"strings"
	"testing"
)

// TestJuniorNeedsAGeneration: the same man at the same address and email
// with his birth date keyed with the decade wrong and the day slipped
// (1970-05-12 / 1980-05-21: ten years apart, level else) is no junior — no
// one is a father at ten — and is held at probable, not possible; the same
// pair a generation apart (25 years) is a junior and his father, possible
// at most. Neither is certain.
func TestJuniorNeedsAGeneration(t *testing.T) {
	s := MustScorer(DefaultModel())
	base := "given=robert;family=smith;birth=1970-05-12;sex=male;email=rsmith@mail.com;" + household
	for _, tc := range []struct {
		name, birth string
		want        Grade
	}{
		{"ten years apart", "1980-05-21", GradeProbable},
		{"eleven years apart", "1981-06-12", GradeProbable},
		{"a generation apart", "1995-02-03", GradePossible},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.Prepare(mustRecord(t, base))
			b := s.Prepare(mustRecord(t, strings.Replace(base, "1970-05-12", tc.birth, 1)))
			r := s.Score(a, b)
			if r.Levels[CompBirthDate] != BirthElse {
				t.Fatalf("birth date level %s, want else", LevelLabel(CompBirthDate, int(r.Levels[CompBirthDate])))
			}
			// The rule, on a pair the score would grade certain, and the
			// grade the scorer gives this pair.
			var cmp Comparison
			Compare(a, b, &cmp)
			if g, c := applyCaps(&cmp, GradeCertain, nameTypos{}); g != tc.want || c != CapJunior {
				t.Errorf("caps lower certain to %v by %v, want %v by the junior rule", g, c, tc.want)
			}
			if r.Grade != tc.want {
				t.Errorf("grade %v (p=%.6f), want %v; %s", r.Grade, r.Probability, tc.want, explainString(s.Explain(a, b)))
			}
		})
	}
}
