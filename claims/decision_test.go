package claims

import (
	"math"
	"testing"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
)

func m(id string, g scoring.Grade, weight float64) matcher.Match {
	// Probability follows the weight (prior odds 1:1e4), so tests can't
	// pass by reading only one of the two.
	odds := math.Exp2(weight) / 1e4
	return matcher.Match{ID: id, Grade: g, Weight: weight, Probability: odds / (1 + odds)}
}

const (
	certain  = scoring.GradeCertain
	probable = scoring.GradeProbable
	possible = scoring.GradePossible
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name   string
		ms     []matcher.Match
		margin float64
		want   Decision
	}{
		{"nothing", nil, 10, DecisionNoMatch},
		{"one certain", []matcher.Match{m("a", certain, 40)}, 10, DecisionMatch},
		{"certain twins", []matcher.Match{m("a", certain, 40), m("b", certain, 39)}, 10, DecisionAmbiguous},
		{"certain twins far apart in weight", []matcher.Match{m("a", certain, 60), m("b", certain, 30)}, 10, DecisionAmbiguous},
		{"certain + probable close", []matcher.Match{m("a", certain, 40), m("b", probable, 35)}, 10, DecisionAmbiguous},
		{"certain + probable far behind", []matcher.Match{m("a", certain, 40), m("b", probable, 20)}, 10, DecisionAmbiguous},
		{"certain + possible within margin", []matcher.Match{m("a", certain, 30), m("b", possible, 25)}, 10, DecisionAmbiguous},
		{"certain + possible exactly at margin", []matcher.Match{m("a", certain, 30), m("b", possible, 20)}, 10, DecisionMatch},
		{"certain + possible beyond margin", []matcher.Match{m("a", certain, 30), m("b", possible, 5), m("c", possible, 4)}, 10, DecisionMatch},
		{"larger margin configured", []matcher.Match{m("a", certain, 30), m("b", possible, 5)}, 30, DecisionAmbiguous},
		{"order of input irrelevant", []matcher.Match{m("b", possible, 5), m("a", certain, 30)}, 10, DecisionMatch},
		{"lone probable", []matcher.Match{m("a", probable, 25)}, 10, DecisionNoMatch},
		{"two probable", []matcher.Match{m("a", probable, 25), m("b", probable, 5)}, 10, DecisionAmbiguous},
		{"possible only", []matcher.Match{m("a", possible, 10), m("b", possible, 9)}, 10, DecisionNoMatch},
		{"NaN weight fails safe", []matcher.Match{m("a", certain, math.NaN()), m("b", possible, 1)}, 10, DecisionAmbiguous},
		{"NaN runner-up fails safe", []matcher.Match{m("a", certain, 40), m("b", possible, math.NaN())}, 10, DecisionAmbiguous},
		{"infinite lead", []matcher.Match{m("a", certain, math.Inf(1)), m("b", possible, 3)}, 10, DecisionMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decide(tt.ms, tt.margin); got != tt.want {
				t.Errorf("decide = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestDecideNeverMatchesTwoStrong: whatever the weights and margin, two
// candidates at probable or better never give "match".
func TestDecideNeverMatchesTwoStrong(t *testing.T) {
	for _, g2 := range []scoring.Grade{probable, certain} {
		for w1 := -10.0; w1 <= 80; w1 += 7 {
			for w2 := -10.0; w2 <= 80; w2 += 7 {
				for _, margin := range []float64{0, 1, 10, 100} {
					ms := []matcher.Match{m("a", certain, w1), m("b", g2, w2)}
					if d := decide(ms, margin); d != DecisionAmbiguous {
						t.Fatalf("certain(%v) + %s(%v), margin %v → %s", w1, g2, w2, margin, d)
					}
				}
			}
		}
	}
}
