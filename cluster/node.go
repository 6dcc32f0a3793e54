// Package cluster runs patientmatch on several machines over NATS
// JetStream. JetStream's replicated stream is the log of record of every
// write; each node keeps, for each shard it is assigned, a complete
// single-node matcher.Engine (badger + bleve) as materialized state, fed
// from the stream by an ordered (gapless, in-order) consumer. Any node answers a query by
// asking every shard and merging their ranked answers: the shards it
// serves answer in-process, each other node is asked once for all the
// shards it serves, and a shard left unanswered goes to the queue group of
// its replicas (scatter.go). There is no second matching path: a shard's
// answer is its engine's Match.
//
// Term frequencies are the subtle part: a shard's engine, left alone,
// would count the names of its own patients only, so that a name common in
// the cluster but rare in a shard would weigh more there. Every shard
// engine therefore scores with one cluster-wide table, published in a
// versioned JetStream KV (Node.RefreshTermFrequencies sums the shards'
// counts), just as a single engine scores with the table counted when it
// was opened.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/patientmatch/patientmatch/scoring"
)

// Options configure a Node. Dir and URLs are required.
type Options struct {
	// URLs are the NATS servers to join, comma-separated nats:// URLs.
	URLs string
	// Dir is the node's data folder; its shards live in DIR/shards/NNN
	// and its identity in DIR/node-id.
	Dir string
	// NodeID names the node in the cluster. Default: the one in
	// DIR/node-id, created at random on first start.
	NodeID string
	// Shards is the number of shards when this node creates the cluster;
	// ignored when the cluster exists (the count is fixed at creation).
	// Default 16.
	Shards int
	// Copies is how many nodes hold each shard (the shard's queue group).
	// Default 2: one node may die without a shard going unanswered.
	Copies int
	// StreamReplicas is the replication of the stream and KV buckets when
	// this node creates them. Default: 3, or the number of NATS servers
	// known when fewer.
	StreamReplicas int
	// Model is the scoring model when this node creates the cluster;
	// afterwards the cluster's model (in its KV) is used. Default
	// scoring.DefaultModel().
	Model *scoring.Model
	// RequestTimeout bounds one request to a shard. Default 5s.
	RequestTimeout time.Duration
	// Heartbeat is how often the node announces itself and re-reads the
	// membership. Default 1s.
	Heartbeat time.Duration
	// NodeTTL is how long a silent node counts as alive; only used when
	// this node creates the membership bucket. Default 5s.
	NodeTTL time.Duration
	// SnapshotEvery is how many writes a shard's first holder applies
	// between two snapshots of the shard (snapshot.go), from which a new
	// replica starts instead of replaying the whole stream. Default
	// 50,000; negative: never (Node.Snapshot still takes them).
	SnapshotEvery int
	// Logger receives operational logs. Default: discard.
	Logger *slog.Logger
}

func (o *Options) ensureDefaults() {
	if o.Shards == 0 {
		o.Shards = 16
	}
	if o.Copies == 0 {
		o.Copies = 2
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = time.Second
	}
	if o.NodeTTL == 0 {
		o.NodeTTL = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SnapshotEvery == 0 {
		o.SnapshotEvery = 50_000
	}
	if o.Model == nil {
		o.Model = scoring.DefaultModel()
	}
}

// Validate reports every problem with o at once.
func (o Options) Validate() error {
	var errs []error
	if o.URLs == "" {
		errs = append(errs, errors.New("no NATS URL"))
	}
	if o.Dir == "" {
		errs = append(errs, errors.New("no data folder"))
	}
	if o.Shards < 0 || o.Shards > 1024 {
		errs = append(errs, fmt.Errorf("shard count %d is not in 1..1024", o.Shards))
	}
	if o.Copies < 0 || o.StreamReplicas < 0 || o.StreamReplicas > 5 {
		errs = append(errs, errors.New("copies and stream replicas must be positive (stream replicas at most 5)"))
	}
	if o.NodeID != "" && !validNodeID(o.NodeID) {
		errs = append(errs, fmt.Errorf("node id %q: use 1-32 of a-z 0-9 -", o.NodeID))
	}
	return errors.Join(errs...)
}

func validNodeID(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Node is one patientmatch node of a cluster. It offers the engine's API
// (Match, Upsert, UpsertBatch, Get, Delete, Len, Ping), so the FHIR and
// gRPC servers serve it as they serve a single engine.
type Node struct {
	opts   Options
	id     string
	log    *slog.Logger
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	meta   jetstream.KeyValue
	nodes  jetstream.KeyValue
	snaps  jetstream.ObjectStore
	shards int

	tablesMu sync.RWMutex
	model    *scoring.Model
	terms    *scoring.TermFrequencies
	termsRev uint64

	// acked holds, per shard, the stream sequence of the last write this
	// node acknowledged: its queries wait for the shard to have applied it
	// (read-your-writes for callers of this node).
	acked []seqMax

	linksOnce sync.Once
	links     *Links
	linksErr  error

	// slots bounds the shard requests this node answers at once.
	slots chan struct{}

	// bg runs snapshots, one at a time (snapshotting), stopped by Close.
	bg           sync.WaitGroup
	snapshotting atomic.Bool

	// noLocal makes queries ask every shard over NATS, even those this
	// node serves (tests measure the remote path with it).
	noLocal bool

	mu struct {
		sync.Mutex
		replicas map[int]*replica
		live     []string
		// routes is who else serves which shard, from the membership.
		routes routes
		closed bool
	}
	stop context.CancelFunc
	done chan struct{}
}

// Open joins (creating when needed) the cluster at opts.URLs and starts
// the shards the membership assigns this node.
func Open(ctx context.Context, opts Options) (*Node, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	opts.ensureDefaults()
	id, err := nodeID(opts)
	if err != nil {
		return nil, err
	}
	n := &Node{opts: opts, id: id, log: opts.Logger.With("node", id), slots: make(chan struct{}, 64)}
	n.mu.replicas = map[int]*replica{}
	n.nc, err = nats.Connect(opts.URLs, nats.Name("patientmatch-"+id), nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond), nats.RetryOnFailedConnect(false))
	if err != nil {
		return nil, fmt.Errorf("cluster: connecting to %s: %w", opts.URLs, err)
	}
	if err := n.join(ctx); err != nil {
		n.nc.Close()
		return nil, err
	}
	if _, err := n.nc.Subscribe(nodeSubject(n.id), n.handleNode); err != nil {
		n.nc.Close()
		return nil, fmt.Errorf("cluster: answering node requests: %w", err)
	}
	n.acked = make([]seqMax, n.shards)
	loopCtx, cancel := context.WithCancel(context.Background())
	n.stop, n.done = cancel, make(chan struct{})
	// The first round opens the assigned shards; what it leaves undone
	// (a slow NATS, a shard that would not open) the loop retries every
	// heartbeat, so it is not fatal, and the shards it opened stay with
	// the node (Close closes them).
	if err := n.tick(ctx); err != nil {
		n.log.Warn("first cluster membership round incomplete; retrying every heartbeat", "err", err)
	}
	go n.loop(loopCtx)
	return n, nil
}

// nodeID is opts.NodeID, or the id kept in DIR/node-id (made on first
// start), so that a restarted node finds its consumers again.
func nodeID(opts Options) (string, error) {
	if opts.NodeID != "" {
		return opts.NodeID, nil
	}
	f := filepath.Join(opts.Dir, "node-id")
	b, err := os.ReadFile(f)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if !validNodeID(id) {
			return "", fmt.Errorf("cluster: %s holds no valid node id", f)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("cluster: %w", err)
	}
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("cluster: %w", err)
	}
	id := "n-" + hex.EncodeToString(r[:])
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return "", fmt.Errorf("cluster: %w", err)
	}
	if err := os.WriteFile(f, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("cluster: %w", err)
	}
	return id, nil
}

// join finds or creates the stream and KV buckets and reads the cluster's
// fixed settings and scoring tables.
func (n *Node) join(ctx context.Context) error {
	js, err := jetstream.New(n.nc)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	n.js = js
	reps := n.streamReplicas()
	n.meta, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: metaBucket, History: 16, Replicas: reps, Storage: jetstream.FileStorage})
	if err != nil {
		return fmt.Errorf("cluster: bucket %s: %w", metaBucket, err)
	}
	cfg, err := json.Marshal(clusterConfig{Shards: n.opts.Shards})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if _, err := n.meta.Create(ctx, keyConfig, cfg); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("cluster: recording the cluster settings: %w", err)
	}
	e, err := n.meta.Get(ctx, keyConfig)
	if err != nil {
		return fmt.Errorf("cluster: reading the cluster settings: %w", err)
	}
	var cc clusterConfig
	if err := json.Unmarshal(e.Value(), &cc); err != nil || cc.Shards <= 0 {
		return fmt.Errorf("cluster: bad cluster settings %q: %v", e.Value(), err)
	}
	n.shards = cc.Shards
	if err := n.loadModel(ctx); err != nil {
		return err
	}
	if err := n.readTerms(ctx); err != nil {
		return err
	}
	n.stream, err = js.Stream(ctx, streamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		n.stream, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name: streamName, Subjects: []string{subjectPrefix + "*"}, Replicas: reps,
			Storage: jetstream.FileStorage, Retention: jetstream.LimitsPolicy, Duplicates: 2 * time.Minute,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			n.stream, err = js.Stream(ctx, streamName)
		}
	}
	if err != nil {
		return fmt.Errorf("cluster: stream %s: %w", streamName, err)
	}
	n.nodes, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: nodesBucket, TTL: n.opts.NodeTTL, Replicas: reps, Storage: jetstream.MemoryStorage})
	if err != nil {
		return fmt.Errorf("cluster: bucket %s: %w", nodesBucket, err)
	}
	n.snaps, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: snapshotBucket, Replicas: reps, Storage: jetstream.FileStorage})
	if err != nil {
		return fmt.Errorf("cluster: bucket %s: %w", snapshotBucket, err)
	}
	return nil
}

// streamReplicas is the replication of the stream and buckets this node
// creates: Options.StreamReplicas, else 3 or the number of NATS servers
// known when fewer.
func (n *Node) streamReplicas() int {
	if n.opts.StreamReplicas > 0 {
		return n.opts.StreamReplicas
	}
	return min(3, max(1, len(n.nc.Servers())))
}

// loadModel reads the cluster's model, recording this node's when the
// cluster has none yet.
func (n *Node) loadModel(ctx context.Context) error {
	b, err := json.Marshal(n.opts.Model)
	if err != nil {
		return fmt.Errorf("cluster: model: %w", err)
	}
	if _, err := n.meta.Create(ctx, keyModel, b); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("cluster: recording the model: %w", err)
	}
	e, err := n.meta.Get(ctx, keyModel)
	if err != nil {
		return fmt.Errorf("cluster: reading the model: %w", err)
	}
	m, err := scoring.LoadModel(strings.NewReader(string(e.Value())))
	if err != nil {
		return fmt.Errorf("cluster: the cluster's model: %w", err)
	}
	n.tablesMu.Lock()
	n.model = m
	n.tablesMu.Unlock()
	return nil
}

// readTerms reads the cluster-wide term frequencies; it reports whether
// they changed.
func (n *Node) readTerms(ctx context.Context) error {
	e, err := n.meta.Get(ctx, keyTerms)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster: reading the term frequencies: %w", err)
	}
	n.tablesMu.RLock()
	same := e.Revision() == n.termsRev
	n.tablesMu.RUnlock()
	if same {
		return nil
	}
	var tf scoring.TermFrequencies
	if err := json.Unmarshal(e.Value(), &tf); err != nil {
		return fmt.Errorf("cluster: the term frequencies at revision %d: %w", e.Revision(), err)
	}
	n.tablesMu.Lock()
	n.terms, n.termsRev = &tf, e.Revision()
	n.tablesMu.Unlock()
	return nil
}

func (n *Node) loop(ctx context.Context) {
	defer close(n.done)
	t := time.NewTicker(n.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := n.tick(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("cluster membership update failed", "err", err)
		}
	}
}

// nodeEntry is what a node announces in the membership bucket.
type nodeEntry struct {
	ID       string            `json:"id"`
	Serving  map[string]uint64 `json:"serving"` // shard → applied sequence, for shards answering queries
	Catching map[string]uint64 `json:"catching,omitempty"`
	TermsRev uint64            `json:"terms_rev"`
	Time     time.Time         `json:"time"`
}

// tick announces the node, reads the membership, starts and stops shards
// to match its assignment, and retunes shards to new term frequencies.
func (n *Node) tick(ctx context.Context) error {
	keys, err := n.nodes.Keys(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return fmt.Errorf("cluster: reading the membership: %w", err)
	}
	if !slices.Contains(keys, n.id) {
		keys = append(keys, n.id)
	}
	slices.Sort(keys)
	if err := n.readTerms(ctx); err != nil {
		return err
	}
	want := assign(keys, n.shards, n.opts.Copies)[n.id]
	rt := n.readRoutes(ctx, keys)
	n.mu.Lock()
	n.mu.routes = rt
	n.mu.Unlock()
	err = n.reconcile(keys, want)
	n.maybeSnapshot(ctx)
	return errors.Join(err, n.announce(ctx))
}

// reconcile starts the assigned shards the node lacks, stops those no
// longer assigned, and retunes the rest to new term frequencies.
func (n *Node) reconcile(live []string, want map[int]bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.closed {
		return nil
	}
	n.mu.live = live
	var errs []error
	for s, r := range n.mu.replicas {
		if !want[s] {
			delete(n.mu.replicas, s)
			errs = append(errs, r.close())
			n.log.Info("shard handed over", "shard", s)
		}
	}
	for s := range want {
		if _, ok := n.mu.replicas[s]; ok {
			continue
		}
		r, err := n.openReplica(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n.mu.replicas[s] = r
		r.start()
	}
	for _, r := range n.mu.replicas {
		errs = append(errs, r.retune())
	}
	return errors.Join(errs...)
}

func (n *Node) announce(ctx context.Context) error {
	e := nodeEntry{ID: n.id, Serving: map[string]uint64{}, Catching: map[string]uint64{}, Time: time.Now().UTC()}
	n.mu.Lock()
	for s, r := range n.mu.replicas {
		k := strconv.Itoa(s)
		if r.serving.Load() {
			e.Serving[k] = r.applied.Load()
		} else {
			e.Catching[k] = r.applied.Load()
		}
	}
	n.mu.Unlock()
	_, _, e.TermsRev = n.scoringTables()
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if _, err := n.nodes.Put(ctx, n.id, b); err != nil {
		return fmt.Errorf("cluster: announcing node %s: %w", n.id, err)
	}
	return nil
}

// assign maps shards to nodes by rendezvous hashing: each shard goes to
// the copies nodes with the highest hash of (node, shard). Every node
// computes the same map from the same membership, and a node joining or
// leaving moves only the shards it gains or held.
func assign(nodes []string, shards, copies int) map[string]map[int]bool {
	out := make(map[string]map[int]bool, len(nodes))
	for _, id := range nodes {
		out[id] = map[int]bool{}
	}
	for s := range shards {
		for _, id := range rank(nodes, s)[:min(copies, len(nodes))] {
			out[id][s] = true
		}
	}
	return out
}

// rank orders nodes by their rendezvous hash for shard s, highest first:
// the shard's holders are the first copies of them.
func rank(nodes []string, s int) []string {
	type ranked struct {
		id string
		h  uint64
	}
	rs := make([]ranked, len(nodes))
	for i, id := range nodes {
		h := fnv.New64a()
		h.Write([]byte(id + "/" + strconv.Itoa(s)))
		rs[i] = ranked{id, mix64(h.Sum64())}
	}
	slices.SortFunc(rs, func(a, b ranked) int {
		if a.h != b.h {
			if a.h > b.h {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.id
	}
	return out
}

// mix64 is MurmurHash3's 64-bit finalizer. FNV-1a alone hashes "id/3"
// and "id/4" too alike to reorder two nodes, so their order was the same
// for every shard: of 2 nodes one was first for all 16 shards (seen in a
// test run), and a third node could be first for none.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb93fe53e1a85
	h ^= h >> 33
	return h
}

// ID is the node's name in the cluster.
func (n *Node) ID() string { return n.id }

// Shards is the cluster's shard count.
func (n *Node) Shards() int { return n.shards }

// Close leaves the cluster: stops answering and consuming, closes the
// shard engines and the NATS connection. It is safe to call twice.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.mu.closed {
		n.mu.Unlock()
		return nil
	}
	n.mu.closed = true
	n.mu.Unlock()
	n.stop()
	<-n.done
	n.bg.Wait()
	var errs []error
	n.mu.Lock()
	for s, r := range n.mu.replicas {
		errs = append(errs, r.close())
		delete(n.mu.replicas, s)
	}
	n.mu.Unlock()
	if n.nodes != nil {
		// Leave at once rather than after the TTL, so the shards move now.
		_ = n.nodes.Delete(context.Background(), n.id)
	}
	n.nc.Close()
	return errors.Join(errs...)
}

// seqMax is a sequence number that only grows.
type seqMax struct {
	mu  sync.Mutex
	seq uint64
}

func (s *seqMax) raise(v uint64) {
	s.mu.Lock()
	s.seq = max(s.seq, v)
	s.mu.Unlock()
}

func (s *seqMax) get() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}
