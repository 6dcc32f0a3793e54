package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/patientmatch/patientmatch/batch"
	"github.com/patientmatch/patientmatch/bench"
	"github.com/patientmatch/patientmatch/internal/testsets"
	"github.com/patientmatch/patientmatch/scoring"
)

// TestTrainedProbableThreshold trains on the committed labelled sets
// without their labels and grades each with the trained model twice: at
// the probable threshold training estimated from the file
// (scoring.probableThreshold) and at the built-in 0.95. On the sparse sets
// (names and birth date; civil records) a true pair with one typo sits at
// a posterior between 0.5 and 0.95 that the trained model gets right, and
// the estimated threshold must find more of them than it lets false pairs
// in: probable+ F1 higher. On the household set it must not be lower. The
// labels are used only here, to judge.
func TestTrainedProbableThreshold(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on 2,000-record sets")
	}
	for _, tc := range []struct {
		set    string
		better bool // strictly better F1 required
	}{
		{"names2000", true},
		{"civil2000", true},
		{"synth2000", false},
	} {
		t.Run(tc.set, func(t *testing.T) {
			data, truth := testsets.Committed(t, tc.set)
			model := trainedModel(t, data)
			th := model.Thresholds
			if th.Probable < th.Possible || th.Probable > scoring.DefaultThresholds().Probable {
				t.Fatalf("estimated probable threshold %v outside [possible %v, built-in %v]", th.Probable, th.Possible, scoring.DefaultThresholds().Probable)
			}
			fixed := model.Clone()
			fixed.Thresholds.Probable = scoring.DefaultThresholds().Probable
			est, base := probableF1(t, data, truth, model), probableF1(t, data, truth, fixed)
			t.Logf("probable threshold %.4g: probable+ F1 %.4f; at 0.95: %.4f", th.Probable, est, base)
			if est < base || tc.better && est <= base {
				t.Errorf("probable+ F1 %.4f at the estimated threshold %.4g, %.4f at 0.95", est, th.Probable, base)
			}
		})
	}
}

// probableF1 is the probable+ F1 of model on a labelled file, with no false
// certain pair allowed.
func probableF1(t *testing.T, data, truthPath string, model *scoring.Model) float64 {
	t.Helper()
	ctx := context.Background()
	sc, sides, err := bench.ReadDataset(ctx, []string{data}, model, batch.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	truth, err := readTruthFile(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := bench.RunAccuracy(ctx, bench.AccuracyInput{
		Name: filepath.Base(data), Left: sides[0], Truth: truth, Model: model,
		Source: &bench.BatchSource{Scorer: sc, Thresholds: model.Thresholds},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := a.Grade("certain"); c.AtOrAbove.FalsePositives != 0 {
		t.Errorf("%d false certain pairs", c.AtOrAbove.FalsePositives)
	}
	p, _ := a.Grade("probable")
	return p.AtOrAbove.F1
}
