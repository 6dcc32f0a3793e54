package cluster

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patientmatch/patientmatch/matcher"
)

// A new replica used to replay its shard's whole history from the stream,
// paying for every write again what the first replica paid: decoding,
// storing, indexing (measured: over 85% of catch-up CPU, which no fetch
// size or batching removes). A replica therefore starts, when it can,
// from a snapshot: a copy of another replica's engine folder, taken
// closed so that store and index agree, kept in a replicated JetStream
// object store with the stream sequence it had applied. The replica
// unpacks it and replays only the writes after that sequence. Each
// snapshot also trims the shard's subject of the writes it holds
// (trimMark), so the stream no longer keeps every rewrite of a patient.

// snapshotBucket is the object store of the shards' snapshots, one object
// per shard (snapshotName), replaced by each new snapshot.
const snapshotBucket = "patientmatch_snapshots"

// snapshotApplied is the object metadata key holding the stream sequence
// the snapshot's engine had applied.
const snapshotApplied = "applied"

func snapshotName(shard int) string { return fmt.Sprintf("shard-%03d", shard) }

// Snapshot stores a snapshot of every shard this node serves as the
// shard's first holder (so one node of each shard's copies does it), when
// the shard has changed since its last snapshot. It returns how many it
// stored. A node also takes them by itself (Options.SnapshotEvery).
func (n *Node) Snapshot(ctx context.Context) (int, error) {
	stored := 0
	var errs []error
	for _, r := range n.firstHeld() {
		ok, err := r.snapshot(ctx)
		if ok {
			stored++
		}
		errs = append(errs, err)
	}
	return stored, errors.Join(errs...)
}

// firstHeld is the serving replicas of the shards of which this node is
// the first holder (rank) among the live nodes.
func (n *Node) firstHeld() []*replica {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []*replica
	for s, r := range n.mu.replicas {
		if r.serving.Load() && len(n.mu.live) > 0 && rank(n.mu.live, s)[0] == n.id {
			out = append(out, r)
		}
	}
	return out
}

// maybeSnapshot starts, in the background, a snapshot of one shard this
// node holds first that has applied Options.SnapshotEvery writes since
// its last one. One snapshot at a time: each closes and reopens an engine.
func (n *Node) maybeSnapshot(ctx context.Context) {
	if n.opts.SnapshotEvery < 0 || n.snapshotting.Load() {
		return
	}
	for _, r := range n.firstHeld() {
		if r.sinceSnapshot.Load() < int64(n.opts.SnapshotEvery) {
			continue
		}
		n.snapshotting.Store(true)
		n.bg.Go(func() {
			defer n.snapshotting.Store(false)
			if _, err := r.snapshot(ctx); err != nil && ctx.Err() == nil {
				n.log.Warn("snapshot failed", "shard", r.shard, "err", err)
			}
		})
		return
	}
}

// snapshot stores the shard's snapshot and trims the shard's subject of
// the writes it holds, unless the stored snapshot is as recent as the
// replica. In order: a trim mark is published; the replica applies it;
// its engine folder is packed and stored; the shard's messages before the
// mark are purged. It reports whether it stored a snapshot.
func (r *replica) snapshot(ctx context.Context) (bool, error) {
	n := r.node
	if last, err := n.snapshotSeq(ctx, r.shard); err != nil {
		return false, err
	} else if last >= r.applied.Load() {
		return false, nil
	}
	// A compacted index (one segment) makes the snapshot, and every replica
	// restored from it, cheaper to query: a query looks each key up in
	// every segment. Queries and writes go on meanwhile.
	if err := r.compact(ctx); err != nil {
		return false, err
	}
	mark, err := n.publishTrimMark(ctx, r.shard)
	if err != nil {
		return false, err
	}
	if err := r.applied.Wait(ctx, mark); err != nil {
		return false, fmt.Errorf("cluster: shard %d: waiting for the trim mark: %w", r.shard, err)
	}
	if err := r.storeSnapshot(ctx); err != nil {
		return false, err
	}
	if err := n.stream.Purge(ctx, jetstream.WithPurgeSubject(shardSubject(r.shard)), jetstream.WithPurgeSequence(mark)); err != nil {
		return true, fmt.Errorf("cluster: shard %d: trimming the stream before %d: %w", r.shard, mark, err)
	}
	return true, nil
}

func (r *replica) compact(ctx context.Context) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.eng == nil {
		return matcher.ErrClosed
	}
	if err := r.eng.Compact(ctx); err != nil {
		return fmt.Errorf("cluster: shard %d: compacting before the snapshot: %w", r.shard, err)
	}
	return nil
}

// publishTrimMark publishes a trim mark on the shard's subject, right
// after its last message, and returns the mark's sequence.
func (n *Node) publishTrimMark(ctx context.Context, shard int) (uint64, error) {
	for attempt := 0; ; attempt++ {
		var prev uint64
		m, err := n.stream.GetLastMsgForSubject(ctx, shardSubject(shard))
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
		case err != nil:
			return 0, fmt.Errorf("cluster: shard %d: reading its last sequence: %w", shard, err)
		default:
			prev = m.Sequence
		}
		data, err := json.Marshal(writeOp{Trim: &trimMark{Prev: prev}})
		if err != nil {
			return 0, fmt.Errorf("cluster: %w", err)
		}
		ack, err := n.js.Publish(ctx, shardSubject(shard), data, jetstream.WithExpectLastSequencePerSubject(prev))
		if err == nil {
			return ack.Sequence, nil
		}
		// A write came in between: read the last sequence again.
		if ctx.Err() != nil || attempt >= 20 {
			return 0, fmt.Errorf("cluster: shard %d: publishing the trim mark: %w", shard, err)
		}
		sleep(ctx, 10*time.Millisecond)
	}
}

// storeSnapshot packs the replica's engine folder and stores it as the
// shard's snapshot.
func (r *replica) storeSnapshot(ctx context.Context) error {
	n := r.node
	f, err := os.CreateTemp(n.opts.Dir, "snapshot-*.tar")
	if err != nil {
		return fmt.Errorf("cluster: shard %d: snapshot: %w", r.shard, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	applied, err := r.pack(f)
	if err != nil {
		return fmt.Errorf("cluster: shard %d: snapshot: %w", r.shard, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("cluster: shard %d: snapshot: %w", r.shard, err)
	}
	// Never replace a newer snapshot (another node's, should two have
	// taken one at once): a trim may rely on it.
	if last, err := n.snapshotSeq(ctx, r.shard); err != nil {
		return err
	} else if last >= applied {
		return nil
	}
	meta := jetstream.ObjectMeta{Name: snapshotName(r.shard), Metadata: map[string]string{snapshotApplied: strconv.FormatUint(applied, 10)}}
	if _, err := n.snaps.Put(ctx, meta, f); err != nil {
		return fmt.Errorf("cluster: shard %d: storing the snapshot: %w", r.shard, err)
	}
	r.log.Info("snapshot stored", "applied", applied)
	return nil
}

// snapshotSeq is the sequence of the shard's stored snapshot, 0 if none.
func (n *Node) snapshotSeq(ctx context.Context, shard int) (uint64, error) {
	info, err := n.snaps.GetInfo(ctx, snapshotName(shard))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cluster: shard %d: reading the snapshot's sequence: %w", shard, err)
	}
	seq, err := strconv.ParseUint(info.Metadata[snapshotApplied], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cluster: shard %d: the snapshot's sequence: %w", shard, err)
	}
	return seq, nil
}

// pack writes the engine folder to w as a tar, with the engine closed
// (queries and writes of the shard wait meanwhile), and returns the
// stream sequence the packed engine had applied.
func (r *replica) pack(w io.Writer) (uint64, error) {
	r.paused.Store(true)
	defer r.paused.Store(false)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.eng == nil {
		return 0, matcher.ErrClosed
	}
	// Applying holds the lock shared, so nothing is half-applied here.
	applied := r.applied.Load()
	if err := r.eng.Close(); err != nil {
		return 0, fmt.Errorf("closing the engine: %w", err)
	}
	werr := writeTar(w, r.dir)
	oerr := r.openEngineLocked()
	if werr == nil && oerr == nil {
		r.sinceSnapshot.Store(0)
	}
	return applied, errors.Join(werr, oerr)
}

// openEngineLocked opens the replica's engine with the cluster's current
// scoring tables. Call with r.mu held.
func (r *replica) openEngineLocked() error {
	model, terms, rev := r.node.scoringTables()
	eng, err := matcher.Open(r.dir, matcher.Options{Logger: r.log, Model: model, TermFrequencies: terms, WriteBuffer: replicaWriteBuffer, NoSync: true, ReleaseOpenReads: true})
	if err != nil {
		r.eng = nil
		return fmt.Errorf("opening the engine: %w", err)
	}
	r.eng, r.termsRev = eng, rev
	return nil
}

// restore fills the replica's folder, which must not exist, from the
// shard's snapshot. It reports false when there is no snapshot.
func (r *replica) restore(ctx context.Context) (bool, error) {
	res, err := r.node.snaps.Get(ctx, snapshotName(r.shard))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the snapshot: %w", err)
	}
	defer res.Close()
	// Unpacked beside the folder and renamed into place, so a failed
	// restore leaves no half folder for the next attempt to open.
	tmp := r.dir + ".restore"
	if err := os.RemoveAll(tmp); err != nil {
		return false, err
	}
	if err := readTar(res, tmp); err != nil {
		os.RemoveAll(tmp)
		return false, fmt.Errorf("unpacking the snapshot: %w", err)
	}
	if err := res.Error(); err != nil {
		os.RemoveAll(tmp)
		return false, fmt.Errorf("reading the snapshot: %w", err)
	}
	if err := os.Rename(tmp, r.dir); err != nil {
		return false, err
	}
	return true, nil
}

// writeTar writes the regular files and folders under dir to w.
func writeTar(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return nil // no sockets or links in an engine folder
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil || info.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	return errors.Join(err, tw.Close())
}

// readTar unpacks a tar written by writeTar into dir (created).
func readTar(r io.Reader, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(h.Name)
		if !filepath.IsLocal(name) || strings.Contains(h.Name, `\`) {
			return fmt.Errorf("snapshot entry %q is outside the folder", h.Name)
		}
		path := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(path, tr, h.FileInfo().Mode().Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("snapshot entry %q: unexpected type %c", h.Name, h.Typeflag)
		}
	}
}

func writeFile(path string, r io.Reader, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}
