package batch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/blocking"
	"github.com/patientmatch/patientmatch/internal/testgen"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

func defaultScorer(t testing.TB) *scoring.Scorer {
	t.Helper()
	s, err := scoring.NewScorer(scoring.DefaultModel())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readPeople reads testdata/people.csv: three records of Alice (a*), two of
// Chinedu who moved but kept his SSN (b*), twins (t*), a senior and his
// junior (j*) and two people with no duplicate (s1, k1).
func readPeople(t *testing.T) []*scoring.Prepared {
	t.Helper()
	recs, err := ReadFiles(context.Background(), []string{"testdata/people.csv"}, ReadOptions{
		Report: func(src string, line int, err error) { t.Errorf("%s:%d: unexpected bad record: %v", src, line, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// pairKey is a pair by ids, with its grade.
type pairKey struct{ a, b, grade string }

func keys(left, right []*scoring.Prepared, pairs []Pair) []pairKey {
	var out []pairKey
	for _, p := range pairs {
		out = append(out, pairKey{left[p.Left].Rec.ID, right[p.Right].Rec.ID, p.Grade.String()})
	}
	slices.SortFunc(out, func(x, y pairKey) int { return strings.Compare(x.a+" "+x.b, y.a+" "+y.b) })
	return out
}

func TestDedupeHandMade(t *testing.T) {
	recs := readPeople(t)
	s := defaultScorer(t)
	var pairs []Pair
	st, err := Dedupe(context.Background(), recs, Options{Scorer: s, Threshold: 0.5}, func(p Pair) error {
		pairs = append(pairs, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every duplicate pair, and the household look-alikes above 0.5 with
	// their grade capped to possible; nothing between strangers.
	want := []pairKey{
		{"a1", "a2", "certain"}, {"a1", "a3", "certain"}, {"a2", "a3", "certain"},
		{"b1", "b2", "probable"},
		{"j1", "j2", "possible"},
		{"t1", "t2", "possible"},
	}
	if got := keys(recs, recs, pairs); !slices.Equal(got, want) {
		t.Errorf("pairs = %v\nwant %v", got, want)
	}
	if st.Records != len(recs) || st.Emitted != int64(len(pairs)) || st.CandidatePairs != st.Blocking.Pairs || st.CandidatePairs < st.Emitted {
		t.Errorf("stats = %+v with %d records, %d pairs", st, len(recs), len(pairs))
	}
	for _, p := range pairs {
		if p.Left >= p.Right {
			t.Errorf("pair %d-%d: want Left < Right", p.Left, p.Right)
		}
	}

	// Clustering: Alice and Chinedu each one person; twins, senior and
	// junior apart, with the Score hook the command uses.
	c := Cluster(len(recs), pairs, ClusterOptions{Score: func(i, j int32) Pair {
		r := s.Score(recs[i], recs[j])
		return Pair{Left: i, Right: j, Weight: r.Weight, Probability: r.Probability, Grade: r.Grade}
	}})
	byID := map[string]int32{}
	for i, p := range recs {
		byID[p.Rec.ID] = c[i]
	}
	same := func(a, b string) bool { return byID[a] == byID[b] }
	for _, ab := range [][2]string{{"a1", "a2"}, {"a1", "a3"}, {"b1", "b2"}} {
		if !same(ab[0], ab[1]) {
			t.Errorf("%s and %s in different clusters", ab[0], ab[1])
		}
	}
	for _, ab := range [][2]string{{"t1", "t2"}, {"j1", "j2"}, {"a1", "b1"}, {"s1", "k1"}} {
		if same(ab[0], ab[1]) {
			t.Errorf("%s and %s in one cluster", ab[0], ab[1])
		}
	}
	if k := slices.Max(c) + 1; k != 8 {
		t.Errorf("%d clusters, want 8", k)
	}
}

func TestLinkHandMade(t *testing.T) {
	recs := readPeople(t)
	var left, right []*scoring.Prepared
	for _, p := range recs {
		switch p.Rec.ID {
		case "a1", "b1", "t1", "j1", "s1":
			left = append(left, p)
		default: // a2 a3 b2 t2 j2 k1
			right = append(right, p)
		}
	}
	s := defaultScorer(t)
	var pairs []Pair
	st, err := Link(context.Background(), left, right, Options{Scorer: s, Threshold: 0.5}, func(p Pair) error {
		pairs = append(pairs, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []pairKey{
		{"a1", "a2", "certain"}, {"a1", "a3", "certain"},
		{"b1", "b2", "probable"},
		{"j1", "j2", "possible"},
		{"t1", "t2", "possible"},
	}
	if got := keys(left, right, pairs); !slices.Equal(got, want) {
		t.Errorf("pairs = %v\nwant %v", got, want)
	}
	if st.Records != len(recs) {
		t.Errorf("Records = %d, want %d", st.Records, len(recs))
	}
	// One to one: a1 keeps the better of a2 and a3 (a2 shares the phone
	// too), the others are unique anyway.
	one := OneToOne(pairs)
	got := keys(left, right, one)
	wantOne := []pairKey{{"a1", "a2", "certain"}, {"b1", "b2", "probable"}, {"j1", "j2", "possible"}, {"t1", "t2", "possible"}}
	if !slices.Equal(got, wantOne) {
		t.Errorf("one-to-one = %v\nwant %v", got, wantOne)
	}
}

// synthRecords generates n synthetic records (20% of people duplicated)
// and prepares them, returning their truth entities too.
func synthRecords(t testing.TB, n int, seed uint64) ([]*scoring.Prepared, []int) {
	pats, entity := testgen.SynthPatients(t, n, seed)
	recs := make([]*scoring.Prepared, len(pats))
	for i, p := range pats {
		recs[i] = scoring.PrepareWithoutTF(record.FromFHIR(p))
	}
	return recs, entity
}

// TestParallelEqualsSerial: the same pairs in the same order for any
// number of workers, at any threshold; every candidate at threshold 0.
func TestParallelEqualsSerial(t *testing.T) {
	recs, _ := synthRecords(t, 3000, 7)
	s, err := WithInputFrequencies(context.Background(), defaultScorer(t), 0, recs)
	if err != nil {
		t.Fatal(err)
	}
	collect := func(workers int, threshold float64) ([]Pair, Stats) {
		var out []Pair
		st, err := Dedupe(context.Background(), recs, Options{Scorer: s, Workers: workers, Threshold: threshold}, func(p Pair) error {
			out = append(out, p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out, st
	}
	all, st := collect(1, 0)
	if st.Emitted != st.CandidatePairs || st.CandidatePairs != st.Blocking.Pairs || int64(len(all)) != st.Emitted {
		t.Fatalf("threshold 0 should emit every candidate: %+v, %d pairs", st, len(all))
	}
	if st.CandidatePairs <= int64(len(recs)) || st.Blocking.Pairs < 2*batchSize {
		t.Fatalf("too few candidates (%d) to exercise several batches", st.CandidatePairs)
	}
	for _, w := range []int{2, 3, 8} {
		got, _ := collect(w, 0)
		if !slices.Equal(got, all) {
			t.Fatalf("%d workers: %d pairs differ from the serial %d", w, len(got), len(all))
		}
	}
	serial, _ := collect(1, 0.5)
	par, _ := collect(4, 0.5)
	if !slices.Equal(serial, par) {
		t.Fatalf("threshold 0.5: parallel differs from serial")
	}
	var above []Pair
	for _, p := range all {
		if p.Probability >= 0.5 {
			above = append(above, p)
		}
	}
	if !slices.Equal(above, serial) || len(above) == 0 {
		t.Fatalf("threshold 0.5 emits %d pairs, want the %d of the full run at or above it", len(serial), len(above))
	}
}

func TestDedupeProgressAndErrors(t *testing.T) {
	recs, _ := synthRecords(t, 2000, 3)
	s := defaultScorer(t)

	var calls, last, total int64
	st, err := Dedupe(context.Background(), recs, Options{Scorer: s, Workers: 2, Progress: func(done, tot int64) {
		if done < last || (total != 0 && tot != total) {
			t.Errorf("progress went from %d/%d to %d/%d", last, total, done, tot)
		}
		calls++
		last, total = done, tot
	}}, func(Pair) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 || last != total || total != st.CandidatePairs {
		t.Errorf("progress: %d calls, last %d/%d, want ending at %d", calls, last, total, st.CandidatePairs)
	}

	// An emit error stops the run and comes back.
	stop := errors.New("disk full")
	n := 0
	_, err = Dedupe(context.Background(), recs, Options{Scorer: s, Workers: 2}, func(Pair) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Errorf("emit error: err = %v after %d pairs, want %v after 10", err, n, stop)
	}

	// A cancelled context stops it too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Dedupe(ctx, recs, Options{Scorer: s}, func(Pair) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}

	// Invalid options.
	for _, o := range []Options{{}, {Scorer: s, Threshold: 1.5}, {Scorer: s, Workers: -1}} {
		if _, err := Dedupe(context.Background(), recs, o, func(Pair) error { return nil }); !errors.Is(err, ErrInvalid) {
			t.Errorf("options %+v: err = %v, want ErrInvalid", o, err)
		}
	}
}

func TestReadFilesReportsAndSkips(t *testing.T) {
	type bad struct {
		src  string
		line int
		err  error
	}
	var bads []bad
	recs, err := ReadFiles(context.Background(), []string{"testdata/people.csv", "testdata/bad.csv"}, ReadOptions{
		Workers: 2,
		Report:  func(src string, line int, err error) { bads = append(bads, bad{src, line, err}) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range recs {
		ids = append(ids, p.Rec.ID)
	}
	want := []string{"a1", "a2", "a3", "b1", "b2", "t1", "t2", "j1", "j2", "s1", "k1", "x1"}
	if !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v (input order, bad ones skipped)", ids, want)
	}
	wantBad := []struct {
		line int
		dup  bool
	}{{3, false}, {4, false}, {6, false}, {5, true}} // duplicates are found last
	if len(bads) != len(wantBad) {
		t.Fatalf("reported %v, want %d bad records", bads, len(wantBad))
	}
	for i, w := range wantBad {
		b := bads[i]
		if b.src != "testdata/bad.csv" || b.line != w.line {
			t.Errorf("bad record %d at %s:%d, want testdata/bad.csv:%d (%v)", i, b.src, b.line, w.line, b.err)
		}
		if w.dup != errors.Is(b.err, ErrBadRecord) {
			t.Errorf("line %d: err = %v, duplicate = %v", b.line, b.err, w.dup)
		}
	}
	if !strings.Contains(bads[3].err.Error(), "testdata/people.csv:2") {
		t.Errorf("duplicate report %q does not say where the first is", bads[3].err)
	}

	// NDJSON from stdin, with a record without an id.
	in := `{"resourceType":"Patient","id":"n1","name":[{"family":"Lee","given":["Ann"]}]}
{"resourceType":"Patient","name":[{"family":"Lee","given":["Ann"]}]}
not json
`
	bads = nil
	recs, err = ReadFiles(context.Background(), []string{"-"}, ReadOptions{
		Format: record.FormatNDJSON, Stdin: strings.NewReader(in),
		Report: func(src string, line int, err error) { bads = append(bads, bad{src, line, err}) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Rec.ID != "n1" || recs[0].Rec.Family != "lee" {
		t.Errorf("stdin records = %d", len(recs))
	}
	if len(bads) != 2 || bads[0].line != 2 || bads[1].line != 3 || bads[0].src != "-" {
		t.Errorf("stdin bad records = %v", bads)
	}

	// Unreadable inputs stop the read.
	if _, err := ReadFiles(context.Background(), []string{filepath.Join(t.TempDir(), "none.csv")}, ReadOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := ReadFiles(context.Background(), []string{"testdata/people.txt"}, ReadOptions{}); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("unknown extension: err = %v", err)
	}
}

func TestWithInputFrequencies(t *testing.T) {
	s := defaultScorer(t)
	small := readPeople(t)
	if got, _ := WithInputFrequencies(context.Background(), s, 0, small); got != s || small[0].GivenTF != 0 {
		t.Errorf("below MinFrequencyRecords: want the scorer unchanged and no frequencies")
	}
	recs, _ := synthRecords(t, MinFrequencyRecords, 5)
	ts, err := WithInputFrequencies(context.Background(), s, 2, recs[:600], recs[600:])
	if err != nil {
		t.Fatal(err)
	}
	if ts == s {
		t.Fatal("want a scorer with term frequencies")
	}
	count := map[string]int{}
	for _, p := range recs {
		if p.GivenTF != 0 { // a comparable given name
			count[p.Rec.Given]++
		}
	}
	for _, p := range recs {
		if p.GivenTF == 0 {
			continue // placeholder or missing name
		}
		want := float64(max(count[p.Rec.Given], 1)) / float64(len(recs))
		if p.GivenTF != want {
			t.Fatalf("%s: GivenTF = %v, want %v", p.Rec.Given, p.GivenTF, want)
		}
	}
}

// BenchmarkDedupe dedupes 10,000 synthetic records (20% of people
// duplicated) at the possible threshold, all cores.
func BenchmarkDedupe(b *testing.B) {
	recs, _ := synthRecords(b, 10_000, 1)
	s, err := WithInputFrequencies(context.Background(), defaultScorer(b), 0, recs)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var st Stats
	for b.Loop() {
		st, err = Dedupe(context.Background(), recs, Options{Scorer: s, Threshold: 0.5}, func(Pair) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.CandidatePairs), "pairs/op")
	b.ReportMetric(float64(st.CandidatePairs)*float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}

// TestMaxCandidates: the per-record cap reaches blocking, bounds the pairs
// scored by records × cap, and is off with blocking.NoCandidateLimit.
func TestMaxCandidates(t *testing.T) {
	recs, _ := synthRecords(t, 3000, 7)
	left, right := recs[:1500], recs[1500:]
	s := defaultScorer(t)
	dedupe := func(k int) Stats {
		st, err := Dedupe(context.Background(), recs, Options{Scorer: s, MaxCandidates: k}, func(Pair) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	link := func(k int) Stats {
		st, err := Link(context.Background(), left, right, Options{Scorer: s, MaxCandidates: k}, func(Pair) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for _, tc := range []struct {
		name string
		run  func(k int) Stats
	}{{"dedupe", dedupe}, {"link", link}} {
		t.Run(tc.name, func(t *testing.T) {
			all, one, def := tc.run(blocking.NoCandidateLimit), tc.run(1), tc.run(0)
			if all.Blocking.CappedRecords != 0 || all.Blocking.DroppedPairs != 0 {
				t.Errorf("no cap, yet %+v", all.Blocking)
			}
			if one.CandidatePairs > int64(len(recs)) || one.CandidatePairs >= all.CandidatePairs {
				t.Errorf("cap 1: %d pairs for %d records (%d without the cap)", one.CandidatePairs, len(recs), all.CandidatePairs)
			}
			if one.CandidatePairs+one.Blocking.DroppedPairs != all.CandidatePairs {
				t.Errorf("cap 1: %d scored + %d dropped != %d", one.CandidatePairs, one.Blocking.DroppedPairs, all.CandidatePairs)
			}
			if def.CandidatePairs > int64(len(recs)*blocking.DefaultMaxCandidates) || def.CandidatePairs > all.CandidatePairs || def.CandidatePairs < one.CandidatePairs {
				t.Errorf("default cap: %d pairs (cap 1: %d, none: %d)", def.CandidatePairs, one.CandidatePairs, all.CandidatePairs)
			}
		})
	}
}
