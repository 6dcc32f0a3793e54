package matcher

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/internal/testgen"
	"github.com/patientmatch/patientmatch/record"
)

// synthPatients generates n synthetic patients (seeded) as FHIR resources.
func synthPatients(tb testing.TB, n int, seed uint64) []*fm.Patient {
	pats, _ := testgen.SynthPatients(tb, n, seed)
	return pats
}

// benchN is the store size of the scale benchmarks: PATIENTMATCH_BENCH_N, or
// def. The bench/ harness runs them at 10k, 100k and 1M.
func benchN(def int) int {
	if v, err := strconv.Atoi(os.Getenv("PATIENTMATCH_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkLoad measures bulk loading through UpsertBatch in chunks of 1000
// into an on-disk engine (synced commits), reported as patients/s.
func BenchmarkLoad(b *testing.B) {
	pats := synthPatients(b, benchN(10000), 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e, err := Open(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for j := 0; j < len(pats); j += 1000 {
			if _, err := e.UpsertBatch(context.Background(), pats[j:min(j+1000, len(pats))]); err != nil {
				b.Fatal(err)
			}
		}
		// The load is done when the index holds every patient too.
		if err := e.WaitIndexed(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		e.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(pats)*b.N)/b.Elapsed().Seconds(), "patients/s")
}

// BenchmarkMatch measures one in-process Match against a store of N
// synthetic patients, querying with stored patients' demographics.
//
// With PATIENTMATCH_BENCH_DIR set it opens that data folder instead (one
// loaded by `patientmatch load`, to measure queries right after a bulk
// load) and takes 1,000 queries spread over the NDJSON file named by
// PATIENTMATCH_BENCH_QUERIES (the file that was loaded).
func BenchmarkMatch(b *testing.B) {
	var (
		e       *Engine
		queries []record.Record
	)
	if dir := os.Getenv("PATIENTMATCH_BENCH_DIR"); dir != "" {
		e, queries = openLoaded(b, dir, os.Getenv("PATIENTMATCH_BENCH_QUERIES"))
	} else {
		e, queries = loadSynthetic(b, benchN(10000))
	}
	n := e.Len()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := e.Match(context.Background(), queries[i%len(queries)], MatchOptions{}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(n), "patients")
}

// loadSynthetic loads n synthetic patients into a fresh on-disk engine and
// picks 1,000 of them, evenly spread, as queries.
func loadSynthetic(b *testing.B, n int) (*Engine, []record.Record) {
	pats := synthPatients(b, n, 1)
	e, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	for j := 0; j < len(pats); j += 1000 {
		if _, err := e.UpsertBatch(context.Background(), pats[j:min(j+1000, len(pats))]); err != nil {
			b.Fatal(err)
		}
	}
	queries := make([]record.Record, 0, 1000)
	for i := 0; i < len(pats) && len(queries) < cap(queries); i += max(1, len(pats)/1000) {
		queries = append(queries, record.FromFHIR(pats[i]))
	}
	if err := e.WaitIndexed(context.Background()); err != nil {
		b.Fatal(err)
	}
	return e, queries
}

// openLoaded opens the data folder dir and reads 1,000 queries spread
// evenly over the NDJSON file at queryPath (which must hold at least as
// many patients as the folder, as the file loaded into it does).
func openLoaded(b *testing.B, dir, queryPath string) (*Engine, []record.Record) {
	if queryPath == "" {
		b.Fatal("PATIENTMATCH_BENCH_DIR needs PATIENTMATCH_BENCH_QUERIES")
	}
	// As serve opens it: the open-time scan's pages let go, and badger's
	// block cache free for the queries' blocks (bench/README "resident
	// (session 4)").
	e, err := Open(dir, Options{ReleaseOpenReads: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	f, err := os.Open(queryPath)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := record.NewReader(f, record.FormatNDJSON, record.ReaderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	every := max(1, e.Len()/1000)
	queries := make([]record.Record, 0, 1000)
	for i := 0; len(queries) < cap(queries); i++ {
		it, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		if it.Err == nil && i%every == 0 {
			queries = append(queries, record.FromFHIR(it.Patient))
		}
	}
	if len(queries) == 0 {
		b.Fatalf("no queries in %s", queryPath)
	}
	return e, queries
}

func ExampleEngine_Match() {
	e, err := Open("", Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer e.Close()
	ctx := context.Background()
	id, family, birth := "ex1", "Garcia", "1970-05-06"
	_, _, err = e.Upsert(ctx, &fm.Patient{Id: &id, Name: []fm.HumanName{{Family: &family, Given: []string{"Maria"}}}, BirthDate: &birth})
	if err != nil {
		panic(err)
	}
	q := record.Normalize("", record.Raw{Family: "Garcia", Given: []string{"Maria"}, BirthDate: "1970-05-06"})
	ms, err := e.Match(ctx, q, MatchOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(ms[0].ID, ms[0].Grade)
	// Output: ex1 probable
}
