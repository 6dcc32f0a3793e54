package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
)

// loadChunk is how many patients one atomic store commit holds during a
// bulk load: large enough to amortise the commit's fsync, small enough to
// stay far below badger's transaction size limit.
const loadChunk = 1000

func runLoad(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "load", "FILE...")
	data := fs.String("data", dataDir(env), "data folder (env PATIENTMATCH_DATA)")
	in := addInputFlags(fs)
	strict := fs.Bool("strict", false, "fail on the first bad record, before anything is written")
	progress := fs.Bool("progress", env.progress, "show progress on stderr")
	compact := fs.Bool("compact", true, "merge the candidate index into one segment after loading: queries are faster, the load takes longer")
	memory := fs.Int("memory", defaultLoadMemoryMiB, "soft limit in MiB on the load's Go heap (the garbage collector works harder near it; GOMEMLIMIT in the environment replaces the default); 0 for none")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *memory < 0 {
		return usageErrorf("--memory must be 0 (no limit) or a size in MiB, got %d", *memory)
	}
	setLoadMemoryLimit(fs, env, *memory)
	if fs.NArg() == 0 {
		return usageErrorf("no input files (use - for stdin with --format)")
	}
	if err := in.validate(fs.Args()); err != nil {
		return err
	}
	if *strict {
		// Read everything once first: a strict load writes nothing unless
		// every record is good.
		n := 0
		err := in.each(env, fs.Args(), func(it inputItem) error {
			if it.Err == nil {
				it.Err = matcher.ValidatePatient(it.Patient)
			}
			if it.Err == nil && len(it.Unreadable) > 0 {
				it.Err = unreadableError(it.Unreadable)
			}
			if it.Err != nil {
				return fmt.Errorf("%s:%d: %w", it.source, it.Line, it.Err)
			}
			n++
			return nil
		})
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("no records in the input")
		}
	}

	eng, err := matcher.Open(*data, matcher.Options{Progress: progressFunc(env, *progress), WriteBuffer: matcher.BulkWriteBuffer, BulkLoad: *compact})
	if err != nil {
		return err
	}
	defer eng.Close()
	sum, err := loadInto(ctx, env, eng, in, fs.Args(), *progress)
	if err != nil {
		return err
	}
	// The time reported includes compacting the index and closing the
	// engine, which flushes the large bulk-load write buffers: the user
	// waits for that too.
	stored := eng.Len()
	flushStart := time.Now()
	if *compact {
		if err := eng.Compact(ctx); err != nil {
			return fmt.Errorf("compacting the index: %w", err)
		}
	}
	if err := eng.Close(); err != nil {
		return fmt.Errorf("closing the data folder: %w", err)
	}
	sum.secs += time.Since(flushStart).Seconds()
	fmt.Fprintf(env.stderr, "loaded %d records (%d created, %d updated, %d unchanged), %d bad skipped, %d with a birth date that could not be read, in %.1fs (%.0f records/s); %d patients stored\n",
		sum.loaded, sum.created, sum.updated, sum.loaded-sum.created-sum.updated, sum.bad, sum.undated, sum.secs, float64(sum.loaded)/max(sum.secs, 1e-9), stored)
	return nil
}

// defaultLoadMemoryMiB is load's soft heap limit. A bulk load's heap is
// mostly garbage between collections (the prepared table, two 512 MiB
// badger write buffers and bleve's batches are what is live): at 1M
// patients the Go default (collect at twice the live heap) peaked at 4.6
// GiB resident, with this limit at 3.5 GiB for 3% more CPU (bench/README
// "Hot path"). A heap that must outgrow it makes the collector run more
// often (its CPU share is capped at half by the runtime): raise --memory
// for loads much larger than that.
const defaultLoadMemoryMiB = 3072

// setLoadMemoryLimit applies --memory unless GOMEMLIMIT is set and
// --memory was not given.
func setLoadMemoryLimit(fs *flag.FlagSet, env *cliEnv, mib int) {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "memory" })
	if !given && env.getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := int64(math.MaxInt64) // the runtime's "no limit"
	if mib > 0 {
		limit = int64(mib) << 20
	}
	debug.SetMemoryLimit(limit)
}

// loadSummary counts what a load did.
type loadSummary struct {
	loaded, created, updated, bad int
	// undated counts the good records kept whose birth date could not be
	// read (whatever the input format; see record.Item.Unreadable).
	undated int
	secs    float64
}

// loadInto upserts every good record of paths into eng in atomic chunks,
// reporting bad records on stderr and skipping them. Reading and parsing run
// in their own goroutine (readChunks), a chunk ahead of the writes
// (writeChunks), so both cores work.
func loadInto(ctx context.Context, env *cliEnv, eng *matcher.Engine, in *inputFlags, paths []string, progress bool) (loadSummary, error) {
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan []*fm.Patient, 2)
	type readResult struct {
		counts readCounts
		err    error
	}
	read := make(chan readResult, 1)
	go func() {
		counts, err := readChunks(ctx, env, in, paths, chunks)
		read <- readResult{counts, err}
	}()
	sum, drawn, writeErr := writeChunks(ctx, env, eng, chunks, progress, cancel)
	r := <-read
	sum.bad, sum.undated = r.counts.bad, r.counts.undated
	err := r.err
	if writeErr == nil && err == nil {
		// Done means matchable: wait for the index to hold every record.
		err = eng.WaitIndexed(ctx)
	}
	if drawn {
		fmt.Fprintln(env.stderr)
	}
	sum.secs = time.Since(start).Seconds()
	if writeErr != nil {
		return sum, writeErr
	}
	return sum, err
}

// readCounts are what reading the input found, beside the good records.
type readCounts struct {
	bad     int // skipped
	undated int // kept with a birth date that could not be read
}

// readChunks reads the good records of paths into chunks of at most
// loadChunk patients, none holding an id twice, and closes chunks when
// done. It reports bad records on stderr and returns the counts.
func readChunks(ctx context.Context, env *cliEnv, in *inputFlags, paths []string, chunks chan<- []*fm.Patient) (n readCounts, err error) {
	defer close(chunks)
	var batch []*fm.Patient
	seen := map[string]bool{}
	send := func() bool {
		if len(batch) == 0 {
			return true
		}
		select {
		case chunks <- batch:
			batch, seen = nil, map[string]bool{}
			return true
		case <-ctx.Done():
			return false
		}
	}
	err = in.each(env, paths, func(it inputItem) error {
		if it.Err == nil {
			it.Err = matcher.ValidatePatient(it.Patient)
		}
		if it.Err != nil {
			n.bad++
			fmt.Fprintf(env.stderr, "%s:%d: skipped: %v\n", it.source, it.Line, it.Err)
			return nil
		}
		if unreadableBirthDate(it.Unreadable) {
			n.undated++
		}
		// One atomic chunk must not hold the same id twice: send the
		// chunk first, so the later record wins, as it would loading
		// one by one.
		if seen[*it.Patient.Id] && !send() {
			return ctx.Err()
		}
		seen[*it.Patient.Id] = true
		batch = append(batch, it.Patient)
		if len(batch) >= loadChunk && !send() {
			return ctx.Err()
		}
		return ctx.Err()
	})
	if err == nil && !send() {
		err = ctx.Err()
	}
	return n, err
}

// writeChunks upserts each chunk into eng, counting what the writes did and
// drawing progress on stderr (drawn: a progress line is open). After a
// failed write it cancels the read and drains the remaining chunks.
func writeChunks(ctx context.Context, env *cliEnv, eng *matcher.Engine, chunks <-chan []*fm.Patient, progress bool, cancel func()) (sum loadSummary, drawn bool, writeErr error) {
	var lastDraw time.Time
	for batch := range chunks {
		if writeErr != nil {
			continue // drain so the reader can finish
		}
		res, err := eng.UpsertBatch(ctx, batch)
		if err != nil {
			writeErr = fmt.Errorf("storing records: %w", err)
			cancel()
			continue
		}
		for _, r := range res {
			switch r.Outcome {
			case matcher.Created:
				sum.created++
			case matcher.Updated:
				sum.updated++
			}
		}
		sum.loaded += len(batch)
		if progress && time.Since(lastDraw) > 200*time.Millisecond {
			lastDraw, drawn = time.Now(), true
			fmt.Fprintf(env.stderr, "\rloaded %d records", sum.loaded)
		}
	}
	return sum, drawn, writeErr
}

// loadFile loads one file whose format follows from its extension (serve
// --demo).
func loadFile(ctx context.Context, env *cliEnv, eng *matcher.Engine, path string) (int, error) {
	empty := ""
	in := &inputFlags{format: &empty, columns: &empty, field: fieldFlags{delimiter: &empty, dateOrder: &empty}}
	sum, err := loadInto(ctx, env, eng, in, []string{path}, false)
	return sum.loaded, err
}

// inputFlags are the flags shared by every command that reads patient files.
type inputFlags struct {
	format  *string
	columns *string
	field   fieldFlags
	// warned holds the files whose warnings were shown: a strict load
	// reads every file twice.
	warned map[string]bool
}

func addInputFlags(fs interface {
	String(name, value, usage string) *string
}) *inputFlags {
	return &inputFlags{
		format:  fs.String("format", "", "input format when reading stdin (-) or overriding the extension: ndjson, json, csv"),
		columns: fs.String("columns", "", "CSV column renames: canonical=source,..."),
		field:   addFieldFlags(fs),
	}
}

func (in *inputFlags) validate(paths []string) error {
	if *in.format != "" {
		if _, err := record.ParseFormat(*in.format); err != nil {
			return usageErrorf("%v", err)
		}
	}
	for _, p := range paths {
		if p == "-" && *in.format == "" {
			return usageErrorf("reading stdin needs --format")
		}
	}
	if _, err := parseColumns(*in.columns); err != nil {
		return usageErrorf("%v", err)
	}
	_, _, err := in.field.resolve()
	return err
}

// inputItem is one record read from an input file, with where it came from.
type inputItem struct {
	record.Item
	source string
}

// each reads every record of every path in order and calls fn. A bad record
// is passed to fn with Err set; only I/O errors and fn's errors stop it.
func (in *inputFlags) each(env *cliEnv, paths []string, fn func(inputItem) error) error {
	cols, _ := parseColumns(*in.columns)
	for _, p := range paths {
		if err := in.readOne(env, p, cols, fn); err != nil {
			return err
		}
	}
	return nil
}

func (in *inputFlags) readOne(env *cliEnv, path string, cols map[string]string, fn func(inputItem) error) error {
	var (
		f   record.Format
		err error
		r   io.Reader
	)
	if *in.format != "" {
		f, err = record.ParseFormat(*in.format)
	} else {
		f, err = record.FormatFromPath(path)
	}
	if err != nil {
		return usageErrorf("%s: %v", path, err)
	}
	if path == "-" {
		r = env.stdin
	} else {
		file, err := os.Open(path)
		if err != nil {
			return err
		}
		defer file.Close()
		r = file
	}
	delim, order, err := in.field.resolve()
	if err != nil {
		return err
	}
	rd, err := record.NewReader(r, f, record.ReaderOptions{Columns: cols, Delimiter: delim, DateOrder: order})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if in.warned == nil {
		in.warned = map[string]bool{}
	}
	warn := !in.warned[path]
	in.warned[path] = true
	for _, w := range rd.Warnings() {
		if warn {
			fmt.Fprintf(env.stderr, "%s: warning: %s\n", path, w)
		}
	}
	for {
		it, err := rd.Next()
		if errors.Is(err, io.EOF) {
			for _, u := range rd.Unreadable() {
				fmt.Fprintf(env.stderr, "%s: warning: %s\n", path, u)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := fn(inputItem{Item: it, source: path}); err != nil {
			return err
		}
	}
}

// parseColumns parses --columns "canonical=source,...".
func parseColumns(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("--columns: %q is not canonical=source", kv)
		}
		m[k] = v
	}
	return m, nil
}

// progressFunc draws engine start-up progress (index rebuilds) on stderr.
func progressFunc(env *cliEnv, on bool) func(stage string, done, total int) {
	if !on {
		return nil
	}
	return func(stage string, done, total int) {
		fmt.Fprintf(env.stderr, "\r%s: %d/%d", stage, done, total)
		if done >= total {
			fmt.Fprintln(env.stderr)
		}
	}
}

// unreadableBirthDate reports whether vs holds the birth date: birth_date
// of a CSV file, birthDate of a FHIR one.
func unreadableBirthDate(vs []record.UnreadableValue) bool {
	for _, v := range vs {
		if v.Column == "birth_date" || v.Column == "birthDate" {
			return true
		}
	}
	return false
}
