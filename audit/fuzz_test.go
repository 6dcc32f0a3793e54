package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzVerify feeds arbitrary files to the chain checker (an audit file is
// read back from disk, where anyone with access may have edited it): never a
// panic, and whatever verifies can be appended to and still verifies.
func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.jsonl")
	writeN(f, path, 3)
	if seed, err := os.ReadFile(path); err == nil {
		f.Add(seed)
		f.Add(seed[:len(seed)/2])
	}
	f.Add([]byte(`{"hash":"x"}` + "\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Verify(bytes.NewReader(data))
		if err != nil {
			return
		}
		p := filepath.Join(t.TempDir(), "a.jsonl")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(p, Options{})
		if err != nil {
			t.Fatalf("verified trail (%d records) cannot be opened: %v", res.Records, err)
		}
		if err := l.Write(Entry{Protocol: "http", Operation: "x", Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		if _, err := Verify(fh); err != nil {
			t.Fatalf("appending to a verified trail broke it: %v", err)
		}
	})
}
