package matcher

import (
	"context"
	"errors"
	"fmt"

	"github.com/patientmatch/patientmatch/index"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
	"github.com/patientmatch/patientmatch/store"
)

// Written is one committed write, as an Observer sees it.
type Written struct {
	// Seq is the write's changelog sequence number in the store.
	Seq uint64
	ID  string
	// Record is the patient's normalized record; nil when the write
	// deleted it.
	Record *record.Record
}

// Observer is told of every committed write, in commit order, once the
// patient is matchable (identity linking hooks in here). Written runs
// while the engine holds its write lock, so it must not write to the
// engine; it may call Match. It cannot fail the write, which is durable
// already: an observer that cannot keep up records what it missed and
// catches up from Changes.
type Observer interface {
	Written(ctx context.Context, ws []Written)
}

// SetObserver makes o the engine's write observer (nil removes it).
func (e *Engine) SetObserver(o Observer) {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.observer = o
}

// notify tells the observer about committed changes; the caller holds
// writeMu.
func (e *Engine) notify(ctx context.Context, changes []index.Change) {
	if e.observer == nil || len(changes) == 0 {
		return
	}
	ws := make([]Written, len(changes))
	for i, c := range changes {
		ws[i] = Written{Seq: c.Seq, ID: c.ID, Record: c.Record}
	}
	// The write is acknowledged whatever happens to the observer, so a
	// cancelled request must not cut its work short.
	e.observer.Written(context.WithoutCancel(ctx), ws)
}

// LastSeq is the sequence number of the last committed write.
func (e *Engine) LastSeq() uint64 { return e.store.LastSeq() }

// Changes calls fn, in commit order, for the current state of every
// patient written after afterSeq (once per patient, at its last write):
// observers catch up through it after a restart, and batch passes walk
// the stored population with it (afterSeq 0).
func (e *Engine) Changes(ctx context.Context, afterSeq uint64, fn func(Written) error) error {
	if e.isClosed() {
		return ErrClosed
	}
	last := map[string]uint64{}
	var order []string
	err := e.store.Changes(ctx, afterSeq, func(seq uint64, id string, _ bool) error {
		if _, ok := last[id]; !ok {
			order = append(order, id)
		}
		last[id] = seq
		return nil
	})
	if err != nil {
		return fmt.Errorf("matcher: changes: %w", FromStore(err))
	}
	for _, id := range order {
		w := Written{Seq: last[id], ID: id}
		en, err := e.store.Get(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return fmt.Errorf("matcher: changes: %w", FromStore(err))
		default:
			w.Record = &en.Record
		}
		if err := fn(w); err != nil {
			return err
		}
	}
	return nil
}

// PairResult is how two stored patients score against each other.
type PairResult struct {
	scoring.Result
	// Prior is the model's log2 prior odds: Weight is Prior plus the sum
	// of the explanation's weights.
	Prior       float64
	Explanation []scoring.ComparisonResult
}

// ComparePair scores the stored patients a and b against each other with
// the engine's scorer (a data steward's side-by-side view).
func (e *Engine) ComparePair(_ context.Context, a, b string) (PairResult, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.mu.closed {
		return PairResult{}, ErrClosed
	}
	var pa, pb scoring.Prepared
	for _, x := range []struct {
		id string
		p  *scoring.Prepared
	}{{a, &pa}, {b, &pb}} {
		ok, err := e.mu.table.get(x.id, x.p)
		if err != nil {
			return PairResult{}, err
		}
		if !ok {
			return PairResult{}, fmt.Errorf("%w: %s", ErrNotFound, x.id)
		}
	}
	res := PairResult{Result: e.scorer.Score(&pa, &pb), Explanation: e.scorer.Explain(&pa, &pb)}
	res.Prior = res.Weight
	for _, c := range res.Explanation {
		res.Prior -= c.Weight
	}
	return res, nil
}
