//go:build linux

package residency

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

const fileSize = 4 << 20

// mapFile writes a file of fileSize bytes under dir and maps it.
func mapFile(t *testing.T, dir string, prot, flags int) []byte {
	t.Helper()
	p := filepath.Join(dir, "seg.zap")
	if err := os.WriteFile(p, bytes.Repeat([]byte{7}, fileSize), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := unix.Mmap(int(f.Fd()), 0, fileSize, prot, flags)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(b) })
	return b
}

// touch reads every page of b.
func touch(b []byte) (sum int) {
	for i := 0; i < len(b); i += os.Getpagesize() {
		sum += int(b[i])
	}
	return sum
}

// rssKB is the resident size of the mapping starting at b, from
// /proc/self/smaps.
func rssKB(t *testing.T, b []byte) int {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	start := strconv.FormatUint(uint64(uintptr(unsafe.Pointer(&b[0]))), 16) + "-"
	in := false
	for _, line := range strings.Split(string(smaps), "\n") {
		if strings.Contains(line, "-") && len(strings.Fields(line)) >= 5 && !strings.HasSuffix(strings.Fields(line)[0], ":") {
			in = strings.HasPrefix(line, start)
			continue
		}
		if f := strings.Fields(line); in && len(f) == 3 && f[0] == "Rss:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("mapping at %s not in smaps", start)
	return 0
}

func TestReleaseDropsSharedPages(t *testing.T) {
	dir := t.TempDir()
	b := mapFile(t, dir, unix.PROT_READ, unix.MAP_SHARED)
	if got := touch(b); got != 7*fileSize/os.Getpagesize() {
		t.Fatalf("read %d", got)
	}
	if kb := rssKB(t, b); kb < fileSize>>10 {
		t.Fatalf("resident %d KB after reading every page, want %d", kb, fileSize>>10)
	}
	r, err := Release(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Mappings != 1 || r.Bytes != fileSize {
		t.Errorf("released %+v, want 1 mapping of %d bytes", r, fileSize)
	}
	if kb := rssKB(t, b); kb != 0 {
		t.Errorf("resident %d KB after Release, want 0", kb)
	}
	// The pages come back, unchanged, when read.
	if got := touch(b); got != 7*fileSize/os.Getpagesize() {
		t.Errorf("read %d after Release", got)
	}
}

// A shared writable mapping's dirty page is written back, not lost: the
// file holds the write after Release, and so does the mapping.
func TestReleaseWritesBackSharedWrites(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "seg.zap")
	if err := os.WriteFile(p, bytes.Repeat([]byte{7}, fileSize), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := unix.Mmap(int(f.Fd()), 0, fileSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(b)
	b[4096] = 9
	if _, err := Release(dir); err != nil {
		t.Fatal(err)
	}
	if b[4096] != 9 {
		t.Errorf("mapping reads %d after Release, want the write (9)", b[4096])
	}
	got := make([]byte, 1)
	if _, err := f.ReadAt(got, 4096); err != nil || got[0] != 9 {
		t.Errorf("file reads %v (%v) after Release, want the write (9)", got, err)
	}
}

func TestReleaseKeepsPrivateWrites(t *testing.T) {
	dir := t.TempDir()
	b := mapFile(t, dir, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	b[0] = 9
	r, err := Release(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Mappings != 0 || b[0] != 9 {
		t.Errorf("released %+v, first byte %d: a private writable mapping must be left alone", r, b[0])
	}
}

func TestReleaseOnlyUnderDir(t *testing.T) {
	b := mapFile(t, t.TempDir(), unix.PROT_READ, unix.MAP_SHARED)
	touch(b)
	r, err := Release(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if r.Mappings != 0 {
		t.Errorf("released %+v from another folder", r)
	}
	if kb := rssKB(t, b); kb < fileSize>>10 {
		t.Errorf("resident %d KB: a mapping outside the folder lost its pages", kb)
	}
}

func TestParseMapping(t *testing.T) {
	m, ok := parseMapping("7f00a0000000-7f00a0400000 r--s 00000000 fd:01 123 /data/x y/000.sst (deleted)")
	if !ok || m.start != 0x7f00a0000000 || m.end != 0x7f00a0400000 || m.perms != "r--s" || m.path != "/data/x y/000.sst (deleted)" || !m.droppable() {
		t.Errorf("got %+v, %v", m, ok)
	}
	for _, line := range []string{"7f00a0000000-7f00a0400000 rw-p 00000000 00:00 0", "7f00a0000000-7f00a0400000 rw-p 00000000 00:00 0 [heap]", "zz-1 r--s 0 0 0 /x"} {
		if _, ok := parseMapping(line); ok {
			t.Errorf("%q parsed", line)
		}
	}
	if (mapping{perms: "rw-p"}).droppable() {
		t.Error("a private writable mapping is droppable")
	}
}
