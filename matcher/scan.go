package matcher

import (
	"context"
	"fmt"

	"github.com/patientmatch/patientmatch/store"
)

// Scan calls fn with every live patient, in id order, as Get returns it,
// and stops at the first error fn returns (which Scan returns). It reads
// the store, the source of truth, not the index; the export command uses
// it.
func (e *Engine) Scan(ctx context.Context, fn func(StoredPatient) error) error {
	if e.isClosed() {
		return ErrClosed
	}
	var fnErr error
	err := e.store.Scan(ctx, func(en store.Entry) error {
		fnErr = fn(storedOf(en, 0))
		return fnErr
	})
	switch {
	case err == nil:
		return nil
	case fnErr != nil:
		return fnErr
	}
	return fmt.Errorf("matcher: scan: %w", FromStore(err))
}
