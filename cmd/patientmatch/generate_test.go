package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunGenerate(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "p.csv")
	truth := filepath.Join(dir, "t.csv")
	env, _, errb := testEnv()
	args := []string{"generate", "--n", "500", "--seed", "4", "--out", out, "--truth", truth}
	if code := run(context.Background(), env, args); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "500 records") {
		t.Errorf("summary %q", errb.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := os.ReadFile(truth)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte("\n")); n != 501 {
		t.Errorf("%d csv lines, want 501", n)
	}
	if !bytes.HasPrefix(tr, []byte("id,entity\n")) || bytes.Count(tr, []byte("\n")) != 501 {
		t.Errorf("bad truth file")
	}

	for _, bad := range [][]string{
		{"generate", "--out", out},                                // no --n
		{"generate", "--n", "5"},                                  // no --out
		{"generate", "--n", "5", "--out", "x.txt"},                // unknown format
		{"generate", "--n", "5", "--out", out, "--dup-rate", "2"}, // bad rate
		{"generate", "--n", "5", "--out", out, "extra"},           // stray argument
	} {
		env, _, errb := testEnv()
		if code := run(context.Background(), env, bad); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", bad, code, errb.String())
		}
	}
}
