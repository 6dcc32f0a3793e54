package main

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/internal/testsets"

	"github.com/patientmatch/patientmatch/blocking"
	"github.com/patientmatch/patientmatch/index"
	"github.com/patientmatch/patientmatch/scoring"
)

// people is a small CSV with known duplicates (a*: one person, b*: one
// person who moved), twins (t*), three people without duplicates, and
// three bad rows (lines 11-13): too few fields, no id, and a duplicate id.
const peopleCSV = `id,family,given,birth_date,sex,address_line,city,postal_code,phone,ssn
a1,Smith,Alice,1980-03-14,female,12 Oak Street,Springfield,62701,217-555-0142,
a2,Smith,Alice,1980-03-14,female,12 Oak St,Springfield,62701,(217) 555-0142,
a3,Smyth,Alice,1980-03-14,female,12 Oak Street,Springfield,62701,,
b1,Okafor,Chinedu,1975-11-02,male,400 Elm Avenue,Portland,97201,503-555-0199,123-45-6789
b2,Okafor,Chinedu,1975-11-02,male,87 Pine Road,Salem,97301,,123-45-6789
t1,Miller,John,2001-06-20,male,9 Birch Lane,Madison,53703,608-555-0111,
t2,Miller,James,2001-06-20,male,9 Birch Lane,Madison,53703,608-555-0111,
s1,Nguyen,Linh,1990-07-07,female,5 Cedar Court,Seattle,98101,206-555-0177,
k1,Kowalski,Piotr,1965-02-28,male,31 Walnut Way,Chicago,60601,312-555-0100,
x1,Brown,Emma,1985-05-05,female
,Brown,Emma,1985-05-05,female,1 Main St,Boston,02108,,
a1,Smith,Alice,1980-03-14,female,12 Oak Street,Springfield,62701,,
q1,Quinn,Harold,1944-12-01,male,2 Elm Road,Dover,19901,302-555-0123,
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDedupeCommand(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "people.csv", peopleCSV)
	pairs, clusters := filepath.Join(dir, "pairs.csv"), filepath.Join(dir, "clusters.csv")
	env, _, errb := testEnv()
	if err := runDedupe(context.Background(), env, []string{"--pairs", pairs, "--clusters", clusters, in}); err != nil {
		t.Fatalf("dedupe: %v\n%s", err, errb)
	}
	stderr := errb.String()

	// Every bad line reported with file and line, and skipped.
	for _, line := range []string{":11: skipped", ":12: skipped", ":13: skipped: batch: bad record: duplicate id \"a1\""} {
		if !strings.Contains(stderr, in+line) {
			t.Errorf("stderr does not report %q:\n%s", in+line, stderr)
		}
	}
	if !strings.Contains(stderr, "dedupe: 10 records (3 bad skipped)") || !strings.Contains(stderr, "peak memory") {
		t.Errorf("summary missing or wrong:\n%s", stderr)
	}

	rows := testsets.CSV(t, pairs)
	if !slices.Equal(rows[0], []string{"left_id", "right_id", "probability", "grade"}) {
		t.Fatalf("pairs header = %v", rows[0])
	}
	got := map[string]string{}
	for _, r := range rows[1:] {
		p, err := strconv.ParseFloat(r[2], 64)
		if err != nil || p < 0.5 || p > 1 {
			t.Errorf("row %v: probability not in [0.5,1]", r)
		}
		ids := []string{r[0], r[1]}
		slices.Sort(ids)
		got[ids[0]+"-"+ids[1]] = r[3]
	}
	want := map[string]string{"a1-a2": "certain", "a1-a3": "certain", "a2-a3": "certain", "b1-b2": "probable", "t1-t2": "possible"}
	if len(got) != len(want) {
		t.Errorf("pairs = %v, want %v", got, want)
	}
	for k, g := range want {
		if got[k] != g {
			t.Errorf("pair %s: grade %q, want %q", k, got[k], g)
		}
	}

	// Every good record exactly once; duplicates together, twins apart.
	crow := testsets.CSV(t, clusters)
	if !slices.Equal(crow[0], []string{"id", "cluster_id"}) {
		t.Fatalf("clusters header = %v", crow[0])
	}
	cluster := map[string]string{}
	for _, r := range crow[1:] {
		if _, dup := cluster[r[0]]; dup {
			t.Errorf("%s listed twice", r[0])
		}
		cluster[r[0]] = r[1]
	}
	for _, id := range []string{"a1", "a2", "a3", "b1", "b2", "t1", "t2", "s1", "k1", "q1"} {
		if _, ok := cluster[id]; !ok {
			t.Errorf("%s missing from the clusters", id)
		}
	}
	if len(cluster) != 10 {
		t.Errorf("%d records in the clusters, want 10", len(cluster))
	}
	if cluster["a1"] != cluster["a2"] || cluster["a1"] != cluster["a3"] || cluster["b1"] != cluster["b2"] {
		t.Errorf("duplicates split: %v", cluster)
	}
	if cluster["t1"] == cluster["t2"] || cluster["a1"] == cluster["b1"] {
		t.Errorf("different people merged: %v", cluster)
	}
	if _, err := os.Stat(pairs + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary output left behind: %v", err)
	}
}

func TestDedupeThresholdAndStdin(t *testing.T) {
	nd := `{"resourceType":"Patient","id":"n1","name":[{"family":"Lee","given":["Ann"]}],"birthDate":"1970-01-02","telecom":[{"system":"phone","value":"555-123-4567"}]}
{"resourceType":"Patient","id":"n2","name":[{"family":"Lee","given":["Ann"]}],"birthDate":"1970-01-02","telecom":[{"system":"phone","value":"555-123-4567"}]}
{"resourceType":"Observation","id":"o1"}
{"resourceType":"Patient","id":"n3","name":[{"family":"Lee","given":["Anne"]}],"birthDate":"1970-02-01"}
`
	for _, tt := range []struct {
		threshold string
		minPairs  int
	}{{"certain", 0}, {"possible", 1}, {"0", 3}} {
		t.Run(tt.threshold, func(t *testing.T) {
			env, out, errb := testEnv()
			env.stdin = strings.NewReader(nd)
			err := runDedupe(context.Background(), env, []string{"--format", "ndjson", "--threshold", tt.threshold, "--pairs", "-", "-"})
			if err != nil {
				t.Fatalf("%v\n%s", err, errb)
			}
			if !strings.Contains(errb.String(), "-:3: skipped") {
				t.Errorf("Observation not reported:\n%s", errb)
			}
			rows, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if n := len(rows) - 1; n < tt.minPairs || (tt.threshold == "0" && n != 3) {
				t.Errorf("%d pairs at threshold %s, want at least %d (all 3 at 0)", n, tt.threshold, tt.minPairs)
			}
		})
	}
}

func TestDedupeUsage(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "p.csv", peopleCSV)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no input", []string{"--pairs", "x.csv"}, 2},
		{"no pairs", []string{in}, 2},
		{"bad threshold", []string{"--threshold", "high", "--pairs", filepath.Join(dir, "o.csv"), in}, 2},
		{"threshold above 1", []string{"--threshold", "1.5", "--pairs", filepath.Join(dir, "o.csv"), in}, 2},
		{"stdin without format", []string{"--pairs", filepath.Join(dir, "o.csv"), "-"}, 2},
		{"bad columns", []string{"--columns", "family", "--pairs", filepath.Join(dir, "o.csv"), in}, 2},
		{"negative max-candidates", []string{"--max-candidates", "-1", "--pairs", filepath.Join(dir, "o.csv"), in}, 2},
		{"missing input", []string{"--pairs", filepath.Join(dir, "o.csv"), filepath.Join(dir, "none.csv")}, 1},
		{"missing model", []string{"--model", filepath.Join(dir, "none.json"), "--pairs", filepath.Join(dir, "o.csv"), in}, 1},
		{"help", []string{"--help"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, errb := testEnv()
			if code := exitCode(runDedupe(context.Background(), env, tt.args)); code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.code, errb)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "o.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed run left an output file: %v", err)
	}
}

// exitCode maps a command's error to its exit status as run does.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// FuzzParseThreshold: any --threshold either fails or gives a probability,
// and a grade name gives the model's threshold for it.
func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"possible", "Certain", " probable ", "0", "1", "0.5", "1e-3", "NaN", "-0", "Inf", "2", ""} {
		f.Add(s)
	}
	th := scoring.DefaultThresholds()
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseThreshold(s, th)
		if err != nil {
			return
		}
		if !(p >= 0 && p <= 1) {
			t.Fatalf("parseThreshold(%q) = %v", s, p)
		}
		if g, ok := scoring.ParseGrade(strings.ToLower(strings.TrimSpace(s))); ok && g != scoring.GradeNone {
			want := map[scoring.Grade]float64{scoring.GradeCertain: th.Certain, scoring.GradeProbable: th.Probable, scoring.GradePossible: th.Possible}[g]
			if p != want {
				t.Fatalf("parseThreshold(%q) = %v, want %v", s, p, want)
			}
		}
	})
}

// FuzzParseColumnRenames: never panics; what it accepts round-trips.
func FuzzParseColumnRenames(f *testing.F) {
	for _, s := range []string{"", "family=surname", "family=surname, given = first", "family", "=x", "a=b,,c=d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseColumns(s)
		if err != nil {
			return
		}
		for k, v := range m {
			if k == "" || v == "" || strings.ContainsAny(k, ",=") || strings.Contains(v, ",") {
				t.Fatalf("parseColumns(%q) gave %q=%q", s, k, v)
			}
		}
		var parts []string
		for k, v := range m {
			parts = append(parts, k+"="+v)
		}
		m2, err := parseColumns(strings.Join(parts, ","))
		if err != nil || len(m2) != len(m) {
			t.Fatalf("round trip of %q: %v, %v", s, m2, err)
		}
	})
}

// TestDedupeMaxCandidates: --max-candidates caps the pairs compared per
// record and the summary says what it left out; 0 turns the cap off. The
// default is the server's candidate limit.
func TestDedupeMaxCandidates(t *testing.T) {
	if blocking.DefaultMaxCandidates != index.DefaultCandidateLimit {
		t.Errorf("batch jobs keep %d candidates per record, the server %d", blocking.DefaultMaxCandidates, index.DefaultCandidateLimit)
	}
	dir := t.TempDir()
	in := writeFile(t, dir, "people.csv", peopleCSV)
	compared := func(args ...string) (int, string) {
		t.Helper()
		env, _, errb := testEnv()
		args = append(args, "--threshold", "0", "--pairs", filepath.Join(dir, "pairs.csv"), in)
		if err := runDedupe(context.Background(), env, args); err != nil {
			t.Fatalf("dedupe %v: %v\n%s", args, err, errb)
		}
		return len(testsets.CSV(t, filepath.Join(dir, "pairs.csv"))) - 1, errb.String()
	}
	all, allErr := compared("--max-candidates", "0")
	def, defErr := compared()
	one, oneErr := compared("--max-candidates", "1")
	if def != all || strings.Contains(allErr, "--max-candidates") || strings.Contains(defErr, "--max-candidates") {
		t.Errorf("default cap changed a 10-record file: %d pairs, %d without the cap\n%s", def, all, defErr)
	}
	if one >= all || one > 10 {
		t.Errorf("--max-candidates 1: %d pairs of %d, for 10 records", one, all)
	}
	if !strings.Contains(oneErr, "records over --max-candidates") {
		t.Errorf("summary does not report the cap:\n%s", oneErr)
	}
}
