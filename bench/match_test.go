package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

func TestSplitForMatchSmall(t *testing.T) {
	truth := NewTruth(map[string]string{"a1": "A", "a2": "A", "b1": "B", "c1": "C", "c2": "C", "c3": "C"})
	ids := []string{"c3", "a1", "b1", "c1", "a2", "c2", "x1"} // x1: unlabelled, a person of its own
	for _, tc := range []struct {
		absent                float64
		present, absentQ, sto int
	}{
		// Nobody held out: one query each for A and C, the rest stored.
		{absent: 0, present: 2, absentQ: 0, sto: 5},
		// A quarter: the first person drawn is enough (1 of 3 queries
		// absent when it has one record, 1 of 2 when it has more).
		{absent: 0.25, present: -1, absentQ: 1, sto: -1},
		// Half: absent queries reach half of all queries.
		{absent: 0.5, present: -1, absentQ: -1, sto: -1},
	} {
		t.Run(fmt.Sprint(tc.absent), func(t *testing.T) {
			for seed := range uint64(20) {
				s, err := SplitForMatch(ids, truth, MatchSplitOptions{Absent: tc.absent, Seed: seed})
				if err != nil {
					t.Fatal(err)
				}
				checkSplit(t, ids, truth, s)
				p, a := countQueries(s)
				if tc.present >= 0 && p != tc.present || tc.absentQ >= 0 && a != tc.absentQ || tc.sto >= 0 && len(s.Stored) != tc.sto {
					t.Errorf("seed %d: %d present, %d absent, %d stored; want %d, %d, %d (-1: any)", seed, p, a, len(s.Stored), tc.present, tc.absentQ, tc.sto)
				}
				if got := float64(a) / float64(a+p); got < tc.absent || (a > 0 && float64(a-1)/float64(a+p) >= tc.absent) {
					t.Errorf("seed %d: absent share %v (%d of %d), want the first to reach %v", seed, got, a, a+p, tc.absent)
				}
			}
		})
	}
	if _, err := SplitForMatch(ids, truth, MatchSplitOptions{Absent: 1}); err == nil {
		t.Error("absent share 1 accepted")
	}
	if _, err := SplitForMatch(ids, truth, MatchSplitOptions{Absent: -0.1}); err == nil {
		t.Error("negative absent share accepted")
	}
}

// TestSplitForMatchSeeded checks on a larger labelled set that a split
// depends on the seed and not on the order of the rows, and holds the
// asked share of absent queries.
func TestSplitForMatchSeeded(t *testing.T) {
	ent := map[string]string{}
	var ids []string
	r := rand.New(rand.NewPCG(7, 7))
	for e := range 500 {
		for k := range 1 + r.IntN(4)*r.IntN(2) { // about half the people have one record
			id := fmt.Sprintf("r%d-%d", e, k)
			ent[id] = fmt.Sprint(e)
			ids = append(ids, id)
		}
	}
	truth := NewTruth(ent)
	opts := MatchSplitOptions{Absent: 0.2, Seed: 3}
	s1, err := SplitForMatch(ids, truth, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkSplit(t, ids, truth, s1)
	shuffled := slices.Clone(ids)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	s2, _ := SplitForMatch(shuffled, truth, opts)
	if !reflect.DeepEqual(s1, s2) {
		t.Error("the split depends on the order of the rows")
	}
	opts.Seed = 4
	if s3, _ := SplitForMatch(ids, truth, opts); reflect.DeepEqual(s1, s3) {
		t.Error("seeds 3 and 4 give the same split")
	}
	p, a := countQueries(s1)
	if share := float64(a) / float64(a+p); share < 0.2 || share > 0.2+1.0/float64(a+p) {
		t.Errorf("absent share %.4f (%d of %d), want 0.2 to within one query", share, a, a+p)
	}
}

// checkSplit checks the invariants of a split: every record stored, a
// query, or held out with an absent person; a present query's person has
// a stored record, an absent one has none; one query per person.
func checkSplit(t *testing.T, ids []string, truth *Truth, s MatchSplit) {
	t.Helper()
	stored := map[string]bool{}
	storedPeople := map[string]bool{}
	for _, id := range s.Stored {
		stored[id] = true
		storedPeople[entityOrSelf(truth, id)] = true
	}
	asked := map[string]bool{}
	for _, q := range s.Queries {
		if stored[q.ID] {
			t.Errorf("query %s is stored", q.ID)
		}
		if asked[q.Entity] {
			t.Errorf("person %s asked twice", q.Entity)
		}
		asked[q.Entity] = true
		if q.Entity != entityOrSelf(truth, q.ID) || q.Present != storedPeople[q.Entity] {
			t.Errorf("query %+v: entity %s, stored records of the person: %v", q, entityOrSelf(truth, q.ID), storedPeople[q.Entity])
		}
	}
	for _, id := range ids {
		e := entityOrSelf(truth, id)
		if !stored[id] && storedPeople[e] && !slices.ContainsFunc(s.Queries, func(q MatchQuery) bool { return q.ID == id }) {
			t.Errorf("record %s of a stored person is neither stored nor a query", id)
		}
	}
	if !slices.IsSorted(s.Stored) {
		t.Error("stored ids not sorted")
	}
}

func countQueries(s MatchSplit) (present, absent int) {
	for _, q := range s.Queries {
		if q.Present {
			present++
		} else {
			absent++
		}
	}
	return present, absent
}

func TestRelationOf(t *testing.T) {
	home := record.Address{Number: "12", Street: "main", StreetType: "st", PostalCode: "83702"}
	born := record.Date{Year: 1980, Month: 3, Day: 16, Valid: true}
	person := []*record.Record{
		{ID: "p1", Given: "amber", Family: "singh", BirthDate: born, Address: home},
		{ID: "p2", Given: "amber", Family: "singh", BirthDate: born, Phone: "+12084408482"},
	}
	for _, tc := range []struct {
		name string
		w    record.Record
		want Relation
	}{
		{"spouse at the address", record.Record{Given: "raj", Family: "singh", Address: home}, RelationHousehold},
		{"sharing the second record's phone", record.Record{Given: "tom", Phone: "+12084408482"}, RelationHousehold},
		{"namesake elsewhere", record.Record{Given: "amber", Family: "singh", BirthDate: born, Address: record.Address{Number: "9", Street: "oak", PostalCode: "10001"}}, RelationNamesake},
		{"namesake at home is household", record.Record{Given: "amber", Family: "singh", BirthDate: born, Address: home}, RelationHousehold},
		{"same name, other birth date", record.Record{Given: "amber", Family: "singh", BirthDate: record.Date{Year: 1981, Month: 3, Day: 16}}, RelationOther},
		{"same name, birth year only", record.Record{Given: "amber", Family: "singh", BirthDate: record.Date{Year: 1980}}, RelationOther},
		{"same street, no postal code", record.Record{Address: record.Address{Number: "12", Street: "main"}}, RelationOther},
		{"stranger", record.Record{Given: "zoe", Family: "li"}, RelationOther},
	} {
		if got := RelationOf(person, &tc.w); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// fakeAnswerer answers each query id with a fixed answer.
type fakeAnswerer map[string][]MatchAnswer

func (f fakeAnswerer) Answer(_ context.Context, q record.Record) ([]MatchAnswer, error) {
	ans, ok := f[q.ID]
	if !ok {
		return nil, errors.New("no answer")
	}
	return ans, nil
}

// gradingAnswerer is a fakeAnswerer that also grades pairs, keyed
// "query|stored".
type gradingAnswerer struct {
	fakeAnswerer
	pairs map[string]MatchPair
}

func (g gradingAnswerer) GradePair(q, stored *record.Record) MatchPair {
	p, ok := g.pairs[q.ID+"|"+stored.ID]
	if !ok {
		return MatchPair{Grade: scoring.GradeNone, Cap: "none", Pattern: "unrelated"}
	}
	return p
}

// TestEvaluateMatch runs a handmade registry whose answers are known:
// Ann (a1 stored, a2 asked) and her twin Tia living with her (t1
// stored); Bob (b1 stored, b2 asked) and his namesake Bo elsewhere (n1
// stored); Cy, absent (c1 asked), whose sister Di (d1) is stored; Ed,
// absent (e1 asked), a stranger; Fay (f1 stored, f2 asked).
func TestEvaluateMatch(t *testing.T) {
	const (
		C = scoring.GradeCertain
		P = scoring.GradeProbable
		O = scoring.GradePossible
	)
	home := record.Address{Number: "1", Street: "elm", PostalCode: "11111"}
	cyHome := record.Address{Number: "2", Street: "oak", PostalCode: "22222"}
	bobBorn := record.Date{Year: 1970, Month: 1, Day: 2, Valid: true}
	records := []record.Record{
		{ID: "a1", Given: "ann", Family: "ray", Address: home}, {ID: "a2", Given: "ann", Family: "ray", Address: home},
		{ID: "t1", Given: "tia", Family: "ray", Address: home},
		{ID: "b1", Given: "bob", Family: "fox", BirthDate: bobBorn}, {ID: "b2", Given: "bob", Family: "fox", BirthDate: bobBorn, Phone: "+15550001"},
		{ID: "n1", Given: "bob", Family: "fox", BirthDate: bobBorn, Phone: "+15550002"},
		{ID: "c1", Given: "cy", Family: "day", Address: cyHome}, {ID: "d1", Given: "di", Family: "day", Address: cyHome},
		{ID: "e1", Given: "ed", Family: "orr"},
		{ID: "f1", Given: "fay", Family: "lim"}, {ID: "f2", Given: "fay", Family: "lim"},
	}
	truth := NewTruth(map[string]string{"a1": "A", "a2": "A", "t1": "T", "b1": "B", "b2": "B", "n1": "N",
		"c1": "C", "d1": "D", "e1": "E", "f1": "F", "f2": "F"})
	split := MatchSplit{
		Stored: []string{"a1", "b1", "d1", "f1", "n1", "t1"},
		Queries: []MatchQuery{{ID: "a2", Entity: "A", Present: true}, {ID: "b2", Entity: "B", Present: true},
			{ID: "c1", Entity: "C"}, {ID: "e1", Entity: "E"}, {ID: "f2", Entity: "F", Present: true}},
	}
	answers := fakeAnswerer{
		"a2": {{"a1", C}, {"t1", O}}, // right and certain; the twin possible
		"b2": {{"n1", P}, {"b1", P}}, // the namesake first: top-1 missed
		"c1": {{"d1", P}},            // absent, the sister probable
		"e1": nil,                    // absent, nothing
		"f2": {{"f1", P}, {"b1", O}}, // right but probable; a stranger possible
	}
	ev, err := EvaluateMatch(context.Background(), answers, records, truth, split, 2)
	if err != nil {
		t.Fatal(err)
	}
	mc := func(n, of int) MatchCount { return MatchCount{N: n, Rate: float64(n) / float64(of)} }
	wantP := MatchPresent{Queries: 3, Top1: mc(2, 3), CertainRight: mc(1, 3), ProbableRight: mc(3, 3), Found: mc(3, 3),
		CertainWrong: mc(0, 3), ProbableWrong: mc(1, 3), WrongBy: []MatchByRelation{
			{Relation: "household", Possible: 1}, {Relation: "namesake", Probable: 1, Possible: 1}, {Relation: "other", Possible: 1}}}
	wantA := MatchAbsent{Queries: 2, Registry: MatchRegistry{Household: 1, Stranger: 1},
		Certain: mc(0, 2), Probable: mc(1, 2), Possible: mc(1, 2), AnswerBy: []MatchByRelation{
			{Relation: "household", Probable: 1, Possible: 1}, {Relation: "namesake"}, {Relation: "other"}}}
	if !reflect.DeepEqual(ev.Present, wantP) {
		t.Errorf("present:\n got %+v\nwant %+v", ev.Present, wantP)
	}
	if !reflect.DeepEqual(ev.Missing, wantA) {
		t.Errorf("absent:\n got %+v\nwant %+v", ev.Missing, wantA)
	}
	wantEx := []MatchExample{
		{Query: "b2", Present: true, RightGrade: "probable", WrongAnswer: "n1", WrongGrade: "probable", WrongRelation: "namesake"},
		{Query: "c1", RightGrade: "none", WrongAnswer: "d1", WrongGrade: "probable", WrongRelation: "household"},
		{Query: "f2", Present: true, RightGrade: "probable", WrongAnswer: "b1", WrongGrade: "possible", WrongRelation: "other"},
	}
	if !reflect.DeepEqual(ev.Examples, wantEx) {
		t.Errorf("examples:\n got %+v\nwant %+v", ev.Examples, wantEx)
	}
	if ev.Present.NotCertainBy != nil {
		t.Errorf("reasons %+v without a pair grader", ev.Present.NotCertainBy)
	}
	graded := gradingAnswerer{answers, map[string]MatchPair{
		"b2|b1": {P, "none", "given=exact"}, "f2|f1": {P, "twins", "given=else"}, "b2|n1": {P, "no_corroboration", "household=else"},
		"c1|d1": {P, "none", "given=jw"}}}
	ev2, err := EvaluateMatch(context.Background(), graded, records, truth, split, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantWhy := []MatchReason{{"below certain: probable", 1}, {"cap: twins", 1}}
	if !reflect.DeepEqual(ev2.Present.NotCertainBy, wantWhy) || ev2.Examples[2].WhyNot != "cap: twins" {
		t.Errorf("reasons %+v, examples %+v; want %+v", ev2.Present.NotCertainBy, ev2.Examples, wantWhy)
	}
	wantPat := [][]MatchPattern{
		{{"below certain: probable", "given=exact", 1}, {"cap: twins", "given=else", 1}},
		{{"namesake probable", "household=else", 1}},
		{{"household probable", "given=jw", 1}},
	}
	if got := [][]MatchPattern{ev2.Present.NotCertainPatterns, ev2.Present.WrongPatterns, ev2.Missing.AnswerPatterns}; !reflect.DeepEqual(got, wantPat) {
		t.Errorf("patterns %+v, want %+v", got, wantPat)
	}
	if ex := ev2.Examples[1]; ex.WrongPattern != "given=jw" || ex.WhyPattern != "" {
		t.Errorf("absent example %+v", ex)
	}
	graded.pairs["f2|f1"] = MatchPair{C, "none", "all"}
	if ev2, _ = EvaluateMatch(context.Background(), graded, records, truth, split, 1); ev2.Present.NotCertainBy[1].Reason != "certain pair not answered" {
		t.Errorf("a certain pair left out of the answer: %+v", ev2.Present.NotCertainBy)
	}
	if ev.Records != len(records) || ev.Stored != len(split.Stored) {
		t.Errorf("records %d stored %d", ev.Records, ev.Stored)
	}
	var text strings.Builder
	if err := ev.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"top-1 is the right patient         0.6667  (2)", "answered probable+                 0.5000  (1)",
		"a household member for 1, a namesake for 0, neither for 1", "household 0 / 1 / 1; namesake 0 / 0 / 0; other 0 / 0 / 0"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}

	answers["e1"] = nil
	delete(answers, "f2")
	if _, err := EvaluateMatch(context.Background(), answers, records, truth, split, 1); err == nil {
		t.Error("a failing query did not fail the run")
	}
	split.Queries = append(split.Queries, MatchQuery{ID: "zz", Entity: "Z"})
	answers["f2"] = nil
	if _, err := EvaluateMatch(context.Background(), answers, records, truth, split, 1); err == nil {
		t.Error("a query without its record did not fail the run")
	}
}
