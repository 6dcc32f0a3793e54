package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
)

// KV is a small key-value namespace inside the store, for other packages'
// durable state that belongs with the patients (OIDC identity links, the
// engine's settings). Writes are synced like patient writes but are not
// in the changelog. Keys are any non-empty strings; values are bytes.
type KV struct {
	s      *Store
	prefix []byte
}

// KV returns the namespace with the given name. Names must be non-empty
// and hold no NUL byte; different names never see each other's keys.
func (s *Store) KV(namespace string) (*KV, error) {
	if namespace == "" || strings.IndexByte(namespace, 0) >= 0 {
		return nil, fmt.Errorf("%w: KV namespace %q", ErrInvalid, namespace)
	}
	p := make([]byte, 0, len(namespace)+2)
	p = append(p, prefixKV)
	p = append(p, namespace...)
	p = append(p, 0)
	return &KV{s: s, prefix: p}, nil
}

func (kv *KV) key(k string) ([]byte, error) {
	if k == "" || len(k) > MaxIDLen {
		return nil, fmt.Errorf("%w: KV key of %d bytes", ErrInvalid, len(k))
	}
	out := make([]byte, 0, len(kv.prefix)+len(k))
	return append(append(out, kv.prefix...), k...), nil
}

// Get returns the value of key, or ErrKeyNotFound.
func (kv *KV) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, err := kv.key(key)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = kv.s.read(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: %q", ErrKeyNotFound, key)
		}
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	return out, err
}

// Put sets key to value, durably.
func (kv *KV) Put(ctx context.Context, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k, err := kv.key(key)
	if err != nil {
		return err
	}
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{}
	}
	return kv.s.write(func() error {
		return kv.s.db.Update(func(txn *badger.Txn) error { return txn.Set(k, v) })
	})
}

// Delete removes key; deleting an absent key is not an error.
func (kv *KV) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k, err := kv.key(key)
	if err != nil {
		return err
	}
	return kv.s.write(func() error {
		return kv.s.db.Update(func(txn *badger.Txn) error { return txn.Delete(k) })
	})
}

// List calls fn for every key starting with prefix, in key order, with a
// value fn may keep; it stops at fn's first error and returns it.
func (kv *KV) List(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	p := append(bytes.Clone(kv.prefix), prefix...)
	return kv.s.read(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = p
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if err := fn(string(item.Key()[len(kv.prefix):]), v); err != nil {
				return err
			}
		}
		return nil
	})
}
