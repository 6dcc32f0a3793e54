package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/patientmatch/patientmatch/audit"
	"github.com/patientmatch/patientmatch/fhir"
	"github.com/patientmatch/patientmatch/matcher"
)

// The serve command: flags in serve_config.go (and each concern's own
// serve_*.go), access control and the claims service in serve_auth.go,
// listeners and servers in serve_servers.go, the graceful stop in
// serve_shutdown.go.

func runServe(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "serve", "")
	var c serveConfig
	c.addFlags(fs, env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments: %v", fs.Args())
	}
	if err := c.validate(); err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	raiseProcs()
	return serve(ctx, env, c, nil)
}

// serveGCPercent is a serving process's GC target unless GOGC is set.
// Measured at 1M patients on 2 cores (bench/README "Hot path"): with 200
// instead of Go's default 100 the server answered 2,500 $match/s open
// loop at p99 2.6–3.4 ms with nothing shed (three runs), where 100 served
// 1,941/s and shed the rest; the price is ~0.6 GB more resident memory.
const serveGCPercent = 200

// serve runs the HTTP and gRPC servers until ctx is cancelled (SIGTERM,
// Ctrl-C), then stops them gracefully. ready, when set, receives the bound
// addresses once both listen (tests use port 0).
func serve(ctx context.Context, env *cliEnv, c serveConfig, ready func(httpAddr, grpcAddr string)) error {
	c.security = c.security.withDefaults()
	if c.maxLifetime <= 0 {
		c.maxLifetime = 5 * time.Minute
	}
	log := slog.New(slog.NewJSONHandler(env.stderr, nil))
	eng, err := openServed(ctx, env, c, log)
	if err != nil {
		return err
	}
	defer eng.Close()
	ids, err := servedIdentities(ctx, eng, log, c.reviewGrade.g)
	if err != nil {
		return err
	}
	if ids != nil {
		defer ids.Close()
	}
	// Opening decoded and prepared every stored record and loaded the
	// identity state: hand the garbage of that back to the OS now rather
	// than keep it resident for the life of the server (at 1M patients
	// 1.5 GB of the 3 GB resident after start; bench/README "Hot path").
	debug.FreeOSMemory()
	tlsConf, err := loadTLS(c)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	lis, err := listen(c)
	if err != nil {
		return err
	}
	defer lis.Close()
	if err := lis.limit(c.security.maxConns, reg); err != nil {
		return err
	}
	auditLog, rec, err := openAudit(c, log)
	if err != nil {
		return err
	}
	if auditLog != nil {
		defer auditLog.Close() // after the servers stopped: their last records are in
	}
	var api fhir.Engine = eng
	if e, ok := eng.(*matcher.Engine); ok && rec != nil {
		api = audit.Wrap(e) // --audit with --cluster is refused (validateCluster)
	}
	scopes, err := accessControl(ctx, c)
	if err != nil {
		return err
	}
	base := publicBase(c, lis, tlsConf)
	csvc, err := claimsService(ctx, eng, api, c, base, log)
	if err != nil {
		return err
	}
	stopPprof, err := startPprof(c, log)
	if err != nil {
		return err
	}
	defer stopPprof()
	lim, err := newLimiter(c, reg)
	if err != nil {
		return err
	}
	srv, err := startServers(c, lis, serverDeps{eng: eng, api: api, base: base, audit: rec, identities: ids,
		claims: csvc, scopes: scopes, tlsConf: tlsConf, reg: reg, log: log, admission: lim})
	if err != nil {
		return err
	}
	ha, ga := lis.addrs()
	log.Info("serving", "http", ha, "grpc", ga, "patients", eng.Len(), "auth", c.auth)
	if ready != nil {
		ready(ha, ga)
	}
	return srv.shutdown(log, srv.wait(ctx, ids.failure()))
}

// openServedEngine opens the engine of --data and, with --demo and an
// empty store, loads the demo patients.
func openServedEngine(ctx context.Context, env *cliEnv, c serveConfig, log *slog.Logger) (*matcher.Engine, error) {
	eng, err := matcher.Open(c.data, matcher.Options{Logger: log, Progress: progressFunc(env, env.progress), ReleaseOpenReads: true})
	if err != nil {
		return nil, err
	}
	if c.demo && eng.Len() == 0 {
		n, err := loadFile(ctx, env, eng, c.demoFile)
		if err != nil {
			eng.Close()
			return nil, fmt.Errorf("loading demo patients: %w", err)
		}
		log.Info("demo patients loaded", "count", n)
	}
	return eng, nil
}
