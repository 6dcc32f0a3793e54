package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/patientmatch/patientmatch/claims"
	"github.com/patientmatch/patientmatch/cluster"
	"github.com/patientmatch/patientmatch/fhir"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
)

// servedEngine is what serve needs of an engine: the single-node
// *matcher.Engine, or a cluster node (--cluster, --cluster-embed), which
// answers through the same engine on every shard.
type servedEngine interface {
	fhir.Engine
	Ping(ctx context.Context) error
	Close() error
}

// clusterFlags are serve's cluster flags.
type clusterFlags struct {
	urls, embed, nodeID string
	shards, copies      int
}

func (c *serveConfig) addClusterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.cluster.urls, "cluster", "", "join the patientmatch cluster on these NATS servers, nats://host:port[,...] (default: a single node, no NATS)")
	fs.StringVar(&c.cluster.embed, "cluster-embed", "", "run an embedded NATS server (JetStream, data in DATA/nats) on ADDR and join it; other nodes join with --cluster nats://ADDR")
	fs.IntVar(&c.cluster.shards, "cluster-shards", 16, "shards of a new cluster (fixed when the cluster is created)")
	fs.IntVar(&c.cluster.copies, "cluster-copies", 2, "how many nodes hold each shard")
	fs.StringVar(&c.cluster.nodeID, "cluster-node-id", "", "this node's name in the cluster (default: made once, kept in DATA/node-id)")
}

func (c *serveConfig) validateCluster() error {
	f := c.cluster
	if f.urls == "" && f.embed == "" {
		return nil
	}
	if f.embed != "" && !isLoopback(f.embed) {
		// The embedded server has no authentication of its own: a cluster
		// across machines runs nats-server with TLS and credentials.
		return usageErrorf("--cluster-embed refuses to listen on %s: use a loopback address, or run nats-server and join with --cluster", f.embed)
	}
	if c.security.auditFile != "" {
		return usageErrorf("--audit records one engine's requests; it is not available with --cluster yet")
	}
	if c.demo {
		return usageErrorf("--demo loads a single node; load a cluster through its API (POST /fhir with a batch Bundle)")
	}
	if f.shards < 1 || f.shards > 1024 || f.copies < 1 {
		return usageErrorf("--cluster-shards must be 1..1024 and --cluster-copies at least 1")
	}
	return nil
}

// openServed opens the engine serve answers with: the cluster node when
// --cluster or --cluster-embed is given, else the single-node engine.
func openServed(ctx context.Context, env *cliEnv, c serveConfig, log *slog.Logger) (servedEngine, error) {
	if c.cluster.urls == "" && c.cluster.embed == "" {
		return openServedEngine(ctx, env, c, log)
	}
	return openClusterNode(ctx, c, log)
}

// clusterNode is a cluster node and, with --cluster-embed, the NATS server
// it runs; Close stops both.
type clusterNode struct {
	*cluster.Node
	nats *cluster.Server
}

func (n *clusterNode) Close() error {
	err := n.Node.Close()
	if n.nats != nil {
		err = errors.Join(err, n.nats.Close())
	}
	return err
}

func openClusterNode(ctx context.Context, c serveConfig, log *slog.Logger) (*clusterNode, error) {
	f := c.cluster
	out := &clusterNode{}
	urls := f.urls
	if f.embed != "" {
		srv, err := cluster.Embed(cluster.EmbedOptions{Addr: f.embed, StoreDir: filepath.Join(c.data, "nats")})
		if err != nil {
			return nil, err
		}
		out.nats = srv
		if urls == "" {
			urls = srv.ClientURL()
		} else {
			urls = srv.ClientURL() + "," + urls
		}
		log.Info("embedded NATS server listening", "url", srv.ClientURL())
	}
	model, err := dataModel(c.data)
	if err == nil {
		out.Node, err = cluster.Open(ctx, cluster.Options{URLs: urls, Dir: c.data, NodeID: f.nodeID, Shards: f.shards, Copies: f.copies, Model: model, Logger: log})
	}
	if err != nil {
		if out.nats != nil {
			out.nats.Close()
		}
		return nil, err
	}
	log.Info("joined the cluster", "node", out.ID(), "shards", out.Shards())
	return out, nil
}

// dataModel is DATA/model.json when present (the model a new cluster
// starts with), else nil for the built-in one.
func dataModel(dir string) (*scoring.Model, error) {
	p := filepath.Join(dir, "model.json")
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	m, err := readModelFile(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return m, nil
}

// linksOf is where identity links live: the engine's store, or the
// cluster's replicated KV bucket.
func linksOf(ctx context.Context, eng servedEngine) (claims.KV, error) {
	switch e := eng.(type) {
	case *matcher.Engine:
		kv, err := e.KV("links")
		if err != nil {
			return nil, err
		}
		return linkStore{kv}, nil
	case *clusterNode:
		return e.Links(ctx)
	}
	return nil, fmt.Errorf("no identity-link store for %T", eng)
}

// servedIdentities opens the identity service (Person, review, $merge) of
// a single-node engine. A cluster node serves none: the service observes
// one engine's writes, and a cluster's writes are spread over shards on
// other nodes (nil, logged).
func servedIdentities(ctx context.Context, eng servedEngine, log *slog.Logger, taskGrade scoring.Grade) (*identities, error) {
	e, ok := eng.(*matcher.Engine)
	if !ok {
		log.Warn("cluster mode serves no identities (Person, /review, $merge, $unmerge)")
		return nil, nil
	}
	return openIdentities(ctx, e, log, taskGrade)
}
