package bench

import (
	"math"
	"slices"

	"github.com/patientmatch/patientmatch/batch"
	"github.com/patientmatch/patientmatch/scoring"
)

// Pair is one scored candidate pair as the harness keeps it: batch.Pair,
// so the harness sees exactly what the batch jobs produce. Left and Right
// index the records; in linkage Left indexes the left file and Right the
// right one.
type Pair = batch.Pair

// Labels are the truth entity of every record, as Truth.Label numbers them.
// Right is nil for deduplication (pairs within Left).
type Labels struct {
	Left, Right []int32
}

func (l Labels) link() bool { return l.Right != nil }

// same reports whether the pair is a true match.
func (l Labels) same(p Pair) bool {
	if l.link() {
		return l.Left[p.Left] == l.Right[p.Right]
	}
	return l.Left[p.Left] == l.Left[p.Right]
}

// truePairs counts every pair of records of the same entity: Σ C(n_e, 2)
// for deduplication, Σ n_e(left)·n_e(right) for linkage.
func (l Labels) truePairs() int64 {
	count := func(ls []int32) map[int32]int64 {
		m := map[int32]int64{}
		for _, e := range ls {
			m[e]++
		}
		return m
	}
	var n int64
	left := count(l.Left)
	if l.link() {
		for e, r := range count(l.Right) {
			n += left[e] * r
		}
		return n
	}
	for _, c := range left {
		n += c * (c - 1) / 2
	}
	return n
}

// allPairs is the number of pairs a full comparison would score.
func (l Labels) allPairs() int64 {
	if l.link() {
		return int64(len(l.Left)) * int64(len(l.Right))
	}
	n := int64(len(l.Left))
	return n * (n - 1) / 2
}

// Metrics are pairwise precision, recall and F1 of a set of pairs declared
// matches, against every true pair of the data (true pairs that blocking
// never proposed count as false negatives). When nothing is declared a
// match, precision is 0 and Predicted says so; the text and HTML reports
// print it as "–".
type Metrics struct {
	TruePositives  int64   `json:"true_positives"`
	FalsePositives int64   `json:"false_positives"`
	FalseNegatives int64   `json:"false_negatives"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	F1             float64 `json:"f1"`
}

// NewMetrics computes precision, recall and F1 from the counts.
func NewMetrics(tp, fp, fn int64) Metrics {
	m := Metrics{TruePositives: tp, FalsePositives: fp, FalseNegatives: fn}
	if tp+fp > 0 {
		m.Precision = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		m.Recall = float64(tp) / float64(tp+fn)
	}
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	return m
}

// Predicted is the number of pairs declared matches.
func (m Metrics) Predicted() int64 { return m.TruePositives + m.FalsePositives }

// GradeResult is the accuracy of one grade used as the decision threshold.
type GradeResult struct {
	Grade string `json:"grade"`
	// Threshold is the model's posterior probability at which the grade
	// starts; caps (hazard rules) can lower a pair below its grade, so the
	// grade is not exactly "probability ≥ Threshold".
	Threshold float64 `json:"threshold"`
	// AtOrAbove: pairs of this grade or a higher one declared matches.
	AtOrAbove Metrics `json:"at_or_above"`
	// TruePairs and FalsePairs count the pairs of exactly this grade:
	// FalsePairs is what a reviewer of this grade would wade through.
	TruePairs  int64 `json:"true_pairs"`
	FalsePairs int64 `json:"false_pairs"`
}

// SweepPoint is the accuracy of declaring every pair with a match weight
// of at least Weight a match (grades and their caps ignored).
type SweepPoint struct {
	Weight      float64 `json:"weight"`
	Probability float64 `json:"probability"`
	Metrics
}

// Blocking measures candidate generation: how many true pairs it proposes
// (pairs completeness) and how much comparison it saves (reduction ratio).
type Blocking struct {
	AllPairs       int64 `json:"all_pairs"`
	CandidatePairs int64 `json:"candidate_pairs"`
	TrueCandidates int64 `json:"true_candidates"`
	TruePairs      int64 `json:"true_pairs"`
	// PairsCompleteness is TrueCandidates / TruePairs.
	PairsCompleteness float64 `json:"pairs_completeness"`
	// ReductionRatio is 1 − CandidatePairs / AllPairs.
	ReductionRatio float64 `json:"reduction_ratio"`
}

// Histogram counts candidate pairs by match weight, true and false pairs
// apart, over the same bins: bin i covers [Min+i·Width, Min+(i+1)·Width).
type Histogram struct {
	Min   float64 `json:"min"`
	Width float64 `json:"width"`
	True  []int64 `json:"true"`
	False []int64 `json:"false"`
}

// Pairwise is the pairwise evaluation of a set of scored candidate pairs.
type Pairwise struct {
	Blocking Blocking `json:"blocking"`
	// Grades: certain, probable, possible, then "none" (below possible;
	// AtOrAbove there is every candidate declared a match).
	Grades []GradeResult `json:"grades"`
	// Best is the point of the sweep with the highest F1.
	Best SweepPoint `json:"best"`
	// Curve is the precision–recall curve of the sweep, at most
	// maxCurvePoints points from the highest weight down.
	Curve     []SweepPoint `json:"curve"`
	Histogram Histogram    `json:"histogram"`
}

const (
	maxCurvePoints = 200
	histogramBins  = 60
)

// gradeOrder lists grades strongest first, with the model threshold each
// starts at.
func gradeOrder(t scoring.Thresholds) []struct {
	g scoring.Grade
	p float64
} {
	return []struct {
		g scoring.Grade
		p float64
	}{
		{scoring.GradeCertain, t.Certain},
		{scoring.GradeProbable, t.Probable},
		{scoring.GradePossible, t.Possible},
		{scoring.GradeNone, 0},
	}
}

// EvaluatePairs scores pairs (every candidate pair, each once, scored with
// no threshold) against the labels. th are the model's grade thresholds,
// reported beside each grade.
func EvaluatePairs(labels Labels, pairs []Pair, th scoring.Thresholds) Pairwise {
	truth := labels.truePairs()
	all := labels.allPairs()

	sc := make([]scoredPair, len(pairs))
	var byGrade [scoring.GradeCertain + 1][2]int64 // [grade][same]
	var trueCand int64
	for i, p := range pairs {
		s := labels.same(p)
		sc[i] = scoredPair{p.Weight, p.Probability, s}
		g := min(p.Grade, scoring.GradeCertain)
		if s {
			trueCand++
			byGrade[g][1]++
		} else {
			byGrade[g][0]++
		}
	}

	var out Pairwise
	out.Blocking = Blocking{
		AllPairs:       all,
		CandidatePairs: int64(len(pairs)),
		TrueCandidates: trueCand,
		TruePairs:      truth,
	}
	if truth > 0 {
		out.Blocking.PairsCompleteness = float64(trueCand) / float64(truth)
	}
	if all > 0 {
		out.Blocking.ReductionRatio = 1 - float64(len(pairs))/float64(all)
	}

	var tp, fp int64
	for _, gr := range gradeOrder(th) {
		tp += byGrade[gr.g][1]
		fp += byGrade[gr.g][0]
		out.Grades = append(out.Grades, GradeResult{
			Grade:      gr.g.String(),
			Threshold:  gr.p,
			AtOrAbove:  NewMetrics(tp, fp, truth-tp),
			TruePairs:  byGrade[gr.g][1],
			FalsePairs: byGrade[gr.g][0],
		})
	}

	cuts, bestAt := weightSweep(sc, truth)
	if bestAt >= 0 {
		out.Best = cuts[bestAt]
	} else {
		// No candidates: nothing can be declared a match.
		out.Best = SweepPoint{Probability: 1, Metrics: NewMetrics(0, 0, truth)}
	}
	out.Curve = downsample(cuts, bestAt, maxCurvePoints)
	out.Histogram = histogram(sc, func(s scoredPair) (float64, bool) { return s.w, s.same })
	return out
}

// scoredPair is a candidate pair's weight and probability, and whether the
// labels make it one person.
type scoredPair struct {
	w, p float64
	same bool
}

// weightSweep sorts sc by weight, highest first, and gives the metrics of
// declaring a match at or above each distinct weight (a cut point is after
// the last pair of each), with the index of the cut of highest F1, -1 when
// sc is empty. truth is the number of true pairs.
func weightSweep(sc []scoredPair, truth int64) (cuts []SweepPoint, bestAt int) {
	slices.SortFunc(sc, func(a, b scoredPair) int {
		switch {
		case a.w > b.w:
			return -1
		case a.w < b.w:
			return 1
		}
		return 0
	})
	var tp, fp int64
	for i, s := range sc {
		if s.same {
			tp++
		} else {
			fp++
		}
		if i+1 < len(sc) && sc[i+1].w == s.w {
			continue
		}
		cuts = append(cuts, SweepPoint{Weight: s.w, Probability: s.p, Metrics: NewMetrics(tp, fp, truth-tp)})
	}
	bestAt = -1
	for i, c := range cuts {
		if bestAt < 0 || c.F1 > cuts[bestAt].F1 {
			bestAt = i
		}
	}
	return cuts, bestAt
}

// downsample keeps at most n points of cuts, evenly spread by rank, always
// keeping the first, the last and keep.
func downsample(cuts []SweepPoint, keep, n int) []SweepPoint {
	if len(cuts) <= n {
		return slices.Clone(cuts)
	}
	out := make([]SweepPoint, 0, n+1)
	step := float64(len(cuts)-1) / float64(n-1)
	last := -1
	for k := 0; k < n; k++ {
		i := int(math.Round(float64(k) * step))
		if last < keep && keep < i {
			out = append(out, cuts[keep])
		}
		if i != last {
			out = append(out, cuts[i])
			last = i
		}
	}
	return out
}

// histogram bins the weights of pairs, true and false apart.
func histogram[T any](items []T, get func(T) (float64, bool)) Histogram {
	h := Histogram{True: make([]int64, histogramBins), False: make([]int64, histogramBins)}
	if len(items) == 0 {
		h.Width = 1
		return h
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, it := range items {
		w, _ := get(it)
		lo, hi = min(lo, w), max(hi, w)
	}
	lo, hi = math.Floor(lo), math.Ceil(hi)
	if hi <= lo {
		hi = lo + 1
	}
	h.Min, h.Width = lo, (hi-lo)/histogramBins
	for _, it := range items {
		w, same := get(it)
		b := min(int((w-lo)/h.Width), histogramBins-1)
		if same {
			h.True[b]++
		} else {
			h.False[b]++
		}
	}
	return h
}

// BCubed is the B-cubed measure of a clustering against the truth: for each
// record, precision is the share of its cluster that is its entity, recall
// the share of its entity that is in its cluster; both are averaged over
// records. Unlike pairwise measures it does not let one large entity
// dominate.
type BCubed struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Clusters  int     `json:"clusters"`
	Entities  int     `json:"entities"`
}

// NewBCubed compares a cluster number per record with the entity number per
// record (same length).
func NewBCubed(clusters, entities []int32) BCubed {
	if len(clusters) != len(entities) {
		panic("bench: NewBCubed: clusters and entities differ in length")
	}
	type key struct{ c, e int32 }
	both := map[key]int64{}
	cSize := map[int32]int64{}
	eSize := map[int32]int64{}
	for i, c := range clusters {
		e := entities[i]
		both[key{c, e}]++
		cSize[c]++
		eSize[e]++
	}
	var p, r float64
	for k, n := range both {
		// Each of the n records of (c, e) has precision n/|c| and recall n/|e|.
		p += float64(n) * float64(n) / float64(cSize[k.c])
		r += float64(n) * float64(n) / float64(eSize[k.e])
	}
	b := BCubed{Clusters: len(cSize), Entities: len(eSize)}
	if n := float64(len(clusters)); n > 0 {
		b.Precision, b.Recall = p/n, r/n
	}
	if b.Precision+b.Recall > 0 {
		b.F1 = 2 * b.Precision * b.Recall / (b.Precision + b.Recall)
	}
	return b
}
