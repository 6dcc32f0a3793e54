package main

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/patientmatch/patientmatch/internal/testsets"

	pmv1 "github.com/patientmatch/patientmatch/api/patientmatch/v1"
)

// BenchmarkServeMatch compares $match over HTTP with Match over gRPC on the
// same running server (the 3,000 bundled demo patients), the same queries
// (stored patients as FHIR JSON) and the same client machine: closed loop,
// GOMAXPROCS×4 concurrent callers. ns/op is per answered request, so the
// two sub-benchmarks' ratio is the throughput ratio.
func BenchmarkServeMatch(b *testing.B) {
	root := testsets.ModuleRoot(b)
	demo := filepath.Join(root, "testdata", "demo", "patients.ndjson")
	if _, err := os.Stat(demo); err != nil {
		b.Skipf("demo data absent: %v", err)
	}
	s := startServer(b, serveConfig{data: b.TempDir(), demo: true, demoFile: demo})
	queries := benchQueries(b, demo, 200)
	b.Run("HTTP", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				body := []byte(`{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + queries[i%len(queries)] + `}]}`)
				i++
				resp, err := client.Post(s.httpBase+"/fhir/Patient/$match", "application/fhir+json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				var sink bytes.Buffer
				_, _ = sink.ReadFrom(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	})
	b.Run("gRPC", func(b *testing.B) {
		_, client := dialGRPC(b, s.grpcAddr)
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				req := &pmv1.MatchRequest{Subject: &pmv1.MatchRequest_PatientJson{PatientJson: queries[i%len(queries)]}}
				i++
				if _, err := client.Match(context.Background(), req); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// benchQueries reads the first n Patient lines of an NDJSON file.
func benchQueries(b *testing.B, path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for len(out) < n && sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
