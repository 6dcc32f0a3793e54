package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/internal/testsets"
	"github.com/patientmatch/patientmatch/scoring"
)

// The newcomer traps of files from the field (issue 17): each now gives a
// clear message instead of a silent wrong answer.

func TestTrapSemicolonCSV(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "people.csv", strings.ReplaceAll(peopleCSV, ",", ";"))
	env, out, errb := testEnv()
	if err := runDedupe(context.Background(), env, []string{"--pairs", "-", in}); err != nil {
		t.Fatalf("dedupe of a ';' file: %v\n%s", err, errb)
	}
	if !strings.Contains(errb.String(), in+": warning: fields are separated by ';'") {
		t.Errorf("no message about the separator:\n%s", errb)
	}
	if !strings.Contains(out.String(), "a1,a2,") {
		t.Errorf("the ';' file was not matched like the ',' one:\n%s", out)
	}
	// Forcing the wrong separator fails and says what to do.
	env, _, _ = testEnv()
	err := runDedupe(context.Background(), env, []string{"--delimiter", ",", "--pairs", "-", in})
	if code := exitCode(err); code != 1 || !strings.Contains(err.Error(), "no id column") || !strings.Contains(err.Error(), "--delimiter") {
		t.Errorf("exit %d, error %v", code, err)
	}
	env, _, _ = testEnv()
	if code := exitCode(runDedupe(context.Background(), env, []string{"--delimiter", "ab", "--pairs", "-", in})); code != 2 {
		t.Errorf("--delimiter ab: exit %d, want 2", code)
	}
}

func TestTrapUnknownColumns(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "p.csv", "id,last_name,first_name,dob\n1,Smith,John,1980-03-16\n2,Smith,John,1980-03-16\n")
	env, _, errb := testEnv()
	if err := runDedupe(context.Background(), env, []string{"--pairs", "-", in}); err != nil {
		t.Fatalf("%v\n%s", err, errb)
	}
	for _, want := range []string{"ignoring 3 unknown column(s): last_name, first_name, dob", "--columns birth_date=dob,family=last_name,given=first_name"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb)
		}
	}
	// With the suggested renames the two records are one person.
	env, out, errb := testEnv()
	if err := runDedupe(context.Background(), env, []string{"--columns", "birth_date=dob,family=last_name,given=first_name", "--pairs", "-", in}); err != nil {
		t.Fatalf("%v\n%s", err, errb)
	}
	if !strings.Contains(out.String(), "1,2,") || strings.Contains(errb.String(), "unknown column") {
		t.Errorf("renamed: pairs %q, stderr %q", out, errb)
	}
}

func TestTrapUnreadableDates(t *testing.T) {
	dir := t.TempDir()
	csvIn := "id,family,given,birth_date,sex\n" +
		"1,Singh,Amber,03/16/1980,f\n" +
		"2,Singh,Amber,16.03.1980,female\n" +
		"3,Singh,Amber,1980-03-16,k\n"
	in := writeFile(t, dir, "p.csv", csvIn)
	data := filepath.Join(dir, "data")

	// A lenient load reads what it can and counts the rest per column.
	env, _, errb := testEnv()
	if err := runLoad(context.Background(), env, []string{"--data", data, "--progress=false", in}); err != nil {
		t.Fatalf("load: %v\n%s", err, errb)
	}
	for _, want := range []string{
		`birth_date: 1 value could not be read, e.g. "03/16/1980" (day and month order unknown: give --date-order mdy or dmy), line 2`,
		`sex: 1 value could not be read, e.g. "k"`, "line 4",
		"loaded 3 records",
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("load stderr lacks %q:\n%s", want, errb)
		}
	}
	// --strict fails on the first unreadable value, before writing.
	strictData := filepath.Join(dir, "strict")
	env, _, _ = testEnv()
	err := runLoad(context.Background(), env, []string{"--data", strictData, "--strict", "--progress=false", in})
	if exitCode(err) != 1 || !strings.Contains(err.Error(), in+`:2: birth_date "03/16/1980" cannot be read`) {
		t.Errorf("strict load: %v", err)
	}
	if _, serr := os.Stat(strictData); serr == nil {
		t.Errorf("a failed strict load created %s", strictData)
	}
	env, _, _ = testEnv()
	err = runDedupe(context.Background(), env, []string{"--strict", "--pairs", "-", in})
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "03/16/1980") {
		t.Errorf("strict dedupe: %v", err)
	}
	// With --date-order mdy the three records agree on the date: every
	// pair is found.
	env, out, errb := testEnv()
	if err := runDedupe(context.Background(), env, []string{"--date-order", "mdy", "--output-format", "csv", "--threshold", "0", "--pairs", "-", in}); err != nil {
		t.Fatalf("%v\n%s", err, errb)
	}
	rows := csvRows(t, out.String())
	if len(rows) != 4 {
		t.Fatalf("%d pairs, want 3:\n%s", len(rows)-1, out)
	}
	col := slices.Index(rows[0], "level_birth_date")
	for _, r := range rows[1:] {
		if r[col] != "exact" {
			t.Errorf("pair %s-%s birth date level %q, want exact", r[0], r[1], r[col])
		}
	}
	env, _, _ = testEnv()
	if code := exitCode(runDedupe(context.Background(), env, []string{"--date-order", "ymd", "--pairs", "-", in})); code != 2 {
		t.Errorf("--date-order ymd: exit %d, want 2", code)
	}
}

func TestTrapMissingDataFolder(t *testing.T) {
	dir := t.TempDir()
	q := writeFile(t, dir, "q.json", `{"resourceType":"Patient","name":[{"family":"Singh"}]}`)
	missing := filepath.Join(dir, "nonexistent")
	for _, args := range [][]string{
		{"match", "--data", missing, q},
		{"export", "--data", missing},
		{"match", "--data", dir, q}, // exists, but no store
	} {
		env, _, errb := testEnv()
		if code := run(context.Background(), env, args); code != 1 {
			t.Errorf("%v: exit %d, want 1", args, code)
		}
		if !strings.Contains(errb.String(), "patientmatch load --data") {
			t.Errorf("%v: stderr %q", args, errb)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("a read-only command created %s", missing)
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); err == nil {
		t.Errorf("a read-only command created a store in %s", dir)
	}
}

func TestGzipInputCommands(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(peopleCSV))
	zw.Close()
	in := filepath.Join(dir, "people.csv.gz")
	if err := os.WriteFile(in, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	env, out, errb := testEnv()
	if err := runDedupe(context.Background(), env, []string{"--pairs", "-", in}); err != nil {
		t.Fatalf("%v\n%s", err, errb)
	}
	if !strings.Contains(errb.String(), "dedupe: 10 records (3 bad skipped)") || !strings.Contains(out.String(), "a1,a2,") {
		t.Errorf("gzip dedupe: %s\n%s", errb, out)
	}
}

// TestExportRoundTrip: load → export → load into another folder gives the
// same patients, and export writes one Patient per line.
func TestExportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "p.csv", peopleCSV)
	data := filepath.Join(dir, "data")
	env, _, errb := testEnv()
	if err := runLoad(context.Background(), env, []string{"--data", data, "--progress=false", in}); err != nil {
		t.Fatalf("load: %v\n%s", err, errb)
	}
	for _, name := range []string{"out.ndjson", "out.ndjson.gz"} {
		outPath := filepath.Join(dir, name)
		env, _, errb = testEnv()
		if err := runExport(context.Background(), env, []string{"--data", data, outPath}); err != nil {
			t.Fatalf("export: %v\n%s", err, errb)
		}
		if !strings.Contains(errb.String(), "export: 10 patients written to "+outPath) {
			t.Errorf("summary %q", errb)
		}
		again := filepath.Join(dir, "again-"+name)
		env, _, errb = testEnv()
		if err := runLoad(context.Background(), env, []string{"--data", again, "--progress=false", outPath}); err != nil {
			t.Fatalf("reload: %v\n%s", err, errb)
		}
		if !strings.Contains(errb.String(), "loaded 10 records (10 created, 0 updated, 0 unchanged), 0 bad skipped") {
			t.Errorf("reload: %s", errb)
		}
	}
	// Stdout: one Patient per line, in id order.
	env, out, errb := testEnv()
	if err := runExport(context.Background(), env, []string{"--data", data}); err != nil {
		t.Fatalf("export: %v\n%s", err, errb)
	}
	var ids []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var p struct{ ResourceType, ID string }
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil || p.ResourceType != "Patient" {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		ids = append(ids, p.ID)
	}
	if len(ids) != 10 || !slices.IsSorted(ids) {
		t.Errorf("exported ids %v", ids)
	}
	env, _, _ = testEnv()
	if code := exitCode(runExport(context.Background(), env, []string{"--data", data, "a", "b"})); code != 2 {
		t.Errorf("two outputs: exit %d", code)
	}
}

func csvRows(t *testing.T, s string) [][]string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return testsets.CSV(t, f)
}

// TestOutputFormats: the detailed pairs files carry the weight, the cap and
// each comparison's level and weight, which add up to the match weight;
// CSV and NDJSON say the same; clusters carry their size.
func TestOutputFormats(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "people.csv", peopleCSV)
	paths := map[string][2]string{}
	for _, f := range []string{"csv", "ndjson"} {
		pairs, clusters := filepath.Join(dir, "pairs."+f), filepath.Join(dir, "clusters."+f)
		env, _, errb := testEnv()
		// --fit=false: the weights below add up with the built-in prior.
		if err := runDedupe(context.Background(), env, []string{"--fit=false", "--output-format", f, "--pairs", pairs, "--clusters", clusters, in}); err != nil {
			t.Fatalf("%s: %v\n%s", f, err, errb)
		}
		if !strings.Contains(errb.String(), "of size 1") || !strings.Contains(errb.String(), "largest 3") {
			t.Errorf("summary lacks cluster sizes: %s", errb)
		}
		paths[f] = [2]string{pairs, clusters}
	}
	rows := testsets.CSV(t, paths["csv"][0])
	head := rows[0]
	want := []string{"left_id", "right_id", "match_weight", "probability", "grade", "cap"}
	for c := range scoring.NumComparisons {
		want = append(want, "level_"+scoring.ComparisonName(c), "weight_"+scoring.ComparisonName(c))
	}
	want = append(want, "linked_by")
	if !slices.Equal(head, want) {
		t.Fatalf("header %v\nwant   %v", head, want)
	}
	prior := scoring.DefaultModel().Prior
	priorW := math.Log2(prior / (1 - prior))
	byPair := map[string][]string{}
	for _, r := range rows[1:] {
		byPair[r[0]+" "+r[1]] = r
		sum := priorW
		for c := range scoring.NumComparisons {
			w, _ := strconv.ParseFloat(r[7+2*c], 64)
			sum += w
		}
		mw, _ := strconv.ParseFloat(r[2], 64)
		if d := sum - mw; d > 0.01 || d < -0.01 {
			t.Errorf("pair %s %s: prior + level weights = %.4f, match_weight %.4f", r[0], r[1], sum, mw)
		}
	}
	// The twins are capped below certain, and the file says which rule did it.
	if r, ok := byPair["t1 t2"]; !ok || r[5] == "" || r[4] == "certain" {
		t.Errorf("twins row %v: want a cap", r)
	}
	lines := strings.Split(strings.TrimSpace(readFileString(t, paths["ndjson"][0])), "\n")
	if len(lines) != len(rows)-1 {
		t.Fatalf("%d NDJSON pairs, %d CSV pairs", len(lines), len(rows)-1)
	}
	for _, l := range lines {
		var p pairJSON
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatal(err)
		}
		r := byPair[p.LeftID+" "+p.RightID]
		if r == nil || r[4] != p.Grade || r[5] != p.Cap || r[2] != formatWeight(p.MatchWeight) || r[len(r)-1] != p.LinkedBy ||
			p.Comparisons["birth_date"].Level != r[slices.Index(head, "level_birth_date")] {
			t.Errorf("NDJSON %s disagrees with CSV %v", l, r)
		}
	}
	cl := testsets.CSV(t, paths["csv"][1])
	if !slices.Equal(cl[0], []string{"id", "cluster_id", "cluster_size"}) || len(cl) != 11 {
		t.Fatalf("clusters %v", cl)
	}
	size := map[string]int{}
	for _, r := range cl[1:] {
		size[r[1]]++
	}
	for _, r := range cl[1:] {
		if strconv.Itoa(size[r[1]]) != r[2] {
			t.Errorf("cluster row %v: cluster has %d records", r, size[r[1]])
		}
	}
	if !strings.Contains(readFileString(t, paths["ndjson"][1]), `"cluster_size":3`) {
		t.Error("NDJSON clusters lack cluster_size")
	}
	env, _, _ := testEnv()
	if code := exitCode(runLink(context.Background(), env, []string{"--output-format", "xml", "--pairs", "-", in, in})); code != 2 {
		t.Errorf("--output-format xml: exit %d", code)
	}
}

func readFileString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzParseDelimiter: --delimiter gives one usable separator or an error.
func FuzzParseDelimiter(f *testing.F) {
	for _, s := range []string{"", ",", ";", "tab", `\t`, "|", "ab", `"`, "\n", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseDelimiter(s)
		if err != nil {
			return
		}
		if s != "" && (r == 0 || r == '"' || r == '\n' || r == '\r') {
			t.Fatalf("parseDelimiter(%q) = %q", s, r)
		}
	})
}
