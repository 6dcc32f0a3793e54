package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patientmatch/patientmatch/audit"
	"github.com/patientmatch/patientmatch/authn"
	"github.com/patientmatch/patientmatch/claims"
	"github.com/patientmatch/patientmatch/fhir"
	"github.com/patientmatch/patientmatch/grpcapi"
	"github.com/patientmatch/patientmatch/internal/admission"
)

// loadTLS returns the TLS configuration of --tls-cert and --tls-key, or
// nil without them.
func loadTLS(c serveConfig) (*tls.Config, error) {
	if c.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("loading TLS key pair: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// listeners are the bound HTTP and gRPC sockets; nil for a disabled one.
type listeners struct{ http, grpc net.Listener }

// listen binds the addresses of c; on error nothing stays bound.
func listen(c serveConfig) (*listeners, error) {
	l := &listeners{}
	var err error
	if c.httpAddr != "" {
		if l.http, err = net.Listen("tcp", c.httpAddr); err != nil {
			return nil, err
		}
	}
	if c.grpcAddr != "" {
		if l.grpc, err = net.Listen("tcp", c.grpcAddr); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// Close closes the listeners (the servers close them too; a second close
// is harmless).
func (l *listeners) Close() {
	if l.http != nil {
		l.http.Close()
	}
	if l.grpc != nil {
		l.grpc.Close()
	}
}

// addrs returns the bound addresses, empty for a disabled listener.
func (l *listeners) addrs() (httpAddr, grpcAddr string) {
	if l.http != nil {
		httpAddr = l.http.Addr().String()
	}
	if l.grpc != nil {
		grpcAddr = l.grpc.Addr().String()
	}
	return httpAddr, grpcAddr
}

// publicBase is the base URL of fullUrl and fhirUser: --base-url, else the
// bound HTTP address.
func publicBase(c serveConfig, l *listeners, tlsConf *tls.Config) string {
	if c.baseURL != "" {
		return c.baseURL
	}
	if l.http == nil {
		return "http://localhost"
	}
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	return scheme + "://" + l.http.Addr().String()
}

// servers are the running HTTP and gRPC servers (nil when disabled); errc
// receives the error of a server that stops by itself.
type servers struct {
	http *http.Server
	grpc *grpcapi.Server
	errc chan error
}

// serverDeps is what both servers are built from.
type serverDeps struct {
	eng servedEngine
	// api is the engine as the services see it: eng, or eng seen through
	// the audit trail (--audit).
	api fhir.Engine
	// identities serves Person, the review queue and $merge/$unmerge.
	identities *identities
	base       string          // public base URL (--base-url or the HTTP address)
	audit      *audit.Recorder // nil without --audit
	claims     *claims.Service
	scopes     *authn.ScopeVerifier // nil: no access control
	tlsConf    *tls.Config
	reg        *prometheus.Registry
	log        *slog.Logger
	// admission is the in-flight bound both servers share (nil: none).
	admission *admission.Limiter
}

// startServers starts a server on each listener.
func startServers(c serveConfig, l *listeners, d serverDeps) (*servers, error) {
	s := &servers{errc: make(chan error, 2)}
	if l.http != nil {
		if err := s.startHTTP(c, l.http, d); err != nil {
			return nil, err
		}
	}
	if l.grpc != nil {
		if err := s.startGRPC(c, l.grpc, d); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// startHTTP serves FHIR REST and /match/claims on lis.
func (s *servers) startHTTP(c serveConfig, lis net.Listener, d serverDeps) error {
	fo := fhir.Options{MaxBodyBytes: c.maxBody, Logger: d.log, Registerer: d.reg}
	fhirSecurityOptions(c, &fo, lis.Addr(), d.base)
	fo.Admission = d.admission
	fsrv, err := fhir.NewServer(d.api, fo)
	if err != nil {
		return err
	}
	fsrv.Mount("/match/", claims.NewHandler(d.claims, claims.HandlerOptions{Logger: d.log}))
	if err := registerAll(d.reg, d.claims.Collectors()); err != nil {
		return err
	}
	if d.identities != nil {
		d.identities.mount(fsrv, c, d.log)
	}
	if d.audit != nil {
		fsrv.Use(d.audit.Middleware) // outside authn: refused requests are recorded too
	}
	if d.scopes != nil {
		fsrv.Use(authn.Middleware(d.scopes, authn.MiddlewareOptions{Logger: d.log, Authenticated: noteClient}))
	}
	s.http = newHTTPServer(c, fsrv.Handler(), d)
	go func() {
		var err error
		if d.tlsConf != nil {
			err = s.http.ServeTLS(lis, "", "")
		} else {
			err = s.http.Serve(lis)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			s.errc <- fmt.Errorf("http: %w", err)
		}
	}()
	return nil
}

// startGRPC serves the gRPC API on lis.
func (s *servers) startGRPC(c serveConfig, lis net.Listener, d serverDeps) error {
	gopts := grpcapi.Options{Logger: d.log, Registerer: d.reg, TLSConfig: d.tlsConf}
	grpcSecurityOptions(c, &gopts, d.audit)
	gopts.Admission = d.admission
	if d.scopes != nil {
		gopts.Authorize = func(ctx context.Context, method string) error {
			tok, _ := grpcapi.BearerToken(ctx)
			access := authn.AccessRead
			if grpcapi.IsWrite(method) {
				access = authn.AccessWrite
			}
			tc, err := d.scopes.AuthorizeAccess(ctx, tok, access)
			if err == nil {
				noteClient(ctx, tc)
			}
			return err
		}
	}
	gsrv, err := grpcapi.New(d.api, d.claims, gopts)
	if err != nil {
		return err
	}
	if d.identities != nil {
		d.identities.registerGRPC(gsrv.GRPCServer(), d.scopes)
	}
	s.grpc = gsrv
	go func() {
		if err := gsrv.Serve(lis); err != nil {
			s.errc <- fmt.Errorf("grpc: %w", err)
		}
	}()
	return nil
}

// registerAll registers cs on reg.
func registerAll(reg prometheus.Registerer, cs []prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	return nil
}
