package main

import (
	"flag"
	"net"
	"strings"
	"time"
)

// serveConfig is the parsed command line of serve. Each concern registers
// its flags in its own file (addServerFlags here, addAuthFlags in
// serve_auth.go): a new concern adds its fields below and an addXFlags
// method in a serve_X.go of its own, called from addFlags.
type serveConfig struct {
	// Data and listeners (serve_config.go, serve_servers.go).
	data, httpAddr, grpcAddr string
	demo                     bool
	demoFile                 string
	tlsCert, tlsKey          string
	baseURL                  string
	maxBody                  int64
	// Access control and OIDC claims (serve_auth.go).
	auth, authJWKS string
	audience       string
	trust          multiFlag
	authIssuer     string
	idTokenAud     multiFlag
	maxLifetime    time.Duration
	jtiOnce        bool
	// Timeouts, limits and the audit trail (serve_security.go).
	security securityConfig
	// Cluster mode (serve_cluster.go).
	cluster clusterFlags
	// The in-flight bound (serve_admission.go).
	admission admissionFlags
	// Runtime profiles (serve_pprof.go).
	pprofAddr string
	// Which pairs become review tasks (serve_identity.go).
	reviewGrade reviewGradeFlag
}

// multiFlag collects a repeatable string flag (--trust-issuer).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// addFlags registers every flag of serve on fs.
func (c *serveConfig) addFlags(fs *flag.FlagSet, env *cliEnv) {
	c.addServerFlags(fs, env)
	c.addAuthFlags(fs)
	c.addSecurityFlags(fs)
	c.addClusterFlags(fs)
	c.addAdmissionFlags(fs)
	c.addPprofFlags(fs)
	addReviewGradeFlag(fs, &c.reviewGrade)
}

// addServerFlags registers the data folder, listener and HTTP flags.
func (c *serveConfig) addServerFlags(fs *flag.FlagSet, env *cliEnv) {
	fs.StringVar(&c.data, "data", dataDir(env), "data folder (env PATIENTMATCH_DATA)")
	fs.StringVar(&c.httpAddr, "http", "127.0.0.1:8080", "HTTP (FHIR REST) listen address; empty to disable")
	fs.StringVar(&c.grpcAddr, "grpc", "127.0.0.1:9090", "gRPC listen address; empty to disable")
	fs.BoolVar(&c.demo, "demo", false, "load the bundled demo patients (--demo-file) when the store is empty")
	fs.StringVar(&c.demoFile, "demo-file", "testdata/demo/patients.ndjson", "the demo patients --demo loads")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "TLS certificate file (with --tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "TLS key file (with --tls-cert)")
	fs.StringVar(&c.baseURL, "base-url", "", "public base URL for fullUrl/fhirUser (default http(s)://<http address>)")
	fs.Int64Var(&c.maxBody, "max-body", 1<<20, "largest request body in bytes (413 beyond)")
}

// validate checks the flags that depend on each other.
func (c *serveConfig) validate() error {
	if err := c.validateAuth(); err != nil {
		return err
	}
	if err := c.validateSecurity(); err != nil {
		return err
	}
	if err := c.validateCluster(); err != nil {
		return err
	}
	if err := c.validateAdmission(); err != nil {
		return err
	}
	if err := c.validatePprof(); err != nil {
		return err
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
