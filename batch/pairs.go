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
// set for Link.
type Pair struct {
	Left, Right int32
	Weight      float64
	Probability float64
	Grade       scoring.Grade
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
	slots := 4 * workers
	// Every job in circulation fits in each channel, so sends on jobs,
	// results and free never block; only taking a free job waits.
	free := make(chan *job, slots)
	jobs := make(chan *job, slots)
	results := make(chan *job, slots)
	for range slots {
		free <- &job{pairs: make([][2]int32, 0, batchSize)}
	}

	var bst blocking.Stats
	go func() {
		defer close(jobs)
		var (
			cur     *job
			seq     int64
			stopped bool
		)
		bst = enumerate(func(i, j int32) {
			if stopped {
				return // blocking cannot be interrupted; drain it cheaply
			}
			if cur == nil {
				select {
				case cur = <-free:
				case <-inner.Done():
					stopped = true
					return
				}
				cur.seq, seq = seq, seq+1
				cur.pairs = cur.pairs[:0]
			}
			cur.pairs = append(cur.pairs, [2]int32{i, j})
			if len(cur.pairs) == batchSize {
				jobs <- cur
				cur = nil
			}
		})
		if cur != nil && !stopped {
			jobs <- cur
		}
	}()

	threshold := opts.Threshold
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.out = j.out[:0]
				if inner.Err() == nil {
					for _, pr := range j.pairs {
						r := score(pr[0], pr[1])
						if r.Probability >= threshold {
							j.out = append(j.out, Pair{Left: pr[0], Right: pr[1], Weight: r.Weight, Probability: r.Probability, Grade: r.Grade})
						}
					}
				}
				results <- j
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	// Write in enumeration order. At most `slots` jobs exist, so pending
	// holds fewer than that.
	var err error
	pending := make(map[int64]*job, slots)
	var next int64
	for j := range results {
		pending[j.seq] = j
		for {
			k, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if err == nil {
				for _, p := range k.out {
					if err = emit(p); err != nil {
						cancel()
						break
					}
					st.Emitted++
				}
				st.CandidatePairs += int64(len(k.pairs))
				if opts.Progress != nil && err == nil {
					opts.Progress(st.CandidatePairs, max(total, st.CandidatePairs))
				}
			}
			free <- k
		}
	}
	st.Blocking = bst
	st.Elapsed = time.Since(start)
	if err == nil {
		err = ctx.Err()
	}
	return st, err
}
