package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/matcher"
)

// TestLoadCountsUnreadableBirthDates is issue 14's "load counts and reports
// records whose birth date could not be read", in every input format: the
// records are kept (lenient load), the file's warning names the column,
// the count and the lines, and the summary counts them.
func TestLoadCountsUnreadableBirthDates(t *testing.T) {
	patient := func(id, birth string) string {
		return `{"resourceType":"Patient","id":"` + id + `","name":[{"family":"Singh","given":["Amber"]}],"birthDate":"` + birth + `"}`
	}
	for _, tc := range []struct {
		name, file, content string
		warning, lines      string // the file's warning: its start and its end
	}{{
		name: "ndjson", file: "p.ndjson",
		content: patient("a", "1980-03-16") + "\n" + patient("b", "yesterday") + "\n" + patient("c", "16.03.1980") + "\n",
		warning: `birthDate: 2 values could not be read, e.g. "yesterday" (`, lines: "), line 2, 3",
	}, {
		name: "bundle", file: "p.json",
		content: `{"resourceType":"Bundle","type":"collection","entry":[` +
			`{"resource":` + patient("a", "1980-03-16") + `},` +
			`{"resource":` + patient("b", "yesterday") + `},` +
			`{"resource":` + patient("c", "16.03.1980") + `}]}`,
		warning: `birthDate: 2 values could not be read, e.g. "yesterday" (`, lines: "), line 2, 3", // entries
	}, {
		name: "csv", file: "p.csv",
		content: "id,family,given,birth_date\n" + "a,Singh,Amber,1980-03-16\n" + "b,Singh,Amber,yesterday\n" + "c,Singh,Amber,03/16/1980\n",
		warning: `birth_date: 2 values could not be read, e.g. "yesterday" (`, lines: "), line 3, 4", // after the header
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := writeFile(t, dir, tc.file, tc.content)
			data := filepath.Join(dir, "data")
			env, _, errb := testEnv()
			if err := runLoad(context.Background(), env, []string{"--data", data, "--progress=false", in}); err != nil {
				t.Fatalf("load: %v\n%s", err, errb)
			}
			for _, want := range []string{
				in + ": warning: " + tc.warning,
				tc.lines + "\n",
				"loaded 3 records (3 created, 0 updated, 0 unchanged), 0 bad skipped, 2 with a birth date that could not be read",
				"3 patients stored",
			} {
				if !strings.Contains(errb.String(), want) {
					t.Errorf("load stderr lacks %q:\n%s", want, errb)
				}
			}
			eng, err := matcher.Open(data, matcher.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			for _, id := range []string{"a", "b", "c"} {
				if _, err := eng.Get(context.Background(), id); err != nil {
					t.Errorf("record %s with an unreadable birth date was not kept: %v", id, err)
				}
			}
		})
	}
	// A file with only good dates says so: 0, and no warning.
	dir := t.TempDir()
	in := writeFile(t, dir, "good.ndjson", patient("a", "1980-03-16")+"\n")
	env, _, errb := testEnv()
	if err := runLoad(context.Background(), env, []string{"--data", filepath.Join(dir, "data"), "--progress=false", in}); err != nil {
		t.Fatalf("load: %v\n%s", err, errb)
	}
	if !strings.Contains(errb.String(), "0 bad skipped, 0 with a birth date that could not be read") || strings.Contains(errb.String(), "warning") {
		t.Errorf("good file: %s", errb)
	}
}

// TestLoadMemoryLimit: load sets its soft heap limit from --memory (the
// default unless GOMEMLIMIT is set), none with --memory 0, and refuses a
// negative size.
func TestLoadMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	dir := t.TempDir()
	in := filepath.Join(dir, "p.ndjson")
	if err := os.WriteFile(in, []byte(`{"resourceType":"Patient","id":"a","name":[{"family":"Singh","given":["Amber"]}],"birthDate":"1980-03-16"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		env  string
		want int64
	}{
		{nil, "", defaultLoadMemoryMiB << 20},
		{[]string{"--memory", "100"}, "", 100 << 20},
		{[]string{"--memory", "0"}, "", math.MaxInt64},
		{nil, "5GiB", 77}, // GOMEMLIMIT set, no --memory: left as it is
		{[]string{"--memory", "200"}, "5GiB", 200 << 20},
	} {
		debug.SetMemoryLimit(77)
		env, _, stderr := testEnv()
		env.getenv = func(k string) string {
			if k == "GOMEMLIMIT" {
				return tc.env
			}
			return ""
		}
		args := append(append([]string{"load", "--data", filepath.Join(dir, "data")}, tc.args...), in)
		if code := run(context.Background(), env, args); code != 0 {
			t.Fatalf("load %v: exit %d: %s", tc.args, code, stderr)
		}
		if got := debug.SetMemoryLimit(-1); got != tc.want {
			t.Errorf("load %v with GOMEMLIMIT %q: memory limit %d, want %d", tc.args, tc.env, got, tc.want)
		}
	}
	if _, err := runCLI(t, "load", "--data", filepath.Join(dir, "data"), "--memory", "-1", in); err == nil {
		t.Error("load --memory -1: no error")
	}
}
