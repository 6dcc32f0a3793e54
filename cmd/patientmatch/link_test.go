package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/internal/testsets"
)

func TestLinkCommand(t *testing.T) {
	dir := t.TempDir()
	left := writeFile(t, dir, "left.csv", `id,family,given,birth_date,sex,address_line,city,postal_code,phone
a1,Smith,Alice,1980-03-14,female,12 Oak Street,Springfield,62701,217-555-0142
t1,Miller,John,2001-06-20,male,9 Birch Lane,Madison,53703,608-555-0111
s1,Nguyen,Linh,1990-07-07,female,5 Cedar Court,Seattle,98101,206-555-0177
bad,Nguyen
`)
	right := writeFile(t, dir, "right.ndjson", strings.Join([]string{
		`{"resourceType":"Patient","id":"r-a2","name":[{"family":"Smith","given":["Alice"]}],"gender":"female","birthDate":"1980-03-14","address":[{"line":["12 Oak St"],"city":"Springfield","postalCode":"62701"}],"telecom":[{"system":"phone","value":"(217) 555-0142"}]}`,
		`{"resourceType":"Patient","id":"r-a3","name":[{"family":"Smyth","given":["Alice"]}],"gender":"female","birthDate":"1980-03-14","address":[{"line":["12 Oak Street"],"city":"Springfield","postalCode":"62701"}]}`,
		`{"resourceType":"Patient","id":"r-k1","name":[{"family":"Kowalski","given":["Piotr"]}],"gender":"male","birthDate":"1965-02-28"}`,
		`{not json`,
	}, "\n")+"\n")

	run := func(extra ...string) ([][]string, string) {
		t.Helper()
		out := filepath.Join(dir, "pairs.csv")
		env, _, errb := testEnv()
		args := append([]string{"--pairs", out}, extra...)
		if err := runLink(context.Background(), env, append(args, left, right)); err != nil {
			t.Fatalf("link: %v\n%s", err, errb)
		}
		return testsets.CSV(t, out), errb.String()
	}

	rows, stderr := run()
	for _, want := range []string{left + ":5: skipped", right + ":4: skipped", "link: 3 left and 3 right records (2 bad skipped)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	got := map[string]bool{}
	for _, r := range rows[1:] {
		got[r[0]+" "+r[1]] = true
	}
	if len(rows) != 3 || !got["a1 r-a2"] || !got["a1 r-a3"] {
		t.Errorf("pairs = %v, want a1 with r-a2 and r-a3", rows)
	}

	rows, stderr = run("--one-to-one")
	if len(rows) != 2 || rows[1][0] != "a1" || rows[1][1] != "r-a2" {
		t.Errorf("one-to-one pairs = %v, want only a1 r-a2 (the stronger)", rows)
	}
	if !strings.Contains(stderr, "1 pairs written") {
		t.Errorf("summary: %s", stderr)
	}

	env, _, _ := testEnv()
	if code := exitCode(runLink(context.Background(), env, []string{"--pairs", "x.csv", left})); code != 2 {
		t.Errorf("one input: exit %d, want 2", code)
	}
}
