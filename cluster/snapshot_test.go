package cluster

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
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

// TestTrimRestoresBehind: a snapshot trims the shard's writes from the
// stream; a replica that was down meanwhile, and so had not applied them,
// finds the trim mark, restores the snapshot and holds every patient.
func TestTrimRestoresBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server and three nodes")
	}
	_, urls := startNATS(t, 1)
	opts := func(id string) Options {
		o := testNodeOptions(t, urls)
		o.NodeID, o.Shards, o.SnapshotEvery = id, 2, -1
		return o
	}
	a := openNode(t, opts("a"))
	ob := opts("b")
	b := openNode(t, ob)
	waitSettled(t, []*Node{a, b}, 0, time.Minute)
	ctx := context.Background()
	pats := synthPatients(t, 600, 3)
	load := func(ps []*fm.Patient) {
		for i := 0; i < len(ps); i += 100 {
			if _, err := a.UpsertBatch(ctx, ps[i:min(i+100, len(ps))]); err != nil {
				t.Fatal(err)
			}
		}
	}
	load(pats[:300])
	waitSettled(t, []*Node{a, b}, 0, time.Minute)
	b.kill()
	load(pats[300:])
	load(pats[:100]) // rewrites: more messages, no new patients
	snapshotAll(t, a)

	info, err := a.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != uint64(a.shards) {
		t.Errorf("the stream holds %d messages after trimming, want %d (one trim mark a shard)", info.State.Msgs, a.shards)
	}

	b2 := openNode(t, ob) // b's folder, 300 patients applied
	waitSettled(t, []*Node{a, b2}, 0, 2*time.Minute)
	if got := localLen(b2); got != len(pats) {
		t.Fatalf("the replica that was behind holds %d patients, want %d", got, len(pats))
	}
}
