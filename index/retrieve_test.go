package index

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/blevesearch/bleve/v2/index/scorch"

	"github.com/patientmatch/patientmatch/blocking"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// lookAlikeFamilies returns up to n distinct spellings of "smith" that
// give a record with the given name and birth date exactly the blocking
// keys of "smith" (a doubled consonant, one to three other vowels, a
// silent trailing e or h: the phonetic encoders hear no difference).
func lookAlikeFamilies(given string, birth record.Date, n int) []string {
	base := record.Record{Given: given, Family: "smith", BirthDate: birth}
	want := blocking.Keys(scoring.PrepareWithoutTF(base), nil)
	var groups []string
	for _, a := range "aeiou" {
		groups = append(groups, string(a))
		for _, b := range "aeiou" {
			groups = append(groups, string(a)+string(b))
			for _, c := range "aeiou" {
				groups = append(groups, string(a)+string(b)+string(c))
			}
		}
	}
	out := make([]string, 0, n)
	for _, v := range groups {
		for _, m := range []string{"m", "mm"} {
			for _, th := range []string{"th", "tth", "thh"} {
				for _, suffix := range []string{"", "e", "h"} {
					s := "s" + m + v + th + suffix
					if s == "smith" || len(out) >= n {
						continue
					}
					r := base
					r.Family = s
					if slices.Equal(blocking.Keys(scoring.PrepareWithoutTF(r), nil), want) {
						out = append(out, s)
					}
				}
			}
		}
	}
	return out
}

func writeRecords(t testing.TB, ix *Index, recs []record.Record) {
	t.Helper()
	changes := make([]Change, len(recs))
	for i := range recs {
		changes[i] = Change{Seq: uint64(i + 1), ID: recs[i].ID, Record: &recs[i], Keys: Keys(scoring.PrepareWithoutTF(recs[i]), nil)}
	}
	for i := 0; i < len(changes); i += 1000 {
		if err := ix.Write(context.Background(), changes[i:min(i+1000, len(changes))], 0); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCandidatesDecoys plants thousands of look-alikes of one patient —
// same given name, same birth date, family names spelled differently but
// sounding the same, and fewer other fields — and queries with the
// patient's exact name and birth date: the patient must be a candidate
// (issue 14, item 11: with bleve's TF-IDF ranking 2,884 such records
// pushed the exact match out of the 64 candidates).
func TestCandidatesDecoys(t *testing.T) {
	ix, err := OpenIndex("", IndexOptions{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	birth := record.Date{Year: 1984, Month: 3, Day: 14, Valid: true}
	target := record.Record{ID: "target", Given: "maria", Family: "smith", BirthDate: birth, Sex: record.SexFemale,
		Phone: "+13175550100", Address: record.Address{Number: "12", Street: "elm st", City: "springfield", PostalCode: "62701"}}
	const decoys = 2500
	recs := []record.Record{}
	fams := lookAlikeFamilies(target.Given, birth, decoys)
	if len(fams) < decoys {
		t.Fatalf("only %d look-alike spellings of %q", len(fams), target.Family)
	}
	for i, fam := range fams {
		recs = append(recs, record.Record{ID: fmt.Sprintf("decoy%04d", i), Given: "maria", Family: fam, BirthDate: birth, Sex: record.SexFemale})
		if i == decoys/2 {
			recs = append(recs, target) // in the middle of the index order
		}
	}
	writeRecords(t, ix, recs)

	for _, q := range []record.Record{
		{Given: "maria", Family: "smith", BirthDate: birth},
		{Given: "maria", Family: "smith", BirthDate: birth, Sex: record.SexFemale},
		{Given: "smith", Family: "maria", BirthDate: birth}, // names swapped
		target,
	} {
		ids, err := ix.Candidates(context.Background(), Keys(scoring.PrepareWithoutTF(q), nil), 64)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 64 {
			t.Errorf("query %+v: %d candidates, want the limit, 64", q, len(ids))
		}
		if !slices.Contains(ids, "target") {
			t.Errorf("query %+v: the exact match is not among the %d candidates", q, len(ids))
		} else if ids[0] != "target" {
			t.Errorf("query %+v: the exact match is candidate %d, want the first", q, slices.Index(ids, "target"))
		}
	}
}

// TestCandidatesRarestKeysWin checks the ranking rule itself: every
// patient sharing one of the rarest keys of a query is a candidate while
// those keys hold at most the limit, however many share the common keys
// and however many keys those share.
func TestCandidatesRarestKeysWin(t *testing.T) {
	ix, err := OpenIndex("", IndexOptions{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	var changes []Change
	add := func(id string, keys ...string) {
		changes = append(changes, Change{Seq: uint64(len(changes) + 1), ID: id, Record: &record.Record{ID: id}, Keys: keys})
	}
	// 200 patients share three common keys with the query.
	for i := range 200 {
		add(fmt.Sprintf("crowd%03d", i), "c1", "c2", "c3")
	}
	// Three share one rare key each, nothing else.
	add("rare1", "r1")
	add("rare2", "r2")
	add("rare2b", "r2")
	if err := ix.Write(context.Background(), changes, 0); err != nil {
		t.Fatal(err)
	}
	ids, err := ix.Candidates(context.Background(), []string{"c1", "c2", "c3", "r1", "r2", "absent"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 10 {
		t.Fatalf("%d candidates, want 10: %v", len(ids), ids)
	}
	for _, id := range []string{"rare1", "rare2", "rare2b"} {
		if !slices.Contains(ids, id) {
			t.Errorf("%s (the only holder of a rare key) is not a candidate: %v", id, ids)
		}
	}
	// Among the crowd, which all share the same keys, index order decides.
	if n := len(slices.DeleteFunc(slices.Clone(ids), func(s string) bool { return s[:4] != "crow" })); n != 7 {
		t.Errorf("%d of the crowd, want 7: %v", n, ids)
	}
	// A patient sharing more keys outranks one sharing fewer of the same
	// frequency.
	ids, err = ix.Candidates(context.Background(), []string{"c1", "c2"}, 300)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 200 {
		t.Errorf("%d candidates, want the 200 holders of c1 and c2", len(ids))
	}
}

// TestCandidatesDeletedAndUpdated checks that retrieval through the index
// reader sees deletions and updates (bleve marks the old document deleted
// in its segment).
func TestCandidatesDeletedAndUpdated(t *testing.T) {
	ix, err := OpenIndex("", IndexOptions{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	w := func(seq uint64, id string, keys ...string) {
		c := Change{Seq: seq, ID: id}
		if keys != nil {
			c.Record, c.Keys = &record.Record{ID: id}, keys
		}
		if err := ix.Write(ctx, []Change{c}, 0); err != nil {
			t.Fatal(err)
		}
	}
	w(1, "a", "k1")
	w(2, "b", "k1")
	w(3, "c", "k1")
	w(4, "a", "k2")   // a moves from k1 to k2
	w(5, "b", nil...) // b is deleted
	got, err := ix.Candidates(ctx, []string{"k1"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"c"}) {
		t.Errorf("k1: %v, want [c]", got)
	}
	got, err = ix.Candidates(ctx, []string{"k2", "k1"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("k1, k2: %v, want [a c]", got)
	}
}

func TestExactKey(t *testing.T) {
	birth := record.Date{Year: 1984, Month: 3, Day: 4, Valid: true}
	a := exactKey(scoring.PrepareWithoutTF(record.Record{Given: "maria", Family: "smith", BirthDate: birth}))
	b := exactKey(scoring.PrepareWithoutTF(record.Record{Given: "smith", Family: "maria", BirthDate: birth}))
	if a != "x:maria|smith|19840304" || a != b {
		t.Errorf("exact keys %q and %q, want both x:maria|smith|19840304", a, b)
	}
	for _, r := range []record.Record{
		{Given: "maria", BirthDate: birth},
		{Given: "maria", Family: "smith", BirthDate: record.Date{Year: 1984, Valid: true}},
		{Family: "smith", BirthDate: birth},
	} {
		if k := exactKey(scoring.PrepareWithoutTF(r)); k != "" {
			t.Errorf("%+v: exact key %q, want none", r, k)
		}
	}
}

// TestCompact merges an index written in many batches into one segment
// and checks that every key still finds the same patients, and that the
// one segment is what a reopened index has. With Bulk, scorch merges
// nothing in the background: Compact does it all.
func TestCompact(t *testing.T) {
	for _, bulk := range []bool{false, true} {
		t.Run(fmt.Sprintf("bulk=%v", bulk), func(t *testing.T) { testCompact(t, bulk) })
	}
}

func testCompact(t *testing.T, bulk bool) {
	dir := t.TempDir()
	ix, err := OpenIndex(dir, IndexOptions{Bulk: bulk})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ix.Close() }()
	ctx := context.Background()
	// More batches than one scorch force merge folds into one segment
	// (10), so that a single round would leave several.
	for b := range 40 {
		var changes []Change
		for i := range 50 {
			id := fmt.Sprintf("p%d-%d", b, i)
			changes = append(changes, Change{ID: id, Record: &record.Record{ID: id}, Keys: []string{fmt.Sprintf("k%d", i%7), fmt.Sprintf("b%d", b)}})
		}
		if err := ix.Write(ctx, changes, 0); err != nil {
			t.Fatal(err)
		}
	}
	before := map[string][]string{}
	t.Logf("%d segments before Compact", segmentCount(t, ix))
	for _, k := range []string{"k0", "k3", "b5", "b11", "b39"} {
		ids, err := ix.Candidates(ctx, []string{k}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		before[k] = ids
	}
	if err := ix.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if n := segmentCount(t, ix); n != 1 {
		t.Errorf("%d segments after Compact, want 1", n)
	}
	// Closed right after Compact, the folder holds the merged segment.
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if ix, err = OpenIndex(dir, IndexOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := segmentCount(t, ix); n != 1 {
		t.Errorf("%d segments after Compact and reopening, want 1", n)
	}
	for k, want := range before {
		got, err := ix.Candidates(ctx, []string{k}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s after Compact: %d patients, want %d", k, len(got), len(want))
		}
	}
}

func segmentCount(t *testing.T, ix *Index) int {
	t.Helper()
	adv, err := ix.idx.Advanced()
	if err != nil {
		t.Fatal(err)
	}
	rd, err := adv.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	n := 0
	for _, s := range rd.(*scorch.IndexSnapshot).Segments() {
		if s.Count() > 0 {
			n++
		}
	}
	return n
}
