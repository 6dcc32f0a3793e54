package matcher

import (
	"context"
	"errors"

	"github.com/patientmatch/patientmatch/index"
	"github.com/patientmatch/patientmatch/internal/seqwatch"
)

// indexWriteFunc writes one batch of the indexer (index.Index.Write).
type indexWriteFunc func(ctx context.Context, changes []index.Change, checkpoint uint64) error

// maxIndexBatch caps how many changes the indexer coalesces into one bleve
// batch.
const maxIndexBatch = 10000

// indexWorkers is how many bleve batches the indexer has in flight at once.
// bleve builds a batch's segment in the goroutine that hands it over, and
// with one batch at a time that goroutine was the critical path of a bulk
// load (busy 111 s of a 116 s load of 1M patients, while the writer waited
// 34 s to hand it work).
const indexWorkers = 2

// minConcurrentBatch is the least number of changes the indexer starts a
// batch with while another is in flight.
const minConcurrentBatch = maxIndexBatch / 2

// indexJob is one bleve batch of the indexer.
type indexJob struct {
	changes []index.Change
	ids     map[string]struct{}
	last    uint64 // sequence number of the last change
	err     error  // set by the batch's goroutine before it reports
	done    bool   // seen reported; only the indexer goroutine touches it
}

func (j *indexJob) overlaps(o *indexJob) bool {
	a, b := j.ids, o.ids
	if len(a) > len(b) {
		a, b = b, a
	}
	for id := range a {
		if _, ok := b[id]; ok {
			return true
		}
	}
	return false
}

// indexer applies committed changes to the index until indexQ is closed
// (by Close). Up to indexWorkers batches are written at once; a batch
// holding a patient of a batch still in flight waits for it, so each
// patient's changes reach the index in commit order. A change counts as
// indexed (Match waits for it; the checkpoint may record it) only once
// every change before it is in too.
//
// Once Close has set stopIndexing, the indexer dispatches nothing more: it
// drops what is queued, waits for the batches in flight and records how
// far the index got. The dropped changes are committed in the store, and
// the next Open replays them from its changelog, so Close takes as long as
// the batches in flight, not as long as indexing a full queue (seconds in
// a bulk load on a loaded machine: long enough for a server's graceful
// stop to run out).
func (e *Engine) indexer() {
	defer e.indexerG.Done()
	x := &indexerState{e: e, reported: make(chan *indexJob, indexWorkers), minConcurrent: minConcurrentBatch}
	if e.opts.minConcurrentBatch > 0 {
		x.minConcurrent = e.opts.minConcurrentBatch
	}
	queue := e.indexQ
	var changes []index.Change // received, not yet dispatched
	for queue != nil || x.running > 0 || len(changes) > 0 {
		if e.stopIndexing.Load() {
			changes = nil
			if queue != nil {
				for range queue { // closed by Close right after the flag
				}
				queue = nil
			}
			if x.running > 0 {
				x.waitOne()
			}
			continue
		}
		// Dispatch at once when the index is idle (a single write is
		// matchable soonest), but start a second batch only once it is
		// large: small concurrent batches would make many small segments,
		// which cost bleve more to merge and every query more to search.
		if len(changes) > 0 && (x.running == 0 || queue == nil || len(changes) >= x.minConcurrent) {
			x.dispatch(changes)
			changes = nil
			continue
		}
		if queue == nil {
			x.waitOne()
			continue
		}
		select {
		case c, ok := <-queue:
			if !ok {
				queue = nil
				continue
			}
			changes = append(changes, c...)
		case j := <-x.reported:
			x.finish(j)
			continue
		}
		// Take whatever else is already queued into the same bleve batch:
		// fewer, larger segments are much cheaper to build and merge.
		changes, queue = coalesce(changes, queue)
	}
	if !x.broken && x.indexed > x.recorded {
		if err := e.idx.SetCheckpoint(x.indexed); err != nil {
			e.opts.Logger.Error("recording the index checkpoint failed; the index catches up on restart", "err", err)
		}
	}
}

// coalesce appends to changes whatever queue holds already, up to
// maxIndexBatch; the queue comes back nil once it is closed.
func coalesce(changes []index.Change, queue chan []index.Change) ([]index.Change, chan []index.Change) {
	for len(changes) < maxIndexBatch {
		select {
		case more, ok := <-queue:
			if !ok {
				return changes, nil
			}
			changes = append(changes, more...)
		default:
			return changes, queue
		}
	}
	return changes, queue
}

// indexerState is the indexer goroutine's bookkeeping; only that
// goroutine touches it.
type indexerState struct {
	e             *Engine
	reported      chan *indexJob // batches report here when written
	minConcurrent int            // least changes to start a concurrent batch
	inflight      []*indexJob    // dispatched and not retired, in commit order
	running       int            // inflight jobs not yet reported
	indexed       uint64         // every change up to it is in the index
	recorded      uint64         // highest checkpoint handed to a batch
	broken        bool           // a batch failed: record no more checkpoints
}

// finish retires a reported batch and advances what counts as indexed.
func (x *indexerState) finish(j *indexJob) {
	j.done = true
	x.running--
	if j.err != nil {
		// The store is right and the index lags; Sync on the next Open
		// replays the changelog from the last checkpoint, which therefore
		// must not move past this batch any more. Until then these
		// patients match only through candidates the index still finds.
		x.e.opts.Logger.Error("index update failed; it catches up on restart", "err", j.err)
		x.broken = true
	}
	for len(x.inflight) > 0 && x.inflight[0].done {
		x.indexed = x.inflight[0].last
		x.inflight = x.inflight[1:]
	}
	x.e.indexed.Advance(x.indexed)
}

func (x *indexerState) waitOne() { x.finish(<-x.reported) }

// dispatch starts a batch of changes once no batch in flight holds one of
// its patients and a worker is free, unless Close has come meanwhile.
func (x *indexerState) dispatch(changes []index.Change) {
	job := &indexJob{changes: changes, ids: make(map[string]struct{}, len(changes)), last: changes[len(changes)-1].Seq}
	for _, c := range changes {
		job.ids[c.ID] = struct{}{}
	}
	for x.running > 0 && (x.running >= indexWorkers || job.waitsFor(x.inflight)) {
		x.waitOne()
	}
	if x.e.stopIndexing.Load() {
		return // Close came while this batch waited: the next Open replays it
	}
	var checkpoint uint64
	if !x.broken && x.indexed > x.recorded {
		checkpoint, x.recorded = x.indexed, x.indexed
	}
	x.inflight = append(x.inflight, job)
	x.running++
	go func() {
		job.err = x.e.writeIndex(context.Background(), job.changes, checkpoint)
		x.reported <- job
	}()
}

// waitsFor reports whether j holds a patient of an unfinished job.
func (j *indexJob) waitsFor(inflight []*indexJob) bool {
	for _, o := range inflight {
		if !o.done && j.overlaps(o) {
			return true
		}
	}
	return false
}

// WaitIndexed blocks until every write acknowledged so far is in the
// candidate index (bulk loads call it before reporting their time). It
// returns ErrClosed when Close stops the indexer first.
func (e *Engine) WaitIndexed(ctx context.Context) error {
	err := e.indexed.Wait(ctx, e.queued.Load())
	if errors.Is(err, seqwatch.ErrStopped) {
		return ErrClosed
	}
	return err
}
