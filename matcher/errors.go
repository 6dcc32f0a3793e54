package matcher

import "errors"

// Sentinel errors of the engine, classified with errors.Is at the API
// boundaries (FHIR OperationOutcome, gRPC status, CLI exit code).
var (
	// ErrNotFound: no live patient has the id (never stored, or deleted).
	ErrNotFound = errors.New("matcher: patient not found")
	// ErrInvalid: the input cannot be stored or matched (no id, wrong
	// resource type, nothing to match on). Wrapped errors say what is wrong.
	ErrInvalid = errors.New("matcher: invalid input")
	// ErrVersionMismatch: a conditional write (UpsertIfVersion,
	// DeleteIfVersion) found another version than the caller expected, or
	// no live patient (FHIR If-Match → 412).
	ErrVersionMismatch = errors.New("matcher: version mismatch")
	// ErrClosed: the engine was closed.
	ErrClosed = errors.New("matcher: engine closed")
)
