// Package mapped measures how much of a folder's memory-mapped files is
// in this process's resident set. Badger reads its files through
// mappings, and every page a read touches counts as the process's memory
// for as long as the file stays mapped; tests of the code that lets those
// pages go (store.Reopen, the engine's Open) check the effect through it.
package mapped

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Resident returns the bytes of this process's resident set mapped from
// the files directly in dir whose extension (".sst") is one of exts,
// from /proc/self/smaps. Elsewhere than on Linux it returns an error
// wrapping errors.ErrUnsupported.
func Resident(dir string, exts ...string) (int64, error) {
	if runtime.GOOS != "linux" {
		return 0, fmt.Errorf("mapped: /proc/self/smaps: %w", errors.ErrUnsupported)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("mapped: %w", err)
	}
	defer f.Close()
	var total int64
	counted := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") {
			// A mapping's header: range, perms, offset, dev, inode[, path].
			counted = len(fields) >= 6 && filepath.Dir(fields[5]) == dir && slices.Contains(exts, filepath.Ext(fields[5]))
			continue
		}
		if counted && fields[0] == "Rss:" && len(fields) == 3 {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("mapped: smaps Rss %q: %w", fields[1], err)
			}
			total += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("mapped: %w", err)
	}
	return total, nil
}
