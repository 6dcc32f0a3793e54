package batch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/patientmatch/patientmatch/blocking"
	"github.com/patientmatch/patientmatch/scoring"
)

// ErrInvalid is wrapped by every error about invalid Options.
var ErrInvalid = errors.New("batch: invalid options")

// batchSize is the number of candidate pairs scored as one unit of work:
// large enough that channel hand-offs cost nothing next to scoring (a batch
// is about a millisecond of work), small enough that the pairs in flight
// stay a few megabytes.
const batchSize = 2048

// Options configure Dedupe and Link.
type Options struct {
	// Scorer scores the candidate pairs. Required. The records must have
	// been prepared with it (or with a scorer sharing its term
	// frequencies), see WithInputFrequencies.
	Scorer *scoring.Scorer
	// Threshold is a probability: pairs scoring below it are not emitted.
	// Default (0): every candidate pair is emitted, as an accuracy harness
	// wants; the commands pass the model's possible threshold.
	Threshold float64
	// Workers is the number of scoring goroutines. Default (0):
	// runtime.GOMAXPROCS(0).
	Workers int
	// MaxBlock skips blocks larger than this (see blocking.PairOptions).
	// Default (0): blocking.DefaultMaxBlock.
	MaxBlock int
	// MaxCandidates keeps at most this many candidates per record, best
	// first, so that at most N·MaxCandidates pairs are scored (see
	// blocking.Pairs). Default (0): blocking.DefaultMaxCandidates, the
	// server's candidate limit. blocking.NoCandidateLimit (negative):
	// every pair sharing a key in a compared block.
	MaxCandidates int
	// Progress, when set, is called on the caller's goroutine after each
	// batch with the candidate pairs scored so far and their total. Knowing
	// the total costs one extra blocking pass before scoring starts, so
	// leave Progress nil when nobody watches.
	Progress func(done, total int64)
}

// Validate reports every problem of o at once, each wrapping ErrInvalid.
func (o Options) Validate() error {
	var errs []error
	if o.Scorer == nil {
		errs = append(errs, fmt.Errorf("%w: no scorer", ErrInvalid))
	}
	if !(o.Threshold >= 0 && o.Threshold <= 1) {
		errs = append(errs, fmt.Errorf("%w: threshold %v not in [0,1]", ErrInvalid, o.Threshold))
	}
	if o.Workers < 0 {
		errs = append(errs, fmt.Errorf("%w: workers %d < 0", ErrInvalid, o.Workers))
	}
	if o.MaxBlock < 0 {
		errs = append(errs, fmt.Errorf("%w: max block %d < 0", ErrInvalid, o.MaxBlock))
	}
	return errors.Join(errs...)
}

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// Pair is one scored candidate pair. Left and Right index the records: both
// into the one set for Dedupe (Left < Right), into the left and the right
// set for Link. Weight and Probability are always the pair's own; Grade is
// the job's decision, its own unless Promote raised it.
type Pair struct {
	Left, Right int32
	Weight      float64
	Probability float64
	Grade       scoring.Grade
	// Promoted is set when Promote graded the pair certain through
	// LinkedBy, a record certain with both (an index like Left and Right;
	// meaningless unless Promoted).
	Promoted bool
	LinkedBy int32
}

// Stats describe one run of Dedupe or Link.
type Stats struct {
	// Records is the number of records (both sides for Link).
	Records int
	// CandidatePairs is the number of pairs blocking produced and the
	// scorer compared.
	CandidatePairs int64
	// Emitted is the number of pairs passed to emit (at or above the
	// threshold).
	Emitted  int64
	Blocking blocking.Stats
	Elapsed  time.Duration
}

// Dedupe scores every candidate pair of records and calls emit, on the
// calling goroutine and in a deterministic order, with each pair at or
// above opts.Threshold. It stops at the first error of emit, or when ctx is
// done, and returns that error.
func Dedupe(ctx context.Context, records []*scoring.Prepared, opts Options, emit func(Pair) error) (Stats, error) {
	if err := opts.Validate(); err != nil {
		return Stats{}, err
	}
	popts := blocking.PairOptions{MaxBlock: opts.MaxBlock, MaxCandidates: opts.MaxCandidates}
	s := opts.Scorer
	return run(ctx, len(records), opts,
		func(fn func(i, j int32)) blocking.Stats { return blocking.Pairs(records, popts, fn) },
		func(i, j int32) scoring.Result { return s.Score(records[i], records[j]) },
		emit)
}

// Link scores every candidate pair of a left and a right record and calls
// emit, as Dedupe does, with each pair at or above opts.Threshold; Left
// indexes left and Right indexes right. Pairs within one side are not
// compared.
func Link(ctx context.Context, left, right []*scoring.Prepared, opts Options, emit func(Pair) error) (Stats, error) {
	if err := opts.Validate(); err != nil {
		return Stats{}, err
	}
	popts := blocking.PairOptions{MaxBlock: opts.MaxBlock, MaxCandidates: opts.MaxCandidates}
	s := opts.Scorer
	return run(ctx, len(left)+len(right), opts,
		func(fn func(i, j int32)) blocking.Stats { return blocking.LinkPairs(left, right, popts, fn) },
		func(i, j int32) scoring.Result { return s.Score(left[i], right[j]) },
		emit)
}

// job is one batch of candidate pairs and, once scored, the pairs to emit.
type job struct {
	seq   int64
	pairs [][2]int32
	out   []Pair
}

// run is the pipeline shared by Dedupe and Link (see the package doc):
// enumerate feeds candidate pairs, score scores one, emit receives the
// results in enumeration order.
func run(ctx context.Context, records int, opts Options,
	enumerate func(fn func(i, j int32)) blocking.Stats,
	score func(i, j int32) scoring.Result,
	emit func(Pair) error,
) (Stats, error) {
	start := time.Now()
	st := Stats{Records: records}
	var total int64
	if opts.Progress != nil {
		total = enumerate(func(i, j int32) {}).Pairs
		if err := ctx.Err(); err != nil {
			return st, err
		}
		opts.Progress(0, total)
	}

	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := opts.workers()
	p := newPipeline(4 * workers)
	var bst blocking.Stats
	go func() {
		bst = p.feed(inner, enumerate)
		close(p.jobs)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.score(inner, score, opts.Threshold)
		}()
	}
	go func() {
		wg.Wait()
		close(p.results)
	}()
	err := p.emitInOrder(emit, cancel, opts.Progress, total, &st)
	st.Blocking = bst
	st.Elapsed = time.Since(start)
	if err == nil {
		err = ctx.Err()
	}
	return st, err
}

// pipeline is the channels of one run. A fixed number of jobs (slots)
// circulate: free → feed → jobs → score → results → emitInOrder → free.
// Every job fits in each channel, so sends on jobs, results and free never
// block; only taking a free job waits.
type pipeline struct {
	slots               int
	free, jobs, results chan *job
}

func newPipeline(slots int) *pipeline {
	p := &pipeline{slots: slots, free: make(chan *job, slots), jobs: make(chan *job, slots), results: make(chan *job, slots)}
	for range slots {
		p.free <- &job{pairs: make([][2]int32, 0, batchSize)}
	}
	return p
}

// feed runs enumerate, packing its pairs into free jobs numbered in order
// and sending them on jobs. Once ctx is done it drains the enumeration
// cheaply (blocking cannot be interrupted) and sends no more.
func (p *pipeline) feed(ctx context.Context, enumerate func(fn func(i, j int32)) blocking.Stats) blocking.Stats {
	var (
		cur     *job
		seq     int64
		stopped bool
	)
	bst := enumerate(func(i, j int32) {
		if stopped {
			return
		}
		if cur == nil {
			select {
			case cur = <-p.free:
			case <-ctx.Done():
				stopped = true
				return
			}
			cur.seq, seq = seq, seq+1
			cur.pairs = cur.pairs[:0]
		}
		cur.pairs = append(cur.pairs, [2]int32{i, j})
		if len(cur.pairs) == batchSize {
			p.jobs <- cur
			cur = nil
		}
	})
	if cur != nil && !stopped {
		p.jobs <- cur
	}
	return bst
}

// score scores the pairs of each job, keeping those at or above threshold
// in its out, and passes the job on to results (empty once ctx is done).
func (p *pipeline) score(ctx context.Context, score func(i, j int32) scoring.Result, threshold float64) {
	for j := range p.jobs {
		j.out = j.out[:0]
		if ctx.Err() == nil {
			for _, pr := range j.pairs {
				r := score(pr[0], pr[1])
				if r.Probability >= threshold {
					j.out = append(j.out, Pair{Left: pr[0], Right: pr[1], Weight: r.Weight, Probability: r.Probability, Grade: r.Grade})
				}
			}
		}
		p.results <- j
	}
}

// emitInOrder passes the scored pairs to emit in enumeration order,
// counting them in st and reporting progress, and returns each job to
// free. After emit fails it cancels the run, returns that error, and only
// recycles the jobs still coming.
func (p *pipeline) emitInOrder(emit func(Pair) error, cancel func(), progress func(done, total int64), total int64, st *Stats) error {
	// At most p.slots jobs exist, so pending holds fewer than that.
	var err error
	pending := make(map[int64]*job, p.slots)
	var next int64
	for j := range p.results {
		pending[j.seq] = j
		for {
			k, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if err == nil {
				for _, pr := range k.out {
					if err = emit(pr); err != nil {
						cancel()
						break
					}
					st.Emitted++
				}
				st.CandidatePairs += int64(len(k.pairs))
				if progress != nil && err == nil {
					progress(st.CandidatePairs, max(total, st.CandidatePairs))
				}
			}
			p.free <- k
		}
	}
	return err
}
