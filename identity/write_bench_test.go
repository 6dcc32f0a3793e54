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
// path: Upserts of new patients (demo patients under new ids, so they
// have duplicates to find) into an in-memory engine holding the demo set.
// "off": no identity service. "queued": with the service observing
// writes, the time a writer waits (linking runs behind it). "linked": the
// same, with the time until every write is linked, i.e. the CPU linking
// costs per write.
func BenchmarkUpsert(b *testing.B) {
	demo := readDemo(b, "../testdata/demo/patients.ndjson")
	for _, mode := range []string{"off", "queued", "linked"} {
		b.Run("identities="+mode, func(b *testing.B) {
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
			var svc *Service
			if mode != "off" {
				svc, err = Open(ctx, NewMemKV(), eng, Options{})
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
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p := *demo[i%len(demo)]
				id := fmt.Sprintf("bench%d", i)
				p.Id = &id
				if _, _, err := eng.Upsert(ctx, &p); err != nil {
					b.Fatal(err)
				}
			}
			if mode == "linked" {
				if err := svc.Sync(ctx); err != nil {
					b.Fatal(err)
				}
			} else if err := eng.WaitIndexed(ctx); err != nil {
				b.Fatal(err) // every mode pays for indexing its writes
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
