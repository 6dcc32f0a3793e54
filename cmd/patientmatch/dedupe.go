package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/patientmatch/patientmatch/batch"
	"github.com/patientmatch/patientmatch/blocking"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// runDedupe finds the duplicates within the union of its inputs: pairs at
// or above the threshold to --pairs, and optionally every record's cluster
// to --clusters. The work is in package batch; this parses flags, opens
// files and reports.
func runDedupe(ctx context.Context, env *cliEnv, args []string) error {
	if storedDedupe(args) {
		return runDedupeStored(ctx, env, args)
	}
	fs := newFlagSet(env, "dedupe", "FILE...")
	bf := addBatchFlags(fs, env)
	bf.addFitFlag(fs)
	pairsOut := fs.String("pairs", "", "output CSV of the pairs at or above the threshold (required; - for stdout)")
	clustersOut := fs.String("clusters", "", "optional output CSV mapping every record to its cluster")
	outFormat := fs.String("output-format", "", "pairs and clusters files: csv or ndjson, with match weight, cap, each comparison's level and weight, linked_by (the record a pair is certain through), and cluster sizes (default: the four-column pairs CSV and id,cluster_id)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 0:
		return usageErrorf("no input files (use - for stdin with --format)")
	case *pairsOut == "":
		return usageErrorf("--pairs is required")
	case *pairsOut == "-" && *clustersOut == "-":
		return usageErrorf("--pairs and --clusters cannot both be stdout")
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
	recs, err := job.read(ctx, env, fs.Args())
	if err != nil {
		return err
	}
	counted, err := batch.WithInputFrequencies(ctx, job.scorer, *bf.workers, recs)
	if err != nil {
		return err
	}
	scorer, err := job.fitToFile(env.stderr, recs, counted.TermFrequencies())
	if err != nil {
		return err
	}

	pw, err := createOutput(env, *pairsOut)
	if err != nil {
		return err
	}
	defer pw.abort()
	progress := job.progress(env, "scoring")
	pairs, st, promoted, err := dedupePairs(ctx, recs, job.options(scorer, progress))
	progress.done()
	if err == nil {
		err = writeDedupePairs(pw, newPairSink(pw, format, scorer), recs, pairs)
	}
	if err != nil {
		return err
	}

	clusterNote := ""
	if *clustersOut != "" {
		var edges batch.EdgeList
		for _, p := range pairs {
			edges.Add(p)
		}
		pairs = nil // the edges hold what clustering needs
		c := dedupeClusters(job, scorer, recs, &edges)
		if err := writeClusters(env, *clustersOut, format, recs, c); err != nil {
			return err
		}
		clusterNote = ", " + clusterSizes(c)
	}
	fmt.Fprintf(env.stderr, "dedupe: %d records (%d bad skipped), %d pairs compared, %d pairs written (%d certain through a third record)%s, in %.1fs, peak memory %s%s\n",
		len(recs), job.bad, st.CandidatePairs, st.Emitted, promoted, clusterNote, time.Since(start).Seconds(), peakMemory(), skippedNote(st.Blocking))
	return nil
}

// dedupePairs scores the candidate pairs of recs, keeping those at or above
// opts.Threshold in enumeration order, and grades certain those two
// certain pairs join through a third record (batch.Promote, at the same
// threshold; bench accuracy calls it alike). promoted counts them.
func dedupePairs(ctx context.Context, recs []*scoring.Prepared, opts batch.Options) (pairs []batch.Pair, st batch.Stats, promoted int, err error) {
	st, err = batch.Dedupe(ctx, recs, opts, func(p batch.Pair) error {
		pairs = append(pairs, p)
		return nil
	})
	if err != nil {
		return nil, st, 0, err
	}
	promoted, err = batch.Promote(ctx, recs, pairs, batch.PromoteOptions{Scorer: opts.Scorer, Threshold: opts.Threshold})
	return pairs, st, promoted, err
}

// writeDedupePairs writes pairs with w, each promoted pair with the id of
// the record that links it, and commits pw.
func writeDedupePairs(pw *output, w pairSink, recs []*scoring.Prepared, pairs []batch.Pair) error {
	for _, p := range pairs {
		via := ""
		if p.Promoted {
			via = recs[p.LinkedBy].Rec.ID
		}
		if err := w.write(recs[p.Left], recs[p.Right], p, via); err != nil {
			return err
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	return pw.commit()
}

// dedupeClusters groups recs into clusters along the pairs of edges.
func dedupeClusters(job *batchJob, scorer *scoring.Scorer, recs []*scoring.Prepared, edges *batch.EdgeList) []int32 {
	return batch.ClusterEdges(len(recs), edges, batch.ClusterOptions{
		Threshold:  job.threshold,
		Thresholds: job.model.Thresholds,
		Score: func(i, j int32) batch.Pair {
			r := scorer.Score(recs[i], recs[j])
			return batch.Pair{Left: i, Right: j, Weight: r.Weight, Probability: r.Probability, Grade: r.Grade}
		},
	})
}

// batchFlags are the flags dedupe and link share.
type batchFlags struct {
	model     *string
	threshold *string
	format    *string
	columns   *string
	workers   *int
	maxBlock  *int
	maxCands  *int
	progress  *bool
	strict    *bool
	// fit is --fit, on the commands that fit the built-in model to one
	// file (dedupe, bench accuracy; addFitFlag); nil elsewhere.
	fit   *bool
	field fieldFlags
}

// addFitFlag adds --fit to bf (see batchJob.fitToFile).
func (bf *batchFlags) addFitFlag(fs interface {
	Bool(name string, value bool, usage string) *bool
}) {
	bf.fit = fs.Bool("fit", true, "without --model, fit the built-in model's u, m, prior and probable threshold to the input")
}

func addBatchFlags(fs interface {
	String(name, value, usage string) *string
	Int(name string, value int, usage string) *int
	Bool(name string, value bool, usage string) *bool
}, env *cliEnv) *batchFlags {
	return &batchFlags{
		model:     fs.String("model", "", "scoring model JSON (default: the built-in model)"),
		threshold: fs.String("threshold", "possible", "probability threshold in [0,1], or a grade: certain, probable, possible (the model's threshold for it)"),
		format:    fs.String("format", "", "input format when reading stdin (-) or overriding the extension: ndjson, json, csv"),
		columns:   fs.String("columns", "", "CSV column renames: canonical=source,..."),
		workers:   fs.Int("workers", 0, "scoring goroutines (default: all cores)"),
		maxBlock:  fs.Int("max-block", blocking.DefaultMaxBlock, "skip blocks larger than this many records"),
		maxCands:  fs.Int("max-candidates", blocking.DefaultMaxCandidates, "compare each record with at most this many candidates, those sharing the most blocking keys (0: every record sharing a key)"),
		progress:  fs.Bool("progress", env.progress, "show progress on stderr"),
		strict:    fs.Bool("strict", false, "fail on the first bad record or unreadable value instead of skipping it"),
		field:     addFieldFlags(fs),
	}
}

// batchJob is what the flags resolve to.
type batchJob struct {
	flags     *batchFlags
	model     *scoring.Model
	scorer    *scoring.Scorer
	threshold float64
	read      func(ctx context.Context, env *cliEnv, paths []string) ([]*scoring.Prepared, error)
	bad       int
}

// setup checks the flags and the input paths and loads the model.
func (bf *batchFlags) setup(paths []string) (*batchJob, error) {
	var format record.Format
	if *bf.format != "" {
		f, err := record.ParseFormat(*bf.format)
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		format = f
	}
	stdin := 0
	for _, p := range paths {
		if p == "-" {
			stdin++
			if format == 0 {
				return nil, usageErrorf("reading stdin needs --format")
			}
		}
	}
	if stdin > 1 {
		return nil, usageErrorf("stdin (-) can be read only once")
	}
	cols, err := parseColumns(*bf.columns)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	delim, order, err := bf.field.resolve()
	if err != nil {
		return nil, err
	}
	if *bf.workers < 0 || *bf.maxBlock < 0 || *bf.maxCands < 0 {
		return nil, usageErrorf("--workers, --max-block and --max-candidates must be >= 0")
	}
	model := scoring.DefaultModel()
	if *bf.model != "" {
		var err error
		if model, err = readModelFile(*bf.model); err != nil {
			return nil, err
		}
	}
	scorer, err := scoring.NewScorer(model)
	if err != nil {
		return nil, err
	}
	threshold, err := parseThreshold(*bf.threshold, model.Thresholds)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	job := &batchJob{flags: bf, model: model, scorer: scorer, threshold: threshold}
	job.read = func(ctx context.Context, env *cliEnv, paths []string) ([]*scoring.Prepared, error) {
		return batch.ReadFiles(ctx, paths, batch.ReadOptions{
			Format:    format,
			Columns:   cols,
			Scorer:    scorer,
			Stdin:     env.stdin,
			Workers:   *bf.workers,
			Delimiter: delim,
			DateOrder: order,
			Strict:    *bf.strict,
			Report: func(src string, line int, err error) {
				job.bad++
				fmt.Fprintf(env.stderr, "%s:%d: skipped: %v\n", src, line, err)
			},
			Warn: func(src, msg string) { fmt.Fprintf(env.stderr, "%s: warning: %s\n", src, msg) },
		})
	}
	return job, nil
}

// maxCandidatesOption is --max-candidates as batch.Options wants it: 0
// there means the default, here no cap.
func (bf *batchFlags) maxCandidatesOption() int {
	if *bf.maxCands == 0 {
		return blocking.NoCandidateLimit
	}
	return *bf.maxCands
}

func (j *batchJob) options(s *scoring.Scorer, p *progressLine) batch.Options {
	o := batch.Options{Scorer: s, Threshold: j.threshold, Workers: *j.flags.workers, MaxBlock: *j.flags.maxBlock, MaxCandidates: j.flags.maxCandidatesOption()}
	if p != nil {
		o.Progress = p.update
	}
	return o
}

// parseThreshold reads --threshold: a probability, or a grade name standing
// for the model's threshold of that grade.
func parseThreshold(s string, t scoring.Thresholds) (float64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "certain":
		return t.Certain, nil
	case "probable":
		return t.Probable, nil
	case "possible":
		return t.Possible, nil
	}
	p, err := strconv.ParseFloat(s, 64)
	if err != nil || !(p >= 0 && p <= 1) {
		return 0, fmt.Errorf("--threshold %q: want a probability in [0,1] or certain, probable, possible", s)
	}
	return p, nil
}

// progressLine draws "stage: done/total pairs (P%)" on stderr, at most five
// times a second; nil when progress is off.
type progressLine struct {
	w     io.Writer
	stage string
	last  time.Time
	drawn bool
}

func (j *batchJob) progress(env *cliEnv, stage string) *progressLine {
	if !*j.flags.progress {
		return nil
	}
	return &progressLine{w: env.stderr, stage: stage}
}

func (p *progressLine) update(done, total int64) {
	if time.Since(p.last) < 200*time.Millisecond && done < total {
		return
	}
	p.last = time.Now()
	p.drawn = true
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	fmt.Fprintf(p.w, "\r%s: %d/%d pairs (%.0f%%)", p.stage, done, total, pct)
}

func (p *progressLine) done() {
	if p != nil && p.drawn {
		fmt.Fprintln(p.w)
	}
}

// output is a file written under a temporary name and renamed on commit,
// so a failed run never leaves a half-written result; or stdout for "-".
type output struct {
	io.Writer
	file      *os.File
	path, tmp string
}

func createOutput(env *cliEnv, path string) (*output, error) {
	if path == "-" {
		return &output{Writer: env.stdout}, nil
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	return &output{Writer: f, file: f, path: path, tmp: tmp}, nil
}

func (o *output) commit() error {
	if o.file == nil {
		return nil
	}
	err := o.file.Close()
	o.file = nil
	if err != nil {
		os.Remove(o.tmp)
		return err
	}
	return os.Rename(o.tmp, o.path)
}

// abort removes the temporary file unless commit ran; safe after commit.
func (o *output) abort() {
	if o.file != nil {
		o.file.Close()
		os.Remove(o.tmp)
		o.file = nil
	}
}

// pairWriter writes the pairs CSV of CONTRACT.md.
type pairWriter struct {
	bw  *bufio.Writer
	cw  *csv.Writer
	row [4]string
	err error
}

func newPairWriter(w io.Writer) *pairWriter {
	bw := bufio.NewWriterSize(w, 256<<10)
	pw := &pairWriter{bw: bw, cw: csv.NewWriter(bw)}
	pw.err = pw.cw.Write([]string{"left_id", "right_id", "probability", "grade"})
	return pw
}

// write ignores linkedBy: the four columns of CONTRACT.md carry the
// job's grade only.
func (w *pairWriter) write(a, b *scoring.Prepared, p batch.Pair, _ string) error {
	if w.err != nil {
		return w.err
	}
	w.row = [4]string{a.Rec.ID, b.Rec.ID, formatProbability(p.Probability), p.Grade.String()}
	w.err = w.cw.Write(w.row[:])
	return w.err
}

func (w *pairWriter) flush() error {
	if w.err != nil {
		return w.err
	}
	w.cw.Flush()
	if err := w.cw.Error(); err != nil {
		return err
	}
	return w.bw.Flush()
}

// formatProbability writes a probability with eight significant digits:
// enough to tell 0.99999 (certain's default) from 0.999989.
func formatProbability(p float64) string { return strconv.FormatFloat(p, 'g', 8, 64) }

// skippedNote says how many blocks were too large to compare and how many
// records had more candidates than --max-candidates, if any.
func skippedNote(b blocking.Stats) string {
	var notes []string
	if b.SkippedBlocks > 0 {
		notes = append(notes, fmt.Sprintf("%d blocks over --max-block skipped, %d records in them", b.SkippedBlocks, b.SkippedRecords))
	}
	if b.CappedRecords > 0 {
		notes = append(notes, fmt.Sprintf("%d records over --max-candidates, %d pairs sharing a key not compared", b.CappedRecords, b.DroppedPairs))
	}
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, "; ") + ")"
}

// peakMemory is the process's peak resident memory (VmHWM) where /proc
// tells it, else the memory the Go runtime obtained from the system.
func peakMemory() string {
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				f := strings.Fields(rest)
				if len(f) == 2 && f[1] == "kB" {
					if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
						return fmt.Sprintf("%d MiB", kb>>10)
					}
				}
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return fmt.Sprintf("%d MiB (Go runtime)", ms.Sys>>20)
}
