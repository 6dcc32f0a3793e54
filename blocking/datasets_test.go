package blocking

import (
	"testing"

	"github.com/patientmatch/patientmatch/internal/testsets"

	"github.com/patientmatch/patientmatch/scoring"
)

// TestDatasetCompleteness measures pairs completeness (share of true pairs
// among the candidates) and reduction ratio on the labelled datasets, per
// rule and for all rules together. The rules were chosen on principle (see
// rules.go), not fitted to these files; the febrl3 floor is the project's
// target.
func TestDatasetCompleteness(t *testing.T) {
	floors := map[string]float64{"febrl3": 0.995}
	for _, name := range []string{"febrl1", "febrl2", "febrl3", "opencr_uganda", "splink_fake_1000"} {
		t.Run(name, func(t *testing.T) {
			data, truthPath := testsets.Paths(t, name)
			recs := testsets.Records(t, data)
			truth := testsets.Truth(t, truthPath)
			prepared := make([]*scoring.Prepared, len(recs))
			entity := make([]string, len(recs))
			size := map[string]int64{}
			for i, r := range recs {
				prepared[i] = scoring.PrepareWithoutTF(r)
				entity[i] = truth[r.ID]
				size[entity[i]]++
			}
			var truePairs int64
			for _, n := range size {
				truePairs += n * (n - 1) / 2
			}
			all := int64(len(recs)) * int64(len(recs)-1) / 2
			measure := func(opts PairOptions) (pc, rr float64, st Stats) {
				var found int64
				st = Pairs(prepared, opts, func(i, j int32) {
					if entity[i] == entity[j] {
						found++
					}
				})
				return float64(found) / float64(truePairs), st.ReductionRatio(all), st
			}
			t.Logf("%s: %d records, %d true pairs", name, len(recs), truePairs)
			t.Logf("%-22s %10s %9s %9s %8s", "rule", "pairs", "PC", "RR", "skipped")
			for _, r := range Rules() {
				pc, rr, st := measure(PairOptions{Rules: []Rule{r}})
				t.Logf("%-22s %10d %9.4f %9.6f %8d", r, st.Pairs, pc, rr, st.SkippedBlocks)
			}
			pc, rr, st := measure(PairOptions{})
			t.Logf("%-22s %10d %9.4f %9.6f %8d", "ALL", st.Pairs, pc, rr, st.SkippedBlocks)
			if floor, ok := floors[name]; ok && pc < floor {
				t.Errorf("pairs completeness %.4f < %.3f", pc, floor)
			}
			if rr < 0.99 {
				t.Errorf("reduction ratio %.4f < 0.99", rr)
			}
		})
	}
}
