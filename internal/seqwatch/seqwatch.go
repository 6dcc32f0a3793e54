// Package seqwatch is a sequence number that goroutines can wait to reach:
// how far the engine's indexer, a cluster replica applying its shard, or
// the identity linker has got. Readers wait for the writes they have seen
// acknowledged (read your writes) without polling.
package seqwatch

import (
	"context"
	"errors"
	"sync"
)

// ErrStopped is what Wait returns once Stop was called and the target was
// not reached: what it waits for will not come.
var ErrStopped = errors.New("seqwatch: stopped")

// Watch is a sequence number that only moves forward. Call Init before
// anything else; the methods are then safe for concurrent use.
type Watch struct {
	mu      sync.Mutex
	seq     uint64
	changed chan struct{} // closed and replaced at every change
	stopped bool
}

// Init sets the sequence number to seq.
func (w *Watch) Init(seq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq, w.changed = seq, make(chan struct{})
}

// Load returns the sequence number.
func (w *Watch) Load() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seq
}

// Advance moves the sequence number to seq, never back, and wakes the
// waiters.
func (w *Watch) Advance(seq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if seq > w.seq {
		w.seq = seq
		w.wakeLocked()
	}
}

// Stop wakes every waiter for good: Wait, now and later, returns
// ErrStopped unless its target is reached already.
func (w *Watch) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.wakeLocked()
}

func (w *Watch) wakeLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// Wait returns nil once the sequence number reaches target, ctx's error
// when ctx is done first, and ErrStopped when the watch is stopped first.
func (w *Watch) Wait(ctx context.Context, target uint64) error {
	for {
		w.mu.Lock()
		seq, ch, stopped := w.seq, w.changed, w.stopped
		w.mu.Unlock()
		if seq >= target {
			return nil
		}
		if stopped {
			return ErrStopped
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
