package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServePprof(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "192.168.1.20:6060", "mpi.example.org:6060"} {
		c := serveConfig{auth: "none", httpAddr: "127.0.0.1:8080", pprofAddr: addr}
		var ue *usageError
		if err := c.validate(); !errors.As(err, &ue) {
			t.Errorf("--pprof %s: validate %v, want a usage error", addr, err)
		}
	}

	// Off by default: nothing is said about profiles.
	s := startServer(t, serveConfig{data: t.TempDir()})
	if strings.Contains(s.log.String(), "runtime profiles") {
		t.Errorf("profiles served without --pprof:\n%s", s.log.String())
	}
	if err := s.stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	s = startServer(t, serveConfig{data: t.TempDir(), pprofAddr: "127.0.0.1:0"})
	var addr string
	for _, line := range strings.Split(s.log.String(), "\n") {
		var v struct{ Msg, Pprof string }
		if json.Unmarshal([]byte(line), &v) == nil && v.Msg == "serving runtime profiles" {
			addr = v.Pprof
		}
	}
	if addr == "" {
		t.Fatalf("no profiling address logged:\n%s", s.log.String())
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
		t.Errorf("GET /debug/pprof/heap: %s\n%.200s", resp.Status, body)
	}
	// The FHIR listener does not serve them.
	resp, err = http.Get(s.httpBase + "/debug/pprof/heap")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("the FHIR listener serves /debug/pprof/heap")
	}
	if err := s.stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Errorf("profiles still served after the server stopped")
	}
}
