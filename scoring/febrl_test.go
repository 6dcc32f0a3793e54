package scoring

import (
	"strconv"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/internal/testsets"
)

// blockOn returns all pairs of records sharing a non-empty key, skipping
// keys shared by more than maxGroup records.
func blockOn(recs []*Prepared, key func(*Prepared) string, maxGroup int) [][2]int32 {
	groups := map[string][]int32{}
	for i, p := range recs {
		if k := key(p); k != "" {
			groups[k] = append(groups[k], int32(i))
		}
	}
	var pairs [][2]int32
	for _, g := range groups {
		if len(g) > maxGroup {
			continue
		}
		for x := 0; x < len(g); x++ {
			for y := x + 1; y < len(g); y++ {
				pairs = append(pairs, [2]int32{g[x], g[y]})
			}
		}
	}
	return pairs
}

// TestFebrl3Sanity trains without labels on febrl3 with simple blocking
// and reports accuracy against the truth. It checks that training works on
// real-looking data and learns persons, not households; the constants of
// this package are not tuned to it.
func TestFebrl3Sanity(t *testing.T) {
	path, truthPath := testsets.Paths(t, "febrl3")
	raw := testsets.Records(t, path)
	truth := testsets.Truth(t, truthPath)
	recs := make([]*Prepared, len(raw))
	for i, r := range raw {
		recs[i] = PrepareWithoutTF(r)
	}
	passes := []TrainingPass{
		{Name: "family_dm", Pairs: blockOn(recs, func(p *Prepared) string { return p.FamilyDM1 }, 300), Exclude: []string{"family_name"}},
		{Name: "birth_date", Pairs: blockOn(recs, func(p *Prepared) string { return p.birthDigits }, 300), Exclude: []string{"birth_date"}},
		{Name: "given_dm", Pairs: blockOn(recs, func(p *Prepared) string { return p.GivenDM1 }, 300), Exclude: []string{"given_name"}},
		{Name: "postal", Pairs: blockOn(recs, func(p *Prepared) string { return p.postal }, 300), Exclude: []string{"household"}},
	}
	uPairs := 100_000
	if testing.Short() {
		uPairs = 20_000
	}
	m, err := Train(recs, passes, TrainOptions{UPairs: uPairs})
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	m.Table(&table)
	t.Logf("trained model:\n%s", table.String())
	if len(m.Training.Warnings) > 0 {
		t.Errorf("training warnings: %v", m.Training.Warnings)
	}

	s := MustScorer(m)
	for i, r := range raw {
		s.PrepareInto(recs[i], r)
	}
	seen := map[[2]int32]bool{}
	inCands := 0
	missed := map[string]int{}
	var examples []string
	var tp, fp [4]int // by grade: pairs graded at least g
	for _, p := range passes {
		for _, ij := range p.Pairs {
			if ij[0] > ij[1] {
				ij[0], ij[1] = ij[1], ij[0]
			}
			if seen[ij] {
				continue
			}
			seen[ij] = true
			res := s.Score(recs[ij[0]], recs[ij[1]])
			same := truth[raw[ij[0]].ID] == truth[raw[ij[1]].ID]
			if same {
				inCands++
				if res.Grade < GradeProbable {
					missed[res.Cap.String()+"/"+res.Grade.String()]++
					if len(examples) < 15 {
						examples = append(examples, explainString(s.Explain(recs[ij[0]], recs[ij[1]]))+" w="+strconv.FormatFloat(res.Weight, 'f', 2, 64))
					}
				}
			}
			for g := GradePossible; g <= res.Grade; g++ {
				if same {
					tp[g]++
				} else {
					fp[g]++
				}
			}
		}
	}
	// All true pairs in the file.
	count := map[string]int{}
	for _, e := range truth {
		count[e]++
	}
	allTrue := 0
	for _, n := range count {
		allTrue += n * (n - 1) / 2
	}
	t.Logf("true pairs among candidates: %d of %d; below probable by cap/grade: %v", inCands, allTrue, missed)
	for _, e := range examples {
		t.Logf("  missed: %s", e)
	}
	for g := GradePossible; g <= GradeCertain; g++ {
		prec := float64(tp[g]) / float64(tp[g]+fp[g])
		rec := float64(tp[g]) / float64(allTrue)
		t.Logf("≥%-8v precision %.4f recall %.4f F1 %.4f (false pairs %d)", g, prec, rec, 2*prec*rec/(prec+rec), fp[g])
	}
	prec := float64(tp[GradeProbable]) / float64(tp[GradeProbable]+fp[GradeProbable])
	rec := float64(tp[GradeProbable]) / float64(allTrue)
	if f1 := 2 * prec * rec / (prec + rec); f1 < 0.9 {
		t.Errorf("F1 at probable %.4f: training or scoring is broken", f1)
	}
}
