package cluster

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestTarRoundTrip: a folder packed by writeTar unpacks to the same files,
// and an entry naming a path outside the folder is refused.
func TestTarRoundTrip(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{"store/MANIFEST": "m", "store/000001.sst": "sst", "index/root.bolt": "bolt", "top": ""}
	for name, body := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := writeTar(&buf, src); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "out")
	if err := readTar(&buf, dst); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		got, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != body {
			t.Errorf("%s: got %q, want %q", name, got, body)
		}
	}

	var evil bytes.Buffer
	tw := tar.NewWriter(&evil)
	if err := tw.WriteHeader(&tar.Header{Name: "../escape", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte("x"))
	tw.Close()
	if err := readTar(&evil, filepath.Join(t.TempDir(), "out")); err == nil {
		t.Error("an entry outside the folder was unpacked")
	}
}
