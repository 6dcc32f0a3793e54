package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	badger "github.com/dgraph-io/badger/v4"
)

// The store keeps every version of a patient: the current one under
// p<id>, each superseded one (an older resource, or a tombstone) under
// h<id>\x00<version>, copied there by the write that replaced it, in the
// same transaction. FHIR vread and _history read them. Creates of new ids
// (the whole of a bulk load of new patients) write no history; an update
// costs one more read and write of the old value.

// historyKey is the key of version v of id.
func historyKey(id string, v uint64) []byte {
	k := make([]byte, 0, 1+len(id)+1+8)
	k = append(k, prefixHistory)
	k = append(k, id...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, v)
}

// historyPrefix is the prefix of every kept version of id.
func historyPrefix(id string) []byte {
	k := make([]byte, 0, 1+len(id)+1)
	k = append(k, prefixHistory)
	k = append(k, id...)
	return append(k, 0)
}

// keepVersion copies the current value of id (version v) to its history
// key, in txn; the caller is about to replace it.
func keepVersion(txn *badger.Txn, id string, v uint64) error {
	item, err := txn.Get(patientKey(id))
	if err != nil {
		return fmt.Errorf("store: keep version %d of %q: %w", v, id, err)
	}
	val, err := item.ValueCopy(nil)
	if err != nil {
		return fmt.Errorf("store: keep version %d of %q: %w", v, id, err)
	}
	return txn.Set(historyKey(id, v), val)
}

// History returns every version of id the store holds, newest first: the
// current one (live, or a tombstone with Deleted set) and each one it
// superseded. An id never stored is ErrNotFound.
func (s *Store) History(ctx context.Context, id string) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Entry
	err := s.read(func(txn *badger.Txn) error {
		cur, err := readEntry(txn, patientKey(id), id)
		if err != nil {
			return err
		}
		out = append(out, cur)
		opts := badger.DefaultIteratorOptions
		opts.Prefix = historyPrefix(id)
		it := txn.NewIterator(opts)
		defer it.Close()
		var older []Entry
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var e Entry
			if err := it.Item().Value(func(v []byte) (err error) {
				e, err = decodePatient(id, v, true)
				return err
			}); err != nil {
				return err
			}
			older = append(older, e)
		}
		slices.Reverse(older)
		out = append(out, older...)
		return nil
	})
	return out, err
}

// GetVersion returns version v of id: the current one or a superseded one,
// a deleted version as a tombstone (Deleted set, no resource). A version
// the store does not hold is ErrNotFound.
func (s *Store) GetVersion(ctx context.Context, id string, v uint64) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	var e Entry
	err := s.read(func(txn *badger.Txn) error {
		cur, err := readEntry(txn, patientKey(id), id)
		if err != nil {
			return err
		}
		if cur.VersionID == v {
			e = cur
			return nil
		}
		if v == 0 || v > cur.VersionID {
			return fmt.Errorf("%w: %q version %d", ErrNotFound, id, v)
		}
		e, err = readEntry(txn, historyKey(id, v), id)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: %q version %d", ErrNotFound, id, v)
		}
		return err
	})
	return e, err
}

// readEntry decodes the patient value under key (tombstones included).
func readEntry(txn *badger.Txn, key []byte, id string) (Entry, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Entry{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err != nil {
		return Entry{}, err
	}
	var e Entry
	err = item.Value(func(v []byte) (err error) {
		e, err = decodePatient(id, v, true)
		return err
	})
	return e, err
}

// List calls fn with every live patient whose id sorts after `after` (""
// for the first), in id order, with its resource, until fn returns false
// or an error (which List returns).
func (s *Store) List(ctx context.Context, after string, fn func(Entry) (bool, error)) error {
	return s.read(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte{prefixPatient}
		opts.PrefetchSize = 64
		it := txn.NewIterator(opts)
		defer it.Close()
		start := patientKey(after)
		if after != "" {
			start = append(start, 0) // the first id after `after`
		}
		for it.Seek(start); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			id := string(item.Key()[1:])
			var e Entry
			if err := item.Value(func(v []byte) (err error) {
				e, err = decodePatient(id, v, true)
				return err
			}); err != nil {
				return err
			}
			if e.Deleted {
				continue
			}
			more, err := fn(e)
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
}
