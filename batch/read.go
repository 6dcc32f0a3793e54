package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// ErrBadRecord is wrapped by the errors ReadFiles reports for records it
// skips for batch reasons (no id, a duplicate id); parse errors wrap
// record.ErrInvalid instead.
var ErrBadRecord = errors.New("batch: bad record")

// readChunk is the number of patients one preparing goroutine takes at a
// time.
const readChunk = 512

// ReadOptions configure ReadFiles.
type ReadOptions struct {
	// Format of every input. Default (0): each file's from its extension
	// (record.FormatFromPath); required for "-".
	Format record.Format
	// Columns renames CSV columns (see record.ReaderOptions).
	Columns map[string]string
	// Scorer prepares the records. Default (nil): the scorer of
	// scoring.DefaultModel.
	Scorer *scoring.Scorer
	// Stdin is read for the path "-".
	Stdin io.Reader
	// Report, when set, is told of every bad record, which is skipped: the
	// path it came from, its line (or Bundle entry) and why.
	Report func(source string, line int, err error)
	// Workers prepare records in parallel. Default (0): GOMAXPROCS.
	Workers int
	// Delimiter and DateOrder are passed to the CSV reader (see
	// record.ReaderOptions). Default: the separator is detected, and
	// NN/NN/YYYY birth dates are unreadable.
	Delimiter rune
	DateOrder record.DateOrder
	// Warn, when set, is told what the reader noticed about a file (a
	// detected separator, ignored columns) and, after the file, how many
	// values of each column could not be read.
	Warn func(source, msg string)
	// Strict stops the read at the first bad record or unreadable value,
	// with its error, instead of reporting and skipping it.
	Strict bool
}

// ReadFiles reads every record of paths, in order, and prepares it. A bad
// record (unparsable, without an id, or with the id of an earlier record)
// is reported and skipped; only I/O errors, unreadable files and ctx stop
// the read. The records keep their input order; Rec.ID is each one's id.
//
// Parsing is sequential (one reader per file); normalizing and preparing,
// the costly part, runs on Workers goroutines.
func ReadFiles(ctx context.Context, paths []string, opts ReadOptions) ([]*scoring.Prepared, error) {
	s := opts.Scorer
	if s == nil {
		var err error
		if s, err = scoring.NewScorer(scoring.DefaultModel()); err != nil {
			return nil, err
		}
	}
	report := opts.Report
	if report == nil {
		report = func(string, int, error) {}
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	recs, origins, err := readPrepared(ctx, paths, opts, s, report, workers)
	if err != nil {
		return nil, err
	}
	return dropDuplicateIDs(recs, origins, paths, opts.Strict, report)
}

// origin is where a record came from: the index of its path and its line.
type origin struct{ file, line int32 }

// readPrepared reads the records of paths (reporting and skipping bad
// ones and those without an id) and prepares them with s on workers
// goroutines, in chunks of readChunk. It returns the records in input
// order with the origin of each.
func readPrepared(ctx context.Context, paths []string, opts ReadOptions, s *scoring.Scorer, report func(string, int, error), workers int) ([]*scoring.Prepared, []origin, error) {
	type chunk struct {
		patients []*fhir.Patient
		out      []*scoring.Prepared
	}
	var (
		chunks  []*chunk
		origins []origin // of every good record, in order
		cur     = &chunk{}
		todo    = make(chan *chunk, workers)
		wg      sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range todo {
				buf := make([]scoring.Prepared, len(c.patients))
				for i, p := range c.patients {
					s.PrepareInto(&buf[i], record.FromFHIR(p))
					c.out[i] = &buf[i]
				}
				c.patients = nil
			}
		}()
	}
	send := func() {
		if len(cur.patients) == 0 {
			return
		}
		cur.out = make([]*scoring.Prepared, len(cur.patients))
		chunks = append(chunks, cur)
		todo <- cur
		cur = &chunk{}
	}

	var err error
	for fi, path := range paths {
		err = readFile(path, opts, func(it record.Item) error {
			switch {
			case it.Err != nil:
				report(path, it.Line, it.Err)
				return nil
			case it.Patient.Id == nil || *it.Patient.Id == "":
				report(path, it.Line, fmt.Errorf("%w: patient has no id", ErrBadRecord))
				return nil
			}
			cur.patients = append(cur.patients, it.Patient)
			origins = append(origins, origin{int32(fi), int32(it.Line)})
			if len(cur.patients) == readChunk {
				send()
				return ctx.Err()
			}
			return nil
		})
		if err != nil {
			break
		}
	}
	if err == nil {
		send()
	}
	close(todo)
	wg.Wait()
	if err != nil {
		return nil, nil, err
	}
	recs := make([]*scoring.Prepared, 0, len(origins))
	for _, c := range chunks {
		recs = append(recs, c.out...)
	}
	return recs, origins, nil
}

// dropDuplicateIDs keeps the first record of each id and reports the
// others (strict: fails on the first, in input order). Sorting an index is
// far smaller than a map of every id at a million records.
func dropDuplicateIDs(recs []*scoring.Prepared, origins []origin, paths []string, strict bool, report func(string, int, error)) ([]*scoring.Prepared, error) {
	order := make([]int32, len(recs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(recs[a].Rec.ID, recs[b].Rec.ID); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	var drop [][2]int32 // duplicate, first
	for k := 0; k < len(order); {
		j := k + 1
		for j < len(order) && recs[order[j]].Rec.ID == recs[order[k]].Rec.ID {
			drop = append(drop, [2]int32{order[j], order[k]})
			j++
		}
		k = j
	}
	if len(drop) == 0 {
		return recs, nil
	}
	slices.SortFunc(drop, func(a, b [2]int32) int { return cmp.Compare(a[0], b[0]) })
	for _, d := range drop {
		o, f := origins[d[0]], origins[d[1]]
		if strict {
			return nil, fmt.Errorf("%s:%d: %w: duplicate id %q (first at %s:%d)", paths[o.file], o.line, ErrBadRecord, recs[d[0]].Rec.ID, paths[f.file], f.line)
		}
		report(paths[o.file], int(o.line), fmt.Errorf("%w: duplicate id %q (first at %s:%d)", ErrBadRecord, recs[d[0]].Rec.ID, paths[f.file], f.line))
	}
	for _, d := range drop {
		recs[d[0]] = nil
	}
	return slices.DeleteFunc(recs, func(p *scoring.Prepared) bool { return p == nil }), nil
}

// readFile calls fn with every item of one input.
func readFile(path string, opts ReadOptions, fn func(record.Item) error) error {
	f := opts.Format
	if f == 0 {
		if path == "-" {
			return fmt.Errorf("%w: reading stdin needs a format", ErrInvalid)
		}
		var err error
		if f, err = record.FormatFromPath(path); err != nil {
			return err
		}
	}
	var r io.Reader
	if path == "-" {
		if opts.Stdin == nil {
			return fmt.Errorf("%w: no stdin to read", ErrInvalid)
		}
		r = opts.Stdin
	} else {
		file, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("batch: %w", err)
		}
		defer file.Close()
		r = file
	}
	rd, err := record.NewReader(r, f, record.ReaderOptions{Columns: opts.Columns, Delimiter: opts.Delimiter, DateOrder: opts.DateOrder})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	warn := opts.Warn
	if warn == nil {
		warn = func(string, string) {}
	}
	for _, w := range rd.Warnings() {
		warn(path, w)
	}
	for {
		it, err := rd.Next()
		if errors.Is(err, io.EOF) {
			for _, u := range rd.Unreadable() {
				warn(path, u.String())
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if opts.Strict {
			if err := strictCheck(path, it); err != nil {
				return err
			}
		}
		if err := fn(it); err != nil {
			return err
		}
	}
}

// MinFrequencyRecords is the fewest records WithInputFrequencies builds
// term frequencies from. Below it every name is "common": a name seen once
// among 50 records has frequency 0.02, above the u of exact agreement in
// the default model, so the adjustment would weaken every exact name
// match instead of telling common names from rare ones.
const MinFrequencyRecords = 1000

// WithInputFrequencies builds term frequencies from the records of every set
// (for linkage: both sides), returns s with them, and re-prepares every
// record with the returned scorer so the adjustment applies. So the names
// are weighed by how common they are in the data being deduplicated, not in
// whatever population the model came from.
//
// With fewer than MinFrequencyRecords records in all it returns s and
// leaves the names as they are.
//
// Re-preparing recomputes each record's phonetic codes, as the frequencies
// can only be attached by scoring.Scorer.PrepareInto; it runs on workers
// goroutines (default GOMAXPROCS). Either way it then sets aside the
// identifiers of unknown kind that different people of the input share
// (scoring.SetAsideSharedIdentifiers), a population fact like the names'
// frequencies.
func WithInputFrequencies(ctx context.Context, s *scoring.Scorer, workers int, sets ...[]*scoring.Prepared) (*scoring.Scorer, error) {
	n := 0
	for _, set := range sets {
		n += len(set)
	}
	if n >= MinFrequencyRecords {
		tf := scoring.NewTermFrequencies()
		for _, set := range sets {
			for _, p := range set {
				tf.Add(p)
			}
		}
		s = s.WithTermFrequencies(tf)
		for _, set := range sets {
			err := parallel(ctx, workers, len(set), func(lo, hi int) {
				for _, p := range set[lo:hi] {
					s.PrepareInto(p, p.Rec)
				}
			})
			if err != nil {
				return nil, err
			}
		}
	}
	// After re-preparing, which restores every record's identifiers.
	scoring.SetAsideSharedIdentifiers(sets...)
	return s, nil
}

// parallel calls fn over [0,n) split into chunks, on workers goroutines
// (default GOMAXPROCS), and returns ctx's error if it ended early.
func parallel(ctx context.Context, workers, n int, fn func(lo, hi int)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	const step = 1024
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := range next {
				fn(lo, min(lo+step, n))
			}
		}()
	}
	var err error
	for lo := 0; lo < n; lo += step {
		if err = ctx.Err(); err != nil {
			break
		}
		next <- lo
	}
	close(next)
	wg.Wait()
	return err
}

// strictCheck is the error of a bad record or an unreadable value under
// ReadOptions.Strict.
func strictCheck(path string, it record.Item) error {
	switch {
	case it.Err != nil:
		return fmt.Errorf("%s: %w", path, it.Err)
	case it.Patient.Id == nil || *it.Patient.Id == "":
		return fmt.Errorf("%s:%d: %w: patient has no id", path, it.Line, ErrBadRecord)
	case len(it.Unreadable) > 0:
		v := it.Unreadable[0]
		return fmt.Errorf("%s:%d: %w: %s %q cannot be read: %s", path, it.Line, ErrBadRecord, v.Column, v.Value, v.Reason)
	}
	return nil
}
