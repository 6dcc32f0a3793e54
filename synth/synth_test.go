package synth

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// smallWindow replaces the shuffle window in tests, so that a few thousand
// records exercise the streaming path (records leaving while others arrive).
const smallWindow = 512

func generate(t testing.TB, opts Options, f Format) (data, truth []byte, st Stats) {
	t.Helper()
	g, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	g.window = smallWindow
	var d, tr bytes.Buffer
	st, err = g.Write(context.Background(), &d, f, &tr)
	if err != nil {
		t.Fatal(err)
	}
	return d.Bytes(), tr.Bytes(), st
}

// rows collects every Row of a run.
func rows(t testing.TB, opts Options) []Row {
	t.Helper()
	g, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var out []Row
	if _, err := g.Each(context.Background(), func(r *Row) error {
		out = append(out, *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterminism(t *testing.T) {
	for _, n := range []int{300, 5000} {
		opts := Options{N: n, Seed: 7, DupRate: DefaultDupRate}
		a, at, _ := generate(t, opts, FormatCSV)
		b, bt, _ := generate(t, opts, FormatCSV)
		if !bytes.Equal(a, b) || !bytes.Equal(at, bt) {
			t.Fatalf("N=%d: same seed gave different output", n)
		}
		opts.Seed = 8
		c, ct, _ := generate(t, opts, FormatCSV)
		if bytes.Equal(a, c) || bytes.Equal(at, ct) {
			t.Fatalf("N=%d: different seeds gave the same output", n)
		}
	}
}

func TestSizes(t *testing.T) {
	for _, tt := range []struct {
		n       int
		dupRate float64
	}{{1, 0.2}, {2, 1}, {10, 0}, {1000, 0.5}, {5000, 0.2}} {
		data, truth, st := generate(t, Options{N: tt.n, Seed: 3, DupRate: tt.dupRate}, FormatCSV)
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("N=%d: csv: %v", tt.n, err)
		}
		if len(recs) != tt.n+1 || st.Records != tt.n {
			t.Errorf("N=%d: %d csv rows, stats %d records", tt.n, len(recs)-1, st.Records)
		}
		if got := bytes.Count(truth, []byte("\n")); got != tt.n+1 {
			t.Errorf("N=%d: %d truth lines", tt.n, got)
		}
		if st.Entities > st.Records || st.Entities < 1 || st.Households < 1 || st.Households > st.Entities {
			t.Errorf("N=%d: implausible stats %+v", tt.n, st)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, o := range []Options{{N: 0}, {N: -1}, {N: 1, DupRate: -0.1}, {N: 1, DupRate: 1.5}} {
		if _, err := New(o); !errors.Is(err, ErrInvalid) {
			t.Errorf("New(%+v) = %v, want ErrInvalid", o, err)
		}
	}
	err := Options{N: 0, DupRate: 2}.Validate()
	if err == nil || !strings.Contains(err.Error(), "N must") || !strings.Contains(err.Error(), "DupRate") {
		t.Errorf("Validate should report both problems, got %v", err)
	}
}

func TestFormatForPath(t *testing.T) {
	for in, want := range map[string]Format{"a.csv": FormatCSV, "x/B.NDJSON": FormatNDJSON, "a.json": "", "a": ""} {
		got, err := FormatForPath(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("FormatForPath(%q) = %q, %v", in, got, err)
		}
	}
}

// TestTruthConsistency checks the truth file against the data: same ids in
// the same order, each once; and that the share of people with duplicates
// follows DupRate.
func TestTruthConsistency(t *testing.T) {
	for _, rate := range []float64{0, 0.2, 0.6} {
		data, truth, st := generate(t, Options{N: 10_000, Seed: 11, DupRate: rate}, FormatCSV)
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		tr, err := csv.NewReader(bytes.NewReader(truth)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tr[0], []string{"id", "entity"}) || len(tr) != len(recs) {
			t.Fatalf("truth header %v, %d rows for %d records", tr[0], len(tr), len(recs))
		}
		seen := map[string]bool{}
		size := map[string]int{}
		adjacent := 0 // neighbouring rows of one entity: order must not leak entities
		for i := 1; i < len(recs); i++ {
			if i > 1 && tr[i][1] == tr[i-1][1] {
				adjacent++
			}
			id := recs[i][ColID]
			if tr[i][0] != id {
				t.Fatalf("row %d: truth id %q, data id %q", i, tr[i][0], id)
			}
			if seen[id] {
				t.Fatalf("id %q twice", id)
			}
			seen[id] = true
			size[tr[i][1]]++
		}
		if adjacent > len(recs)/100 {
			t.Errorf("rate %v: %d adjacent rows share an entity; rows are not shuffled", rate, adjacent)
		}
		if len(size) != st.Entities {
			t.Errorf("rate %v: %d entities in truth, stats say %d", rate, len(size), st.Entities)
		}
		multi := 0
		for _, n := range size {
			if n > 4 {
				t.Errorf("entity with %d records (max 4)", n)
			}
			if n > 1 {
				multi++
			}
		}
		got := float64(multi) / float64(len(size))
		if got < rate-0.04 || got > rate+0.04 {
			t.Errorf("rate %v: %.3f of entities have duplicates", rate, got)
		}
	}
}

var (
	reDate  = regexp.MustCompile(`^\d{4}(-\d{2}-\d{2})?$`)
	reZip   = regexp.MustCompile(`^\d{5}(-\d{4})?$`)
	reID    = regexp.MustCompile(`^p[0-9a-z]{8}$`)
	reEmail = regexp.MustCompile(`^[a-z0-9._]+@[a-z0-9.]+\.[a-z]+$`)
)

// TestCSVWellFormed parses the CSV with encoding/csv and checks every field's
// shape, so that loaders see what the contract promises.
func TestCSVWellFormed(t *testing.T) {
	data, _, _ := generate(t, Options{N: 10_000, Seed: 5, DupRate: 0.3}, FormatCSV)
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = len(Header())
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], Header()) {
		t.Fatalf("header %v", recs[0])
	}
	digits := func(s string) int {
		n := 0
		for _, c := range s {
			if c >= '0' && c <= '9' {
				n++
			}
		}
		return n
	}
	filled := make([]int, len(Header()))
	for _, rec := range recs[1:] {
		for i, v := range rec {
			if v != "" {
				filled[i]++
			}
		}
		bad := func(col int, why string) { t.Errorf("record %s: %s %q: %s", rec[0], Header()[col], rec[col], why) }
		if !reID.MatchString(rec[ColID]) {
			bad(ColID, "not an opaque id")
		}
		if rec[ColFamily] == "" || rec[ColGiven] == "" {
			bad(ColFamily, "name missing")
		}
		if v := rec[ColBirthDate]; v == "" || !reDate.MatchString(v) {
			bad(ColBirthDate, "not YYYY-MM-DD")
		}
		if v := rec[ColSex]; v != "" && v != "male" && v != "female" {
			bad(ColSex, "not a FHIR gender")
		}
		if v := rec[ColPostalCode]; v != "" && !reZip.MatchString(v) {
			bad(ColPostalCode, "not a ZIP")
		}
		if v := rec[ColPhone]; v != "" && digits(v) != 10 && !(strings.HasPrefix(v, "+1") && digits(v) == 11) {
			bad(ColPhone, "not a 10-digit US phone")
		}
		if v := rec[ColEmail]; v != "" && !reEmail.MatchString(v) {
			bad(ColEmail, "not an email")
		}
		if v := rec[ColSSN]; v != "" && digits(v) != 9 {
			bad(ColSSN, "not 9 digits")
		}
		if v := rec[ColMRN]; v != "" && digits(v) != 9 {
			bad(ColMRN, "not 9 digits")
		}
		if (rec[ColCity] == "") != (rec[ColState] == "") || (rec[ColCity] == "") != (rec[ColAddressLine] == "") {
			bad(ColCity, "partial address")
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	// Coverage the data is meant to have (rough, from the generator's rates).
	n := float64(len(recs) - 1)
	for _, c := range []struct {
		col    int
		lo, hi float64
	}{{ColMRN, 0.85, 0.97}, {ColSSN, 0.2, 0.4}, {ColEmail, 0.5, 0.8}, {ColPhone, 0.9, 1}, {ColMiddle, 0.4, 0.6}, {ColAddressLine, 0.95, 1}, {ColPassport, 0.03, 0.09}} {
		if f := float64(filled[c.col]) / n; f < c.lo || f > c.hi {
			t.Errorf("%s filled in %.3f of records, want [%v,%v]", Header()[c.col], f, c.lo, c.hi)
		}
	}
}

// TestHazards checks that every hazard kind occurs at a modest N, and checks
// the main ones against the data itself rather than the generator's labels.
func TestHazards(t *testing.T) {
	all := rows(t, Options{N: 30_000, Seed: 2, DupRate: DefaultDupRate})
	count := map[Hazard]int{}
	for i := range all {
		for _, h := range HazardKinds() {
			if all[i].Hazards&h != 0 {
				count[h]++
			}
		}
	}
	for _, h := range HazardKinds() {
		if count[h] < 5 && h&worldHazards == 0 {
			t.Errorf("hazard %s: %d records", h, count[h])
		} else if count[h] != 0 && h&worldHazards != 0 {
			t.Errorf("hazard %s of the world profile: %d records of the household profile", h, count[h])
		}
	}
	t.Logf("hazard counts at N=30000: %v", count)

	// Index the first (undamaged) record of each entity.
	primary := map[int]*Row{}
	for i := range all {
		if all[i].Hazards&HazDuplicate == 0 {
			if primary[all[i].Entity] != nil {
				t.Fatalf("entity %d has two primary records", all[i].Entity)
			}
			primary[all[i].Entity] = &all[i]
		}
	}
	fold := strings.ToLower
	var twins, juniors int
	byHH := map[int][]*Row{}
	for _, p := range primary {
		byHH[p.Household] = append(byHH[p.Household], p)
	}
	for _, ps := range byHH {
		for i, a := range ps {
			for _, b := range ps[i+1:] {
				sameFam := fold(a.Cols[ColFamily]) == fold(b.Cols[ColFamily])
				sameGiven := fold(a.Cols[ColGiven]) == fold(b.Cols[ColGiven])
				if sameFam && !sameGiven && a.Cols[ColBirthDate] == b.Cols[ColBirthDate] && a.Hazards&HazTwin != 0 {
					twins++
				}
				ya, _ := strconv.Atoi(a.Cols[ColBirthDate][:4])
				yb, _ := strconv.Atoi(b.Cols[ColBirthDate][:4])
				if d := ya - yb; sameFam && sameGiven && (d >= 20 && d <= 40 || d <= -20 && d >= -40) {
					juniors++
				}
			}
		}
	}
	if twins < 10 || juniors < 10 {
		t.Errorf("found %d twin pairs and %d junior/senior pairs in the data", twins, juniors)
	}

	// Error labels must match what the record shows against its primary.
	for i := range all {
		r := &all[i]
		p := primary[r.Entity]
		if r.Hazards&HazDuplicate == 0 || p == nil {
			continue
		}
		if r.Hazards&HazNameChange != 0 && r.Hazards&(HazSwapped|HazTypo|HazPhonetic) == 0 &&
			(fold(r.Cols[ColFamily]) == fold(p.Cols[ColFamily]) || r.Cols[ColAddressLine] != "" && r.Cols[ColAddressLine] == p.Cols[ColAddressLine]) {
			t.Errorf("name change %s keeps family or address of %s", r.ID(), p.ID())
		}
		if r.Hazards&(HazSwapped|HazTypo|HazPhonetic|HazNickname|HazNameChange|HazHyphenDrop) == 0 &&
			(fold(r.Cols[ColFamily]) != fold(p.Cols[ColFamily]) || fold(r.Cols[ColGiven]) != fold(p.Cols[ColGiven])) {
			t.Errorf("duplicate %s (%s) changes the name of %s without a name hazard", r.ID(), r.Hazards, p.ID())
		}
		if r.Hazards&(HazDayMonth|HazDateDigit|HazPlaceholder|HazMissing) == 0 && r.Cols[ColBirthDate] != p.Cols[ColBirthDate] {
			t.Errorf("duplicate %s (%s) changes the birth date of %s without a date hazard", r.ID(), r.Hazards, p.ID())
		}
		if r.Hazards&HazDayMonth != 0 && r.Hazards&(HazDateDigit|HazPlaceholder|HazMissing) == 0 {
			a, b := r.Cols[ColBirthDate], p.Cols[ColBirthDate]
			if a[5:7] != b[8:10] || a[8:10] != b[5:7] {
				t.Errorf("day/month swap %s: %s vs %s", r.ID(), a, b)
			}
		}
	}
}

// TestNameFrequencies checks the Zipf-like shape: a few common surnames
// (Smith about 1%), a long tail of rare ones.
func TestNameFrequencies(t *testing.T) {
	all := rows(t, Options{N: 30_000, Seed: 9, DupRate: 0})
	freq := map[string]int{}
	for i := range all {
		freq[strings.ToLower(all[i].Cols[ColFamily])]++
	}
	type kv struct {
		k string
		n int
	}
	var list []kv
	once := 0
	for k, n := range freq {
		list = append(list, kv{k, n})
		if n == 1 {
			once++
		}
	}
	slices.SortFunc(list, func(a, b kv) int { return b.n - a.n })
	top := float64(list[0].n) / float64(len(all))
	if top < 0.004 || top > 0.03 {
		t.Errorf("commonest surname %q has share %.4f", list[0].k, top)
	}
	if list[0].n < 3*list[50].n {
		t.Errorf("not heavy-tailed: rank 1 %d, rank 51 %d", list[0].n, list[50].n)
	}
	if float64(once) < 0.2*float64(len(list)) {
		t.Errorf("only %d of %d surnames occur once", once, len(list))
	}
	t.Logf("surnames: %d distinct, %d once; top %s %.4f, rank 10 %s, rank 100 %s %d", len(list), once, list[0].k, top, list[9].k, list[99].k, list[99].n)
}

func TestEachStopsOnError(t *testing.T) {
	g, err := New(Options{N: 1000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	n := 0
	_, err = g.Each(context.Background(), func(*Row) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Fatalf("err %v after %d rows", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g2, _ := New(Options{N: 100_000, Seed: 1})
	if _, err := g2.Write(ctx, io.Discard, FormatCSV, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestPermuteBijective(t *testing.T) {
	for _, n := range []uint64{1, 7, 1000, 4096} {
		seen := make([]bool, n)
		for x := range n {
			y := permuteBelow(x, n, 12345)
			if y >= n || seen[y] {
				t.Fatalf("n=%d: %d -> %d repeats or escapes", n, x, y)
			}
			seen[y] = true
		}
	}
}

// levenshteinOrSwap reports whether a and b differ by one edit or one
// adjacent transposition.
func oneEdit(a, b string) bool {
	if a == b {
		return false
	}
	if len(a) == len(b) {
		var diff []int
		for i := range a {
			if a[i] != b[i] {
				diff = append(diff, i)
			}
		}
		return len(diff) == 1 || len(diff) == 2 && diff[1] == diff[0]+1 && a[diff[0]] == b[diff[1]] && a[diff[1]] == b[diff[0]]
	}
	if len(a) < len(b) {
		a, b = b, a
	}
	if len(a) != len(b)+1 {
		return false
	}
	for i := range a {
		if a[:i]+a[i+1:] == b {
			return true
		}
	}
	return false
}

func TestTypo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range []string{"Smith", "Jo", "Lee", "Williamson", "ANDERSON"} {
		for k := typoInsert; k <= typoTranspose; k++ {
			for range 20 {
				got := typo(r, s, k)
				if !oneEdit(s, got) && !(k == typoTranspose && got == s) {
					t.Errorf("typo(%q, %d) = %q: not one edit", s, k, got)
				}
				if got[0] != s[0] {
					t.Errorf("typo(%q, %d) = %q changed the initial", s, k, got)
				}
			}
		}
	}
}

func TestPhonetic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range []string{"Stephenson", "Katherine", "SMITH", "Fox"} {
		got, ok := phonetic(r, s)
		if !ok || got == s || !strings.EqualFold(got[:1], s[:1]) {
			t.Errorf("phonetic(%q) = %q, %v", s, got, ok)
		}
		if (s == strings.ToUpper(s)) != (got == strings.ToUpper(got)) {
			t.Errorf("phonetic(%q) = %q lost the case", s, got)
		}
	}
	if got, ok := phonetic(r, "Aa"); ok {
		t.Errorf("phonetic(Aa) = %q, want no rule", got)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, f := range []Format{FormatCSV} {
		b.Run(string(f), func(b *testing.B) {
			const n = 20_000
			g, err := New(Options{N: n, Seed: 1, DupRate: DefaultDupRate})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := g.Write(context.Background(), io.Discard, f, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// fakePatient stands in for record.PatientFromColumns in the encoder test.
func fakePatient(cols map[string]string) (*fhir.Patient, error) {
	id, fam, given, bd := cols["id"], cols["family"], cols["given"], cols["birth_date"]
	if id == "" {
		return nil, errors.New("no id")
	}
	return &fhir.Patient{Id: &id, BirthDate: &bd, Name: []fhir.HumanName{{Family: &fam, Given: []string{given}}}}, nil
}

func TestNDJSONEncoder(t *testing.T) {
	all := rows(t, Options{N: 200, Seed: 4, DupRate: 0.5})
	var buf bytes.Buffer
	enc := ndjsonEncoder(&buf, Header(), fakePatient)
	for i := range all {
		if err := enc(&all[i]); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(all) {
		t.Fatalf("%d lines for %d rows", len(lines), len(all))
	}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if m["resourceType"] != "Patient" || m["id"] != all[i].ID() {
			t.Fatalf("line %d: %s", i+1, line)
		}
	}
	bad := Row{}
	if err := enc(&bad); err == nil {
		t.Fatal("converter error not returned")
	}
}

// TestProfiles: each profile records what it says it does, and the default
// profile is the household one.
func TestProfiles(t *testing.T) {
	def := rows(t, Options{N: 2000, Seed: 3, DupRate: DefaultDupRate})
	hh := rows(t, Options{N: 2000, Seed: 3, DupRate: DefaultDupRate, Profile: ProfileHousehold})
	if !slices.EqualFunc(def, hh, func(a, b Row) bool { return a.Cols == b.Cols }) {
		t.Error("the empty profile is not the household profile")
	}
	if err := (Options{N: 1, Profile: "nope"}).Validate(); err == nil {
		t.Error("unknown profile accepted")
	}

	// Registry: the first records of the people of one household carry
	// consecutive MRNs; some people are namesakes of another household's.
	reg := rows(t, Options{N: 5000, Seed: 3, DupRate: DefaultDupRate, Profile: ProfileRegistry})
	mrns := map[int][]int{} // household → MRNs
	namesakes := map[string]map[int]bool{}
	for _, r := range reg {
		if r.Hazards&HazDuplicate == 0 && r.Cols[ColMRN] != "" {
			n, err := strconv.Atoi(r.Cols[ColMRN])
			if err != nil {
				t.Fatal(err)
			}
			mrns[r.Household] = append(mrns[r.Household], n)
		}
		k := strings.ToLower(r.Cols[ColGiven] + "|" + r.Cols[ColFamily] + "|" + r.Cols[ColBirthDate])
		if namesakes[k] == nil {
			namesakes[k] = map[int]bool{}
		}
		namesakes[k][r.Entity] = true
	}
	consecutive, multi := 0, 0
	for _, ms := range mrns {
		if len(ms) < 2 {
			continue
		}
		multi++
		slices.Sort(ms)
		if ms[len(ms)-1]-ms[0] < 16 {
			consecutive++
		}
	}
	if multi == 0 || consecutive < multi*9/10 {
		t.Errorf("registry: %d of %d households have consecutive MRNs", consecutive, multi)
	}
	shared := 0
	for _, ents := range namesakes {
		if len(ents) > 1 {
			shared++
		}
	}
	if shared < 20 {
		t.Errorf("registry: %d namesake groups in 5,000 records, want some", shared)
	}

	// Civil and names: only the columns they record; civil people with many
	// records.
	for _, tc := range []struct {
		p    Profile
		keep []int
	}{
		{ProfileCivil, []int{ColID, ColFamily, ColGiven, ColMiddle, ColBirthDate, ColSex, ColCity, ColPostalCode}},
		{ProfileNames, []int{ColID, ColFamily, ColGiven, ColBirthDate}},
	} {
		rs := rows(t, Options{N: 5000, Seed: 3, DupRate: DefaultDupRate, Profile: tc.p})
		perEntity := map[int]int{}
		missingFamily := 0
		for _, r := range rs {
			perEntity[r.Entity]++
			if r.Cols[ColFamily] == "" {
				missingFamily++
			}
			for c := range NumCols {
				if r.Cols[c] != "" && !slices.Contains(tc.keep, c) {
					t.Fatalf("%s: column %s = %q", tc.p, Header()[c], r.Cols[c])
				}
			}
		}
		most := 0
		for _, n := range perEntity {
			most = max(most, n)
		}
		if tc.p == ProfileCivil && (most < 8 || missingFamily < len(rs)/5) {
			t.Errorf("civil: at most %d records a person, %d of %d without family name", most, missingFamily, len(rs))
		}
	}
}

// TestInsuredProfile checks the insured profile against its own rows: a
// family shares its plan's number (or the number with a person suffix),
// people of different households never share one, a person's records keep
// it, and the member columns are written only by this profile.
func TestInsuredProfile(t *testing.T) {
	rs := rows(t, Options{N: 5000, Seed: 3, DupRate: DefaultDupRate, Profile: ProfileInsured})
	holders := map[string]map[int]bool{}    // member number → entities
	households := map[string]map[int]bool{} // subscriber number → households
	perEntity := map[int]string{}
	suffixed, with := 0, 0
	for _, r := range rs {
		v, sys := r.Cols[ColMemberID], r.Cols[ColMemberSystem]
		if (v == "") != (sys == "") {
			t.Fatalf("record %s: member %q with payer %q", r.ID(), v, sys)
		}
		if v == "" {
			continue
		}
		with++
		if old, ok := perEntity[r.Entity]; ok && old != v {
			t.Fatalf("entity %d carries %q and %q", r.Entity, old, v)
		}
		perEntity[r.Entity] = v
		sub := v
		if i := strings.IndexByte(v, '-'); i >= 0 {
			sub = v[:i]
			suffixed++
		}
		if holders[v] == nil {
			holders[v] = map[int]bool{}
		}
		holders[v][r.Entity] = true
		if households[sub] == nil {
			households[sub] = map[int]bool{}
		}
		households[sub][r.Household] = true
	}
	shared := 0
	for _, es := range holders {
		if len(es) > 1 {
			shared++
		}
	}
	for sub, hh := range households {
		if len(hh) != 1 {
			t.Fatalf("subscriber %s in %d households", sub, len(hh))
		}
	}
	if f := float64(with) / float64(len(rs)); f < 0.5 || f > 0.8 {
		t.Errorf("member number on %.3f of records, want [0.5, 0.8]", f)
	}
	if shared < 100 || suffixed < with/4 || suffixed > with*3/4 {
		t.Errorf("%d numbers held by a family, %d of %d suffixed", shared, suffixed, with)
	}

	var csvOut = func(p Profile) []string {
		data, _, _ := generate(t, Options{N: 10, Seed: 1, DupRate: DefaultDupRate, Profile: p}, FormatCSV)
		return strings.Split(strings.SplitN(string(data), "\n", 2)[0], ",")
	}
	if h := csvOut(ProfileInsured); !slices.Equal(h, ProfileInsured.Header()) || h[len(h)-1] != "member_system" {
		t.Errorf("insured header %v", h)
	}
	if h := csvOut(ProfileHousehold); !slices.Equal(h, Header()) {
		t.Errorf("household header %v, want the canonical columns", h)
	}
}
