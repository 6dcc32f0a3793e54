package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Status is a snapshot of a cluster (patientmatch cluster status).
type Status struct {
	Shards         int
	StreamReplicas int
	// StreamLeader and StreamPeers name the NATS servers holding the
	// stream; a peer that is not Current is catching up.
	StreamLeader string
	StreamPeers  []PeerStatus
	Messages     uint64
	LastSeq      uint64
	TermsRev     uint64
	Nodes        []NodeStatus
	// ShardLast is each shard's last stream sequence.
	ShardLast []uint64
}

// PeerStatus is one NATS server's copy of the stream.
type PeerStatus struct {
	Name    string
	Current bool
	Lag     uint64
}

// NodeStatus is one patientmatch node and its shards.
type NodeStatus struct {
	ID       string
	TermsRev uint64
	// Serving and CatchingUp map a shard to the last sequence applied.
	Serving    map[int]uint64
	CatchingUp map[int]uint64
	Seen       time.Time
}

// ReadStatus reads the state of the cluster at urls without joining it.
func ReadStatus(ctx context.Context, urls string) (*Status, error) {
	nc, err := nats.Connect(urls, nats.Name("patientmatch-status"))
	if err != nil {
		return nil, fmt.Errorf("cluster: connecting to %s: %w", urls, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	meta, err := js.KeyValue(ctx, metaBucket)
	if err != nil {
		return nil, fmt.Errorf("cluster: no patientmatch cluster at %s: %w", urls, err)
	}
	st := &Status{}
	e, err := meta.Get(ctx, keyConfig)
	if err != nil {
		return nil, fmt.Errorf("cluster: reading the cluster settings: %w", err)
	}
	var cc clusterConfig
	if err := json.Unmarshal(e.Value(), &cc); err != nil {
		return nil, fmt.Errorf("cluster: bad cluster settings: %w", err)
	}
	st.Shards = cc.Shards
	if e, err := meta.Get(ctx, keyTerms); err == nil {
		st.TermsRev = e.Revision()
	}
	if err := readStreamStatus(ctx, js, st); err != nil {
		return nil, err
	}
	if err := readNodes(ctx, js, st); err != nil {
		return nil, err
	}
	return st, nil
}

func readStreamStatus(ctx context.Context, js jetstream.JetStream, st *Status) error {
	stream, err := js.Stream(ctx, streamName)
	if err != nil {
		return fmt.Errorf("cluster: stream %s: %w", streamName, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("cluster: stream %s: %w", streamName, err)
	}
	st.StreamReplicas = info.Config.Replicas
	st.Messages, st.LastSeq = info.State.Msgs, info.State.LastSeq
	if c := info.Cluster; c != nil {
		st.StreamLeader = c.Leader
		for _, p := range c.Replicas {
			st.StreamPeers = append(st.StreamPeers, PeerStatus{Name: p.Name, Current: p.Current, Lag: p.Lag})
		}
	}
	st.ShardLast = make([]uint64, st.Shards)
	for s := range st.Shards {
		m, err := stream.GetLastMsgForSubject(ctx, shardSubject(s))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cluster: shard %d: %w", s, err)
		}
		st.ShardLast[s] = m.Sequence
	}
	return nil
}

func readNodes(ctx context.Context, js jetstream.JetStream, st *Status) error {
	nodes, err := js.KeyValue(ctx, nodesBucket)
	if err != nil {
		return fmt.Errorf("cluster: bucket %s: %w", nodesBucket, err)
	}
	keys, err := nodes.Keys(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return fmt.Errorf("cluster: reading the membership: %w", err)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e, err := nodes.Get(ctx, k)
		if err != nil {
			continue // left since listed
		}
		var ne nodeEntry
		if err := json.Unmarshal(e.Value(), &ne); err != nil {
			return fmt.Errorf("cluster: node %s: %w", k, err)
		}
		ns := NodeStatus{ID: ne.ID, TermsRev: ne.TermsRev, Seen: ne.Time, Serving: shardMap(ne.Serving), CatchingUp: shardMap(ne.Catching)}
		st.Nodes = append(st.Nodes, ns)
	}
	return nil
}

func shardMap(m map[string]uint64) map[int]uint64 {
	out := make(map[int]uint64, len(m))
	for k, v := range m {
		if s, err := strconv.Atoi(k); err == nil {
			out[s] = v
		}
	}
	return out
}

// Lag is how many of its shards' writes a node has yet to apply, summed
// as sequence distance per shard (an upper bound on messages behind).
func (st *Status) Lag(ns NodeStatus) uint64 {
	var lag uint64
	for _, m := range []map[int]uint64{ns.Serving, ns.CatchingUp} {
		for s, a := range m {
			if s < len(st.ShardLast) && st.ShardLast[s] > a {
				lag += st.ShardLast[s] - a
			}
		}
	}
	return lag
}

// Write prints the status as a human-readable report.
func (st *Status) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "shards\t%d\n", st.Shards)
	fmt.Fprintf(tw, "stream\t%s: %d messages, last sequence %d, %d replicas, leader %s\n", streamName, st.Messages, st.LastSeq, st.StreamReplicas, st.StreamLeader)
	for _, p := range st.StreamPeers {
		fmt.Fprintf(tw, "  peer\t%s current=%v lag=%d\n", p.Name, p.Current, p.Lag)
	}
	fmt.Fprintf(tw, "term frequencies\trevision %d\n", st.TermsRev)
	fmt.Fprintf(tw, "nodes\t%d\n", len(st.Nodes))
	copies := make([]int, st.Shards)
	for _, ns := range st.Nodes {
		fmt.Fprintf(tw, "  %s\tserving %s; catching up %s; lag %d; terms revision %d\n", ns.ID, shardList(ns.Serving), shardList(ns.CatchingUp), st.Lag(ns), ns.TermsRev)
		for s := range ns.Serving {
			if s < len(copies) {
				copies[s]++
			}
		}
	}
	var unserved []string
	for s, c := range copies {
		if c == 0 {
			unserved = append(unserved, strconv.Itoa(s))
		}
	}
	if len(unserved) > 0 {
		fmt.Fprintf(tw, "UNSERVED shards\t%s\n", strings.Join(unserved, ","))
	}
	return tw.Flush()
}

func shardList(m map[int]uint64) string {
	if len(m) == 0 {
		return "-"
	}
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = strconv.Itoa(k)
	}
	return strings.Join(parts, ",")
}
