package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"

	"github.com/patientmatch/patientmatch/bench"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// engineSearcher answers bench.RecallAtK's queries with Engine.Match: the
// ids of the patients a $match request would return, best first.
type engineSearcher struct{ eng *matcher.Engine }

func (s engineSearcher) Search(ctx context.Context, q record.Record, n int) ([]string, error) {
	ms, err := s.eng.Match(ctx, q, matcher.MatchOptions{Count: n})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids, nil
}

// runBenchRecall loads a labelled file into a fresh engine (a temporary
// data folder unless --data names one) and matches every record against it,
// reporting how many true duplicates come back in the first k answers.
func runBenchRecall(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "bench recall", "FILE")
	in := addInputFlags(fs)
	truthPath := fs.String("truth", "", "truth CSV with columns id,entity (required)")
	k := fs.Int("k", 5, "answers that count (the query's own record aside)")
	modelPath := fs.String("model", "", "scoring model JSON (default: the built-in model)")
	data := fs.String("data", "", "empty data folder to load into and keep (default: a temporary folder, removed afterwards)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "concurrent queries")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	progress := fs.Bool("progress", env.progress, "show progress on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 1:
		return usageErrorf("want one input FILE; got %d", fs.NArg())
	case *truthPath == "":
		return usageErrorf("--truth is required")
	case *k < 1:
		return usageErrorf("--k %d: must be at least 1", *k)
	case *workers < 1:
		return usageErrorf("--workers %d: must be at least 1", *workers)
	}
	if err := in.validate(fs.Args()); err != nil {
		return err
	}
	truth, err := readTruthFile(*truthPath)
	if err != nil {
		return err
	}
	var model *scoring.Model
	if *modelPath != "" {
		if model, err = readModelFile(*modelPath); err != nil {
			return err
		}
	}

	dir := *data
	if dir == "" {
		if dir, err = os.MkdirTemp("", "patientmatch-recall-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return usageErrorf("--data %s is not empty: recall must be measured on the input alone", dir)
	}
	eng, err := matcher.Open(dir, matcher.Options{Model: model, Progress: progressFunc(env, *progress), WriteBuffer: matcher.BulkWriteBuffer})
	if err != nil {
		return err
	}
	defer eng.Close()
	sum, err := loadInto(ctx, env, eng, in, fs.Args(), *progress)
	if err != nil {
		return err
	}
	queries, err := recallQueries(env, in, fs.Args())
	if err != nil {
		return err
	}
	res, err := bench.RecallAtK(ctx, engineSearcher{eng}, queries, truth, *k, *workers)
	if err != nil {
		return err
	}
	if err := writeRecall(env, res, *asJSON, fs.Arg(0), eng.Len(), sum.secs, *workers); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "bench recall: %d queries, recall@%d %.4f\n", res.Queries, res.K, res.RecallAtK)
	return nil
}

// recallQueries are the loaded records themselves, read again and
// normalized as the engine normalized them.
func recallQueries(env *cliEnv, in *inputFlags, paths []string) ([]record.Record, error) {
	var queries []record.Record
	err := in.each(env, paths, func(it inputItem) error {
		if it.Err == nil && matcher.ValidatePatient(it.Patient) == nil {
			queries = append(queries, record.FromFHIR(it.Patient))
		}
		return nil
	})
	return queries, err
}

// writeRecall prints res on stdout, as JSON or as a few lines naming the
// input, how many patients were loaded and in how long (secs).
func writeRecall(env *cliEnv, res bench.Recall, asJSON bool, input string, loaded int, secs float64, workers int) error {
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(env.stdout, "recall@%d of %s (%d patients loaded in %.1fs)\n", res.K, input, loaded, secs)
	fmt.Fprintf(env.stdout, "  true duplicates in the first %d answers: %d of %d, recall@%d %.4f\n", res.K, res.Found, res.Duplicates, res.K, res.RecallAtK)
	fmt.Fprintf(env.stdout, "  queries with every duplicate shown: %d of %d having duplicates\n", res.AllFound, res.QueriesWithDuplicates)
	fmt.Fprintf(env.stdout, "  other people among the first %d answers: %d (%.2f a query)\n", res.K, res.FalseInTopK, float64(res.FalseInTopK)/float64(max(res.Queries, 1)))
	fmt.Fprintf(env.stdout, "  Match latency p50 %v, p99 %v; %d queries in %.1fs on %d workers\n", res.P50, res.P99, res.Queries, res.Elapsed.Seconds(), workers)
	return nil
}
