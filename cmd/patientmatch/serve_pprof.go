package main

import (
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// addPprofFlags registers --pprof.
func (c *serveConfig) addPprofFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.pprofAddr, "pprof", "",
		"serve Go's runtime profiles (net/http/pprof, /debug/pprof/) on this loopback address; off when empty")
}

// validatePprof refuses a profiling address off the loopback interface:
// profiles reveal the program's internals (and heap profiles can hold
// fragments of patient data), so they are never served to the network.
func (c *serveConfig) validatePprof() error {
	if c.pprofAddr != "" && !isLoopback(c.pprofAddr) {
		return usageErrorf("--pprof %q must be a loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT)", c.pprofAddr)
	}
	return nil
}

// startPprof serves the runtime profiles on --pprof, on a listener and a
// mux of its own (nothing of the FHIR or gRPC servers, and no admission
// bound: a profile must be takeable while the server is overloaded). It
// returns the function that stops it; with --pprof empty it does nothing.
func startPprof(c serveConfig, log *slog.Logger) (stop func(), err error) {
	if c.pprofAddr == "" {
		return func() {}, nil
	}
	lis, err := net.Listen("tcp", c.pprofAddr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof server stopped", "err", err)
		}
	}()
	log.Info("serving runtime profiles", "pprof", lis.Addr().String())
	return func() { _ = srv.Close() }, nil
}
