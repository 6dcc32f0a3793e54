package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/internal/testsets"

	"github.com/patientmatch/patientmatch/batch"
	"github.com/patientmatch/patientmatch/scoring"
)

// truePairsOf counts the true pairs of a truth file directly, for a cross
// check: Σ C(n_e, 2).
func truePairsOf(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		_, ent, _ := strings.Cut(line, ",")
		count[strings.TrimSpace(ent)]++ // the shared files end lines with CRLF
	}
	var n int64
	for _, c := range count {
		n += c * (c - 1) / 2
	}
	return n
}

func checkInvariants(t *testing.T, a *Accuracy) {
	t.Helper()
	if len(a.Grades) != 4 {
		t.Fatalf("%d grade rows", len(a.Grades))
	}
	var prev Metrics
	var atGrade int64
	for i, g := range a.Grades {
		m := g.AtOrAbove
		if i > 0 && (m.TruePositives < prev.TruePositives || m.FalsePositives < prev.FalsePositives) {
			t.Errorf("grade %s declares fewer pairs than the grade above it", g.Grade)
		}
		if m.TruePositives+m.FalseNegatives != a.Blocking.TruePairs {
			t.Errorf("grade %s: TP+FN = %d, want the true pairs %d", g.Grade, m.TruePositives+m.FalseNegatives, a.Blocking.TruePairs)
		}
		if m.F1 > a.Best.F1+1e-12 && g.Grade != "none" {
			// The sweep ignores caps, so a capped grade can in principle
			// beat it; say so rather than fail.
			t.Logf("grade %s F1 %.4f beats the sweep's best %.4f (grade caps at work)", g.Grade, m.F1, a.Best.F1)
		}
		atGrade += g.TruePairs + g.FalsePairs
		prev = m
	}
	if atGrade != a.Blocking.CandidatePairs {
		t.Errorf("pairs by grade sum to %d, want the %d candidates", atGrade, a.Blocking.CandidatePairs)
	}
	if last := a.Grades[3].AtOrAbove; last.TruePositives != a.Blocking.TrueCandidates {
		t.Errorf("all candidates hold %d true pairs, blocking says %d", last.TruePositives, a.Blocking.TrueCandidates)
	}
	for _, v := range []float64{a.Blocking.PairsCompleteness, a.Blocking.ReductionRatio, a.Best.F1, a.Clusters.Precision, a.Clusters.Recall, a.Clusters.F1} {
		if !(v >= 0 && v <= 1) {
			t.Errorf("measure %v outside [0,1]", v)
		}
	}
	if a.PeakMemoryBytes <= 0 {
		t.Error("no peak memory")
	}
}

func TestRunAccuracySynthDedupe(t *testing.T) {
	data, truth := synthDataset(t, t.TempDir(), 600, 7)
	a := accuracyOn(t, data, truth)
	if a.Records != 600 || a.Task != "dedupe" || a.Unlabelled != 0 {
		t.Fatalf("records %d task %s unlabelled %d", a.Records, a.Task, a.Unlabelled)
	}
	if want := truePairsOf(t, truth); a.Blocking.TruePairs != want || want == 0 {
		t.Errorf("true pairs %d, truth file holds %d", a.Blocking.TruePairs, want)
	}
	if a.Blocking.AllPairs != 600*599/2 {
		t.Errorf("all pairs %d", a.Blocking.AllPairs)
	}
	checkInvariants(t, a)
	var text bytes.Buffer
	if err := a.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pairs completeness", "certain+", "probable+", "possible+", "best sweep", "B-cubed", "peak memory"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text summary lacks %q", want)
		}
	}
	t.Logf("\n%s", text.String())

	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back Accuracy
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back.Best.F1 != a.Best.F1 || len(back.Grades) != 4 || back.Blocking != a.Blocking {
		t.Errorf("JSON round trip lost data")
	}
}

func TestRunAccuracySynthLink(t *testing.T) {
	ctx := context.Background()
	data, truthPath := synthDataset(t, t.TempDir(), 500, 11)
	model := scoring.DefaultModel()
	sc, sides, err := ReadDataset(ctx, []string{data}, model, batch.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var left, right []*scoring.Prepared
	for i, p := range sides[0] {
		if i%2 == 0 {
			left = append(left, p)
		} else {
			right = append(right, p)
		}
	}
	truth := readTruthFile(t, truthPath)
	a, err := RunAccuracy(ctx, AccuracyInput{
		Name: "halves", Left: left, Right: right, Truth: truth, Model: model,
		Source: &BatchSource{Scorer: sc, Thresholds: model.Thresholds},
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.Task != "link" || a.Blocking.AllPairs != int64(len(left)*len(right)) {
		t.Fatalf("task %s all pairs %d", a.Task, a.Blocking.AllPairs)
	}
	// Cross-side true pairs: Σ n_left·n_right per entity.
	labels, _ := truth.Label(ids(left), ids(right))
	var want int64
	for _, l := range labels[0] {
		for _, r := range labels[1] {
			if l == r {
				want++
			}
		}
	}
	if a.Blocking.TruePairs != want || want == 0 {
		t.Errorf("true pairs %d, want %d", a.Blocking.TruePairs, want)
	}
	checkInvariants(t, a)
}

// lyingSource drops pairs: the harness must notice that not every
// candidate was emitted.
type lyingSource struct{ *BatchSource }

func (l lyingSource) Dedupe(ctx context.Context, recs []*scoring.Prepared, emit func(Pair) error) (int64, error) {
	return l.BatchSource.Dedupe(ctx, recs, func(p Pair) error {
		if p.Probability < 0.5 {
			return nil
		}
		return emit(p)
	})
}

func TestRunAccuracyNoticesThresholdedSource(t *testing.T) {
	ctx := context.Background()
	data, truthPath := synthDataset(t, t.TempDir(), 200, 3)
	model := scoring.DefaultModel()
	sc, sides, err := ReadDataset(ctx, []string{data}, model, batch.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = RunAccuracy(ctx, AccuracyInput{
		Name: "x", Left: sides[0], Truth: readTruthFile(t, truthPath), Model: model,
		Source: lyingSource{&BatchSource{Scorer: sc, Thresholds: model.Thresholds}},
	})
	if err == nil || !strings.Contains(err.Error(), "every candidate") {
		t.Fatalf("err = %v, want a complaint about missing candidates", err)
	}
}

func TestReadDatasetReportsBadLinesAndLinks(t *testing.T) {
	dir := t.TempDir()
	left, right := filepath.Join(dir, "l.csv"), filepath.Join(dir, "r.ndjson")
	csv := "id,family,given,birth_date\n" +
		"a,smith,john,1980-01-02\n" +
		",nobody,here,1990-01-01\n" +
		"b,smith,jon,1980-01-02\n"
	nd := `{"resourceType":"Patient","id":"c","name":[{"family":"Smith","given":["John"]}],"birthDate":"1980-01-02"}` + "\n" +
		`{"resourceType":"Observation"}` + "\n"
	if err := os.WriteFile(left, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(right, []byte(nd), 0o600); err != nil {
		t.Fatal(err)
	}
	var bad []string
	_, sides, err := ReadDataset(context.Background(), []string{left, right}, scoring.DefaultModel(), batch.ReadOptions{
		Report: func(src string, line int, err error) {
			bad = append(bad, fmt.Sprintf("%s:%d", filepath.Base(src), line))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sides) != 2 || !slices.Equal(ids(sides[0]), []string{"a", "b"}) || !slices.Equal(ids(sides[1]), []string{"c"}) {
		t.Fatalf("sides %v", sides)
	}
	if !slices.Equal(bad, []string{"l.csv:3", "r.ndjson:2"}) {
		t.Errorf("bad records reported: %v", bad)
	}
	if r := sides[1][0].Rec; r.Family != "smith" || r.BirthDate.Year != 1980 {
		t.Errorf("record not normalized: %+v", r)
	}
}

// TestAccuracyDatasets runs the harness on the labelled datasets and logs
// the tables (go test -run Datasets -v ./bench/). It asserts only
// consistency, not tuned numbers.
func TestAccuracyDatasets(t *testing.T) {
	ds := testsets.Dir(t)
	names := []string{"febrl3"}
	if !testing.Short() && os.Getenv("BENCH_ALL_DATASETS") != "" {
		names = []string{"febrl1", "febrl2", "febrl3", "splink_fake_1000", "opencr_uganda"}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			data, truth := filepath.Join(ds, name+".csv"), filepath.Join(ds, name+".truth.csv")
			if _, err := os.Stat(data); err != nil {
				t.Skipf("%s absent: %v", data, err)
			}
			a := accuracyOn(t, data, truth)
			checkInvariants(t, a)
			if want := truePairsOf(t, truth); a.Blocking.TruePairs != want {
				t.Errorf("true pairs %d, truth file holds %d", a.Blocking.TruePairs, want)
			}
			var text bytes.Buffer
			a.WriteText(&text)
			t.Logf("\n%s", text.String())
		})
	}
}
