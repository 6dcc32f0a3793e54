package batch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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
	f := filepath.Join(t.TempDir(), "closure.csv")
	if err := os.WriteFile(f, []byte(closureCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadFiles(context.Background(), []string{f}, ReadOptions{
		Report: func(src string, line int, err error) { t.Errorf("%s:%d: %v", src, line, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	idx = map[string]int32{}
	for i, r := range recs {
		idx[r.Rec.ID] = int32(i)
	}
	return recs, idx
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
			n, err := Promote(recs, pairs, PromoteOptions{Scorer: s, Threshold: tc.threshold})
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
	var pairs []Pair
	if _, err := Dedupe(context.Background(), recs, Options{Scorer: s, Threshold: 0.5}, func(p Pair) error {
		pairs = append(pairs, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := Promote(recs, pairs, PromoteOptions{}); !errors.Is(err, ErrNoScorer) {
		t.Fatalf("no scorer: %v", err)
	}
	if _, err := Promote(recs, pairs, PromoteOptions{Scorer: s, Threshold: 0.5}); err != nil {
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
