package matcher

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// TestTable checks the packed table against a map of the same writes:
// updates, deletes, ids whose hashes collide, and compaction.
func TestTable(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprintf("collide=%v", collide), func(t *testing.T) {
			tb := newTable(0)
			tb.slabSize = 4 << 10 // compact often
			if collide {
				tb.testHash = func(id string) uint64 { return uint64(len(id) % 3) }
			}
			want := map[string]*scoring.Prepared{}
			var buf []byte
			check := func(step int) {
				t.Helper()
				if tb.len() != len(want) {
					t.Fatalf("step %d: len %d, want %d", step, tb.len(), len(want))
				}
				var p scoring.Prepared
				for id, w := range want {
					ok, err := tb.get(id, &p)
					if err != nil || !ok {
						t.Fatalf("step %d: get %q: %v %v", step, id, ok, err)
					}
					if !reflect.DeepEqual(&p, w) {
						t.Fatalf("step %d: get %q = %+v, want %+v", step, id, p, *w)
					}
				}
				// findAll agrees with find, absent ids included.
				ids := []string{"absent"}
				for id := range want {
					ids = append(ids, id)
				}
				refs := make([]ref, len(ids))
				tb.findAll(ids, refs)
				for i, id := range ids {
					r, ok := tb.find(id)
					if !ok {
						r = noRef
					}
					if refs[i] != r {
						t.Fatalf("step %d: findAll %q = %x, find %x", step, id, uint64(refs[i]), uint64(r))
					}
				}
				n := 0
				tb.each(func([]byte) { n++ })
				if n != len(want) {
					t.Fatalf("step %d: each saw %d records, want %d", step, n, len(want))
				}
			}
			for step := range 3000 {
				id := fmt.Sprintf("p%d", step%400)
				if step%7 == 3 {
					tb.remove(id)
					delete(want, id)
					if tb.has(id) {
						t.Fatalf("step %d: %q still there after remove", step, id)
					}
					continue
				}
				p := scoring.PrepareWithoutTF(record.Normalize(id, record.Raw{
					Family: fmt.Sprintf("family%d", step), Given: []string{"ann", "marie"}, BirthDate: "1980-05-17",
					Phone: "555-010-1234", Identifiers: []record.RawIdentifier{{TypeCode: "MR", Value: fmt.Sprint(step)}},
				}))
				buf = tb.put(id, p, buf)
				want[id] = p
				if step%97 == 0 {
					check(step)
				}
			}
			check(3000)
			// Without compaction the slabs would hold every version written.
			used := 0
			for _, s := range tb.slabs {
				used += len(s)
			}
			if limit := 3 * (int(tb.live) + tb.slabSize); used > limit {
				t.Errorf("slabs hold %d bytes for %d live: replaced records not reclaimed", used, tb.live)
			}
			if tb.has("absent") {
				t.Errorf("has(absent)")
			}
		})
	}
}
