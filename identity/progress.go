package identity

import (
	"context"
	"sync"
)

// progress is a sequence number goroutines can wait to reach.
type progress struct {
	mu      sync.Mutex
	seq     uint64
	changed chan struct{} // closed and replaced at every advance
}

func (p *progress) init() { p.changed = make(chan struct{}) }

// advance moves the sequence number to seq (never back) and wakes waiters.
func (p *progress) advance(seq uint64) {
	p.mu.Lock()
	p.seq = max(p.seq, seq)
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// wait returns nil once the sequence number reaches target, ctx's error
// when ctx is done first, and ErrClosed when stop is closed first (the
// service is closing: nothing more is waited for).
func (p *progress) wait(ctx context.Context, target uint64, stop <-chan struct{}) error {
	for {
		p.mu.Lock()
		seq, ch := p.seq, p.changed
		p.mu.Unlock()
		if seq >= target {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return ErrClosed
		}
	}
}
