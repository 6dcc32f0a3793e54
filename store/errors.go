// Package store is the source of truth of patientmatch: an embedded badger
// store holding, per patient, the FHIR JSON as written, its normalized
// record and its version, with a changelog of every write (which the
// candidate index in package index catches up from after a crash), and
// small key-value namespaces for other durable state kept with the
// patients (OIDC identity links). Writes are atomic and synced before
// they are acknowledged.
package store

import "errors"

// Sentinel errors, classified with errors.Is.
var (
	// ErrNotFound: no live patient has the id (never stored, or deleted).
	ErrNotFound = errors.New("store: patient not found")
	// ErrKeyNotFound: a KV namespace holds no value for the key.
	ErrKeyNotFound = errors.New("store: key not found")
	// ErrInvalid: an entry, key or option cannot be used; the wrapping
	// error says why.
	ErrInvalid = errors.New("store: invalid input")
	// ErrBatchTooBig: a Put batch does not fit in one transaction; split
	// it into smaller commits.
	ErrBatchTooBig = errors.New("store: batch too big for one transaction")
	// ErrVersionConflict: a Put entry states a version (Entry.VersionID)
	// other than the one the store assigns; nothing was written.
	ErrVersionConflict = errors.New("store: version conflict")
	// ErrClosed: the store was closed, or a Reopen could not open it
	// again (the wrapping error says why).
	ErrClosed = errors.New("store: closed")
	// ErrBusy: Reopen found no moment without an operation under way and
	// gave up, changing nothing.
	ErrBusy = errors.New("store: busy")
)
