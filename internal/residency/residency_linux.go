//go:build linux

package residency

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Release asks the kernel to reclaim every page of the files under dir
// that the process has mapped read-only or shared (madvise MADV_PAGEOUT):
// clean pages are dropped, dirty pages of shared mappings are written back
// first, and a later read faults the page in again from the page cache if
// it is still there, else from the file. Private writable mappings are
// left alone (their pages are the process's own changes).
//
// Why PAGEOUT and not the cheaper MADV_DONTNEED, which would keep the
// pages in the page cache: the list of mappings is read before the advice
// is given, and badger and bleve unmap files in the background (compaction,
// merges). If a listed range were unmapped and reused by an anonymous
// private mapping in between, DONTNEED would zero that memory silently;
// PAGEOUT can only page it out, which loses nothing.
func Release(dir string) (Released, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Released{}, fmt.Errorf("residency: %w", err)
	}
	// Reading /proc/self/maps through and acting afterwards: the list may
	// change meanwhile. A range unmapped in between fails with ENOMEM
	// (ignored); one reused meanwhile is paged out, not discarded (above).
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return Released{}, fmt.Errorf("residency: %w", err)
	}
	var out Released
	prefix := filepath.Clean(abs) + string(filepath.Separator)
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		m, ok := parseMapping(sc.Text())
		if !ok || !strings.HasPrefix(m.path, prefix) || !m.droppable() {
			continue
		}
		out.Mappings++
		out.Bytes += int64(m.end - m.start)
		// Raw syscall: the range is another library's mapping, never a Go
		// pointer.
		_, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_PAGEOUT)
		switch errno {
		case 0, unix.ENOMEM:
		case unix.EINVAL:
			// Linux before 5.4 has no MADV_PAGEOUT.
			return out, ErrUnsupported
		default:
			return out, fmt.Errorf("residency: madvise %s: %w", m.path, errno)
		}
	}
	return out, sc.Err()
}

// mapping is one line of /proc/self/maps.
type mapping struct {
	start, end uintptr
	perms      string // e.g. "r--s"
	path       string
}

// droppable reports whether the mapping's pages can be reclaimed without
// touching the process's own changes: shared (dirty pages are written back
// to the file) or not writable (never modified).
func (m mapping) droppable() bool {
	return len(m.perms) == 4 && (m.perms[3] == 's' || m.perms[1] != 'w')
}

// parseMapping parses "start-end perms offset dev inode path".
func parseMapping(line string) (mapping, bool) {
	f := strings.Fields(line)
	if len(f) < 6 || !strings.HasPrefix(f[5], "/") {
		return mapping{}, false
	}
	lo, hi, ok := strings.Cut(f[0], "-")
	if !ok {
		return mapping{}, false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return mapping{}, false
	}
	// A path may hold spaces: everything after the inode.
	path := strings.Join(f[5:], " ")
	return mapping{start: uintptr(start), end: uintptr(end), perms: f[1], path: path}, true
}
