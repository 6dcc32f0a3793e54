package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/scoring"
)

// TestErrorLists checks the lists against the grade table and the truth:
// totals agree with the counts, every false positive joins two people and
// every false negative is one person, and each listed explanation adds up
// to its match weight.
func TestErrorLists(t *testing.T) {
	data, truthPath := synthDataset(t, t.TempDir(), 500, 5)
	a := accuracyOn(t, data, truthPath)
	truth := readTruthFile(t, truthPath)
	if len(a.Errors) != 7 {
		t.Fatalf("%d lists, want 7", len(a.Errors))
	}
	prior := scoring.DefaultModel().Prior
	priorW := log2odds(prior)
	listed := 0
	for _, l := range a.Errors {
		var want int64
		switch {
		case l.Grade == GradeNotCompared:
			want = a.Blocking.TruePairs - a.Blocking.TrueCandidates
		case l.Kind == KindFalsePositive:
			g, _ := a.Grade(l.Grade)
			want = g.FalsePairs
		default:
			g, _ := a.Grade(l.Grade)
			want = g.TruePairs
		}
		if l.Total != want {
			t.Errorf("%s %s: total %d, the grade table says %d", l.Kind, l.Grade, l.Total, want)
		}
		if len(l.Pairs) != int(min(l.Total, MaxErrorPairs)) {
			t.Errorf("%s %s: %d pairs listed of %d", l.Kind, l.Grade, len(l.Pairs), l.Total)
		}
		for i, p := range l.Pairs {
			listed++
			el, _ := truth.Entity(p.Left.ID)
			er, _ := truth.Entity(p.Right.ID)
			if (el == er) != (l.Kind == KindFalseNegative) {
				t.Errorf("%s %s: %s (%s) and %s (%s)", l.Kind, l.Grade, p.Left.ID, el, p.Right.ID, er)
			}
			if l.Grade != GradeNotCompared && p.Grade != l.Grade {
				t.Errorf("%s %s lists a pair graded %s", l.Kind, l.Grade, p.Grade)
			}
			sum := priorW
			for _, c := range p.Comparisons {
				sum += c.Weight
			}
			if d := sum - p.MatchWeight; d > 0.001 || d < -0.001 {
				t.Errorf("pair %s %s: weights add to %.4f, match weight %.4f", p.Left.ID, p.Right.ID, sum, p.MatchWeight)
			}
			if i > 0 && l.Grade != GradeNotCompared {
				prev := l.Pairs[i-1].MatchWeight
				if (l.Kind == KindFalsePositive && p.MatchWeight > prev) || (l.Kind == KindFalseNegative && p.MatchWeight < prev) {
					t.Errorf("%s %s not in order at %d", l.Kind, l.Grade, i)
				}
			}
		}
	}
	if listed == 0 {
		t.Fatal("no pair listed: the dataset should have errors to show")
	}
}

func log2odds(p float64) float64 { return math.Log2(p / (1 - p)) }

// TestReportErrorListsAgreeWithJSON: the HTML lists the same pairs, in the
// same order and with the same weights, as the JSON.
func TestReportErrorListsAgreeWithJSON(t *testing.T) {
	data, truthPath := synthDataset(t, t.TempDir(), 500, 5)
	a := accuracyOn(t, data, truthPath)
	var page bytes.Buffer
	if err := a.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	checkListsAgree(t, page.String(), js)
}

// checkListsAgree compares the error lists of a report page with those of
// the accuracy JSON.
func checkListsAgree(t *testing.T, page string, js []byte) {
	t.Helper()
	var dec struct {
		Errors []ErrorList `json:"errors"`
	}
	if err := json.Unmarshal(js, &dec); err != nil {
		t.Fatal(err)
	}
	body := regexp.MustCompile(`(?s)<tbody data-list="([^"]+)" data-total="(\d+)">(.*?)</tbody>`)
	row := regexp.MustCompile(`data-pair="([^"|]*)\|([^"]*)" data-weight="([^"]+)"`)
	html := map[string][]string{}
	totals := map[string]string{}
	for _, m := range body.FindAllStringSubmatch(page, -1) {
		totals[m[1]] = m[2]
		for _, r := range row.FindAllStringSubmatch(m[3], -1) {
			html[m[1]] = append(html[m[1]], r[1]+" "+r[2]+" "+r[3])
		}
	}
	if len(dec.Errors) == 0 {
		t.Fatal("no error lists in the JSON")
	}
	for _, l := range dec.Errors {
		key := l.Kind + "/" + l.Grade
		var want []string
		for _, p := range l.Pairs {
			want = append(want, p.Left.ID+" "+p.Right.ID+" "+fmt.Sprintf("%.4f", p.MatchWeight))
		}
		if strings.Join(html[key], "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: HTML lists\n%s\nJSON lists\n%s", key, strings.Join(html[key], "\n"), strings.Join(want, "\n"))
		}
		if len(want) > 0 && totals[key] != strconv.FormatInt(l.Total, 10) {
			t.Errorf("%s: HTML total %s, JSON %d", key, totals[key], l.Total)
		}
		if !strings.Contains(page, `id="`+key+`"`) {
			t.Errorf("report has no heading for %s", key)
		}
	}
}

func TestModelWarnings(t *testing.T) {
	if w := ModelWarnings(scoring.DefaultModel()); len(w) != 0 {
		t.Errorf("default model flagged: %q", w)
	}
	m := scoring.DefaultModel()
	for i, l := range m.Comparisons[scoring.CompGivenName].Levels {
		if l.Label == "nickname" {
			m.Comparisons[scoring.CompGivenName].Levels[i].M = l.U / 4 // weight −2
		}
	}
	for i, l := range m.Comparisons[scoring.CompSex].Levels {
		if l.Label == "disagree" {
			m.Comparisons[scoring.CompSex].Levels[i].M = 0.6
		}
	}
	// Within a bit of exact is EM noise, not flagged.
	g := m.Comparisons[scoring.CompGivenName].Levels
	g[4].U = g[4].M / math.Exp2(g[0].Weight()+0.3)
	id := m.Comparisons[scoring.CompIdentifier].Levels
	id[1].M, id[1].U = 0.5, 1e-8 // one_off above exact
	w := strings.Join(ModelWarnings(m), "\n")
	for _, want := range []string{
		"given_name nickname has weight -2.00", "agreeing makes a match less likely",
		"sex disagree has weight +0.26", "disagreeing makes a match more likely",
		"identifier one_off has weight", "above identifier exact",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	// The report shows them, and marks the level in the weight chart.
	rows := levelRows(m, ModelWarnings(m))
	flagged := 0
	for _, r := range rows {
		if r.flagged {
			flagged++
		}
	}
	if strings.Contains(w, "jw>=0.92") {
		t.Errorf("a level 0.3 bits above exact is flagged:\n%s", w)
	}
	if flagged != 3 || !strings.Contains(weightsSVG(rows), "nickname !") {
		t.Errorf("%d levels flagged in the chart, want 3", flagged)
	}
}
