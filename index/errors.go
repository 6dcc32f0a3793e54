// Package index is the candidate index: a bleve index holding, per live
// patient, its blocking keys, which answers "who shares the most
// selective keys with this query" best first. It is derived from the
// store (package store), records in itself the store sequence number it
// reflects, and can always be caught up from the store's changelog or
// rebuilt from a full scan.
package index

import "errors"

// Sentinel errors, classified with errors.Is.
var (
	// ErrInvalid: an option cannot be used; the wrapping error says why.
	ErrInvalid = errors.New("index: invalid input")
	// ErrClosed: the index was closed.
	ErrClosed = errors.New("index: closed")
)
