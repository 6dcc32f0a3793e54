package main

import (
	"context"
	"fmt"
	"io"
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
	show := &trainProgress{w: env.stderr, on: *progress}
	recs, bad, err := readTrainingRecords(ctx, env, in, fs.Args(), show)
	if err != nil {
		return err
	}
	if len(recs) < 2 {
		return fmt.Errorf("need at least 2 good records to train, have %d", len(recs))
	}
	// As dedupe compares them (batch.WithInputFrequencies): a value of an
	// identifier of unknown kind that different people carry is a family's,
	// and is no agreement for EM to learn from.
	scoring.SetAsideSharedIdentifiers(recs)
	passes := trainingPasses(recs, *maxBlock, show)
	show.line(true, "training: u from random pairs, m by EM over %d passes…", len(passes))
	show.end()
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

// readTrainingRecords reads and prepares the good records of paths,
// reporting the bad ones on stderr and counting them.
func readTrainingRecords(ctx context.Context, env *cliEnv, in *inputFlags, paths []string, show *trainProgress) (recs []*scoring.Prepared, bad int, err error) {
	err = in.each(env, paths, func(it inputItem) error {
		if it.Err != nil {
			bad++
			show.end()
			fmt.Fprintf(env.stderr, "%s:%d: skipped: %v\n", it.source, it.Line, it.Err)
			return nil
		}
		// Training counts comparison levels, which term frequencies do
		// not change (and the model is written without them).
		recs = append(recs, scoring.PrepareWithoutTF(record.FromFHIR(it.Patient)))
		show.line(false, "reading: %d records", len(recs))
		return ctx.Err()
	})
	show.line(true, "reading: %d records", len(recs))
	show.end()
	return recs, bad, err
}

// trainingPasses gives one EM pass per training blocking rule: its
// candidate pairs (blocks over maxBlock skipped), leaving out the
// comparisons the rule blocks on. A rule without pairs gives no pass.
func trainingPasses(recs []*scoring.Prepared, maxBlock int, show *trainProgress) []scoring.TrainingPass {
	var passes []scoring.TrainingPass
	training := blocking.TrainingRules()
	for i, r := range training {
		show.line(true, "blocking: rule %d of %d (%s)   ", i+1, len(training), r)
		var pairs [][2]int32
		blocking.PairsByRule(recs, r, maxBlock, func(i, j int32) { pairs = append(pairs, [2]int32{i, j}) })
		if len(pairs) == 0 {
			continue
		}
		passes = append(passes, scoring.TrainingPass{Name: r.String(), Pairs: pairs, Exclude: r.Fixes()})
	}
	return passes
}

// trainProgress draws train's progress line on stderr, at most five times
// a second unless final; end ends the line before anything else is
// printed.
type trainProgress struct {
	w     io.Writer
	on    bool
	last  time.Time
	drawn bool
}

func (p *trainProgress) line(final bool, format string, a ...any) {
	if !p.on || (!final && time.Since(p.last) < 200*time.Millisecond) {
		return
	}
	p.last, p.drawn = time.Now(), true
	fmt.Fprintf(p.w, "\r"+format, a...)
}

func (p *trainProgress) end() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
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
