package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/internal/testgen"
)

// synthPatients generates n synthetic patients (seeded) as FHIR resources.
func synthPatients(tb testing.TB, n int, seed uint64) []*fm.Patient {
	pats, _ := testgen.SynthPatients(tb, n, seed)
	return pats
}

// envInt is the integer in the environment variable, or def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// freePort returns a loopback port free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startNATS starts k embedded NATS servers forming one JetStream cluster
// on loopback and returns them (closed at cleanup) and their client URLs.
func startNATS(t testing.TB, k int) ([]*Server, string) {
	t.Helper()
	routes := make([]string, k)
	clusterPorts := make([]int, k)
	for i := range k {
		clusterPorts[i] = freePort(t)
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", clusterPorts[i])
	}
	servers := make([]*Server, k)
	urls := make([]string, k)
	errc := make(chan error, k)
	for i := range k {
		go func() {
			o := EmbedOptions{Addr: "127.0.0.1:0", StoreDir: t.TempDir(), Name: fmt.Sprintf("nats-%d", i), Logs: os.Getenv("NATS_LOGS") != ""}
			if k > 1 {
				o.ClusterAddr = fmt.Sprintf("127.0.0.1:%d", clusterPorts[i])
				o.Routes = routes
			}
			s, err := Embed(o)
			servers[i] = s
			errc <- err
		}()
	}
	for range k {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range servers {
		urls[i] = s.ClientURL()
		t.Cleanup(func() { s.Close() })
	}
	return servers, strings.Join(urls, ",")
}

// testNodeOptions are quick node settings for tests: short heartbeats and
// timeouts so membership changes show within seconds.
// PATIENTMATCH_CLUSTER_SHARDS sets the shard count (default 4: each
// shard is a whole engine, and the suite runs on two shared cores);
// PATIENTMATCH_CLUSTER_LOG=1 shows the nodes' logs.
func testNodeOptions(t testing.TB, urls string) Options {
	o := Options{URLs: urls, Dir: t.TempDir(), Shards: envInt("PATIENTMATCH_CLUSTER_SHARDS", 4), Copies: 2, Heartbeat: 200 * time.Millisecond, NodeTTL: 2 * time.Second, RequestTimeout: 3 * time.Second}
	if os.Getenv("PATIENTMATCH_CLUSTER_LOG") != "" {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return o
}

// openNode opens a node, retrying while the NATS cluster elects its
// JetStream leader.
func openNode(t testing.TB, o Options) *Node {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		n, err := Open(ctx, o)
		cancel()
		if err == nil {
			t.Cleanup(func() { n.Close() })
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("opening node: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// kill stops a node as a crash would: the connection drops first (requests
// in flight go unanswered), nothing is said to the membership (it ages out
// after the TTL), then the engines close.
func (n *Node) kill() {
	n.mu.Lock()
	n.mu.closed = true
	n.mu.Unlock()
	n.nc.Close()
	n.stop()
	<-n.done
	n.mu.Lock()
	defer n.mu.Unlock()
	for s, r := range n.mu.replicas {
		r.close()
		delete(n.mu.replicas, s)
	}
}

// settled reports whether every live node holds exactly its assigned
// shards, each serving, applied up to the shard's last sequence, scoring
// with term-frequency revision rev.
func settled(ctx context.Context, nodes []*Node, rev uint64) (bool, string) {
	n0 := nodes[0]
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.id
	}
	want := assign(sortedCopy(ids), n0.shards, n0.opts.Copies)
	last := make([]uint64, n0.shards)
	for s := range last {
		// Only a shard with no write has nothing to wait for. Any other
		// error (a NATS server just killed, the stream's leader being
		// elected, a loaded machine past ctx) says nothing of the shard:
		// taken as 0, it let the test go on before the writes were
		// applied.
		m, err := n0.stream.GetLastMsgForSubject(ctx, shardSubject(s))
		switch {
		case err == nil:
			last[s] = m.Sequence
		case !errors.Is(err, jetstream.ErrMsgNotFound):
			return false, fmt.Sprintf("shard %d's last sequence: %v", s, err)
		}
	}
	for _, n := range nodes {
		n.mu.Lock()
		reps := n.mu.replicas
		if held := len(reps); held != len(want[n.id]) {
			n.mu.Unlock()
			return false, fmt.Sprintf("node %s holds %d shards, assigned %d", n.id, held, len(want[n.id]))
		}
		for s, r := range reps {
			r.mu.RLock()
			termsRev := r.termsRev
			r.mu.RUnlock()
			if !want[n.id][s] || !r.serving.Load() || r.applied.Load() < last[s] || termsRev != rev {
				n.mu.Unlock()
				return false, fmt.Sprintf("node %s shard %d: serving %v applied %d of %d terms %d of %d", n.id, s, r.serving.Load(), r.applied.Load(), last[s], termsRev, rev)
			}
		}
		n.mu.Unlock()
	}
	return true, ""
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// waitSettled waits (up to d) for settled.
func waitSettled(t testing.TB, nodes []*Node, rev uint64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	var why string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ok, w := settled(ctx, nodes, rev)
		cancel()
		if ok {
			return
		}
		why = w
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("cluster did not settle within %v: %s", d, why)
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// localLen counts the patients in n's own shard engines (Node.Len asks
// each shard's queue group, which any replica may answer).
func localLen(n *Node) int {
	total := 0
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range n.mu.replicas {
		r.mu.RLock()
		if r.eng != nil {
			total += r.eng.Len()
		}
		r.mu.RUnlock()
	}
	return total
}
