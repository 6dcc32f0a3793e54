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

// Release drops from the resident set every page of the files under dir
// that the process has mapped read-only or shared (madvise MADV_DONTNEED).
// Such pages are the page cache's: a later read faults them back in,
// unchanged, and writes to shared mappings stay in the cache to be written
// back. Private writable mappings are left alone (dropping their pages
// would discard the process's own changes).
func Release(dir string) (Released, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Released{}, fmt.Errorf("residency: %w", err)
	}
	// Reading /proc/self/maps through and acting afterwards: the list may
	// change meanwhile, and a range unmapped in between is harmless to
	// madvise (ENOMEM, ignored).
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
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED); errno != 0 && errno != unix.ENOMEM {
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

// droppable reports whether the mapping's pages can be dropped without
// losing anything: shared (the page cache holds them, dirty or not) or not
// writable (never modified).
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
