package cluster

import (
	"context"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
)

// TestClusterFigures measures what bench/README.md reports: the latency
// of $match through one node scattering to S = 16 shards on loopback
// against one engine holding the same patients, and the rate at which a
// new node catches up from the stream. It runs only when
// PATIENTMATCH_CLUSTER_BENCH is set (PATIENTMATCH_CLUSTER_N patients,
// default 20,000; PATIENTMATCH_CLUSTER_SHARDS shards, default 16).
func TestClusterFigures(t *testing.T) {
	if os.Getenv("PATIENTMATCH_CLUSTER_BENCH") == "" {
		t.Skip("set PATIENTMATCH_CLUSTER_BENCH=1 to measure the cluster's figures")
	}
	n := envInt("PATIENTMATCH_CLUSTER_N", 20000)
	pats := synthPatients(t, n, 7)
	_, urls := startNATS(t, 1)
	o := testNodeOptions(t, urls)
	o.Shards = envInt("PATIENTMATCH_CLUSTER_SHARDS", 16)
	o.Copies = 2 // alone, the node holds every shard once
	node := openNode(t, o)
	waitSettled(t, []*Node{node}, 0, time.Minute)
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < len(pats); i += 1000 {
		if _, err := node.UpsertBatch(ctx, pats[i:min(i+1000, len(pats))]); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("loaded %d patients through one node in %v (%.0f/s)", n, time.Since(start), float64(n)/time.Since(start).Seconds())
	rev, err := node.RefreshTermFrequencies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitSettled(t, []*Node{node}, rev, 10*time.Minute)
	single := singleEngine(t, pats)

	queries := make([]record.Record, 0, 2000)
	for i := 0; i < len(pats) && len(queries) < cap(queries); i += max(1, len(pats)/cap(queries)) {
		queries = append(queries, record.FromFHIR(pats[i]))
	}
	one := latencies(t, queries, func(q record.Record) error { _, err := single.Match(ctx, q, matcher.MatchOptions{}); return err })
	stopProf := profile(t, "query")
	before := node.nc.Stats()
	many := latencies(t, queries, func(q record.Record) error { _, err := node.Match(ctx, q, matcher.MatchOptions{}); return err })
	stopProf()
	logOverhead(t, "one node holding every shard", one, many, node, before, len(queries))

	// A new node holding every shard catches up from the stream.
	o2 := testNodeOptions(t, urls)
	o2.Shards = o.Shards
	start = time.Now()
	stopProf = profile(t, "catchup")
	fresh := openNode(t, o2)
	waitSettled(t, []*Node{node, fresh}, rev, 30*time.Minute)
	el := time.Since(start)
	stopProf()
	if got := localLen(fresh); got != n {
		t.Fatalf("the new node's own shards hold %d patients after catching up, want %d", got, n)
	}
	t.Logf("a new node caught up all %d patients of %d shards in %v: %.0f patients/s", n, fresh.shards, el, float64(n)/el.Seconds())

	// The remote path: the new node asks the first for all its shards over
	// NATS, as a node holding none of a query's shards would.
	fresh.noLocal = true
	stopProf = profile(t, "remote")
	before = fresh.nc.Stats()
	remote := latencies(t, queries, func(q record.Record) error { _, err := fresh.Match(ctx, q, matcher.MatchOptions{}); return err })
	stopProf()
	logOverhead(t, "every shard asked over NATS", one, remote, fresh, before, len(queries))

	// The same three, each query through all three in turn, so that a
	// stall of the shared machine falls on all alike rather than on
	// whichever ran at the time.
	lat := interleaved(t, queries,
		func(q record.Record) error { _, err := single.Match(ctx, q, matcher.MatchOptions{}); return err },
		func(q record.Record) error { _, err := node.Match(ctx, q, matcher.MatchOptions{}); return err },
		func(q record.Record) error { _, err := fresh.Match(ctx, q, matcher.MatchOptions{}); return err })
	t.Logf("interleaved: single engine p50 %v p99 %v; shards on the asking node p50 %v p99 %v (overhead %v / %v); every shard over NATS p50 %v p99 %v (overhead %v / %v)",
		pct(lat[0], 50), pct(lat[0], 99), pct(lat[1], 50), pct(lat[1], 99), pct(lat[1], 50)-pct(lat[0], 50), pct(lat[1], 99)-pct(lat[0], 99),
		pct(lat[2], 50), pct(lat[2], 99), pct(lat[2], 50)-pct(lat[0], 50), pct(lat[2], 99)-pct(lat[0], 99))

	// A new node starting from the shards' snapshots: the first node,
	// alone again, snapshots every shard, then another node joins.
	if err := fresh.Close(); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	snapshotAll(t, node)
	t.Logf("snapshots of all %d shards stored in %v", node.shards, time.Since(start))
	o3 := testNodeOptions(t, urls)
	o3.Shards = o.Shards
	start = time.Now()
	stopProf = profile(t, "restore")
	restored := openNode(t, o3)
	waitSettled(t, []*Node{node, restored}, rev, 30*time.Minute)
	el = time.Since(start)
	stopProf()
	if got := localLen(restored); got != n {
		t.Fatalf("the node started from snapshots holds %d patients, want %d", got, n)
	}
	t.Logf("a new node started from snapshots of %d shards holding %d patients in %v: %.0f patients/s", restored.shards, n, el, float64(n)/el.Seconds())
}

// snapshotAll has node store a snapshot of every shard (node must be the
// only one; it takes a heartbeat to see the others gone).
func snapshotAll(t *testing.T, node *Node) {
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for s := 0; s < node.shards; {
		if _, err := node.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
		for ; s < node.shards; s++ {
			if seq, err := node.snapshotSeq(ctx, s); err != nil {
				t.Fatal(err)
			} else if seq == 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("shard %d has no snapshot after 30s", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logOverhead reports the latency of queries through node against one
// engine's, and the NATS messages node sent and received per query.
func logOverhead(t *testing.T, what string, one, many []time.Duration, node *Node, before nats.Statistics, queries int) {
	after := node.nc.Stats()
	t.Logf("single engine: p50 %v p99 %v; cluster (S=%d, %s, loopback): p50 %v p99 %v; overhead p50 %v p99 %v; NATS messages a query: %.1f out, %.1f in",
		pct(one, 50), pct(one, 99), node.shards, what, pct(many, 50), pct(many, 99), pct(many, 50)-pct(one, 50), pct(many, 99)-pct(one, 99),
		float64(after.OutMsgs-before.OutMsgs)/float64(queries), float64(after.InMsgs-before.InMsgs)/float64(queries))
}

// profile writes a CPU profile of what follows, until the returned stop,
// to $PATIENTMATCH_CLUSTER_PROFILE/NAME.prof when that variable is set.
func profile(t *testing.T, name string) (stop func()) {
	dir := os.Getenv("PATIENTMATCH_CLUSTER_PROFILE")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, name+".prof"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}
}

func latencies(t *testing.T, qs []record.Record, fn func(record.Record) error) []time.Duration {
	out := make([]time.Duration, 0, len(qs))
	for _, q := range qs {
		s := time.Now()
		if err := fn(q); err != nil {
			t.Fatal(err)
		}
		out = append(out, time.Since(s))
	}
	slices.Sort(out)
	return out
}

// interleaved times every query through each of fns in turn and returns
// each fn's sorted latencies.
func interleaved(t *testing.T, qs []record.Record, fns ...func(record.Record) error) [][]time.Duration {
	out := make([][]time.Duration, len(fns))
	for _, q := range qs {
		for i, fn := range fns {
			s := time.Now()
			if err := fn(q); err != nil {
				t.Fatal(err)
			}
			out[i] = append(out[i], time.Since(s))
		}
	}
	for _, o := range out {
		slices.Sort(o)
	}
	return out
}

func pct(d []time.Duration, p int) time.Duration {
	return d[min(len(d)-1, len(d)*p/100)]
}
