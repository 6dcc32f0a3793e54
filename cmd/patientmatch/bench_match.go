package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/bench"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// engineAnswerer answers bench.EvaluateMatch's queries with Engine.Match
// and the options a $match request carries: what a FHIR client is told.
type engineAnswerer struct {
	eng  *matcher.Engine
	opts matcher.MatchOptions
}

func (a engineAnswerer) Answer(ctx context.Context, q record.Record) ([]bench.MatchAnswer, error) {
	ms, err := a.eng.Match(ctx, q, a.opts)
	if errors.Is(err, matcher.ErrInvalid) {
		return nil, nil // $match answers 400: no patient is named
	}
	if err != nil {
		return nil, err
	}
	out := make([]bench.MatchAnswer, len(ms))
	for i, m := range ms {
		out[i] = bench.MatchAnswer{ID: m.ID, Grade: m.Grade}
	}
	return out, nil
}

// GradePair grades one pair with the engine's scorer and the query as
// Match prepares it, for bench.EvaluateMatch's account of misses; it
// decides no answer.
func (a engineAnswerer) GradePair(q, stored *record.Record) bench.MatchPair {
	s := a.eng.Scorer()
	qp, err := a.eng.PrepareQuery(*q)
	if err != nil {
		return bench.MatchPair{Pattern: "error: " + err.Error()}
	}
	sp := s.Prepare(*stored)
	r := s.Score(qp, sp)
	var pattern strings.Builder
	for i, c := range s.Explain(qp, sp) {
		if i > 0 {
			pattern.WriteByte(' ')
		}
		pattern.WriteString(c.Comparison + "=" + c.Level)
	}
	return bench.MatchPair{Grade: r.Grade, Cap: r.Cap.String(), Pattern: pattern.String()}
}

// benchMatchArgs are the parsed flags of bench match.
type benchMatchArgs struct {
	in        *inputFlags
	path      string
	truth     *bench.Truth
	model     *scoring.Model
	modelPath string
	split     bench.MatchSplitOptions
	count     int
	data      string
	workers   int
	asJSON    bool
	progress  bool
}

// runBenchMatch measures $match on people held out of a registry: it
// splits a labelled file by person (bench.SplitForMatch), loads the
// registry into a fresh engine, and asks Engine.Match, as $match does,
// for every query (bench.EvaluateMatch).
func runBenchMatch(ctx context.Context, env *cliEnv, args []string) error {
	a, err := parseBenchMatch(env, args)
	if err != nil {
		return err
	}
	patients, records, err := readMatchFile(env, a.in, a.path)
	if err != nil {
		return err
	}
	ids := make([]string, len(records))
	for i := range records {
		ids[i] = records[i].ID
	}
	split, err := bench.SplitForMatch(ids, a.truth, a.split)
	if err != nil {
		return err
	}
	eng, cleanup, err := openRegistry(ctx, env, a, patients, split.Stored)
	if err != nil {
		return err
	}
	defer cleanup()
	ev, err := bench.EvaluateMatch(ctx, engineAnswerer{eng, matcher.MatchOptions{Count: a.count}}, records, a.truth, split, a.workers)
	if err != nil {
		return err
	}
	ev.Input, ev.Model, ev.Count, ev.Absent, ev.Seed = a.path, a.modelPath, a.count, a.split.Absent, a.split.Seed
	if a.asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(ev)
	} else {
		err = ev.WriteText(env.stdout)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "bench match: %d queries; top-1 %.4f, right patient certain %.4f; absent answered certain %.4f, probable+ %.4f\n",
		ev.Present.Queries+ev.Missing.Queries, ev.Present.Top1.Rate, ev.Present.CertainRight.Rate, ev.Missing.Certain.Rate, ev.Missing.Probable.Rate)
	return nil
}

// parseBenchMatch parses and checks the flags of bench match.
func parseBenchMatch(env *cliEnv, args []string) (benchMatchArgs, error) {
	fs := newFlagSet(env, "bench match", "FILE")
	a := benchMatchArgs{in: addInputFlags(fs)}
	truthPath := fs.String("truth", "", "truth CSV with columns id,entity (required)")
	fs.Float64Var(&a.split.Absent, "absent", 0.2, "share of the queries asked for people left out of the registry, in [0,1)")
	fs.Uint64Var(&a.split.Seed, "seed", 1, "random seed of the split; the same seed gives the same split")
	fs.IntVar(&a.count, "count", matcher.DefaultCount, "the $match count parameter: answers per query")
	fs.StringVar(&a.modelPath, "model", "", "scoring model JSON (default: the built-in model)")
	fs.StringVar(&a.data, "data", "", "empty data folder to hold the registry and keep (default: a temporary folder, removed afterwards)")
	fs.IntVar(&a.workers, "workers", runtime.GOMAXPROCS(0), "concurrent queries")
	fs.BoolVar(&a.asJSON, "json", false, "print the result as JSON")
	fs.BoolVar(&a.progress, "progress", env.progress, "show progress on stderr")
	if err := parseFlags(fs, args); err != nil {
		return a, err
	}
	switch {
	case fs.NArg() != 1:
		return a, usageErrorf("want one input FILE; got %d", fs.NArg())
	case *truthPath == "":
		return a, usageErrorf("--truth is required")
	case !(a.split.Absent >= 0 && a.split.Absent < 1):
		return a, usageErrorf("--absent %v: must be in [0,1)", a.split.Absent)
	case a.count < 1:
		return a, usageErrorf("--count %d: must be at least 1", a.count)
	case a.workers < 1:
		return a, usageErrorf("--workers %d: must be at least 1", a.workers)
	}
	a.path = fs.Arg(0)
	if err := a.in.validate(fs.Args()); err != nil {
		return a, err
	}
	var err error
	if a.truth, err = readTruthFile(*truthPath); err != nil {
		return a, err
	}
	if a.modelPath != "" {
		if a.model, err = readModelFile(a.modelPath); err != nil {
			return a, err
		}
	}
	return a, nil
}

// readMatchFile reads the good records of path, as Patients to store and
// as the normalized records $match would make of them (FHIR → record, the
// path of a $match request), one per id (the last one read). Bad records
// are reported on stderr and skipped, as load skips them.
func readMatchFile(env *cliEnv, in *inputFlags, path string) (map[string]*fm.Patient, []record.Record, error) {
	patients := map[string]*fm.Patient{}
	var order []string
	err := in.each(env, []string{path}, func(it inputItem) error {
		if it.Err == nil {
			it.Err = matcher.ValidatePatient(it.Patient)
		}
		if it.Err != nil {
			fmt.Fprintf(env.stderr, "%s:%d: skipped: %v\n", it.source, it.Line, it.Err)
			return nil
		}
		id := *it.Patient.Id
		if _, seen := patients[id]; !seen {
			order = append(order, id)
		}
		patients[id] = it.Patient
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	records := make([]record.Record, len(order))
	for i, id := range order {
		records[i] = record.FromFHIR(patients[id])
	}
	return patients, records, nil
}

// openRegistry stores the patients named by stored in a fresh engine (in
// a.data, or a temporary folder), then opens it again as serve would: an
// engine counts its name frequencies when it opens, so the reopened one
// scores with the registry's frequencies, as a server started on it does.
// cleanup closes the engine and removes a temporary folder.
func openRegistry(ctx context.Context, env *cliEnv, a benchMatchArgs, patients map[string]*fm.Patient, stored []string) (*matcher.Engine, func(), error) {
	dir := a.data
	removeDir := func() {}
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "patientmatch-match-"); err != nil {
			return nil, nil, err
		}
		removeDir = func() { os.RemoveAll(dir) }
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, nil, usageErrorf("--data %s is not empty: the registry must hold the split alone", dir)
	}
	if err := storeRegistry(ctx, env, a, dir, patients, stored); err != nil {
		removeDir()
		return nil, nil, err
	}
	eng, err := matcher.Open(dir, matcher.Options{Model: a.model, Progress: progressFunc(env, a.progress)})
	if err != nil {
		removeDir()
		return nil, nil, err
	}
	return eng, func() { eng.Close(); removeDir() }, nil
}

// storeRegistry writes the stored patients into the engine at dir in
// chunks, waits until they are indexed, and closes it.
func storeRegistry(ctx context.Context, env *cliEnv, a benchMatchArgs, dir string, patients map[string]*fm.Patient, stored []string) (err error) {
	eng, err := matcher.Open(dir, matcher.Options{Model: a.model, WriteBuffer: matcher.BulkWriteBuffer})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, eng.Close()) }()
	for start := 0; start < len(stored); start += loadChunk {
		chunk := make([]*fm.Patient, 0, loadChunk)
		for _, id := range stored[start:min(start+loadChunk, len(stored))] {
			chunk = append(chunk, patients[id])
		}
		if _, err := eng.UpsertBatch(ctx, chunk); err != nil {
			return fmt.Errorf("storing the registry: %w", err)
		}
		if a.progress {
			fmt.Fprintf(env.stderr, "\rstored %d of %d records", min(start+loadChunk, len(stored)), len(stored))
		}
	}
	if a.progress {
		fmt.Fprintln(env.stderr)
	}
	return eng.WaitIndexed(ctx)
}
