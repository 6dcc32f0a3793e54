// Package index holds the patients: Store, the badger store that is the
// source of truth (FHIR JSON, normalized record, version, a changelog),
// and Index, the bleve candidate index derived from it (blocking keys per
// patient), which can always be rebuilt from the store and catches up
// with it from the changelog after a crash.
package index

import "errors"

// Sentinel errors, classified with errors.Is.
var (
	// ErrNotFound: no live patient has the id (never stored, or deleted).
	ErrNotFound = errors.New("index: patient not found")
	// ErrKeyNotFound: a KV namespace holds no value for the key.
	ErrKeyNotFound = errors.New("index: key not found")
	// ErrInvalid: an entry, key or option cannot be used; the wrapping
	// error says why.
	ErrInvalid = errors.New("index: invalid input")
	// ErrBatchTooBig: a Put batch does not fit in one transaction; split
	// it, or use PutMany, which commits in atomic chunks.
	ErrBatchTooBig = errors.New("index: batch too big for one transaction")
	// ErrClosed: the store or index was closed.
	ErrClosed = errors.New("index: closed")
)
