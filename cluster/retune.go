package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Retune recounts the cluster's name frequencies and publishes them
// (patientmatch cluster retune), without joining the cluster as a node.
func Retune(ctx context.Context, urls string) (uint64, error) {
	nc, err := nats.Connect(urls, nats.Name("patientmatch-retune"))
	if err != nil {
		return 0, fmt.Errorf("cluster: connecting to %s: %w", urls, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, fmt.Errorf("cluster: %w", err)
	}
	meta, err := js.KeyValue(ctx, metaBucket)
	if err != nil {
		return 0, fmt.Errorf("cluster: no patientmatch cluster at %s: %w", urls, err)
	}
	e, err := meta.Get(ctx, keyConfig)
	if err != nil {
		return 0, fmt.Errorf("cluster: reading the cluster settings: %w", err)
	}
	var cc clusterConfig
	if err := json.Unmarshal(e.Value(), &cc); err != nil || cc.Shards <= 0 {
		return 0, fmt.Errorf("cluster: bad cluster settings %q: %v", e.Value(), err)
	}
	// A client-only node: it asks shards and writes the KV, holds none.
	c := &Node{opts: Options{RequestTimeout: 10 * time.Second}, log: slog.New(slog.DiscardHandler), nc: nc, js: js, meta: meta, shards: cc.Shards, acked: make([]seqMax, cc.Shards)}
	return c.RefreshTermFrequencies(ctx)
}
