package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBenchAccuracyReportAgreesWithJSON: one run writes the HTML report and
// prints --json; the false positives and negatives listed in the page are
// those of the JSON, list by list, in order, with the same weights.
func TestBenchAccuracyReportAgreesWithJSON(t *testing.T) {
	data, truth := benchData(t)
	report := filepath.Join(t.TempDir(), "r.html")
	env, out, errb := testEnv()
	if err := runBench(context.Background(), env, []string{"accuracy", "--json", "--truth", truth, "--report", report, data}); err != nil {
		t.Fatalf("bench accuracy: %v\n%s", err, errb)
	}
	var got struct {
		Errors []struct {
			Kind  string `json:"kind"`
			Grade string `json:"grade"`
			Total int64  `json:"total"`
			Pairs []struct {
				Left        struct{ ID string } `json:"left"`
				Right       struct{ ID string } `json:"right"`
				MatchWeight float64             `json:"match_weight"`
				Comparisons []struct {
					Comparison, Level string
				} `json:"comparisons"`
			} `json:"pairs"`
		} `json:"errors"`
		ModelWarnings []string `json:"model_warnings"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	body := regexp.MustCompile(`(?s)<tbody data-list="([^"]+)" data-total="(\d+)">(.*?)</tbody>`)
	row := regexp.MustCompile(`data-pair="([^"|]*)\|([^"]*)" data-weight="([^"]+)"`)
	inPage := map[string][]string{}
	for _, m := range body.FindAllStringSubmatch(page, -1) {
		for _, r := range row.FindAllStringSubmatch(m[3], -1) {
			inPage[m[1]] = append(inPage[m[1]], r[1]+" "+r[2]+" "+r[3])
		}
	}
	if len(got.Errors) != 7 || got.ModelWarnings == nil {
		t.Fatalf("--json has %d error lists, model_warnings %v", len(got.Errors), got.ModelWarnings)
	}
	listed := 0
	for _, l := range got.Errors {
		var want []string
		for _, p := range l.Pairs {
			want = append(want, fmt.Sprintf("%s %s %.4f", p.Left.ID, p.Right.ID, p.MatchWeight))
			if len(p.Comparisons) != 6 {
				t.Errorf("pair %s %s explained by %d comparisons", p.Left.ID, p.Right.ID, len(p.Comparisons))
			}
		}
		listed += len(want)
		key := l.Kind + "/" + l.Grade
		if strings.Join(inPage[key], "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: the report lists\n%s\n--json lists\n%s", key, strings.Join(inPage[key], "\n"), strings.Join(want, "\n"))
		}
	}
	if listed == 0 {
		t.Error("no errors listed: the generated set should have some")
	}
}
