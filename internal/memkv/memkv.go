// Package memkv is an in-memory key-value store with the method set of the
// KV interfaces that claims (OIDC links) and identity (its event log)
// declare, for their tests; a server adapts the engine's store to them.
package memkv

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
)

// ErrInjected is the error of a Set that FailSets made fail.
var ErrInjected = errors.New("memkv: injected failure")

// KV is an in-memory key-value store, safe for concurrent use. Values go
// in and out as copies.
type KV struct {
	mu sync.Mutex
	m  map[string][]byte
	// FailSets, when positive, makes that many Set calls fail with
	// ErrInjected (set it before the KV is shared).
	FailSets int
}

// New returns an empty KV.
func New() *KV { return &KV{m: map[string][]byte{}} }

// Get returns the value of key, or (nil, nil) when it is absent.
func (kv *KV) Get(_ context.Context, key []byte) ([]byte, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	v, ok := kv.m[string(key)]
	if !ok {
		return nil, nil
	}
	return bytes.Clone(v), nil
}

// Set sets the value of key.
func (kv *KV) Set(_ context.Context, key, value []byte) error {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.FailSets > 0 {
		kv.FailSets--
		return ErrInjected
	}
	kv.m[string(key)] = bytes.Clone(value)
	return nil
}

// Delete removes key; deleting an absent key is not an error.
func (kv *KV) Delete(_ context.Context, key []byte) error {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	delete(kv.m, string(key))
	return nil
}

// Scan calls fn for every key with the prefix, in key order, until fn
// returns an error (which Scan returns) or ctx is done. It works on a
// snapshot, so fn may call back into kv.
func (kv *KV) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	kv.mu.Lock()
	type pair struct{ k, v []byte }
	var pairs []pair
	for k, v := range kv.m {
		if strings.HasPrefix(k, string(prefix)) {
			pairs = append(pairs, pair{[]byte(k), bytes.Clone(v)})
		}
	}
	kv.mu.Unlock()
	slices.SortFunc(pairs, func(a, b pair) int { return bytes.Compare(a.k, b.k) })
	for _, p := range pairs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(p.k, p.v); err != nil {
			return err
		}
	}
	return nil
}
