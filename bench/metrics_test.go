package bench

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/scoring"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestNewMetrics(t *testing.T) {
	tests := []struct {
		name       string
		tp, fp, fn int64
		p, r, f1   float64
	}{
		{"perfect", 4, 0, 0, 1, 1, 1},
		{"half precision", 2, 2, 0, 0.5, 1, 2 * 0.5 / 1.5},
		{"half recall", 2, 0, 2, 1, 0.5, 2 * 0.5 / 1.5},
		{"nothing predicted", 0, 0, 5, 0, 0, 0},
		{"nothing true", 0, 3, 0, 0, 0, 0},
		{"empty", 0, 0, 0, 0, 0, 0},
		{"mixed", 3, 1, 1, 0.75, 0.75, 0.75},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMetrics(tc.tp, tc.fp, tc.fn)
			if !near(m.Precision, tc.p) || !near(m.Recall, tc.r) || !near(m.F1, tc.f1) {
				t.Errorf("NewMetrics(%d,%d,%d) = P %v R %v F1 %v, want %v %v %v",
					tc.tp, tc.fp, tc.fn, m.Precision, m.Recall, m.F1, tc.p, tc.r, tc.f1)
			}
			if m.Predicted() != tc.tp+tc.fp {
				t.Errorf("Predicted = %d, want %d", m.Predicted(), tc.tp+tc.fp)
			}
		})
	}
}

// Six records: entities A A A B B C, so the true pairs are (0,1) (0,2)
// (1,2) (3,4): four of fifteen.
var handLabels = Labels{Left: []int32{0, 0, 0, 1, 1, 2}}

var handPairs = []Pair{
	{Left: 0, Right: 1, Weight: 10, Probability: 0.999, Grade: scoring.GradeCertain}, // true
	{Left: 1, Right: 2, Weight: 5, Probability: 0.97, Grade: scoring.GradeProbable},  // true
	{Left: 0, Right: 3, Weight: 4, Probability: 0.94, Grade: scoring.GradeProbable},  // false
	{Left: 3, Right: 4, Weight: 1, Probability: 0.67, Grade: scoring.GradePossible},  // true
	{Left: 2, Right: 5, Weight: -2, Probability: 0.2, Grade: scoring.GradeNone},      // false
	{Left: 4, Right: 5, Weight: 6, Probability: 0.98, Grade: scoring.GradeNone},      // false, capped
	{Left: 1, Right: 5, Weight: -2, Probability: 0.2, Grade: scoring.GradeNone},      // false, tie
}

func TestEvaluatePairsGrades(t *testing.T) {
	got := EvaluatePairs(handLabels, handPairs, scoring.DefaultThresholds())
	b := got.Blocking
	if b.AllPairs != 15 || b.CandidatePairs != 7 || b.TruePairs != 4 || b.TrueCandidates != 3 {
		t.Fatalf("blocking counts = %+v", b)
	}
	if !near(b.PairsCompleteness, 0.75) || !near(b.ReductionRatio, 1-7.0/15) {
		t.Errorf("PC %v RR %v, want 0.75 %v", b.PairsCompleteness, b.ReductionRatio, 1-7.0/15)
	}
	want := []struct {
		grade             string
		tp, fp, fn        int64
		truePairs, falseP int64
		precision, recall float64
	}{
		{"certain", 1, 0, 3, 1, 0, 1, 0.25},
		{"probable", 2, 1, 2, 1, 1, 2.0 / 3, 0.5},
		{"possible", 3, 1, 1, 1, 0, 0.75, 0.75},
		{"none", 3, 4, 1, 0, 3, 3.0 / 7, 0.75},
	}
	if len(got.Grades) != len(want) {
		t.Fatalf("%d grade rows, want %d", len(got.Grades), len(want))
	}
	for i, w := range want {
		g := got.Grades[i]
		m := g.AtOrAbove
		if g.Grade != w.grade || m.TruePositives != w.tp || m.FalsePositives != w.fp || m.FalseNegatives != w.fn ||
			g.TruePairs != w.truePairs || g.FalsePairs != w.falseP || !near(m.Precision, w.precision) || !near(m.Recall, w.recall) {
			t.Errorf("grade row %d = %+v, want %+v", i, g, w)
		}
	}
	if got.Grades[0].Threshold != scoring.DefaultThresholds().Certain {
		t.Errorf("certain threshold = %v", got.Grades[0].Threshold)
	}
}

func TestEvaluatePairsSweep(t *testing.T) {
	got := EvaluatePairs(handLabels, handPairs, scoring.DefaultThresholds())
	// Cut points by weight: 10 (1/0), 6 (1/1), 5 (2/1), 4 (2/2), 1 (3/2),
	// -2 (3/4: both tied pairs enter together).
	wantCuts := []struct {
		w      float64
		tp, fp int64
	}{{10, 1, 0}, {6, 1, 1}, {5, 2, 1}, {4, 2, 2}, {1, 3, 2}, {-2, 3, 4}}
	if len(got.Curve) != len(wantCuts) {
		t.Fatalf("curve has %d points, want %d: %+v", len(got.Curve), len(wantCuts), got.Curve)
	}
	for i, w := range wantCuts {
		c := got.Curve[i]
		if c.Weight != w.w || c.TruePositives != w.tp || c.FalsePositives != w.fp || c.FalseNegatives != 4-w.tp {
			t.Errorf("cut %d = %+v, want %+v", i, c, w)
		}
	}
	// Best F1: at weight 5, P 2/3 R 1/2 → 4/7; at 1, P 3/5 R 3/4 → 2/3.
	if got.Best.Weight != 1 || !near(got.Best.F1, 2.0/3) {
		t.Errorf("best = %+v, want weight 1 F1 2/3", got.Best)
	}
	var nt, nf int64
	for i := range got.Histogram.True {
		nt += got.Histogram.True[i]
		nf += got.Histogram.False[i]
	}
	if nt != 3 || nf != 4 {
		t.Errorf("histogram holds %d true and %d false pairs, want 3 and 4", nt, nf)
	}
	// The weight 10 pair must land in the last bin, -2 in the first.
	h := got.Histogram
	if h.True[len(h.True)-1] != 1 || h.False[0] != 2 || h.Min != -2 {
		t.Errorf("histogram ends: min %v first false %d last true %d", h.Min, h.False[0], h.True[len(h.True)-1])
	}
}

func TestEvaluatePairsNoCandidates(t *testing.T) {
	got := EvaluatePairs(handLabels, nil, scoring.DefaultThresholds())
	if got.Blocking.PairsCompleteness != 0 || got.Blocking.ReductionRatio != 1 {
		t.Errorf("blocking = %+v", got.Blocking)
	}
	if got.Best.FalseNegatives != 4 || got.Best.F1 != 0 || len(got.Curve) != 0 {
		t.Errorf("best = %+v curve %d", got.Best, len(got.Curve))
	}
}

func TestEvaluatePairsLink(t *testing.T) {
	// Left: A B; right: A A C. True pairs: (0,0) (0,1) of 6.
	l := Labels{Left: []int32{0, 1}, Right: []int32{0, 0, 2}}
	pairs := []Pair{
		{Left: 0, Right: 0, Weight: 8, Grade: scoring.GradeCertain},
		{Left: 1, Right: 1, Weight: 3, Grade: scoring.GradePossible},
		{Left: 1, Right: 2, Weight: 1, Grade: scoring.GradePossible},
	}
	got := EvaluatePairs(l, pairs, scoring.DefaultThresholds())
	if got.Blocking.AllPairs != 6 || got.Blocking.TruePairs != 2 || got.Blocking.TrueCandidates != 1 {
		t.Fatalf("blocking = %+v", got.Blocking)
	}
	poss := got.Grades[2].AtOrAbove
	if poss.TruePositives != 1 || poss.FalsePositives != 2 || poss.FalseNegatives != 1 {
		t.Errorf("possible = %+v", poss)
	}
}

func TestDownsampleKeepsEndsAndBest(t *testing.T) {
	cuts := make([]SweepPoint, 1000)
	for i := range cuts {
		cuts[i].Weight = float64(1000 - i)
	}
	got := downsample(cuts, 337, 50)
	if len(got) > 51 || got[0].Weight != 1000 || got[len(got)-1].Weight != 1 {
		t.Fatalf("downsample: %d points, ends %v %v", len(got), got[0].Weight, got[len(got)-1].Weight)
	}
	found := false
	for i, p := range got {
		if p.Weight == cuts[337].Weight {
			found = true
		}
		if i > 0 && p.Weight >= got[i-1].Weight {
			t.Fatalf("not decreasing at %d: %v then %v", i, got[i-1].Weight, p.Weight)
		}
	}
	if !found {
		t.Error("best point dropped")
	}
}

func TestBCubed(t *testing.T) {
	tests := []struct {
		name               string
		clusters, entities []int32
		p, r               float64
	}{
		{"perfect", []int32{0, 0, 1}, []int32{5, 5, 6}, 1, 1},
		{"all singletons", []int32{0, 1, 2, 3}, []int32{0, 0, 1, 1}, 1, 0.5},
		{"one cluster", []int32{0, 0, 0, 0}, []int32{0, 0, 1, 1}, 0.5, 1},
		// Clusters {0,1} {2,3,4} {5} against entities {0,1,2} {3,4} {5}.
		{"mixed", []int32{0, 0, 1, 1, 1, 2}, []int32{0, 0, 0, 1, 1, 2},
			(1 + 1 + 1.0/3 + 2.0/3 + 2.0/3 + 1) / 6, (2.0/3 + 2.0/3 + 1.0/3 + 1 + 1 + 1) / 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBCubed(tc.clusters, tc.entities)
			if !near(b.Precision, tc.p) || !near(b.Recall, tc.r) {
				t.Errorf("B-cubed P %v R %v, want %v %v", b.Precision, b.Recall, tc.p, tc.r)
			}
			if want := 2 * tc.p * tc.r / (tc.p + tc.r); !near(b.F1, want) {
				t.Errorf("F1 %v, want %v", b.F1, want)
			}
		})
	}
}

func TestReadTruth(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
		n       int
	}{
		{"plain", "id,entity\na,1\nb,1\nc,2\n", false, 3},
		{"reordered with extra column", "entity,note,id\n1,x,a\n2,y,b\n", false, 2},
		{"bom and case", "\ufeffID,Entity\na,1\n", false, 1},
		{"repeat agrees", "id,entity\na,1\na,1\n", false, 1},
		{"repeat conflicts", "id,entity\na,1\na,2\n", true, 0},
		{"no entity column", "id,person\na,1\n", true, 0},
		{"empty", "", true, 0},
		{"short row", "id,entity\na\n", true, 0},
		{"empty entity", "id,entity\na,\n", true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := ReadTruth(strings.NewReader(tc.in))
			if tc.wantErr {
				if !errors.Is(err, ErrTruth) {
					t.Fatalf("err = %v, want ErrTruth", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr.Len() != tc.n {
				t.Errorf("Len = %d, want %d", tr.Len(), tc.n)
			}
		})
	}
}

func TestTruthLabel(t *testing.T) {
	tr := NewTruth(map[string]string{"a": "1", "b": "1", "c": "2", "x": "2"})
	got, unl := tr.Label([]string{"a", "c", "zz"}, []string{"b", "x", "yy"})
	if unl != 2 {
		t.Errorf("unlabelled = %d, want 2", unl)
	}
	l, r := got[0], got[1]
	if l[0] != r[0] || l[1] != r[1] || l[0] == l[1] {
		t.Errorf("entities not shared across sides: %v %v", l, r)
	}
	if l[2] == r[2] || l[2] == l[0] || l[2] == l[1] || r[2] == l[0] {
		t.Errorf("unlabelled records must be their own entities: %v %v", l, r)
	}
}
