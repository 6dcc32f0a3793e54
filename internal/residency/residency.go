// Package residency hands a process's mapped file pages back to the
// kernel. badger and bleve read their files through mmap: a start-up scan of
// every stored patient faults every page of the store in, and those pages
// then count in the process's resident set for as long as it runs, though a
// server needs only the few a query touches (bench/README "Hot path": 680
// MiB of the 1.5 GiB resident after start at 1M patients). Reclaiming them
// costs a page fault on the next touch, read from the file if the page
// cache no longer holds the page.
package residency

import "errors"

// ErrUnsupported is returned where the system offers no way to drop pages
// (any system but Linux).
var ErrUnsupported = errors.New("residency: not supported on this system")

// Released is what Release dropped.
type Released struct {
	// Mappings is how many mappings of files under the folder were found.
	Mappings int
	// Bytes is their total size (the most that was resident).
	Bytes int64
}
