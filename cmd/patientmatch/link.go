package main

import (
	"context"
	"fmt"
	"time"

	"github.com/patientmatch/patientmatch/batch"
	"github.com/patientmatch/patientmatch/scoring"
)

// runLink links the records of LEFT to those of RIGHT: pairs at or above the
// threshold to --pairs; with --one-to-one each record appears in at most
// one pair, best first.
func runLink(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "link", "LEFT RIGHT")
	bf := addBatchFlags(fs, env)
	pairsOut := fs.String("pairs", "", "output CSV of the pairs at or above the threshold (required; - for stdout)")
	oneToOne := fs.Bool("one-to-one", false, "keep each record in at most one pair, strongest first")
	outFormat := fs.String("output-format", "", "pairs file: csv or ndjson, with match weight, cap, each comparison's level and weight, and linked_by (always empty for link: records within one file are not compared) (default: the four-column pairs CSV)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 2:
		return usageErrorf("want two inputs, LEFT and RIGHT; got %d", fs.NArg())
	case *pairsOut == "":
		return usageErrorf("--pairs is required")
	}
	format, err := parseOutputFormat(*outFormat)
	if err != nil {
		return err
	}
	job, err := bf.setup(fs.Args())
	if err != nil {
		return err
	}
	start := time.Now()
	left, err := job.read(ctx, env, fs.Args()[:1])
	if err != nil {
		return err
	}
	right, err := job.read(ctx, env, fs.Args()[1:])
	if err != nil {
		return err
	}
	// Names are weighed by their frequency in both files together.
	scorer, err := batch.WithInputFrequencies(ctx, job.scorer, *bf.workers, left, right)
	if err != nil {
		return err
	}

	pw, err := createOutput(env, *pairsOut)
	if err != nil {
		return err
	}
	defer pw.abort()
	w := newPairSink(pw, format, scorer)
	write := func(p batch.Pair) error { return w.write(left[p.Left], right[p.Right], p, "") }
	progress := job.progress(env, "scoring")
	st, written, err := linkPairs(ctx, left, right, job.options(scorer, progress), *oneToOne, write)
	progress.done()
	if err == nil {
		err = w.flush()
	}
	if err == nil {
		err = pw.commit()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "link: %d left and %d right records (%d bad skipped), %d pairs compared, %d pairs written, in %.1fs, peak memory %s%s\n",
		len(left), len(right), job.bad, st.CandidatePairs, written, time.Since(start).Seconds(), peakMemory(), skippedNote(st.Blocking))
	return nil
}

// linkPairs runs batch.Link, writing its pairs; with oneToOne it keeps
// them all first (only those at or above the threshold come) and writes
// batch.OneToOne's choice. written counts the pairs written.
func linkPairs(ctx context.Context, left, right []*scoring.Prepared, opts batch.Options, oneToOne bool, write func(batch.Pair) error) (st batch.Stats, written int64, err error) {
	if !oneToOne {
		st, err = batch.Link(ctx, left, right, opts, write)
		return st, st.Emitted, err
	}
	var kept []batch.Pair
	st, err = batch.Link(ctx, left, right, opts, func(p batch.Pair) error {
		kept = append(kept, p)
		return nil
	})
	if err != nil {
		return st, st.Emitted, err
	}
	one := batch.OneToOne(kept)
	for _, p := range one {
		if err := write(p); err != nil {
			return st, int64(len(one)), err
		}
	}
	return st, int64(len(one)), nil
}
