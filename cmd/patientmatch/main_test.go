package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
