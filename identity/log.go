package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// KV is the durable key-value store the event log lives in: the engine's
// store (a namespace of it) in production, internal/memkv in tests. Set must be
// durable when it returns. Its method set is the claims package's, so one
// adapter of the engine's KV serves both.
type KV interface {
	// Get returns the value of key, or (nil, nil) when it is absent.
	Get(ctx context.Context, key []byte) ([]byte, error)
	Set(ctx context.Context, key, value []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key []byte) error
	// Scan calls fn for every key with the prefix, in key order.
	Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error
}

// batchPrefix starts the key of every batch of events: b/<first seq as 16
// hex digits>, so that key order is log order.
const batchPrefix = "b/"

// batch is one atomic write of the log: consecutive events, and how far
// into the store's changelog the events up to them account for.
type batch struct {
	// StoreSeq: every patient write with a changelog sequence number up to
	// it has been processed by the events up to this batch.
	StoreSeq uint64  `json:"storeSeq"`
	Events   []Event `json:"events"`
}

func batchKey(first uint64) []byte { return fmt.Appendf(nil, "%s%016x", batchPrefix, first) }

// replay reads the log into a new state and returns it with the store
// sequence number the log accounts for.
func replay(ctx context.Context, kv KV) (*State, uint64, error) {
	st := NewState()
	var storeSeq uint64
	err := kv.Scan(ctx, []byte(batchPrefix), func(key, value []byte) error {
		var b batch
		if err := json.Unmarshal(value, &b); err != nil {
			return fmt.Errorf("identity: log batch %s: %w", key, err)
		}
		for _, e := range b.Events {
			st.Apply(e)
		}
		storeSeq = max(storeSeq, b.StoreSeq)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("identity: reading the log: %w", err)
	}
	return st, storeSeq, nil
}

// logWriter writes events to the KV in batches. Appends are cheap (memory
// only); Flush writes what is pending as one batch, one durable write for
// however many events.
type logWriter struct {
	kv KV
	// flushMu serialises flushes so batches reach the KV in order.
	flushMu sync.Mutex
	mu      struct {
		sync.Mutex
		pending  []Event
		storeSeq uint64
		err      error // the last failed flush; reported by the next
		// written is the storeSeq the log holds; next is the sequence
		// number of the next event, the key of a batch that only moves
		// storeSeq (the next batch with events overwrites it).
		written, next uint64
	}
}

// resume tells w where the replayed log ends: its last event's sequence
// number and its storeSeq.
func (w *logWriter) resume(lastEvent, storeSeq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mu.next, w.mu.written = lastEvent+1, storeSeq
	w.mu.storeSeq = max(w.mu.storeSeq, storeSeq)
}

// append queues events; storeSeq is how far into the changelog the state
// including them accounts for.
func (w *logWriter) append(storeSeq uint64, es ...Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mu.pending = append(w.mu.pending, es...)
	w.mu.storeSeq = max(w.mu.storeSeq, storeSeq)
}

// flush writes every pending event durably, in order, or, with none
// pending, how far the changelog is accounted for when that moved
// (writes that changed no identity still need no catch-up after a
// restart). A failed write keeps the events pending (the next flush
// retries them).
func (w *logWriter) flush(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	es, seq, key := w.mu.pending, w.mu.storeSeq, w.mu.next
	w.mu.pending = nil
	written := w.mu.written
	w.mu.Unlock()
	if len(es) == 0 && seq <= written {
		return nil
	}
	if len(es) > 0 {
		key = es[0].Seq
	}
	v, err := json.Marshal(batch{StoreSeq: seq, Events: es})
	if err == nil {
		err = w.kv.Set(context.WithoutCancel(ctx), batchKey(key), v)
	}
	if err != nil {
		w.mu.Lock()
		w.mu.pending = append(es, w.mu.pending...)
		w.mu.Unlock()
		return fmt.Errorf("identity: writing the log: %w", err)
	}
	w.mu.Lock()
	w.mu.written = max(w.mu.written, seq)
	if len(es) > 0 {
		w.mu.next = max(w.mu.next, es[len(es)-1].Seq+1)
	}
	w.mu.Unlock()
	return nil
}
