package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/internal/buildinfo"
)

// testEnv returns a cliEnv writing into buffers and an empty environment.
func testEnv() (*cliEnv, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &cliEnv{
		stdin:  strings.NewReader(""),
		stdout: &out,
		stderr: &errb,
		getenv: func(string) string { return "" },
	}, &out, &errb
}

// TestVersion: both spellings print the module version and the revision.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		env, out, _ := testEnv()
		if code := run(context.Background(), env, args); code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
		want := buildinfo.Read().String()
		if got := strings.TrimSpace(out.String()); got != want || !strings.HasPrefix(got, "patientmatch ") || !strings.Contains(got, "(revision ") {
			t.Errorf("%v printed %q, want %q", args, got, want)
		}
	}
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"no args is usage", nil, 2, "usage: patientmatch"},
		{"help", []string{"--help"}, 0, "commands:"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"version", []string{"version"}, 0, ""},
		{"--version", []string{"--version"}, 0, ""},
		{"version with an argument", []string{"version", "x"}, 2, "no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, errb := testEnv()
			if got := run(context.Background(), env, tt.args); got != tt.code {
				t.Fatalf("exit code = %d, want %d (stderr %q)", got, tt.code, errb.String())
			}
			if !strings.Contains(errb.String(), tt.inStderr) {
				t.Errorf("stderr %q does not contain %q", errb.String(), tt.inStderr)
			}
		})
	}
}

func TestParseFlagsInterleaved(t *testing.T) {
	env, _, _ := testEnv()
	fs := newFlagSet(env, "x", "FILE...")
	n := fs.Int("n", 0, "")
	if err := parseFlags(fs, []string{"a.csv", "-n", "3", "b.csv"}); err != nil {
		t.Fatal(err)
	}
	if *n != 3 || strings.Join(fs.Args(), ",") != "a.csv,b.csv" {
		t.Fatalf("n=%d args=%v", *n, fs.Args())
	}
	if err := parseFlags(fs, []string{"-bogus"}); err == nil {
		t.Fatal("want usage error for unknown flag")
	}
}
