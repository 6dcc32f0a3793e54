package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/blocking"
	"github.com/patientmatch/patientmatch/scoring"
)

// TestTrainCommand trains on a small generated set: the model file loads
// and carries its training record, the table goes to stdout, the summary
// line to stderr, and progress is drawn only when asked for.
func TestTrainCommand(t *testing.T) {
	data, _ := benchData(t)
	for _, progress := range []bool{true, false} {
		model := filepath.Join(t.TempDir(), "m.json")
		env, out, errb := testEnv()
		args := []string{"--out", model, data}
		if progress {
			args = append([]string{"--progress"}, args...)
		}
		if err := runTrain(context.Background(), env, args); err != nil {
			t.Fatalf("train: %v\n%s", err, errb.String())
		}
		f, err := os.Open(model)
		if err != nil {
			t.Fatal(err)
		}
		m, err := scoring.LoadModel(f)
		f.Close()
		if err != nil {
			t.Fatalf("trained model does not load: %v", err)
		}
		if m.Training == nil || m.Training.Records != 400 || len(m.Training.Passes) == 0 {
			t.Errorf("training record: %+v", m.Training)
		}
		if !strings.Contains(out.String(), "comparison") || !strings.Contains(errb.String(), "trained on 400 records") {
			t.Errorf("stdout %q\nstderr %q", out.String(), errb.String())
		}
		n := len(blocking.TrainingRules())
		drawn := strings.Contains(errb.String(), fmt.Sprintf("blocking: rule %d of %d", n, n))
		if drawn != progress {
			t.Errorf("--progress=%v: progress drawn %v:\n%s", progress, drawn, errb.String())
		}
	}

	env, _, _ := testEnv()
	if err := runTrain(context.Background(), env, []string{"--out", filepath.Join(t.TempDir(), "m.json")}); err == nil {
		t.Error("train without input files succeeded")
	}
}
