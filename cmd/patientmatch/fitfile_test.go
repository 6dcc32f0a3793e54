package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/internal/testsets"
)

// TestFitToFile grades the committed labelled sets with the built-in model
// fitted to each file (the default) and as it is (--fit=false). On the
// sparse sets the fitted model must find more true pairs at `probable`
// than it lets false ones in (probable+ F1 higher); on the household set it
// must not be lower; never a false `certain`. Labels judge only.
func TestFitToFile(t *testing.T) {
	if testing.Short() {
		t.Skip("scores three 2,000-record sets twice")
	}
	for _, tc := range []struct {
		set    string
		better bool
	}{
		{"names2000", true},
		{"civil2000", true},
		{"synth2000", false},
	} {
		t.Run(tc.set, func(t *testing.T) {
			data, truth := testsets.Committed(t, tc.set)
			fitted, fixed := benchF1(t, data, truth), benchF1(t, data, truth, "--fit=false")
			t.Logf("probable+ F1 fitted %.4f, as built in %.4f", fitted, fixed)
			if fitted < fixed || tc.better && fitted <= fixed {
				t.Errorf("probable+ F1 %.4f fitted to the file, %.4f as built in", fitted, fixed)
			}
		})
	}
}

// benchF1 runs bench accuracy with the built-in model and returns the
// probable+ F1, failing on any false certain pair, and on fit notes
// missing from stderr when the model is fitted (or present when not).
func benchF1(t *testing.T, data, truth string, flags ...string) float64 {
	t.Helper()
	grades, stderr := benchAccuracyGrades(t, slices.Concat([]string{"accuracy", "--json", "--truth", truth}, flags, []string{data})...)
	// The fit says on stderr what it set; without it, nothing is said.
	fitted := !slices.Contains(flags, "--fit=false")
	if said := strings.Contains(stderr, "fit: prior: "); said != fitted {
		t.Errorf("fitted %v, but the fit notes on stderr: %v\n%s", fitted, said, stderr)
	}
	if fp := grades["certain"].FP; fp != 0 {
		t.Errorf("%d false certain pairs", fp)
	}
	return grades["probable"].F1
}
