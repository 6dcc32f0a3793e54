package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/patientmatch/patientmatch/batch"
	"github.com/patientmatch/patientmatch/scoring"
	"github.com/patientmatch/patientmatch/synth"
)

// synthDataset writes n generated records and their truth under dir and
// returns the two paths.
func synthDataset(t testing.TB, dir string, n int, seed uint64) (data, truth string) {
	t.Helper()
	g, err := synth.New(synth.Options{N: n, Seed: seed, DupRate: synth.DefaultDupRate})
	if err != nil {
		t.Fatal(err)
	}
	data, truth = filepath.Join(dir, "data.csv"), filepath.Join(dir, "truth.csv")
	df, err := os.Create(data)
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	tf, err := os.Create(truth)
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	if _, err := g.Write(context.Background(), df, synth.FormatCSV, tf); err != nil {
		t.Fatal(err)
	}
	return data, truth
}

// accuracyOn runs the harness on a dataset file and its truth, with the
// default model and the serial source.
func accuracyOn(t testing.TB, data, truthPath string) *Accuracy {
	t.Helper()
	ctx := context.Background()
	model := scoring.DefaultModel()
	start := time.Now()
	sc, sides, err := ReadDataset(ctx, []string{data}, model, batch.ReadOptions{Report: func(src string, line int, err error) {
		t.Logf("%s:%d: skipped: %v", src, line, err)
	}})
	if err != nil {
		t.Fatal(err)
	}
	truth := readTruthFile(t, truthPath)
	a, err := RunAccuracy(ctx, AccuracyInput{
		Name: filepath.Base(data), Left: sides[0], Truth: truth, Model: model, ReadTime: time.Since(start),
		Source: &BatchSource{Scorer: sc, Thresholds: model.Thresholds},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func readTruthFile(t testing.TB, path string) *Truth {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	truth, err := ReadTruth(f)
	if err != nil {
		t.Fatal(err)
	}
	return truth
}
