package identity

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/matcher"
)

// BenchmarkUpsert measures what automatic linking adds to the write
// path: one Upsert of a new patient (a demo patient under a new id, so
// it has duplicates to find) into an in-memory engine holding the demo
// set, without and with the identity service observing writes.
func BenchmarkUpsert(b *testing.B) {
	demo := readDemo(b, "../testdata/demo/patients.ndjson")
	for _, observe := range []bool{false, true} {
		b.Run(fmt.Sprintf("identities=%v", observe), func(b *testing.B) {
			ctx := context.Background()
			eng, err := matcher.Open("", matcher.Options{InMemory: true})
			if err != nil {
				b.Fatal(err)
			}
			defer eng.Close()
			for i := 0; i < len(demo); i += 500 {
				if _, err := eng.UpsertBatch(ctx, demo[i:min(i+500, len(demo))]); err != nil {
					b.Fatal(err)
				}
			}
			if observe {
				svc, err := Open(ctx, NewMemKV(), eng, Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer svc.Close()
				if _, err := svc.CatchUp(ctx, false, ActorBatch, nil); err != nil {
					b.Fatal(err)
				}
				eng.SetObserver(svc)
				defer eng.SetObserver(nil)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				p := *demo[i%len(demo)]
				id := fmt.Sprintf("bench%d", i)
				p.Id = &id
				if _, _, err := eng.Upsert(ctx, &p); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func readDemo(b *testing.B, path string) []*fm.Patient {
	f, err := os.Open(path)
	if err != nil {
		b.Skipf("demo set absent: %v", err)
	}
	defer f.Close()
	var out []*fm.Patient
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var p fm.Patient
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			b.Fatal(err)
		}
		out = append(out, &p)
	}
	return out
}
