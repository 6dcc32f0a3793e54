package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/patientmatch/patientmatch/authn"
	"github.com/patientmatch/patientmatch/claims"
	"github.com/patientmatch/patientmatch/fhir"
	"github.com/patientmatch/patientmatch/grpcapi"
	"github.com/patientmatch/patientmatch/index"
	"github.com/patientmatch/patientmatch/matcher"
)

// multiFlag collects a repeatable string flag (--trust-issuer).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// serveConfig is the parsed command line of serve.
type serveConfig struct {
	data, httpAddr, grpcAddr string
	demo                     bool
	demoFile                 string
	auth, authJWKS           string
	audience                 string
	trust                    multiFlag
	tlsCert, tlsKey          string
	baseURL                  string
	maxBody                  int64
}

func runServe(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "serve", "")
	var c serveConfig
	fs.StringVar(&c.data, "data", dataDir(env), "data folder (env PATIENTMATCH_DATA)")
	fs.StringVar(&c.httpAddr, "http", "127.0.0.1:8080", "HTTP (FHIR REST) listen address; empty to disable")
	fs.StringVar(&c.grpcAddr, "grpc", "127.0.0.1:9090", "gRPC listen address; empty to disable")
	fs.BoolVar(&c.demo, "demo", false, "load the bundled demo patients (--demo-file) when the store is empty")
	fs.StringVar(&c.demoFile, "demo-file", "testdata/demo/patients.ndjson", "the demo patients --demo loads")
	fs.StringVar(&c.auth, "auth", "none", "access control: none (loopback only) or jwt (SMART Backend Services bearer tokens)")
	fs.StringVar(&c.authJWKS, "auth-jwks", "", "JWKS file or URL whose keys sign access tokens (--auth jwt)")
	fs.StringVar(&c.audience, "auth-audience", "", "required aud of access tokens (--auth jwt); recommended")
	fs.Var(&c.trust, "trust-issuer", "ISSUER=JWKS_FILE_OR_URL trusted to sign ID tokens for /match/claims (repeatable)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "TLS certificate file (with --tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "TLS key file (with --tls-cert)")
	fs.StringVar(&c.baseURL, "base-url", "", "public base URL for fullUrl/fhirUser (default http(s)://<http address>)")
	fs.Int64Var(&c.maxBody, "max-body", 1<<20, "largest request body in bytes (413 beyond)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments: %v", fs.Args())
	}
	if err := c.validate(); err != nil {
		return err
	}
	return serve(ctx, env, c, nil)
}

func (c *serveConfig) validate() error {
	switch c.auth {
	case "none":
		for _, a := range []string{c.httpAddr, c.grpcAddr} {
			if a != "" && !isLoopback(a) {
				return usageErrorf("--auth none refuses to listen on %s: use a loopback address or --auth jwt", a)
			}
		}
	case "jwt":
		if c.authJWKS == "" {
			return usageErrorf("--auth jwt needs --auth-jwks")
		}
	default:
		return usageErrorf("--auth must be none or jwt, not %q", c.auth)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return usageErrorf("--tls-cert and --tls-key go together")
	}
	if c.httpAddr == "" && c.grpcAddr == "" {
		return usageErrorf("nothing to serve: both --http and --grpc are empty")
	}
	return nil
}

// isLoopback reports whether a listen address is on the loopback interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serve runs the HTTP and gRPC servers until ctx is cancelled (SIGTERM,
// Ctrl-C), then stops them gracefully. ready, when set, receives the bound
// addresses once both listen (tests use port 0).
func serve(ctx context.Context, env *cliEnv, c serveConfig, ready func(httpAddr, grpcAddr string)) error {
	log := slog.New(slog.NewJSONHandler(env.stderr, nil))
	eng, err := matcher.Open(c.data, matcher.Options{Logger: log, Progress: progressFunc(env, env.progress)})
	if err != nil {
		return err
	}
	defer eng.Close()
	if c.demo && eng.Len() == 0 {
		n, err := loadFile(ctx, env, eng, c.demoFile)
		if err != nil {
			return fmt.Errorf("loading demo patients: %w", err)
		}
		log.Info("demo patients loaded", "count", n)
	}

	// Opening decoded and prepared every stored record; hand the garbage of
	// that back to the OS now rather than keep it resident for the life of
	// the server.
	debug.FreeOSMemory()

	var tlsConf *tls.Config
	if c.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			return fmt.Errorf("loading TLS key pair: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	var httpLis, grpcLis net.Listener
	if c.httpAddr != "" {
		if httpLis, err = net.Listen("tcp", c.httpAddr); err != nil {
			return err
		}
		defer httpLis.Close()
	}
	if c.grpcAddr != "" {
		if grpcLis, err = net.Listen("tcp", c.grpcAddr); err != nil {
			return err
		}
		defer grpcLis.Close()
	}
	base := c.baseURL
	if base == "" && httpLis != nil {
		scheme := "http"
		if tlsConf != nil {
			scheme = "https"
		}
		base = scheme + "://" + httpLis.Addr().String()
	}
	if base == "" {
		base = "http://localhost"
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Access control for both APIs.
	var scopes *authn.ScopeVerifier
	if c.auth == "jwt" {
		ks, err := authn.NewKeySet(c.authJWKS, authn.KeySetOptions{})
		if err != nil {
			return fmt.Errorf("--auth-jwks: %w", err)
		}
		if err := ks.Refresh(ctx); err != nil {
			return fmt.Errorf("--auth-jwks: %w", err)
		}
		v, err := authn.NewKeySetVerifier(ks, authn.VerifierOptions{Algorithms: authn.SMARTBackendAlgorithms(), Audience: audiences(c.audience)})
		if err != nil {
			return err
		}
		scopes = authn.NewScopeVerifier(v)
	}

	// The OIDC-claims service, shared by HTTP /match/claims and gRPC.
	issuers := map[string]*authn.KeySet{}
	for _, t := range c.trust {
		iss, src, err := authn.ParseTrustIssuer(t)
		if err != nil {
			return usageErrorf("--trust-issuer: %v", err)
		}
		ks, err := authn.NewKeySet(src, authn.KeySetOptions{})
		if err != nil {
			return fmt.Errorf("--trust-issuer %s: %w", iss, err)
		}
		issuers[iss] = ks
	}
	linkKV, err := eng.KV("links")
	if err != nil {
		return err
	}
	copts := claims.Options{BaseURL: base, Logger: log, Links: claims.NewLinkStore(linkStore{linkKV})}
	if len(issuers) > 0 {
		v, err := authn.NewVerifier(issuers, authn.VerifierOptions{})
		if err != nil {
			return err
		}
		copts.Verifier = v
	}
	csvc, err := claims.NewService(eng, copts)
	if err != nil {
		return err
	}

	errc := make(chan error, 2)
	var httpSrv *http.Server
	if httpLis != nil {
		fsrv, err := fhir.NewServer(eng, fhir.Options{BaseURL: c.baseURL, MaxBodyBytes: c.maxBody, Logger: log, Registerer: reg})
		if err != nil {
			return err
		}
		fsrv.Mount("/match/", claims.NewHandler(csvc, claims.HandlerOptions{Logger: log}))
		if scopes != nil {
			fsrv.Use(authn.Middleware(scopes, authn.MiddlewareOptions{Logger: log}))
		}
		httpSrv = &http.Server{Handler: fsrv.Handler(), ReadHeaderTimeout: 10 * time.Second, TLSConfig: tlsConf}
		go func() {
			var err error
			if tlsConf != nil {
				err = httpSrv.ServeTLS(httpLis, "", "")
			} else {
				err = httpSrv.Serve(httpLis)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http: %w", err)
			}
		}()
	}
	var gsrv *grpcapi.Server
	if grpcLis != nil {
		gopts := grpcapi.Options{Logger: log, Registerer: reg, TLSConfig: tlsConf}
		if scopes != nil {
			gopts.Authorize = func(ctx context.Context, method string) error {
				tok, _ := grpcapi.BearerToken(ctx)
				return scopes.Authorize(ctx, tok, grpcapi.IsWrite(method))
			}
		}
		gsrv, err = grpcapi.New(eng, csvc, gopts)
		if err != nil {
			return err
		}
		go func() {
			if err := gsrv.Serve(grpcLis); err != nil {
				errc <- fmt.Errorf("grpc: %w", err)
			}
		}()
	}
	var ha, ga string
	if httpLis != nil {
		ha = httpLis.Addr().String()
	}
	if grpcLis != nil {
		ga = grpcLis.Addr().String()
	}
	log.Info("serving", "http", ha, "grpc", ga, "patients", eng.Len(), "auth", c.auth)
	if ready != nil {
		ready(ha, ga)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	log.Info("shutting down")
	// Both servers stop at the same time, on one budget. A client that keeps
	// a connection or stream open past it is cut off: that is the end of a
	// graceful stop, not a failure of the server, so it is logged, not
	// returned (a SIGTERM'd server exits 0).
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	stopErrs := make([]error, 2)
	if httpSrv != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := httpSrv.Shutdown(stopCtx); err != nil {
				httpSrv.Close()
				stopErrs[0] = fmt.Errorf("http: %w", err)
			}
		}()
	}
	if gsrv != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopErrs[1] = gsrv.Stop(stopCtx)
		}()
	}
	wg.Wait()
	for _, err := range stopErrs {
		switch {
		case err == nil:
		case errors.Is(err, context.DeadlineExceeded):
			log.Warn("graceful stop cut short: open connections were closed", "err", err)
		default:
			runErr = errors.Join(runErr, err)
		}
	}
	return runErr
}

// audiences turns the --auth-audience flag into the verifier's list.
func audiences(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// linkStore adapts the engine's durable KV namespace to the claims
// package's KV, so identity links survive restarts.
type linkStore struct{ kv *index.KV }

func (l linkStore) Get(ctx context.Context, key []byte) ([]byte, error) {
	v, err := l.kv.Get(ctx, string(key))
	if errors.Is(err, index.ErrKeyNotFound) {
		return nil, nil
	}
	return v, err
}

func (l linkStore) Set(ctx context.Context, key, value []byte) error {
	return l.kv.Put(ctx, string(key), value)
}

func (l linkStore) Delete(ctx context.Context, key []byte) error {
	return l.kv.Delete(ctx, string(key))
}

func (l linkStore) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	return l.kv.List(ctx, string(prefix), func(k string, v []byte) error { return fn([]byte(k), v) })
}
