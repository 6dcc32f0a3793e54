package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patientmatch/patientmatch/audit"
	"github.com/patientmatch/patientmatch/authn"
	"github.com/patientmatch/patientmatch/fhir"
	"github.com/patientmatch/patientmatch/grpcapi"
	"github.com/patientmatch/patientmatch/internal/admission"
)

// securityConfig holds serve's timeouts, limits and audit flags (issue 14).
type securityConfig struct {
	auditFile         string
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	requestTimeout    time.Duration
	maxHeaderBytes    int
	maxConns          int
	grpcMaxStreams    uint
}

// addSecurityFlags registers the audit, timeout and limit flags.
func (c *serveConfig) addSecurityFlags(fs *flag.FlagSet) {
	s := &c.security
	fs.StringVar(&s.auditFile, "audit", "", "append one hash-chained JSON line per read/match/write request to FILE (no demographics; check with 'patientmatch audit verify FILE')")
	fs.DurationVar(&s.readHeaderTimeout, "read-header-timeout", 10*time.Second, "HTTP: time to read a request's headers")
	fs.DurationVar(&s.readTimeout, "read-timeout", 30*time.Second, "HTTP: time to read a whole request, body included")
	fs.DurationVar(&s.writeTimeout, "write-timeout", 60*time.Second, "HTTP: time from the end of the request headers to the end of the response")
	fs.DurationVar(&s.idleTimeout, "idle-timeout", 120*time.Second, "HTTP: how long an idle keep-alive connection stays open")
	fs.DurationVar(&s.requestTimeout, "request-timeout", 30*time.Second, "deadline of one HTTP request or gRPC call (each MatchStream request) on the engine")
	fs.IntVar(&s.maxHeaderBytes, "max-header-bytes", 64<<10, "HTTP: largest request header block (431 beyond)")
	fs.IntVar(&s.maxConns, "max-conns", 1024, "connections served at once per listener (HTTP and gRPC each); an HTTP connection over it gets 503 for its request and is closed, a gRPC one is closed at once")
	fs.UintVar(&s.grpcMaxStreams, "grpc-max-streams", 100, "gRPC: concurrent calls per connection (HTTP/2 MAX_CONCURRENT_STREAMS)")
}

// withDefaults fills zero fields (a serveConfig built in code rather than
// from flags) with the flags' defaults.
func (s securityConfig) withDefaults() securityConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&s.readHeaderTimeout, 10*time.Second)
	def(&s.readTimeout, 30*time.Second)
	def(&s.writeTimeout, 60*time.Second)
	def(&s.idleTimeout, 120*time.Second)
	def(&s.requestTimeout, 30*time.Second)
	if s.maxHeaderBytes <= 0 {
		s.maxHeaderBytes = 64 << 10
	}
	if s.maxConns <= 0 {
		s.maxConns = 1024
	}
	if s.grpcMaxStreams == 0 {
		s.grpcMaxStreams = 100
	}
	return s
}

// validateSecurity checks the timeout and limit flags (zero means the
// default, as for a serveConfig built in code).
func (c *serveConfig) validateSecurity() error {
	s := c.security
	for name, d := range map[string]time.Duration{"--read-header-timeout": s.readHeaderTimeout, "--read-timeout": s.readTimeout,
		"--write-timeout": s.writeTimeout, "--idle-timeout": s.idleTimeout, "--request-timeout": s.requestTimeout} {
		if d < 0 {
			return usageErrorf("%s must be positive, not %v", name, d)
		}
	}
	if (s.maxHeaderBytes != 0 && s.maxHeaderBytes < 4096) || s.maxConns < 0 {
		return usageErrorf("--max-header-bytes must be at least 4096 and --max-conns positive")
	}
	return nil
}

// limit bounds the connections served at once on each listener (slowloris,
// descriptor exhaustion) without leaving the excess unanswered: an HTTP
// connection over the limit gets a 503 for its request and is closed,
// as many as max more at once, beyond which they are closed as soon as
// accepted; a gRPC one is closed at once (its refusal would need the
// HTTP/2 handshake). So at most 2×max descriptors per listener.
func (l *listeners) limit(max int, reg prometheus.Registerer) error {
	var err error
	if l.http != nil {
		l.http, err = admission.NewListener(l.http, admission.ListenerOptions{MaxConns: max, MaxRefusing: max, Name: "http", Registerer: reg})
		if err != nil {
			return err
		}
	}
	if l.grpc != nil {
		l.grpc, err = admission.NewListener(l.grpc, admission.ListenerOptions{MaxConns: max, Name: "grpc", Registerer: reg})
	}
	return err
}

// closeOverLimit has the HTTP server close a connection accepted over
// --max-conns after answering its request (which admission refuses): the
// client then opens no more than the server serves.
func closeOverLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if admission.OverLimit(r.Context()) {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// newHTTPServer is the HTTP server with every read, write and idle
// timeout set, so a client trickling a body, never sending one or idling
// holds nothing for long.
func newHTTPServer(c serveConfig, h http.Handler, d serverDeps) *http.Server {
	s := c.security
	return &http.Server{
		Handler:           closeOverLimit(h),
		ConnContext:       admission.ConnContext,
		TLSConfig:         d.tlsConf,
		ReadHeaderTimeout: s.readHeaderTimeout,
		ReadTimeout:       s.readTimeout,
		WriteTimeout:      s.writeTimeout,
		IdleTimeout:       s.idleTimeout,
		MaxHeaderBytes:    s.maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
}

// fhirSecurityOptions fills the FHIR server's security options: the base
// URL (never the Host header), the request deadline and, under --auth
// none, the LocalOnly rules with the server's own addresses as the only
// accepted Host values.
func fhirSecurityOptions(c serveConfig, o *fhir.Options, bound net.Addr, base string) {
	o.BaseURL = base
	o.RequestTimeout = c.security.requestTimeout
	if c.auth != "none" {
		return
	}
	o.LocalOnly = true
	if bound != nil {
		o.AllowedHosts = append(o.AllowedHosts, fhir.LoopbackHosts(bound.String())...)
		o.AllowedHosts = append(o.AllowedHosts, fhir.LoopbackHosts(c.httpAddr)...)
	}
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		o.AllowedHosts = append(o.AllowedHosts, u.Host)
	}
}

// grpcSecurityOptions fills the gRPC server's limits and the audit
// interceptors.
func grpcSecurityOptions(c serveConfig, o *grpcapi.Options, rec *audit.Recorder) {
	o.MaxConcurrentStreams = uint32(min(c.security.grpcMaxStreams, 1<<31))
	o.CallTimeout = c.security.requestTimeout
	if rec != nil {
		o.UnaryInterceptors = append(o.UnaryInterceptors, rec.UnaryInterceptor)
		o.StreamInterceptors = append(o.StreamInterceptors, rec.StreamInterceptor)
	}
}

// openAudit opens --audit, or returns nil without it.
func openAudit(c serveConfig, log *slog.Logger) (*audit.Log, *audit.Recorder, error) {
	if c.security.auditFile == "" {
		return nil, nil, nil
	}
	l, err := audit.Open(c.security.auditFile, audit.Options{Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("--audit: %w", err)
	}
	return l, audit.NewRecorder(l), nil
}

// noteClient records the verified access token's identity on the request's
// audit note (a no-op when the request is not audited).
func noteClient(ctx context.Context, c *authn.Claims) {
	if c == nil {
		return
	}
	id, _ := c.StringClaim("client_id")
	if id == "" {
		id, _ = c.StringClaim("azp")
	}
	audit.NoteFrom(ctx).SetClient(audit.Client{Issuer: c.Issuer, Subject: c.Subject, ClientID: id})
}
