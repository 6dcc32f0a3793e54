package bench

import "testing"

// TestAccuracyFloorWorldSet: the committed world2000 set (2,000 records of
// the generator's world profile, seed 16: a diverse city's names — compound
// given names, two family names, particles, family-first order, adopted
// names, transliterations, few family names, 1 January birth dates) has no
// false pair graded certain, and its recall and precision stay above
// floors set a little below what was measured when it was committed
// (testdata/labelled/README.md). The set holds no pair of the shapes the
// world lane's comparator changes fixed (twins sharing a first given name,
// "María Lucía" and "María Alejandra"; names joined with a slip): it
// passes on the code before them too. Those are guarded by their own
// cases (scoring/testdata/levels.txt, scoring/caps_world_test.go); this
// test guards the profile's figures as a whole.
func TestAccuracyFloorWorldSet(t *testing.T) {
	a := committedAccuracy(t, "world2000")
	certain, _ := a.Grade("certain")
	probable, _ := a.Grade("probable")
	possible, _ := a.Grade("possible")
	logFigures(t, a)
	if fp := certain.AtOrAbove.FalsePositives; fp != 0 {
		t.Errorf("%d false pairs graded certain, want none", fp)
	}
	checkFloors(t, []floor{
		{"pairs completeness", a.Blocking.PairsCompleteness, 0.98},  // measured 0.9939
		{"probable+ precision", probable.AtOrAbove.Precision, 0.98}, // measured 0.9968
		{"probable+ recall", probable.AtOrAbove.Recall, 0.93},       // measured 0.9478
		{"possible+ recall", possible.AtOrAbove.Recall, 0.97},       // measured 0.9831
		{"certain recall", certain.AtOrAbove.Recall, 0.75},          // measured 0.7942
	})
}
