package batch

import (
	"context"
	"testing"

	"github.com/patientmatch/patientmatch/internal/testsets"
)

// TestDedupeFebrl3 dedupes FEBRL dataset 3 (5,000 records of 2,000 people,
// groups up to 6) with the default, untrained model, and logs pairwise and
// cluster accuracy. The floors only guard against regressions; nothing is
// tuned to this data.
func TestDedupeFebrl3(t *testing.T) {
	data, truthPath := testsets.Paths(t, "febrl3")
	truth := testsets.Truth(t, truthPath)
	ctx := context.Background()
	s := defaultScorer(t)
	recs, err := ReadFiles(ctx, []string{data}, ReadOptions{Scorer: s, Report: func(src string, line int, err error) {
		t.Errorf("%s:%d: %v", src, line, err)
	}})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := WithInputFrequencies(ctx, s, 0, recs)
	if err != nil {
		t.Fatal(err)
	}
	th := ts.Model().Thresholds
	var pairs []Pair
	st, err := Dedupe(ctx, recs, Options{Scorer: ts, Threshold: th.Possible}, func(p Pair) error {
		pairs = append(pairs, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	entity := make([]string, len(recs))
	size := map[string]int64{}
	for i, p := range recs {
		e, ok := truth[p.Rec.ID]
		if !ok {
			t.Fatalf("%s has no truth", p.Rec.ID)
		}
		entity[i] = e
		size[e]++
	}
	var truePairs int64
	for _, n := range size {
		truePairs += n * (n - 1) / 2
	}
	var tp int64
	for _, p := range pairs {
		if entity[p.Left] == entity[p.Right] {
			tp++
		}
	}
	prec, rec := float64(tp)/float64(len(pairs)), float64(tp)/float64(truePairs)
	f1 := 2 * prec * rec / (prec + rec)
	t.Logf("febrl3: %d records, %d candidate pairs, %d pairs >= %.2f: precision %.4f recall %.4f F1 %.4f (%v)",
		len(recs), st.CandidatePairs, len(pairs), th.Possible, prec, rec, f1, st.Elapsed)

	// Clusters, pairwise over the pairs they imply.
	c := Cluster(len(recs), pairs, ClusterOptions{Thresholds: th, Score: func(i, j int32) Pair {
		r := ts.Score(recs[i], recs[j])
		return Pair{Left: i, Right: j, Weight: r.Weight, Probability: r.Probability, Grade: r.Grade}
	}})
	members := map[int32][]int{}
	for i, k := range c {
		members[k] = append(members[k], i)
	}
	var cPairs, cTP int64
	for _, m := range members {
		for x := range m {
			for y := x + 1; y < len(m); y++ {
				cPairs++
				if entity[m[x]] == entity[m[y]] {
					cTP++
				}
			}
		}
	}
	cp, cr := float64(cTP)/float64(cPairs), float64(cTP)/float64(truePairs)
	cf := 2 * cp * cr / (cp + cr)
	t.Logf("febrl3 clusters: %d clusters for %d people: pairwise precision %.4f recall %.4f F1 %.4f",
		len(members), len(size), cp, cr, cf)

	if f1 < 0.9 {
		t.Errorf("pairwise F1 %.4f below the 0.9 floor", f1)
	}
	if cf < 0.9 {
		t.Errorf("cluster F1 %.4f below the 0.9 floor", cf)
	}
}
