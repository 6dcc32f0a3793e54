package batch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/scoring"
)

// closureCSV holds, besides a clean record of Jennifer Person (b) and a
// second clean one (b2), records whose pair with x carries one shape of own
// evidence each: a slip (x has the birth day one digit off, y the month,
// so each is certain with b and they are two digits apart), twins
// (tw: another given name, the same birth date and household), a junior
// (jr: the same name a generation later, suffix jr), a different sex (sx),
// a different SSN (ssn, beside x2 that has one) and a stranger (st).
const closureCSV = `id,family,given,middle,suffix,birth_date,sex,address_line,city,state,postal_code,country,phone,email,ssn
b,Person,Jennifer,,,1973-06-04,female,12 Oak Street,Springfield,IL,62701,US,217-555-0142,,
b2,Person,Jennifer,,,1973-06-04,female,12 Oak Street,Springfield,IL,62701,US,217-555-0142,,
x,Person,Jennifer,,,1973-06-14,female,12 Oak Street,Springfield,IL,62701,US,217-555-0142,,
y,Person,Jennifer,,,1973-08-04,female,12 Oak St,Springfield,IL,62701,US,217-555-0142,,
tw,Person,Victoria,,,1973-06-04,female,12 Oak Street,Springfield,IL,62701,US,217-555-0142,,
jr,Person,Jennifer,,jr,1999-02-11,female,12 Oak Street,Springfield,IL,62701,US,217-555-0142,,
sx,Person,Jennifer,,,1973-06-04,male,12 Oak Street,Springfield,IL,62701,US,217-555-0142,,
x2,Person,Jennifer,,,1973-06-04,female,12 Oak Street,Springfield,IL,62701,US,217-555-0142,,345-67-8912
ssn,Person,Jennifer,,,1973-06-04,female,12 Oak Street,Springfield,IL,62701,US,217-555-0142,,234-56-7891
st,Kowalski,Piotr,,,1965-02-28,male,31 Walnut Way,Chicago,IL,60601,US,312-555-0100,,
`

func readClosure(t *testing.T) (recs []*scoring.Prepared, idx map[string]int32) {
	t.Helper()
	recs = readCSV(t, closureCSV)
	idx = map[string]int32{}
	for i, r := range recs {
		idx[r.Rec.ID] = int32(i)
	}
	return recs, idx
}

// readCSV reads data as a CSV file, every bad row a test error.
func readCSV(t *testing.T, data string) []*scoring.Prepared {
	t.Helper()
	f := filepath.Join(t.TempDir(), "records.csv")
	if err := os.WriteFile(f, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadFiles(context.Background(), []string{f}, ReadOptions{
		Report: func(src string, line int, err error) { t.Errorf("%s:%d: %v", src, line, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// dedupeAll is every pair of recs at or above 0.5 that Dedupe writes.
func dedupeAll(t *testing.T, recs []*scoring.Prepared, s *scoring.Scorer) []Pair {
	t.Helper()
	var pairs []Pair
	if _, err := Dedupe(context.Background(), recs, Options{Scorer: s, Threshold: 0.5}, func(p Pair) error {
		pairs = append(pairs, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return pairs
}

// TestPromote: a pair two certain pairs join through a third record is
// certain by way of it, unless its own evidence contradicts that. The
// grades of the given pairs are set by hand (the links'); what Promote
// reads itself is the candidate pair's own cap and conflicts.
func TestPromote(t *testing.T) {
	recs, id := readClosure(t)
	s := defaultScorer(t)
	certain, probable, possible := scoring.GradeCertain, scoring.GradeProbable, scoring.GradePossible
	type hp struct {
		a, b string
		p    float64 // probability; the weight is its log-odds
		g    scoring.Grade
	}
	tests := []struct {
		name      string
		pairs     []hp
		threshold float64
		want      string // the record linking the last pair, "" for not promoted
	}{
		{"slip through a clean record", []hp{{"x", "b", 0.999999, certain}, {"b", "y", 0.999999, certain}, {"x", "y", 0.99, probable}}, 0.5, "b"},
		{"link order does not matter", []hp{{"b", "y", 0.999999, certain}, {"b", "x", 0.999999, certain}, {"y", "x", 0.99, probable}}, 0.5, "b"},
		{"no common record", []hp{{"x", "b", 0.999999, certain}, {"y", "b2", 0.999999, certain}, {"x", "y", 0.99, probable}}, 0.5, ""},
		{"one link only", []hp{{"x", "b", 0.999999, certain}, {"b", "y", 0.99, probable}, {"x", "y", 0.99, probable}}, 0.5, ""},
		{"own grade possible", []hp{{"x", "b", 0.999999, certain}, {"b", "y", 0.999999, certain}, {"x", "y", 0.7, possible}}, 0.5, ""},
		{"own probability below the threshold", []hp{{"x", "b", 0.999999, certain}, {"b", "y", 0.999999, certain}, {"x", "y", 0.99, probable}}, 0.995, ""},
		{"link below the threshold", []hp{{"x", "b", 0.999999, certain}, {"b", "y", 0.99, certain}, {"x", "y", 0.995, probable}}, 0.992, ""},
		{"twins", []hp{{"x", "b", 0.999999, certain}, {"b", "tw", 0.999999, certain}, {"x", "tw", 0.99, probable}}, 0.5, ""},
		{"junior", []hp{{"x", "b", 0.999999, certain}, {"b", "jr", 0.999999, certain}, {"x", "jr", 0.99, probable}}, 0.5, ""},
		{"sex differs", []hp{{"x", "b", 0.999999, certain}, {"b", "sx", 0.999999, certain}, {"x", "sx", 0.99, probable}}, 0.5, ""},
		{"SSNs differ", []hp{{"x2", "b", 0.999999, certain}, {"b", "ssn", 0.999999, certain}, {"x2", "ssn", 0.99, probable}}, 0.5, ""},
		{"the stronger of two links through", []hp{
			{"x", "b", 0.999999, certain}, {"b", "y", 0.99999, certain},
			{"x", "b2", 0.9999999, certain}, {"b2", "y", 0.999999, certain}, {"x", "y", 0.99, probable}}, 0.5, "b2"},
		{"a promoted pair is no link", []hp{
			{"b", "x", 0.999999, certain}, {"x", "y", 0.99, probable}, {"y", "b2", 0.999999, certain},
			{"b", "y", 0.999999, certain}, {"x", "b2", 0.99, probable}}, 0.5, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pairs := make([]Pair, len(tc.pairs))
			for k, h := range tc.pairs {
				p := pr(id[h.a], id[h.b], h.p, h.g)
				p.Left, p.Right = min(p.Left, p.Right), max(p.Left, p.Right)
				pairs[k] = p
			}
			n, err := Promote(context.Background(), recs, pairs, PromoteOptions{Scorer: s, Threshold: tc.threshold})
			if err != nil {
				t.Fatal(err)
			}
			last := pairs[len(pairs)-1]
			got := ""
			if last.Promoted {
				got = recs[last.LinkedBy].Rec.ID
			}
			if got != tc.want {
				t.Fatalf("linked by %q, want %q (pairs %+v)", got, tc.want, pairs)
			}
			wantGrade := tc.pairs[len(tc.pairs)-1].g
			if tc.want != "" {
				wantGrade = certain
			}
			if last.Grade != wantGrade || last.Probability != tc.pairs[len(tc.pairs)-1].p {
				t.Errorf("grade %v probability %v, want %v and its own probability", last.Grade, last.Probability, wantGrade)
			}
			promoted := 0
			for _, p := range pairs {
				if p.Promoted {
					promoted++
				}
			}
			if n != promoted {
				t.Errorf("Promote returned %d, %d pairs promoted", n, promoted)
			}
		})
	}
}

// TestPromoteOwnEvidence: the shapes TestPromote refuses are refused for
// their own evidence — the scorer sees twins, a junior, a conflict — and
// the slip is one the scorer holds below certain, so the test is about
// pairs a dedupe really produces.
func TestPromoteOwnEvidence(t *testing.T) {
	recs, id := readClosure(t)
	s := defaultScorer(t)
	for _, c := range []struct {
		a, b string
		cap  scoring.Cap
	}{{"x", "tw", scoring.CapTwins}, {"x", "jr", scoring.CapJunior}, {"x", "sx", scoring.CapConflict}, {"x2", "ssn", scoring.CapConflict}} {
		if r := s.Score(recs[id[c.a]], recs[id[c.b]]); r.Cap != c.cap {
			t.Errorf("%s–%s: cap %v, want %v", c.a, c.b, r.Cap, c.cap)
		}
	}
	if r := s.Score(recs[id["x"]], recs[id["y"]]); r.Grade != scoring.GradeProbable {
		t.Errorf("x–y: grade %v (cap %v), want probable", r.Grade, r.Cap)
	}
	for _, xb := range []string{"x", "y"} {
		if r := s.Score(recs[id[xb]], recs[id["b"]]); r.Grade != scoring.GradeCertain {
			t.Errorf("%s–b: grade %v (cap %v), want certain", xb, r.Grade, r.Cap)
		}
	}
}

// TestPromoteDedupe: through the whole job, the slip pair of the file is
// certain through the clean record and says so; with no scorer Promote
// refuses.
func TestPromoteDedupe(t *testing.T) {
	recs, _ := readClosure(t)
	s := defaultScorer(t)
	pairs := dedupeAll(t, recs, s)
	if _, err := Promote(context.Background(), recs, pairs, PromoteOptions{}); !errors.Is(err, ErrNoScorer) {
		t.Fatalf("no scorer: %v", err)
	}
	if _, err := Promote(context.Background(), recs, pairs, PromoteOptions{Scorer: s, Threshold: 0.5}); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pairs {
		a, b := recs[p.Left].Rec.ID, recs[p.Right].Rec.ID
		if p.Promoted {
			if p.Grade != scoring.GradeCertain || s.Score(recs[p.Left], recs[p.Right]).Grade == scoring.GradeCertain {
				t.Errorf("%s–%s promoted with grade %v", a, b, p.Grade)
			}
			if v := recs[p.LinkedBy].Rec.ID; v == a || v == b {
				t.Errorf("%s–%s linked by itself", a, b)
			}
		}
		if (a == "y" || b == "y") && (a == "x" || b == "x") {
			if p.Promoted && recs[p.LinkedBy].Rec.ID != "b" && recs[p.LinkedBy].Rec.ID != "b2" {
				t.Errorf("x–y linked by %s", recs[p.LinkedBy].Rec.ID)
			}
			found = p.Promoted
		}
	}
	if !found {
		t.Errorf("x–y not promoted: %+v", pairs)
	}
}

// mixUpCSV holds, for each pair of twins whose given names are alike (the
// reviewer's chains, issue 13), u1 and u2 — the twins, u2 with her SSN —
// and c: u1's record carrying u2's SSN (a common mix-up). c–u2 is certain
// by the SSN across the given names, u1–c certain truly, and the twins
// u1–u2 probable on their own: by weak_agreement where they share the
// household (form h), by the score with no cap at all where u2 has no
// address (form s). With k, the same person keyed three ways: k1 and k2
// share an SSN and their names and dates agree (the day one digit off),
// k3 has no SSN and the month one digit off.
func mixUpCSV() (csv string, twins [][2]string) {
	var b strings.Builder
	b.WriteString("id,family,given,middle,suffix,birth_date,sex,address_line,city,state,postal_code,country,phone,email,ssn\n")
	names := []struct{ one, two, sex string }{
		{"Kristin", "Kristen", "female"}, {"Emily", "Emilia", "female"}, {"Mark", "Marcus", "male"},
		{"Ian", "Ivan", "male"}, {"Ryan", "Bryan", "male"}, {"Carl", "Carla", "male"},
	}
	for k, n := range names {
		for _, form := range []string{"h", "s"} {
			id := fmt.Sprintf("%s%d", form, k)
			fam, dob := "Twin"+strings.ToUpper(form)+string(rune('a'+k)), fmt.Sprintf("2001-06-%02d", k+1)
			home := fmt.Sprintf("%d Oak Street,Springfield,IL,62701,US,217-555-01%d%d", k+1, k, len(form))
			ssn := fmt.Sprintf("5%d%d-48-73%d%d", k, len(id), k, len(form)+3)
			twoHome := home
			if form == "s" {
				twoHome, ssn = ",,,,US,", strings.Replace(ssn, "-48-", "-49-", 1)
			}
			fmt.Fprintf(&b, "%su1,%s,%s,,,%s,%s,%s,,\n", id, fam, n.one, dob, n.sex, home)
			fmt.Fprintf(&b, "%su2,%s,%s,,,%s,%s,%s,,%s\n", id, fam, n.two, dob, n.sex, twoHome, ssn)
			fmt.Fprintf(&b, "%sc,%s,%s,,,%s,%s,%s,,%s\n", id, fam, n.one, dob, n.sex, home, ssn)
			twins = append(twins, [2]string{id + "u1", id + "u2"})
		}
	}
	const keep = "Keeper,Jennifer,,,%s,female,9 Elm Street,Springfield,IL,62701,US,217-555-0199,,%s\n"
	fmt.Fprintf(&b, "k1,"+keep, "1973-06-04", "512-48-7302")
	fmt.Fprintf(&b, "k2,"+keep, "1973-06-14", "512-48-7302")
	fmt.Fprintf(&b, "k3,"+keep, "1973-08-04", "")
	return b.String(), twins
}

// TestPromoteMixUp: one wrong link does not spread to twins. Each chain is
// checked to be what it says — links certain, the twins probable on their
// own and with a common certain neighbour, so that the promotion before
// this rule graded them certain — and the twins stay probable: the link
// through c rests on an identifier across given names that differ, as
// the twins' own do. A link by an identifier over names and dates that
// agree still vouches (k2–k3 through k1).
func TestPromoteMixUp(t *testing.T) {
	data, twins := mixUpCSV()
	recs := readCSV(t, data)
	s := defaultScorer(t)
	pairs := dedupeAll(t, recs, s)
	byIDs := map[[2]string]*Pair{}
	for k := range pairs {
		a, b := recs[pairs[k].Left].Rec.ID, recs[pairs[k].Right].Rec.ID
		byIDs[[2]string{a, b}], byIDs[[2]string{b, a}] = &pairs[k], &pairs[k]
	}
	grade := func(a, b string) scoring.Grade {
		if p := byIDs[[2]string{a, b}]; p != nil {
			return p.Grade
		}
		return scoring.GradeNone
	}
	for _, tw := range append(twins, [2]string{"k2", "k3"}) {
		via := strings.TrimSuffix(tw[0], "u1") + "c"
		if tw[0] == "k2" {
			via = "k1"
		}
		if grade(tw[0], via) != scoring.GradeCertain || grade(via, tw[1]) != scoring.GradeCertain || grade(tw[0], tw[1]) != scoring.GradeProbable {
			t.Fatalf("%s–%s through %s: grades %v, %v, own %v: the chain does not test what it says",
				tw[0], tw[1], via, grade(tw[0], via), grade(via, tw[1]), grade(tw[0], tw[1]))
		}
	}
	if _, err := Promote(context.Background(), recs, pairs, PromoteOptions{Scorer: s, Threshold: 0.5}); err != nil {
		t.Fatal(err)
	}
	for _, tw := range twins {
		if p := byIDs[tw]; p.Promoted || p.Grade != scoring.GradeProbable {
			t.Errorf("twins %s–%s: grade %v, promoted through %s", tw[0], tw[1], p.Grade, recs[p.LinkedBy].Rec.ID)
		}
	}
	if p := byIDs[[2]string{"k2", "k3"}]; !p.Promoted || recs[p.LinkedBy].Rec.ID != "k1" {
		t.Errorf("k2–k3: promoted %v through %d, want through k1", p.Promoted, p.LinkedBy)
	}
	// Of two common neighbours, one whose links carry no identifier vouches
	// where the stronger one through c does not (grades set by hand).
	id := map[string]int32{}
	for i, r := range recs {
		id[r.Rec.ID] = int32(i)
	}
	hand := func(a, b string, p float64, g scoring.Grade) Pair {
		q := pr(id[a], id[b], p, g)
		q.Left, q.Right = min(q.Left, q.Right), max(q.Left, q.Right)
		return q
	}
	certain := scoring.GradeCertain
	two := []Pair{hand("h0u1", "h0c", 0.9999999, certain), hand("h0c", "h0u2", 0.9999999, certain),
		hand("h0u1", "s0u1", 0.999999, certain), hand("s0u1", "h0u2", 0.999999, certain),
		hand("h0u1", "h0u2", 0.99, scoring.GradeProbable)}
	if _, err := Promote(context.Background(), recs, two, PromoteOptions{Scorer: s, Threshold: 0.5}); err != nil {
		t.Fatal(err)
	}
	if p := two[len(two)-1]; !p.Promoted || recs[p.LinkedBy].Rec.ID != "s0u1" {
		t.Errorf("h0u1–h0u2 with two neighbours: promoted %v through %s, want through s0u1", p.Promoted, recs[p.LinkedBy].Rec.ID)
	}
}

// TestPromoteAmbiguousThird: twins whose given names are alike
// (Christopher/Christian phonetic, Kristin/Kristen jw>=0.92) are held at
// probable by weak_agreement alone. A third record whose given name fits
// both — a diminutive of both (Chris), or none — carrying one twin's MRN
// and the other's SSN is certain with each; it must not make the twins
// certain, as a record naming one twin and carrying the other's number
// does not (TestPromoteMixUp).
func TestPromoteAmbiguousThird(t *testing.T) {
	const data = `id,family,given,middle,suffix,birth_date,sex,address_line,city,state,postal_code,country,phone,email,ssn,mrn
a1,Twinley,Christopher,,,2001-06-01,male,1 Oak Street,Springfield,IL,62701,US,217-555-0101,,,M100231
b1,Twinley,Christian,,,2001-06-01,male,1 Oak Street,Springfield,IL,62701,US,217-555-0101,,512-48-7302,
x1,Twinley,Chris,,,2001-06-01,male,1 Oak Street,Springfield,IL,62701,US,217-555-0101,,512-48-7302,M100231
a3,Twinova,Kristin,,,2003-03-04,female,3 Elm Street,Springfield,IL,62701,US,217-555-0303,,,M300452
b3,Twinova,Kristen,,,2003-03-04,female,3 Elm Street,Springfield,IL,62701,US,217-555-0303,,544-21-9987,
x3,Twinova,,,,2003-03-04,female,3 Elm Street,Springfield,IL,62701,US,217-555-0303,,544-21-9987,M300452
`
	recs := readCSV(t, data)
	s := defaultScorer(t)
	pairs := dedupeAll(t, recs, s)
	links, twins := 0, 0
	for _, p := range pairs {
		a, b := recs[p.Left].Rec.ID, recs[p.Right].Rec.ID
		switch {
		case a[0] == 'x' || b[0] == 'x':
			if p.Grade == scoring.GradeCertain {
				links++
			}
		case a[1] == b[1]:
			if p.Grade != scoring.GradeProbable {
				t.Fatalf("twins %s–%s graded %v before Promote: the case does not test what it says", a, b, p.Grade)
			}
			twins++
		}
	}
	if links != 4 || twins != 2 {
		t.Fatalf("%d certain links through the third records and %d twin pairs, want 4 and 2: the case does not test what it says", links, twins)
	}
	if _, err := Promote(context.Background(), recs, pairs, PromoteOptions{Scorer: s, Threshold: 0.5}); err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		a, b := recs[p.Left].Rec.ID, recs[p.Right].Rec.ID
		if a[1] == b[1] && a[0] != 'x' && b[0] != 'x' && p.Grade == scoring.GradeCertain {
			t.Errorf("twins %s–%s certain through %s", a, b, recs[p.LinkedBy].Rec.ID)
		}
	}
}

// TestPromoteNamesakeNumber: two namesakes — one name and birth date, two
// households — are held at probable (no_corroboration). A record at the
// first one's address with her MRN carries the second one's SSN (keyed
// into the wrong chart): it is certain with each, by the address and MRN
// and by the SSN alone. It must not make the namesakes one person: a link
// carried by a number without the household does not vouch for a pair
// that has nothing else in common.
func TestPromoteNamesakeNumber(t *testing.T) {
	const data = `id,family,given,middle,suffix,birth_date,sex,address_line,city,state,postal_code,country,phone,email,ssn,mrn
a,Smithers,John,,,1980-01-02,male,1 Oak Street,Springfield,IL,62701,US,217-555-0111,,,M555001
x,Smithers,John,,,1980-01-02,male,1 Oak Street,Springfield,IL,62701,US,217-555-0111,,532-11-4410,M555001
b,Smithers,John,,,1980-01-02,male,77 Pine Road,Peoria,IL,61602,US,309-555-0199,,532-11-4410,
`
	recs := readCSV(t, data)
	s := defaultScorer(t)
	pairs := dedupeAll(t, recs, s)
	grade := func() map[string]scoring.Grade {
		g := map[string]scoring.Grade{}
		for _, p := range pairs {
			a, b := recs[p.Left].Rec.ID, recs[p.Right].Rec.ID
			if a > b {
				a, b = b, a
			}
			g[a+b] = p.Grade
		}
		return g
	}
	if g := grade(); g["ax"] != scoring.GradeCertain || g["bx"] != scoring.GradeCertain || g["ab"] != scoring.GradeProbable {
		t.Fatalf("grades before Promote %v: the case does not test what it says", g)
	}
	if _, err := Promote(context.Background(), recs, pairs, PromoteOptions{Scorer: s, Threshold: 0.5}); err != nil {
		t.Fatal(err)
	}
	if g := grade(); g["ab"] == scoring.GradeCertain {
		t.Errorf("namesakes a–b certain through x")
	}
}

// TestPromoteCancelled: a cancelled context stops Promote with its error.
func TestPromoteCancelled(t *testing.T) {
	recs, _ := readClosure(t)
	s := defaultScorer(t)
	var pairs []Pair
	if _, err := Dedupe(context.Background(), recs, Options{Scorer: s, Threshold: 0.5}, func(p Pair) error {
		pairs = append(pairs, p)
		return nil
	}); err != nil || len(pairs) == 0 {
		t.Fatalf("dedupe: %d pairs, %v", len(pairs), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Promote(ctx, recs, pairs, PromoteOptions{Scorer: s, Threshold: 0.5}); !errors.Is(err, context.Canceled) {
		t.Errorf("Promote with a cancelled context: %v, want context.Canceled", err)
	}
}
