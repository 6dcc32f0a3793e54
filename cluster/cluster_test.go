package cluster

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
)

// TestCluster is the cluster's acceptance test: an embedded three-server
// NATS cluster and three nodes on loopback; patients loaded through every
// node while one node and one NATS server are killed and queries run
// throughout; then every acknowledged write must be present, a new node
// must catch up, and $match must answer exactly as one engine holding the
// same patients. PATIENTMATCH_CLUSTER_N sets the size (default 600, to
// keep the suite short) and PATIENTMATCH_CLUSTER_SHARDS the
// shard count (default 4); bench/README.md has a run at 100,000 and 16.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three NATS servers and four nodes; skipped under -short")
	}
	if raceEnabled && os.Getenv("PATIENTMATCH_CLUSTER_RACE") == "" {
		// Measured: under -race on the 2 shared cores, 300 patients took
		// over 9 minutes (a dozen engines opening, reopening and applying
		// at a fifth of their speed), past the suite's budget. The e2e
		// test of serve in cluster mode (cmd/patientmatch) runs under
		// -race; PATIENTMATCH_CLUSTER_RACE=1 runs this one too.
		t.Skip("too slow under the race detector on 2 cores; run go test ./cluster/ (PATIENTMATCH_CLUSTER_RACE=1 to force)")
	}
	n := envInt("PATIENTMATCH_CLUSTER_N", 600)
	pats := synthPatients(t, n, 19)
	servers, urls := startNATS(t, 3)
	nodes := []*Node{openNode(t, testNodeOptions(t, urls)), openNode(t, testNodeOptions(t, urls)), openNode(t, testNodeOptions(t, urls))}
	waitSettled(t, nodes, 0, 60*time.Second)

	// Queries run through node 0 for the whole load.
	probe := record.FromFHIR(pats[0])
	stopQueries := make(chan struct{})
	var queriesOK, queriesFailed atomic.Int64
	var qwg sync.WaitGroup
	qwg.Add(1)
	go func() {
		defer qwg.Done()
		for {
			select {
			case <-stopQueries:
				return
			case <-time.After(20 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			_, err := nodes[0].Match(ctx, probe, matcher.MatchOptions{})
			cancel()
			if err != nil {
				queriesFailed.Add(1)
				t.Logf("query failed: %v", err)
			} else {
				queriesOK.Add(1)
			}
		}
	}()

	start := time.Now()
	acked, writeErrs := loadWithKills(t, nodes, servers, pats)
	loadTime := time.Since(start)
	close(stopQueries)
	qwg.Wait()
	t.Logf("loaded %d patients in %v (%.0f/s) through the nodes; %d write attempts failed and were retried; queries during the load: %d answered, %d failed",
		len(acked), loadTime, float64(len(acked))/loadTime.Seconds(), writeErrs, queriesOK.Load(), queriesFailed.Load())
	if queriesOK.Load() == 0 {
		t.Fatal("no query was answered during the load")
	}
	// Only a query in flight at a kill may fail (ask retries on another
	// replica, so normally none does).
	if f := queriesFailed.Load(); f > 2 {
		t.Errorf("%d queries failed during the load; at most the ones in flight at the two kills may", f)
	}
	live := []*Node{nodes[0], nodes[2]}

	// A new node joins and catches up from the stream.
	// Its name is picked so that the assignment gives it shards (with few
	// shards, a random name may get none).
	fo := testNodeOptions(t, urls)
	fo.NodeID = nameWithShards(live, fo.Shards, fo.Copies)
	joinStart := time.Now()
	fresh := openNode(t, fo)
	live = append(live, fresh)
	waitSettled(t, live, 0, 10*time.Minute)
	caught, held := 0, 0
	fresh.mu.Lock()
	for _, r := range fresh.mu.replicas {
		r.mu.RLock()
		if r.eng != nil {
			caught += r.eng.Len()
		}
		r.mu.RUnlock()
		held++
	}
	fresh.mu.Unlock()
	joinTime := time.Since(joinStart)
	if caught == 0 {
		t.Fatal("the new node holds no patients")
	}
	t.Logf("a new node caught up %d patients of %d shards in %v (%.0f patients/s)", caught, held, joinTime, float64(caught)/joinTime.Seconds())

	// Every acknowledged write is present, through any node.
	ctx := context.Background()
	for i, id := range acked {
		node := live[i%len(live)]
		if _, err := node.Get(ctx, id); err != nil {
			t.Fatalf("acknowledged patient %s: %v", id, err)
		}
	}
	if got := fresh.Len(); got != len(acked) {
		t.Errorf("the cluster holds %d patients, %d acknowledged", got, len(acked))
	}

	// Cluster-wide term frequencies, then the same answers as one engine.
	rev, err := fresh.RefreshTermFrequencies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitSettled(t, live, rev, 2*time.Minute)
	single := singleEngine(t, pats)
	compareWithSingle(t, live, single, pats)
}

// loadWithKills loads pats in batches through the nodes in turn, kills
// node 1 at 40% and NATS server 1 at 60%, has the live nodes snapshot
// their shards at 80% (so the node that joins later restores snapshots
// and replays the writes after them), and returns the acknowledged ids.
// A batch that fails is sent again (upserts by id are idempotent) through
// the next node, so in the end every patient is acknowledged.
func loadWithKills(t *testing.T, nodes []*Node, servers []*Server, pats []*fm.Patient) ([]string, int) {
	batch := max(100, len(pats)/100)
	var acked []string
	writeErrs := 0
	nodeKilled, serverKilled, snapped := false, false, false
	next := 0
	for i := 0; i < len(pats); i += batch {
		if !snapped && i >= len(pats)*8/10 {
			snapped = true
			for _, n := range []*Node{nodes[0], nodes[2]} {
				stored, err := n.Snapshot(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("node %s stored %d snapshots after %d patients", n.id, stored, i)
			}
		}
		if !nodeKilled && i >= len(pats)*4/10 {
			nodes[1].kill()
			nodeKilled = true
			t.Logf("killed node %s after %d patients", nodes[1].id, i)
		}
		if !serverKilled && i >= len(pats)*6/10 {
			servers[1].Close()
			serverKilled = true
			t.Logf("killed NATS server 1 after %d patients", i)
		}
		part := pats[i:min(i+batch, len(pats))]
		for attempt := 0; ; attempt++ {
			node := nodes[next%len(nodes)]
			next++
			if nodeKilled && node == nodes[1] {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := node.UpsertBatch(ctx, part)
			cancel()
			if err == nil {
				break
			}
			writeErrs++
			t.Logf("batch at %d failed on node %s: %v", i, node.id, err)
			if attempt > 10 {
				t.Fatalf("batch at %d failed %d times", i, attempt)
			}
		}
		for _, p := range part {
			acked = append(acked, *p.Id)
		}
	}
	return acked, writeErrs
}

// singleEngine is one engine holding pats, reopened so that its term
// frequencies are counted from all of them (as a server started on the
// loaded data folder has).
func singleEngine(t *testing.T, pats []*fm.Patient) *matcher.Engine {
	dir := t.TempDir()
	e, err := matcher.Open(dir, matcher.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(pats); i += 1000 {
		if _, err := e.UpsertBatch(context.Background(), pats[i:min(i+1000, len(pats))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e, err = matcher.Open(dir, matcher.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// compareWithSingle queries the cluster (through each node in turn) and
// the single engine with every patient's own demographics (its duplicates
// are the matches) and requires the same ids, grades, caps, probabilities
// and weights in the same order.
func compareWithSingle(t *testing.T, nodes []*Node, single *matcher.Engine, pats []*fm.Patient) {
	ctx := context.Background()
	step := max(1, len(pats)/500)
	compared, nonEmpty, diffs := 0, 0, 0
	for i := 0; i < len(pats); i += step {
		q := record.FromFHIR(pats[i])
		for _, opts := range []matcher.MatchOptions{{}, {OnlyCertain: true}, {Count: 3}} {
			want, err := single.Match(ctx, q, opts)
			if err != nil && !errors.Is(err, matcher.ErrInvalid) {
				t.Fatal(err)
			}
			got, err2 := nodes[compared%len(nodes)].Match(ctx, q, opts)
			if (err == nil) != (err2 == nil) {
				t.Fatalf("query %d: single engine error %v, cluster error %v", i, err, err2)
			}
			compared++
			if len(want) > 0 {
				nonEmpty++
			}
			if !sameMatches(want, got) {
				diffs++
				if diffs <= 5 {
					all, _ := single.Match(ctx, q, matcher.MatchOptions{Count: 20})
					allc, _ := nodes[0].Match(ctx, q, matcher.MatchOptions{Count: 20})
					t.Errorf("query %d %+v:\n single  %s\n cluster %s\n single top 20  %s\n cluster top 20 %s", i, opts, describe(want), describe(got), describe(all), describe(allc))
				}
			}
		}
	}
	t.Logf("compared %d queries (%d with matches) with a single engine: %d differ", compared, nonEmpty, diffs)
	if nonEmpty == 0 {
		t.Fatal("no query had a match: the comparison proves nothing")
	}
}

func sameMatches(a, b []matcher.Match) bool {
	return slices.EqualFunc(a, b, func(x, y matcher.Match) bool {
		return x.ID == y.ID && x.Grade == y.Grade && x.Cap == y.Cap && x.Probability == y.Probability && x.Weight == y.Weight
	})
}

func describe(ms []matcher.Match) string {
	s := ""
	for _, m := range ms {
		s += m.ID + "/" + m.Grade.String() + "/" + m.Cap.String() + "/" + formatFloat(m.Weight) + " "
	}
	return s
}

// nameWithShards returns a node name that the assignment gives at least
// shards*copies/(len(nodes)+1) shards when it joins nodes.
func nameWithShards(nodes []*Node, shards, copies int) string {
	ids := make([]string, 0, len(nodes)+1)
	for _, n := range nodes {
		ids = append(ids, n.id)
	}
	for k := 0; ; k++ {
		name := "new-" + strconv.Itoa(k)
		a := assign(sortedCopy(append(slices.Clone(ids), name)), shards, copies)
		if len(a[name]) >= max(1, shards*copies/(len(nodes)+1)) {
			return name
		}
	}
}

// TestPullBytes: a node's pulls together stay within pullBudget however
// many shards the stream has, and no pull is smaller than one message.
func TestPullBytes(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		shards     int
		maxPayload int64
		want       int
	}{
		{16, mib, 2 * mib},
		{4, mib, 8 * mib},
		{64, mib, mib},             // the share (512 KiB) is below one message
		{64, 256 << 10, 512 << 10}, // a smaller max payload lets the share rule
		{0, mib, pullBudget},
	} {
		got := pullBytes(c.shards, c.maxPayload)
		if got != c.want {
			t.Errorf("pullBytes(%d, %d) = %d, want %d", c.shards, c.maxPayload, got, c.want)
		}
		if int64(got) < c.maxPayload {
			t.Errorf("pullBytes(%d, %d) = %d is smaller than one message", c.shards, c.maxPayload, got)
		}
		if c.shards > 0 && int64(got) > c.maxPayload && got*c.shards > pullBudget {
			t.Errorf("%d shards × %d bytes exceed the node's budget", c.shards, got)
		}
	}
}
