package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestServeClusterE2E runs two real servers in cluster mode on loopback —
// one with --cluster-embed, one joining it with --cluster — writes through
// one and matches through the other over HTTP, then checks `patientmatch
// cluster status` and `cluster retune`.
func TestServeClusterE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server and two cluster nodes; skipped under -short")
	}
	natsAddr := freeLoopbackAddr(t)
	a := startServer(t, serveConfig{data: t.TempDir(), cluster: clusterFlags{embed: natsAddr, shards: 4, copies: 2}})
	b := startServer(t, serveConfig{data: t.TempDir(), cluster: clusterFlags{urls: "nats://" + natsAddr, shards: 4, copies: 2}})

	for _, p := range []person{e2ePeter, e2eJane, e2eLiam, e2eNoah, e2eOscar} {
		r := a.do(t, http.MethodPut, "/fhir/Patient/"+p.id, p.patient(), "application/fhir+json", "")
		wantStatus(t, "PUT "+p.id, r, http.StatusCreated)
	}
	// Read-your-writes holds for a caller of one node; b sees a's writes
	// once applied, which a Get through b waits for at most a moment.
	r := a.do(t, http.MethodPost, "/fhir/Patient/$match", matchParams(petersTypo().patient(), nil), "application/fhir+json", "")
	got := searchset(t, a.httpBase, r)
	if len(got) == 0 || got[0].ID != e2ePeter.id {
		t.Fatalf("$match through the writing node: %+v, want %s first", got, e2ePeter.id)
	}
	waitFor(t, func() bool {
		r := b.do(t, http.MethodGet, "/fhir/Patient/"+e2eOscar.id, nil, "", "")
		return r.status == http.StatusOK
	})
	r = b.do(t, http.MethodPost, "/fhir/Patient/$match", matchParams(petersTypo().patient(), nil), "application/fhir+json", "")
	gotB := searchset(t, b.httpBase, r)
	if len(gotB) != len(got) || gotB[0].ID != got[0].ID || gotB[0].Score != got[0].Score || gotB[0].Grade != got[0].Grade {
		t.Fatalf("$match through the other node %+v, through the writing node %+v", gotB, got)
	}
	// A merged answer names the cap as one engine does: Noah's twin is
	// held at possible by the twins rule, Noah himself by none.
	r = b.do(t, http.MethodPost, "/fhir/Patient/$match?_explain=true", matchParams(asQuery(e2eNoah).patient(), nil), "application/fhir+json", "")
	twins := searchset(t, b.httpBase, r)
	if caps := explanationCaps(t, r); gradeOf(twins, e2eLiam.id) != "possible" || caps[e2eLiam.id] != "twins" || gradeOf(twins, e2eNoah.id) != "certain" || caps[e2eNoah.id] != "" {
		t.Errorf("explained $match of Noah through the other node: %+v, caps %v; want Noah certain without a cap, Liam possible capped by twins", twins, caps)
	}
	wantStatus(t, "DELETE", b.do(t, http.MethodDelete, "/fhir/Patient/"+e2eOscar.id, nil, "", ""), http.StatusNoContent)
	wantStatus(t, "GET deleted", b.do(t, http.MethodGet, "/fhir/Patient/"+e2eOscar.id, nil, "", ""), http.StatusNotFound)

	out, code := runClusterCLI(t, "cluster", "retune", "--cluster", "nats://"+natsAddr)
	if code != 0 || !strings.Contains(out, "revision") {
		t.Fatalf("cluster retune: exit %d\n%s", code, out)
	}
	// Nodes announce their shards every heartbeat (1s): both serve all 4
	// shards (2 copies) with the new term frequencies.
	waitFor(t, func() bool {
		out, code = runClusterCLI(t, "cluster", "status", "--cluster", "nats://"+natsAddr)
		return code == 0 && strings.Contains(out, "nodes             2") && strings.Count(out, "serving 0,1,2,3; catching up -; lag 0; terms revision 3") == 2
	})
	if strings.Contains(out, "UNSERVED") {
		t.Errorf("cluster status reports unserved shards:\n%s", out)
	}
	if _, code := runClusterCLI(t, "cluster", "status"); code != 2 {
		t.Errorf("cluster status without --cluster: exit %d, want 2", code)
	}
}

// freeLoopbackAddr is a loopback address free a moment ago.
func freeLoopbackAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runClusterCLI runs the command line in process and returns stdout+stderr and
// the exit code.
func runClusterCLI(t *testing.T, args ...string) (string, int) {
	var out bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	code := run(context.Background(), env, args)
	return out.String(), code
}

// waitFor waits for cond, which the cluster reaches by itself.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	if !eventually(cond) {
		t.Fatalf("condition not met within %v", e2eHangGuard)
	}
}
