package identity

import (
	"context"
	"sync"

	"github.com/patientmatch/patientmatch/matcher"
)

// pendingWrite is a write on its way through a catch-up: its Match runs
// on a worker, its plan in commit order.
type pendingWrite struct {
	w matcher.Written
	// live is the count of live writes linked before the Match began.
	live uint64
	hits []matcher.Match
	err  error
	done chan struct{} // closed when hits and err are set
}

// catchUp processes the changelog's writes after from up to to, calling
// step after each. CatchUpWorkers Matches run ahead of the planner: a
// write's Match reads only the engine, never the identity state, so
// running it early changes nothing, and the plans, made one write at a
// time in commit order, see the same state as a one-by-one pass. One
// exception: a live write linked between a write's Match and its plan
// found the write unassigned, and the early Match could not see it, so
// the pair would be lost; such a write is matched again.
func (s *Service) catchUp(ctx context.Context, from, to uint64, by Actor, step func()) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers := s.opts.CatchUpWorkers
	jobs := make(chan *pendingWrite)
	ordered := make(chan *pendingWrite, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for p := range jobs {
				p.live = s.liveLinked.Load()
				p.hits, p.err = s.matchFor(ctx, p.w)
				close(p.done)
			}
		})
	}
	planned := make(chan error, 1)
	go func() {
		err := s.planInOrder(ctx, ordered, by, step)
		if err != nil {
			cancel(err)
		}
		planned <- err
	}()
	err := s.eng.Changes(ctx, from, func(w matcher.Written) error {
		if w.Seq > to {
			return nil // written live since CatchUp began: observed already
		}
		p := &pendingWrite{w: w, done: make(chan struct{})}
		for _, ch := range []chan *pendingWrite{ordered, jobs} {
			select {
			case ch <- p:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		return nil
	})
	close(jobs)
	close(ordered)
	wg.Wait()
	if perr := <-planned; perr != nil {
		return perr // the cause of the Changes error, if any
	}
	return err
}

// planInOrder plans and commits each write of ordered, in order, once its
// Match is done; it stops at the first failure.
func (s *Service) planInOrder(ctx context.Context, ordered <-chan *pendingWrite, by Actor, step func()) error {
	for p := range ordered {
		select {
		case <-p.done:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if p.err != nil {
			return p.err
		}
		s.procMu.Lock()
		err := error(nil)
		if s.liveLinked.Load() != p.live {
			p.hits, err = s.matchFor(ctx, p.w)
		}
		if err == nil {
			err = s.applyLocked(p.w, p.hits, by)
		}
		if err == nil {
			s.mu.Lock()
			if !s.mu.caughtUp {
				s.mu.watermark = max(s.mu.watermark, p.w.Seq)
			}
			s.mu.Unlock()
			s.maybeFlush(ctx)
		}
		s.procMu.Unlock()
		if err != nil {
			return err
		}
		step()
	}
	return nil
}
