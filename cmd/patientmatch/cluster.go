package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/patientmatch/patientmatch/cluster"
)

// runCluster is `patientmatch cluster status|retune --cluster URLS`.
func runCluster(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(env.stderr, clusterUsage)
			return errHelp
		}
		return usageErrorf("%s", clusterUsage)
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet(env, "cluster "+sub, "")
	urls := fs.String("cluster", strings.TrimSpace(env.getenv("PATIENTMATCH_CLUSTER")), "NATS URLs of the cluster, nats://host:port[,...] (env PATIENTMATCH_CLUSTER)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments: %v", fs.Args())
	}
	if *urls == "" {
		return usageErrorf("--cluster nats://host:port is required")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	switch sub {
	case "status":
		st, err := cluster.ReadStatus(ctx, *urls)
		if err != nil {
			return err
		}
		return st.Write(env.stdout)
	case "retune":
		rev, err := cluster.Retune(ctx, *urls)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "term frequencies published at revision %d; nodes rescore with them within a heartbeat\n", rev)
		return nil
	}
	return usageErrorf("unknown cluster command %q\n%s", sub, clusterUsage)
}

const clusterUsage = `usage: patientmatch cluster status --cluster nats://host:port[,...]
       patientmatch cluster retune --cluster nats://host:port[,...]

status: shards, the stream and its replicas, each node's shards and lag.
retune: recount the name frequencies of every shard and publish them as the
        cluster-wide table every shard scores with.`
