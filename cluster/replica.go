package cluster

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/internal/seqwatch"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
	"github.com/patientmatch/patientmatch/store"
)

// replicaWriteBuffer is each shard engine's write buffer: a node holds
// several shard engines, so each gets less than a single-node engine.
const replicaWriteBuffer = 16 << 20

// fetchBatch is the most stream messages a replica applies at once.
const fetchBatch = 256

// pullBudget bounds the stream messages a node has asked for and not yet
// taken, over all its replicas. A node consumes all its shards over one
// connection, and the NATS server cuts off a client with more than 64 MiB
// pending (a slow consumer) and drops the messages: a new node catching up
// 16 shards of 100k patients (~90 KB a message), 256 messages a pull,
// stalled that way, every replica waiting for messages that never came.
const pullBudget = 32 << 20

// pullBytes is one replica's share of pullBudget when the node could
// hold all shards of the stream, but never less than maxPayload: a pull
// smaller than one message would never deliver it.
func pullBytes(shards int, maxPayload int64) int {
	return int(max(int64(pullBudget/max(shards, 1)), maxPayload))
}

// appliedKey is where a shard engine records the stream sequence of the
// last write it applied (in the engine's own durable KV).
const appliedKey = "applied"

// replica is one node's copy of one shard: a complete single-node engine
// (badger + bleve under DIR/shards/NN) fed from the shard's subject of the
// stream by an ordered consumer. Every shard runs the same engine, so a
// query is answered by the one matching path.
type replica struct {
	shard int
	node  *Node
	dir   string
	log   *slog.Logger

	// mu guards eng against being swapped (new cluster-wide term
	// frequencies reopen it); applying and answering hold it shared.
	mu       sync.RWMutex
	eng      *matcher.Engine
	termsRev uint64

	applied seqwatch.Watch
	// serving is set once the replica has caught up with its shard and
	// answers queries as a member of the shard's queue group.
	serving atomic.Bool
	// paused is set while a snapshot has the engine closed: this node's
	// queries, and other nodes' requests to it, go to the shard's other
	// replicas meanwhile (its queue group membership stays; a request the
	// group gives it waits for the engine).
	paused atomic.Bool

	outcomes recentOutcomes
	// sinceSnapshot counts the writes applied since this replica's last
	// snapshot (Options.SnapshotEvery).
	sinceSnapshot atomic.Int64

	stop context.CancelFunc
	done chan struct{}
}

// openReplica opens the shard's engine with the cluster's model and term
// frequencies and reads how far it has applied the stream. A replica new
// to this node (no folder yet) opens nothing here: its run restores the
// shard's snapshot first, which can take long.
func (n *Node) openReplica(shard int) (*replica, error) {
	r := &replica{shard: shard, node: n, dir: filepath.Join(n.opts.Dir, "shards", fmt.Sprintf("%03d", shard)), log: n.log.With("shard", shard)}
	r.outcomes.m = map[string]recentOutcome{}
	if _, err := os.Stat(r.dir); errors.Is(err, os.ErrNotExist) {
		r.applied.Init(0)
		return r, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.openEngineLocked(); err != nil {
		return nil, fmt.Errorf("cluster: shard %d: %w", shard, err)
	}
	applied, err := readApplied(r.eng)
	if err != nil {
		r.eng.Close()
		return nil, fmt.Errorf("cluster: shard %d: %w", shard, err)
	}
	r.applied.Init(applied)
	return r, nil
}

// openNew opens the engine of a replica new to this node, from the
// shard's snapshot when there is one (then only the writes after it are
// read from the stream), else empty.
func (r *replica) openNew(ctx context.Context) error {
	if _, err := os.Stat(r.dir); errors.Is(err, os.ErrNotExist) {
		ok, err := r.restore(ctx)
		if err != nil {
			return err
		}
		if ok {
			r.log.Info("shard restored from its snapshot")
		} else if r.applied.Load() > 0 {
			// Discarded for a trim: only a snapshot can bring it back.
			return errors.New("the shard has no snapshot to restore")
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.openEngineLocked(); err != nil {
		return err
	}
	applied, err := readApplied(r.eng)
	if err != nil {
		return err
	}
	r.applied.Advance(applied)
	return nil
}

// errTrimmed: the replica reached a trim mark without having applied
// every write before it (they were purged): it must restore the snapshot.
var errTrimmed = errors.New("cluster: writes were trimmed from the stream")

// discard closes the replica's engine and removes its folder, so that run
// restores the shard's snapshot.
func (r *replica) discard() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	if r.eng != nil {
		err = r.eng.Close()
		r.eng = nil
	}
	return errors.Join(err, os.RemoveAll(r.dir))
}

// answering reports whether this node should ask this replica: serving
// and not paused by a snapshot.
func (r *replica) answering() bool { return r.serving.Load() && !r.paused.Load() }

func (r *replica) hasEngine() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.eng != nil
}

func readApplied(eng *matcher.Engine) (uint64, error) {
	kv, err := eng.KV("cluster")
	if err != nil {
		return 0, err
	}
	v, err := kv.Get(context.Background(), appliedKey)
	if isKeyNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the applied sequence: %w", err)
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("applied sequence of %d bytes", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func writeApplied(ctx context.Context, eng *matcher.Engine, seq uint64) error {
	kv, err := eng.KV("cluster")
	if err != nil {
		return err
	}
	return kv.Put(ctx, appliedKey, binary.BigEndian.AppendUint64(nil, seq))
}

// start runs the replica: catch up from the stream, then join the shard's
// queue group, then keep applying.
func (r *replica) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		r.run(ctx)
	}()
}

// close stops consuming and answering and closes the engine.
func (r *replica) close() error {
	if r.stop != nil {
		r.stop()
		<-r.done
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.eng == nil {
		return nil
	}
	return r.eng.Close()
}

func (r *replica) run(ctx context.Context) {
	var sub *nats.Subscription
	var feed *shardFeed
	defer func() {
		if sub != nil {
			_ = sub.Unsubscribe()
		}
		feed.stop()
	}()
	for ctx.Err() == nil {
		if !r.hasEngine() {
			if err := r.openNew(ctx); err != nil {
				r.log.Warn("opening the shard failed; retrying", "err", err)
				sleep(ctx, 500*time.Millisecond)
			}
			continue
		}
		if feed == nil {
			f, err := r.openFeed(ctx)
			if err != nil {
				r.log.Warn("reading the shard's stream failed; retrying", "err", err)
				sleep(ctx, 500*time.Millisecond)
				continue
			}
			feed = f
		}
		if sub == nil && r.applied.Load() >= feed.target {
			s, err := r.node.nc.QueueSubscribe(querySubject(r.shard), "q", r.handle)
			if err != nil {
				r.log.Warn("joining the shard's queue group failed; retrying", "err", err)
			} else {
				sub = s
				r.serving.Store(true)
				r.log.Info("shard caught up and serving", "applied", r.applied.Load())
			}
		}
		err := r.applyNext(ctx, feed.ch)
		if errors.Is(err, errTrimmed) && ctx.Err() == nil {
			r.log.Warn("writes this replica had not applied were trimmed from the stream; restoring the snapshot", "err", err)
			feed.stop()
			feed = nil
			if sub != nil {
				// Out of the queue group until restored and caught up.
				r.serving.Store(false)
				_ = sub.Unsubscribe()
				sub = nil
			}
			if err := r.discard(); err != nil {
				r.log.Error("discarding the shard's engine failed", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if err != nil && ctx.Err() == nil {
			// What followed the failed write is dropped with the feed and
			// read again from the stream, after what was applied.
			r.log.Warn("applying the shard's writes failed; reading them again", "err", err)
			feed.stop()
			feed = nil
			sleep(ctx, 200*time.Millisecond)
		}
	}
	r.serving.Store(false)
}

// shardFeed delivers the shard's writes from the stream, in stream order
// and without gaps, from the first one the replica has not applied.
type shardFeed struct {
	ch     chan jetstream.Msg
	cc     jetstream.ConsumeContext
	cancel context.CancelFunc
	// target is the shard's last stream sequence when the feed opened: the
	// replica serves queries once it has applied that far.
	target uint64
}

// stop ends the feed; messages it still holds are abandoned. Nil-safe.
func (f *shardFeed) stop() {
	if f == nil {
		return
	}
	f.cancel()
	f.cc.Stop()
}

// openFeed starts an ordered consumer of the shard's subject after the
// last applied write. An ordered consumer is JetStream's gapless, in-order
// reader: when a message is lost on the way (a NATS server dies, a client
// falls behind and the server drops what it sent) it starts over from the
// last message it delivered, where an acknowledged consumer would go on
// past the gap, and the replica would skip a write for good. The replica
// keeps its position itself (the applied sequence, in its engine), so the
// consumer needs no durable state on the server.
func (r *replica) openFeed(ctx context.Context) (*shardFeed, error) {
	n := r.node
	var target uint64
	last, err := n.stream.GetLastMsgForSubject(ctx, shardSubject(r.shard))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
	case err != nil:
		return nil, fmt.Errorf("reading the shard's last sequence: %w", err)
	default:
		target = last.Sequence
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{shardSubject(r.shard)},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	}
	if applied := r.applied.Load(); applied > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, applied+1
	}
	cons, err := n.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the shard's consumer: %w", err)
	}
	fctx, cancel := context.WithCancel(ctx)
	f := &shardFeed{ch: make(chan jetstream.Msg, 2*fetchBatch), cancel: cancel, target: target}
	f.cc, err = cons.Consume(func(m jetstream.Msg) {
		select {
		case f.ch <- m:
		case <-fctx.Done():
		}
	}, jetstream.PullMaxMessagesWithBytesLimit(fetchBatch, pullBytes(n.shards, n.nc.MaxPayload())), jetstream.PullExpiry(5*time.Second), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		r.log.Debug("shard consumer", "err", err)
	}))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("consuming the shard: %w", err)
	}
	return f, nil
}

// applyNext waits (briefly) for the shard's next messages, applies what
// has arrived and records how far it got.
func (r *replica) applyNext(ctx context.Context, ch <-chan jetstream.Msg) error {
	var msgs []jetstream.Msg
	t := time.NewTimer(250 * time.Millisecond)
	defer t.Stop()
	select {
	case m := <-ch:
		msgs = append(msgs, m)
	case <-t.C:
		return nil
	case <-ctx.Done():
		return nil
	}
drain:
	for len(msgs) < fetchBatch {
		select {
		case m := <-ch:
			msgs = append(msgs, m)
		default:
			break drain
		}
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.eng == nil {
		return matcher.ErrClosed // a snapshot could not reopen it; run opens it again
	}
	return r.apply(ctx, msgs)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// pendingWrite is one decoded message of the stream.
type pendingWrite struct {
	seq uint64
	op  writeOp
	ps  []*fm.Patient
}

// apply applies messages in stream order. Consecutive upserts go to the
// engine as one batch (one commit) unless an id repeats; deletes go one by
// one. Messages at or below the applied sequence are skipped, so nothing
// is applied twice.
func (r *replica) apply(ctx context.Context, msgs []jetstream.Msg) error {
	applied := r.applied.Load()
	var run []pendingWrite
	ids := map[string]bool{}
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		err := r.upsertRun(ctx, run)
		run, ids = run[:0], map[string]bool{}
		return err
	}
	last := applied
	for _, m := range msgs {
		md, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("message metadata: %w", err)
		}
		seq := md.Sequence.Stream
		if seq <= applied {
			continue
		}
		before := last
		last = seq
		w := pendingWrite{seq: seq}
		if err := json.Unmarshal(m.Data(), &w.op); err != nil {
			r.log.Error("skipping an undecodable write", "seq", seq, "err", err)
			continue
		}
		if w.op.Trim != nil {
			if err := flush(); err != nil {
				return err
			}
			if before < w.op.Trim.Prev {
				return fmt.Errorf("%w: at %d, applied %d of %d", errTrimmed, seq, before, w.op.Trim.Prev)
			}
			continue
		}
		if w.op.Delete != "" {
			if err := flush(); err != nil {
				return err
			}
			r.deleteOne(ctx, seq, w.op.Delete)
			r.sinceSnapshot.Add(1)
			continue
		}
		w.ps = decodePatients(r.log, seq, w.op.Upsert)
		r.sinceSnapshot.Add(int64(len(w.ps)))
		for _, p := range w.ps {
			if ids[*p.Id] {
				if err := flush(); err != nil {
					return err
				}
				break
			}
		}
		for _, p := range w.ps {
			ids[*p.Id] = true
		}
		run = append(run, w)
	}
	if err := flush(); err != nil {
		return err
	}
	if last == applied {
		return nil
	}
	if err := writeApplied(ctx, r.eng, last); err != nil {
		return fmt.Errorf("recording the applied sequence: %w", err)
	}
	r.applied.Advance(last)
	return nil
}

func decodePatients(log *slog.Logger, seq uint64, raws []json.RawMessage) []*fm.Patient {
	ps := make([]*fm.Patient, 0, len(raws))
	for _, raw := range raws {
		p, err := record.DecodePatient(raw)
		if err == nil {
			err = matcher.ValidatePatient(p)
		}
		if err != nil {
			log.Error("skipping an invalid patient of a write", "seq", seq, "err", err)
			continue
		}
		ps = append(ps, p)
	}
	return ps
}

// upsertRun stores the patients of consecutive upsert messages in one
// engine commit. Should the engine refuse the whole run (a patient it
// finds invalid), each message is retried alone so one bad write cannot
// hold up the shard.
func (r *replica) upsertRun(ctx context.Context, run []pendingWrite) error {
	var all []*fm.Patient
	for _, w := range run {
		all = append(all, w.ps...)
	}
	res, err := r.eng.UpsertBatch(ctx, all)
	if err == nil {
		i := 0
		for _, w := range run {
			for range w.ps {
				r.outcomes.put(res[i].ID, w.seq, res[i].Outcome, false)
				i++
			}
		}
		return nil
	}
	if !errors.Is(err, matcher.ErrInvalid) || len(run) == 1 && len(run[0].ps) <= 1 {
		if errors.Is(err, matcher.ErrInvalid) {
			r.log.Error("skipping a write the engine refuses", "seq", run[0].seq, "err", err)
			return nil
		}
		return err
	}
	for _, w := range run {
		for _, p := range w.ps {
			if err := r.upsertRun(ctx, []pendingWrite{{seq: w.seq, ps: []*fm.Patient{p}}}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *replica) deleteOne(ctx context.Context, seq uint64, id string) {
	err := r.eng.Delete(ctx, id)
	switch {
	case err == nil:
		r.outcomes.put(id, seq, 0, false)
	case errors.Is(err, matcher.ErrNotFound):
		r.outcomes.put(id, seq, 0, true)
	default:
		// The engine failed (closed while stopping): the message is not
		// acknowledged and comes again.
		r.log.Warn("delete failed", "seq", seq, "err", err)
	}
}

// scoringTables returns the cluster's model and term-frequency table and
// the table's revision.
func (n *Node) scoringTables() (*scoring.Model, *scoring.TermFrequencies, uint64) {
	n.tablesMu.RLock()
	defer n.tablesMu.RUnlock()
	return n.model, n.terms, n.termsRev
}

// retune reopens the replica's engine with new cluster-wide term
// frequencies. Queries and writes wait meanwhile.
func (r *replica) retune() error {
	_, _, rev := r.node.scoringTables()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.eng == nil || r.termsRev == rev {
		return nil // an engine not open yet opens with the new tables
	}
	if err := r.eng.Close(); err != nil {
		return fmt.Errorf("cluster: shard %d: closing to retune: %w", r.shard, err)
	}
	if err := r.openEngineLocked(); err != nil {
		return fmt.Errorf("cluster: shard %d: reopening to retune: %w", r.shard, err)
	}
	return nil
}

// recentOutcome is what applying a write did to one patient, kept a while
// so the node that published the write can tell its caller (created or
// updated, or not found for a delete).
type recentOutcome struct {
	seq      uint64
	outcome  matcher.Outcome
	notFound bool
}

// recentOutcomes is bounded: when full it starts over, and callers asking
// about a forgotten write fall back on the version number.
type recentOutcomes struct {
	mu sync.Mutex
	m  map[string]recentOutcome
}

const maxRecentOutcomes = 1 << 14

func (o *recentOutcomes) put(id string, seq uint64, oc matcher.Outcome, notFound bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.m) >= maxRecentOutcomes {
		clear(o.m)
	}
	o.m[id] = recentOutcome{seq: seq, outcome: oc, notFound: notFound}
}

func (o *recentOutcomes) get(id string, seq uint64) (recentOutcome, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ro, ok := o.m[id]
	return ro, ok && ro.seq == seq
}

// isKeyNotFound reports whether err is the engine KV's "no such key".
func isKeyNotFound(err error) bool { return errors.Is(err, store.ErrKeyNotFound) }
