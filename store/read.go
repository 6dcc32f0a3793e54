package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// Resources returns the stored FHIR resource of each of ids, nil for an
// id that is not stored or is deleted: what a $match answer needs. It
// reads them in one transaction and skips decoding the records (Get
// decodes the whole stored patient), and the resources share one
// allocation, sized before it is filled.
func (s *Store) Resources(ctx context.Context, ids []string) ([]json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, len(ids))
	ends := make([]int, len(ids))
	var buf []byte
	err := s.read(func(txn *badger.Txn) error {
		// Look every id up first so that buf is sized once, from the
		// stored values' lengths (each bounds its resource): growing it by
		// appends would leave the smaller copies as garbage per $match.
		items := make([]*badger.Item, len(ids))
		size := 0
		for i, id := range ids {
			item, err := txn.Get(patientKey(id))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			items[i] = item
			size += int(item.ValueSize())
		}
		buf = make([]byte, 0, size)
		for i, item := range items {
			ends[i] = -1
			if item == nil {
				continue
			}
			err := item.Value(func(v []byte) error {
				res, ok, err := storedResource(v)
				if err != nil {
					return fmt.Errorf("patient %q: %w", ids[i], err)
				}
				if ok {
					buf = append(buf, res...)
					ends[i] = len(buf)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	start := 0
	for i, end := range ends {
		if end >= 0 {
			out[i] = json.RawMessage(buf[start:end:end])
			start = end
		}
	}
	return out, nil
}

// storedResource is the FHIR resource of a stored patient value (it
// aliases v); ok is false for a deleted patient.
func storedResource(v []byte) (res []byte, ok bool, err error) {
	m, rest, err := readMeta(v)
	if err != nil || m.deleted {
		return nil, false, err
	}
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return nil, false, fmt.Errorf("%w: record length", errCorrupt)
	}
	return rest[k+int(n):], true, nil
}
