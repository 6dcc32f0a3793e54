package matcher

import (
	"errors"
	"fmt"

	"github.com/patientmatch/patientmatch/store"
)

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

// FromStore classifies an error of the store for the engine's callers
// (the engine's own operations, and those of a KV from Engine.KV): a
// closed store (closed with the engine, or left closed by a reopen that
// could not open it again, see ReleaseStorePages) is ErrClosed, which the
// surfaces answer as unavailable (503, UNAVAILABLE) and an orchestrator
// can act on, not as an internal error. Other errors pass unchanged.
func FromStore(err error) error {
	if errors.Is(err, store.ErrClosed) && !errors.Is(err, ErrClosed) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}
