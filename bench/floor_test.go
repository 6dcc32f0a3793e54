package bench

import (
	"path/filepath"
	"testing"

	"github.com/patientmatch/patientmatch/internal/testsets"
)

// TestAccuracyFloorCommittedSet measures the built-in model and the batch
// pipeline on the labelled set committed in testdata/labelled (2,000
// synthetic records from `patientmatch generate --n 2000 --seed 16`, with
// their truth file), so an accuracy floor is checked in every clone, with
// or without ../shared/datasets. The floors sit a little below the figures
// measured when the set was committed (see testdata/labelled/README.md):
// they catch a regression, they do not describe the engine.
func TestAccuracyFloorCommittedSet(t *testing.T) {
	dir := filepath.Join(testsets.ModuleRoot(t), "testdata", "labelled")
	a := accuracyOn(t, filepath.Join(dir, "synth2000.csv"), filepath.Join(dir, "synth2000.truth.csv"))
	if a.Records != 2000 || a.Unlabelled != 0 {
		t.Fatalf("read %d records, %d unlabelled; want 2000, 0", a.Records, a.Unlabelled)
	}
	checkInvariants(t, a)
	certain, _ := a.Grade("certain")
	probable, _ := a.Grade("probable")
	possible, _ := a.Grade("possible")
	t.Logf("pairs completeness %.4f; certain+ P %.4f R %.4f; probable+ P %.4f R %.4f F1 %.4f; possible+ P %.4f R %.4f F1 %.4f",
		a.Blocking.PairsCompleteness, certain.AtOrAbove.Precision, certain.AtOrAbove.Recall,
		probable.AtOrAbove.Precision, probable.AtOrAbove.Recall, probable.AtOrAbove.F1,
		possible.AtOrAbove.Precision, possible.AtOrAbove.Recall, possible.AtOrAbove.F1)
	for _, f := range []struct {
		what       string
		got, floor float64
	}{
		{"pairs completeness", a.Blocking.PairsCompleteness, floorCompleteness},
		{"probable+ precision", probable.AtOrAbove.Precision, floorProbablePrecision},
		{"probable+ recall", probable.AtOrAbove.Recall, floorProbableRecall},
		{"possible+ recall", possible.AtOrAbove.Recall, floorPossibleRecall},
	} {
		if f.got < f.floor {
			t.Errorf("%s %.4f below the floor %.4f", f.what, f.got, f.floor)
		}
	}
	if fp := certain.AtOrAbove.FalsePositives; fp != 0 {
		t.Errorf("%d false pairs graded certain, want none", fp)
	}
}

// Floors of TestAccuracyFloorCommittedSet.
const (
	floorCompleteness      = 0.98 // measured 0.9944
	floorProbablePrecision = 0.98 // measured 0.9926
	floorProbableRecall    = 0.92 // measured 0.9408
	floorPossibleRecall    = 0.96 // measured 0.9775
)
