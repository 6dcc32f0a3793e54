package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/patientmatch/patientmatch/bench"
	"github.com/patientmatch/patientmatch/scoring"
)

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints its usage to the command's stderr.
func newFlagSet(env *cliEnv, name, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "usage: patientmatch %s [flags] %s\n\nflags:\n", name, argsUsage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning -h into errHelp and a bad flag into a
// usage error. Flags may follow positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return errHelp
			}
			return usageErrorf("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	return fs.Parse(append([]string{"--"}, positional...))
}

// dataDir is the --data flag's default: $PATIENTMATCH_DATA or ./data.
func dataDir(env *cliEnv) string {
	if d := strings.TrimSpace(env.getenv("PATIENTMATCH_DATA")); d != "" {
		return d
	}
	return "./data"
}

// readModelFile loads a scoring model JSON (--model); errors name the flag
// and the file.
func readModelFile(path string) (*scoring.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--model: %w", err)
	}
	defer f.Close()
	m, err := scoring.LoadModel(f)
	if err != nil {
		return nil, fmt.Errorf("--model %s: %w", path, err)
	}
	return m, nil
}

// readTruthFile loads an id,entity truth CSV (--truth).
func readTruthFile(path string) (*bench.Truth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--truth: %w", err)
	}
	defer f.Close()
	t, err := bench.ReadTruth(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
