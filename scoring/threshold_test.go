package scoring

import (
	"math"
	"testing"
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
