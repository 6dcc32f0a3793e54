package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/patientmatch/patientmatch/scoring"
)

// PairSource is the batch code under test: what the dedupe and link
// commands run to produce scored candidate pairs and clusters. The harness
// never scores a pair itself, so it measures exactly what users get.
type PairSource interface {
	// Dedupe emits every candidate pair within records, scored, with no
	// threshold, and returns how many candidate pairs blocking produced.
	Dedupe(ctx context.Context, records []*scoring.Prepared, emit func(Pair) error) (candidates int64, err error)
	// Link is Dedupe between two sets: Left indexes left, Right right.
	Link(ctx context.Context, left, right []*scoring.Prepared, emit func(Pair) error) (candidates int64, err error)
	// Promote raises, in place, the grades of the pairs of a Dedupe where
	// the job decides beyond each pair's own score (batch.Promote: certain
	// through a third record), and returns how many it raised.
	Promote(ctx context.Context, records []*scoring.Prepared, pairs []Pair) (int, error)
	// Cluster assigns a cluster number to each of n records from scored
	// pairs (all candidates; the source applies its own threshold).
	Cluster(n int, pairs []Pair) []int32
}

// AccuracyInput is a labelled dataset ready to evaluate.
type AccuracyInput struct {
	// Name names the dataset in reports (file names).
	Name string
	// Left holds the records (of the left file in linkage), prepared with
	// the scorer under test; Rec.ID is matched against the truth.
	Left []*scoring.Prepared
	// Right is set for linkage, nil for deduplication.
	Right []*scoring.Prepared
	Truth *Truth
	// Model is the scoring model under test: its thresholds define the
	// grades and its m/u table goes into the HTML report.
	Model  *scoring.Model
	Source PairSource
	// ReadTime is how long reading and preparing the records took, for the
	// report (the caller measures it).
	ReadTime time.Duration
	// Scorer explains the pairs of the error lists (Accuracy.Errors); the
	// records must have been prepared with it. Default (nil): the Source's
	// scorer when it is a *BatchSource, else one of Model.
	Scorer *scoring.Scorer
}

// Accuracy is the evaluation of a scoring model and its batch pipeline on
// a labelled dataset.
type Accuracy struct {
	Dataset string `json:"dataset"`
	// Task is "dedupe" (pairs within one set) or "link" (pairs across two).
	Task         string `json:"task"`
	Records      int    `json:"records"`
	RightRecords int    `json:"right_records,omitempty"`
	// Unlabelled counts records missing from the truth file, each treated
	// as a person seen once.
	Unlabelled int    `json:"unlabelled"`
	Model      string `json:"model"`
	Pairwise
	// Promoted counts the pairs graded certain through a third record
	// (batch.Promote), PromotedFalse those of them that join two people;
	// both are included in the grades above (deduplication only).
	Promoted      int `json:"promoted"`
	PromotedFalse int `json:"promoted_false"`
	// Clusters is the B-cubed measure of the batch clustering.
	Clusters BCubed `json:"clusters"`
	// Rules is the pairs completeness of each blocking rule on its own
	// (deduplication only).
	Rules []RuleRecall `json:"rules,omitempty"`
	// Keys is what blocking the records costs (deduplication only).
	Keys *KeyProfile `json:"keys,omitempty"`
	// Timings in seconds: reading and preparing records, blocking and
	// scoring every candidate pair, clustering, and the whole run.
	ReadSec    float64 `json:"read_s"`
	ScoreSec   float64 `json:"score_s"`
	ClusterSec float64 `json:"cluster_s"`
	// PeakMemoryBytes is the process's peak resident set (VmHWM), or the
	// Go runtime's total obtained memory where /proc is unavailable.
	PeakMemoryBytes int64 `json:"peak_memory_bytes"`
	// Errors are the false positives and false negatives at each grade,
	// with both records and the explanation of the score (see ErrorList).
	Errors []ErrorList `json:"errors"`
	// ModelWarnings flag implausible weights of the model (ModelWarnings).
	ModelWarnings []string `json:"model_warnings"`

	model *scoring.Model
}

// RunAccuracy scores every candidate pair of the input through its
// PairSource and evaluates pairs and clusters against the truth.
func RunAccuracy(ctx context.Context, in AccuracyInput) (*Accuracy, error) {
	if in.Truth == nil || in.Model == nil || in.Source == nil {
		return nil, errors.New("bench: RunAccuracy needs truth, model and source")
	}
	link := in.Right != nil
	sides := [][]string{ids(in.Left)}
	if link {
		sides = append(sides, ids(in.Right))
	}
	labelSets, unl := in.Truth.Label(sides...)
	labels := Labels{Left: labelSets[0]}
	if link {
		labels.Right = labelSets[1]
	}

	a := &Accuracy{
		Dataset:      in.Name,
		Task:         "dedupe",
		Records:      len(in.Left),
		RightRecords: len(in.Right),
		Unlabelled:   unl,
		Model:        in.Model.Description,
		ReadSec:      in.ReadTime.Seconds(),
		model:        in.Model,
	}
	pairs, err := a.scorePairs(ctx, in, link)
	if err != nil {
		return nil, err
	}
	if !link {
		if err := a.promote(ctx, in, labels, pairs); err != nil {
			return nil, err
		}
	}
	a.Pairwise = EvaluatePairs(labels, pairs, in.Model.Thresholds)
	if !link {
		a.Rules = RuleCompleteness(in.Left, labels.Left)
		a.Keys = keyProfile(in.Left)
	}
	if err := a.addErrors(in, labels, pairs); err != nil {
		return nil, err
	}

	if err := a.cluster(in, labels, pairs, link); err != nil {
		return nil, err
	}
	a.PeakMemoryBytes = PeakMemory()
	return a, nil
}

// scorePairs has the source emit every candidate pair of the input, with
// no threshold, and checks that it emitted as many as it counted.
func (a *Accuracy) scorePairs(ctx context.Context, in AccuracyInput, link bool) ([]Pair, error) {
	var pairs []Pair
	emit := func(p Pair) error {
		pairs = append(pairs, p)
		return nil
	}
	start := time.Now()
	var (
		candidates int64
		err        error
	)
	if link {
		a.Task = "link"
		candidates, err = in.Source.Link(ctx, in.Left, in.Right, emit)
	} else {
		candidates, err = in.Source.Dedupe(ctx, in.Left, emit)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: scoring pairs: %w", err)
	}
	a.ScoreSec = time.Since(start).Seconds()
	if candidates != int64(len(pairs)) {
		return nil, fmt.Errorf("bench: the pair source reported %d candidates but emitted %d: with no threshold every candidate must be emitted", candidates, len(pairs))
	}
	return pairs, nil
}

// cluster has the source cluster all records from the scored pairs and
// scores the clusters against the labels (B-cubed).
func (a *Accuracy) cluster(in AccuracyInput, labels Labels, pairs []Pair, link bool) error {
	start := time.Now()
	n := len(in.Left) + len(in.Right)
	clusterPairs := pairs
	if link {
		// One index space: right records follow the left ones.
		clusterPairs = make([]Pair, len(pairs))
		off := int32(len(in.Left))
		for i, p := range pairs {
			p.Right += off
			clusterPairs[i] = p
		}
	}
	clusters := in.Source.Cluster(n, clusterPairs)
	a.ClusterSec = time.Since(start).Seconds()
	if len(clusters) != n {
		return fmt.Errorf("bench: clustering returned %d labels for %d records", len(clusters), n)
	}
	a.Clusters = NewBCubed(clusters, append(append([]int32(nil), labels.Left...), labels.Right...))
	return nil
}

// promote has the source raise the grades of a dedupe's pairs as its job
// does, and counts the raised pairs and the false ones among them.
func (a *Accuracy) promote(ctx context.Context, in AccuracyInput, labels Labels, pairs []Pair) error {
	n, err := in.Source.Promote(ctx, in.Left, pairs)
	if err != nil {
		return fmt.Errorf("bench: promoting pairs: %w", err)
	}
	a.Promoted = n
	for _, p := range pairs {
		if p.Promoted && !labels.same(p) {
			a.PromotedFalse++
		}
	}
	return nil
}

// PeakMemory is the peak resident set size of the process (VmHWM of
// /proc/self/status), or, where that is unavailable, the memory the Go
// runtime has obtained from the system.
func PeakMemory() int64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 2 && f[0] == "VmHWM:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.Sys)
}

// Grade returns the row of a grade ("certain", "probable", "possible").
func (a *Accuracy) Grade(name string) (GradeResult, bool) {
	for _, g := range a.Grades {
		if g.Grade == name {
			return g, true
		}
	}
	return GradeResult{}, false
}

// fmtRatio prints a precision, or "–" when nothing was predicted.
func fmtPrecision(m Metrics) string {
	if m.Predicted() == 0 {
		return "–"
	}
	return fmt.Sprintf("%.4f", m.Precision)
}

// WriteText prints the evaluation as tables for people.
func (a *Accuracy) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "accuracy of %s on %s", a.Task, a.Dataset)
	if a.Task == "link" {
		fmt.Fprintf(&b, " (%d × %d records)\n", a.Records, a.RightRecords)
	} else {
		fmt.Fprintf(&b, " (%d records)\n", a.Records)
	}
	fmt.Fprintf(&b, "model: %s\n", a.Model)
	if a.Unlabelled > 0 {
		fmt.Fprintf(&b, "note: %d records are not in the truth file; each counts as a person seen once\n", a.Unlabelled)
	}
	bl := a.Blocking
	fmt.Fprintf(&b, "\ntrue pairs %d; candidate pairs %d of %d; pairs completeness %.4f; reduction ratio %.6f\n",
		bl.TruePairs, bl.CandidatePairs, bl.AllPairs, bl.PairsCompleteness, bl.ReductionRatio)

	if len(a.Rules) > 0 {
		fmt.Fprintf(&b, "pairs completeness per rule (on its own; only = true pairs no other rule proposes):")
		for _, r := range a.Rules {
			fmt.Fprintf(&b, " %s %.4f (only %d);", r.Rule, r.Completeness, r.Only)
		}
		fmt.Fprintln(&b)
	}
	if k := a.Keys; k != nil {
		fmt.Fprintf(&b, "blocking keys: %.2f per record; largest block %d records; %d sparse records (fallback keys)\n",
			k.KeysPerRecord, k.LargestBlock, k.SparseRecords)
	}
	tw := tabwriter.NewWriter(&b, 2, 8, 2, ' ', tabwriter.AlignRight)
	if a.Promoted > 0 {
		fmt.Fprintf(&b, "certain through a third record (both pairs with it certain): %d pairs promoted, %d of them false\n", a.Promoted, a.PromotedFalse)
	}
	fmt.Fprintf(tw, "\ndecide at\tthreshold\tprecision\trecall\tF1\tTP\tFP\tFN\ttrue at grade\tfalse at grade\t\n")
	for _, g := range a.Grades {
		m := g.AtOrAbove
		label := g.Grade + "+"
		th := fmt.Sprintf("p≥%g", g.Threshold)
		if g.Grade == "none" {
			label, th = "any candidate", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.4f\t%.4f\t%d\t%d\t%d\t%d\t%d\t\n",
			label, th, fmtPrecision(m), m.Recall, m.F1, m.TruePositives, m.FalsePositives, m.FalseNegatives, g.TruePairs, g.FalsePairs)
	}
	bs := a.Best
	fmt.Fprintf(tw, "best sweep\tw≥%.2f\t%s\t%.4f\t%.4f\t%d\t%d\t%d\t\t\t\n",
		bs.Weight, fmtPrecision(bs.Metrics), bs.Recall, bs.F1, bs.TruePositives, bs.FalsePositives, bs.FalseNegatives)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "(the sweep ignores grade caps; best at match weight %.2f, posterior %s)\n", bs.Weight, fmtProb(bs.Probability))
	c := a.Clusters
	fmt.Fprintf(&b, "\nclusters (B-cubed): precision %.4f recall %.4f F1 %.4f; %d clusters for %d people\n",
		c.Precision, c.Recall, c.F1, c.Clusters, c.Entities)
	fmt.Fprintf(&b, "time: read %.2fs, block+score %.2fs, cluster %.2fs; peak memory %.1f MiB\n",
		a.ReadSec, a.ScoreSec, a.ClusterSec, float64(a.PeakMemoryBytes)/(1<<20))
	_, err := w.Write(b.Bytes())
	return err
}

// fmtProb prints a posterior probability with the digits that matter near
// 1 (0.99999 rather than 1.0000).
func fmtProb(p float64) string {
	if p > 0.999 && p < 1 {
		d := int(math.Ceil(-math.Log10(1 - p)))
		return strconv.FormatFloat(p, 'f', min(d+1, 12), 64)
	}
	return strconv.FormatFloat(p, 'f', 4, 64)
}
