package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/patientmatch/patientmatch/blocking"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// runTrain estimates a model from unlabelled records: u from random pairs,
// m and the prior by EM over the candidate pairs of each blocking rule, each
// pass leaving out the comparisons its rule blocks on (Splink's approach).
func runTrain(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "train", "FILE...")
	out := fs.String("out", "model.json", "where to write the trained model (- for stdout)")
	in := addInputFlags(fs)
	uPairs := fs.Int("u-pairs", 1_000_000, "random record pairs to estimate u from")
	seed := fs.Uint64("seed", 1, "seed of the random pair sampler")
	maxBlock := fs.Int("max-block", blocking.DefaultMaxBlock, "skip blocks larger than this in the EM passes")
	progress := fs.Bool("progress", env.progress, "show progress on stderr")
	relatives := fs.Bool("relatives", false, "also fit the relatives class (same household, different person) by three-class EM")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf("no input files")
	}
	if err := in.validate(fs.Args()); err != nil {
		return err
	}
	start := time.Now()
	var recs []*scoring.Prepared
	bad := 0
	var last time.Time
	drawn := false
	// show draws one progress line, at most five times a second unless
	// final; the line is ended before anything else is printed.
	show := func(final bool, format string, a ...any) {
		if !*progress || (!final && time.Since(last) < 200*time.Millisecond) {
			return
		}
		last, drawn = time.Now(), true
		fmt.Fprintf(env.stderr, "\r"+format, a...)
	}
	endLine := func() {
		if drawn {
			fmt.Fprintln(env.stderr)
			drawn = false
		}
	}
	err := in.each(env, fs.Args(), func(it inputItem) error {
		if it.Err != nil {
			bad++
			endLine()
			fmt.Fprintf(env.stderr, "%s:%d: skipped: %v\n", it.source, it.Line, it.Err)
			return nil
		}
		// Training counts comparison levels, which term frequencies do
		// not change (and the model is written without them).
		recs = append(recs, scoring.PrepareWithoutTF(record.FromFHIR(it.Patient)))
		show(false, "reading: %d records", len(recs))
		return ctx.Err()
	})
	show(true, "reading: %d records", len(recs))
	endLine()
	if err != nil {
		return err
	}
	if len(recs) < 2 {
		return fmt.Errorf("need at least 2 good records to train, have %d", len(recs))
	}
	var passes []scoring.TrainingPass
	training := blocking.TrainingRules()
	for i, r := range training {
		show(true, "blocking: rule %d of %d (%s)   ", i+1, len(training), r)
		var pairs [][2]int32
		blocking.PairsByRule(recs, r, *maxBlock, func(i, j int32) { pairs = append(pairs, [2]int32{i, j}) })
		if len(pairs) == 0 {
			continue
		}
		passes = append(passes, scoring.TrainingPass{Name: r.String(), Pairs: pairs, Exclude: r.Fixes()})
	}
	show(true, "training: u from random pairs, m by EM over %d passes…", len(passes))
	endLine()
	if err := ctx.Err(); err != nil {
		return err
	}
	model, err := scoring.Train(recs, passes, scoring.TrainOptions{UPairs: *uPairs, Seed: *seed, NoTermFrequencies: true, Relatives: *relatives})
	if err != nil {
		return err
	}
	if err := model.Table(env.stdout); err != nil {
		return err
	}
	if err := writeModel(env, *out, model); err != nil {
		return err
	}
	iters := 0
	if model.Training != nil {
		for _, p := range model.Training.Passes {
			iters += p.Iterations
		}
		for _, w := range model.Training.Warnings {
			fmt.Fprintf(env.stderr, "warning: %s\n", w)
		}
	}
	fmt.Fprintf(env.stderr, "trained on %d records (%d bad skipped): %d EM passes, %d iterations, prior %.3g, in %.1fs; model written to %s\n",
		len(recs), bad, len(passes), iters, model.Prior, time.Since(start).Seconds(), *out)
	return nil
}

// writeModel writes m as JSON to path, or stdout for "-". The file is written
// whole to a temporary name and renamed, so a crash never leaves half a model.
func writeModel(env *cliEnv, path string, m *scoring.Model) error {
	if path == "-" {
		return m.WriteJSON(env.stdout)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := m.WriteJSON(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
