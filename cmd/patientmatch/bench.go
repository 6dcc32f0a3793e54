package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/patientmatch/patientmatch/batch"
	"github.com/patientmatch/patientmatch/bench"
	"github.com/patientmatch/patientmatch/scoring"
)

// runBench runs the benchmark harness: accuracy against a truth file
// (through the same reading, blocking, scoring and clustering as dedupe and
// link), or load against a running server. The work is in package bench.
func runBench(ctx context.Context, env *cliEnv, args []string) error {
	usage := func() {
		fmt.Fprintln(env.stderr, "usage: patientmatch bench accuracy --truth T.csv [--model F] [--report OUT.html] [--json] FILE [RIGHT]")
		fmt.Fprintln(env.stderr, "       patientmatch bench recall --truth T.csv [--k 5] [--model F] FILE")
		fmt.Fprintln(env.stderr, "       patientmatch bench match --truth T.csv [--absent 0.2] [--seed 1] [--count 10] [--model F] [--json] FILE")
		fmt.Fprintln(env.stderr, "       patientmatch bench load --url URL --queries FILE.ndjson (--rate R | --max) --duration D [--concurrency C]")
		fmt.Fprintln(env.stderr, "Run 'patientmatch bench accuracy --help' or 'patientmatch bench load --help' for flags.")
	}
	if len(args) == 0 {
		usage()
		return usageErrorf("want a subcommand: accuracy, recall, match or load")
	}
	switch args[0] {
	case "accuracy":
		return runBenchAccuracy(ctx, env, args[1:])
	case "load":
		return runBenchLoad(ctx, env, args[1:])
	case "recall":
		return runBenchRecall(ctx, env, args[1:])
	case "match":
		return runBenchMatch(ctx, env, args[1:])
	case "-h", "--help", "help":
		usage()
		return errHelp
	}
	usage()
	return usageErrorf("unknown bench subcommand %q (want accuracy, recall, match or load)", args[0])
}

// runBenchAccuracy evaluates dedupe (one file) or link (two files) against
// a truth file. Flags other than --truth, --report and --json are those of
// dedupe and link, with the same meaning; --threshold is the clustering
// threshold, while every candidate pair is scored for the pairwise figures.
func runBenchAccuracy(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "bench accuracy", "FILE [RIGHT]")
	bf := addBatchFlags(fs, env)
	bf.addFitFlag(fs)
	truthPath := fs.String("truth", "", "truth CSV with columns id,entity (required)")
	reportOut := fs.String("report", "", "also write a self-contained HTML report to this file")
	asJSON := fs.Bool("json", false, "print the results as JSON instead of tables")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() < 1 || fs.NArg() > 2:
		return usageErrorf("want FILE (dedupe) or LEFT RIGHT (link); got %d inputs", fs.NArg())
	case *truthPath == "":
		return usageErrorf("--truth is required")
	}
	paths := fs.Args()
	job, err := bf.setup(paths)
	if err != nil {
		return err
	}
	start := time.Now()
	truth, err := readTruthFile(*truthPath)
	if err != nil {
		return err
	}
	sides := make([][]*scoring.Prepared, len(paths))
	for i, p := range paths {
		if sides[i], err = job.read(ctx, env, []string{p}); err != nil {
			return err
		}
	}
	scorer, err := batch.WithInputFrequencies(ctx, job.scorer, *bf.workers, sides...)
	if err != nil {
		return err
	}
	if len(sides) == 1 {
		if scorer, err = job.fitToFile(env.stderr, sides[0], scorer.TermFrequencies()); err != nil {
			return err
		}
	}
	in := bench.AccuracyInput{
		Name:     strings.Join(paths, " × "),
		Left:     sides[0],
		Truth:    truth,
		Model:    job.model,
		ReadTime: time.Since(start),
	}
	if len(sides) == 2 {
		in.Right = sides[1]
	}
	src := &bench.BatchSource{
		Scorer: scorer, Thresholds: job.model.Thresholds, ClusterThreshold: job.threshold,
		Workers: *bf.workers, MaxBlock: *bf.maxBlock, MaxCandidates: bf.maxCandidatesOption(),
	}
	progress := job.progress(env, "scoring")
	if progress != nil {
		src.Progress = progress.update
	}
	in.Source = src
	a, err := bench.RunAccuracy(ctx, in)
	progress.done()
	if err != nil {
		return err
	}
	if err := writeAccuracy(env, a, *reportOut, *asJSON); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "bench accuracy: %d records (%d bad skipped), %d candidate pairs, best F1 %.4f, in %.1fs, peak memory %s\n",
		a.Records+a.RightRecords, job.bad, a.Blocking.CandidatePairs, a.Best.F1, time.Since(start).Seconds(), peakMemory())
	return nil
}

// writeAccuracy writes the HTML report to reportPath (when set), then the
// results to stdout, as JSON or as tables.
func writeAccuracy(env *cliEnv, a *bench.Accuracy, reportPath string, asJSON bool) error {
	if reportPath != "" {
		out, err := createOutput(env, reportPath)
		if err != nil {
			return err
		}
		defer out.abort()
		if err := a.WriteHTML(out); err != nil {
			return err
		}
		if err := out.commit(); err != nil {
			return err
		}
	}
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(a)
	}
	return a.WriteText(env.stdout)
}

// headerFlags collects repeated --header "Name: value" flags.
type headerFlags http.Header

func (h headerFlags) String() string { return "" }

func (h headerFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if !ok || k == "" {
		return errors.New(`want "Name: value"`)
	}
	http.Header(h).Add(k, v)
	return nil
}

// runBenchLoad sends $match requests to a running server, open loop at
// --rate (latency from each request's intended start) or closed loop with
// --max, and prints the latency distribution and errors.
func runBenchLoad(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "bench load", "")
	url := fs.String("url", "http://127.0.0.1:8080", "server base URL; requests go to URL"+bench.MatchPath+" and nowhere else")
	queries := fs.String("queries", "", "NDJSON file, one Patient or Parameters resource per line (required)")
	rate := fs.Float64("rate", 0, "open loop: requests per second, on schedule whatever the server does")
	maxMode := fs.Bool("max", false, "closed loop instead: each worker sends as soon as its answer arrives (throughput; hides stalls)")
	duration := fs.Duration("duration", 10*time.Second, "how long to start requests for")
	concurrency := fs.Int("concurrency", 16, "workers (connections), each with one request in flight")
	timeout := fs.Duration("timeout", 10*time.Second, "per-request timeout")
	asJSON := fs.Bool("json", false, "print the results as JSON instead of a table")
	progress := fs.Bool("progress", env.progress, "show progress on stderr")
	header := headerFlags{}
	fs.Var(header, "header", `extra request header "Name: value" (repeatable), e.g. "Authorization: Bearer ..."`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	case *queries == "":
		return usageErrorf("--queries is required")
	case *rate <= 0 && !*maxMode:
		return usageErrorf("give --rate R (open loop) or --max (closed loop)")
	}
	qs, err := bench.ReadQueriesFile(*queries)
	if err != nil {
		return err
	}
	opts := bench.LoadOptions{
		URL: *url, Queries: qs, Rate: *rate, Max: *maxMode, Concurrency: *concurrency,
		Duration: *duration, Timeout: *timeout, Header: http.Header(header),
	}
	if err := opts.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	drawn := false
	if *progress {
		opts.Progress = func(sent, done int64) {
			drawn = true
			fmt.Fprintf(env.stderr, "\rload: %d sent, %d answered", sent, done)
		}
	}
	res, err := bench.RunLoad(ctx, opts)
	if drawn {
		fmt.Fprintln(env.stderr)
	}
	if res == nil {
		return err
	}
	// An interrupted run still prints what it measured.
	var werr error
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		werr = enc.Encode(res)
	} else {
		werr = res.WriteText(env.stdout)
	}
	if err = errors.Join(err, werr); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "bench load: %s, %d sent, %d ok, p99 %.2f ms, %.1f requests/s\n",
		res.Mode, res.Sent, res.OK, res.Latency.P99, res.AchievedRate)
	return nil
}
