package matcher

import (
	"errors"
	"fmt"

	"github.com/patientmatch/patientmatch/internal/residency"
)

// ReleaseMappedPages drops the pages of the data folder's files (badger's
// tables and value log, bleve's segments, all read through mmap) from the
// process's resident set (the kernel reclaims them), and a query faults
// back in the few it touches, from the page cache or the file. Open
// reads every stored patient (the prepared table, the name frequencies),
// and a server's identity catch-up reads them again: without this the
// whole store stays resident for the life of the server (680 MiB at 1M
// patients), though a query needs a few pages of it. It returns the
// number of bytes of mappings released (the most that was resident); an
// in-memory engine, or a system without the means, releases nothing and
// is not an error.
func (e *Engine) ReleaseMappedPages() (int64, error) {
	if e.isClosed() {
		return 0, ErrClosed
	}
	if e.dir == "" {
		return 0, nil
	}
	r, err := residency.Release(e.dir)
	if errors.Is(err, residency.ErrUnsupported) {
		return 0, nil
	}
	if err != nil {
		return r.Bytes, fmt.Errorf("matcher: %w", err)
	}
	return r.Bytes, nil
}
