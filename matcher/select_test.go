package matcher

import (
	"context"
	"fmt"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/scoring"
)

// cappedOutranksCertain stores two candidates for one query: "only" agrees
// on name, birth date, sex and household (certain), and "capped" agrees on
// all that and the SSN too, but its sex differs, so the conflict cap holds
// it at probable although its match weight is the higher one.
func cappedOutranksCertain(t *testing.T) (*Engine, *fm.Patient) {
	t.Helper()
	ctx := context.Background()
	e := openMem(t)
	male, female := fm.AdministrativeGenderMale, fm.AdministrativeGenderFemale
	q := withContact(testPatient("q", "Lindqvist", "Maren", "1979-06-21"), "40 Alder Way", "Dayton", "45402", "9375550188", "321-54-9876")
	q.Gender = &male
	only := withContact(testPatient("only", "Lindqvist", "Maren", "1979-06-21"), "40 Alder Way", "Dayton", "45402", "9375550188", "")
	only.Identifier = nil
	only.Gender = &male
	capped := withContact(testPatient("capped", "Lindqvist", "Maren", "1979-06-21"), "40 Alder Way", "Dayton", "45402", "9375550188", "321-54-9876")
	capped.Gender = &female
	if _, err := e.UpsertBatch(ctx, []*fm.Patient{only, capped}); err != nil {
		t.Fatal(err)
	}
	all, err := e.Match(ctx, query(q), MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Match{}
	for _, m := range all {
		byID[m.ID] = m
	}
	o, c := byID["only"], byID["capped"]
	if o.Grade != scoring.GradeCertain || c.Grade != scoring.GradeProbable || !(c.Weight > o.Weight) {
		t.Fatalf("fixture: want only certain and capped probable with the higher weight, got only %v %.2f, capped %v %.2f",
			o.Grade, o.Weight, c.Grade, c.Weight)
	}
	return e, q
}

// TestRankGradeBeforeWeight: the certain candidate comes first although
// the capped one has the higher weight.
func TestRankGradeBeforeWeight(t *testing.T) {
	e, q := cappedOutranksCertain(t)
	ms, err := e.Match(context.Background(), query(q), MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(ms); len(got) != 2 || got[0] != "only" || got[1] != "capped" {
		t.Errorf("order %v, want [only capped]", got)
	}
}

// TestOnlyCertainReturnsTheCertain: onlyCertainMatches returns the one
// certain candidate, never a probable one that outweighs it.
func TestOnlyCertainReturnsTheCertain(t *testing.T) {
	e, q := cappedOutranksCertain(t)
	ms, err := e.Match(context.Background(), query(q), MatchOptions{OnlyCertain: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].ID != "only" || ms[0].Grade != scoring.GradeCertain {
		t.Errorf("OnlyCertain = %v, want [only] graded certain", ids(ms))
	}
	ms, err = e.Match(context.Background(), query(q), MatchOptions{OnlySingle: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].ID != "only" {
		t.Errorf("OnlySingle = %v, want [only]: certain ahead of a probable", ids(ms))
	}
	ms, err = e.Match(context.Background(), query(q), MatchOptions{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].ID != "only" {
		t.Errorf("Count 1 = %v, want [only]", ids(ms))
	}
}

func TestSelect(t *testing.T) {
	m := func(id string, g scoring.Grade, w float64) Match { return Match{ID: id, Grade: g, Weight: w} }
	c, p, o := scoring.GradeCertain, scoring.GradeProbable, scoring.GradePossible
	var twelve []Match
	for i := range 12 {
		twelve = append(twelve, m(fmt.Sprintf("p%02d", i), p, float64(100-i)))
	}
	for _, tc := range []struct {
		name string
		in   []Match
		opts MatchOptions
		want []string
	}{
		{"rank by grade then weight then id", []Match{m("b", p, 50), m("c", c, 20), m("a", c, 20), m("d", o, 60)}, MatchOptions{}, []string{"a", "c", "b", "d"}},
		{"count", []Match{m("a", c, 30), m("b", p, 20), m("c", o, 10)}, MatchOptions{Count: 2}, []string{"a", "b"}},
		{"default count", twelve, MatchOptions{}, []string{"p00", "p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08", "p09"}},
		{"only certain: one", []Match{m("x", p, 90), m("a", c, 30)}, MatchOptions{OnlyCertain: true}, []string{"a"}},
		{"only certain: two", []Match{m("a", c, 30), m("b", c, 29)}, MatchOptions{OnlyCertain: true}, nil},
		{"only certain: none", []Match{m("a", p, 30)}, MatchOptions{OnlyCertain: true}, nil},
		{"only single: clear", []Match{m("a", c, 30), m("b", p, 40)}, MatchOptions{OnlySingle: true}, []string{"a"}},
		{"only single: tie in grade", []Match{m("a", p, 30), m("b", p, 20)}, MatchOptions{OnlySingle: true}, nil},
		{"only single: lone", []Match{m("a", o, 3)}, MatchOptions{OnlySingle: true}, []string{"a"}},
		{"only single: none", nil, MatchOptions{OnlySingle: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := append([]Match(nil), tc.in...)
			Rank(ms)
			got := ids(Select(ms, tc.opts))
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}
