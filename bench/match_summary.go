package bench

import (
	"fmt"
	"slices"
	"strings"

	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// Relation is how a wrong answer relates to the person a query was for,
// told from the records themselves: a truth file says who is one person,
// not who lives with whom, so household and namesake are read off the
// data, against every record of the query's person.
type Relation string

// Relations, in the order they are checked and reported.
const (
	// RelationHousehold: the answer shares a street address (number,
	// street and postal code) or a phone number with one of the
	// person's records: a spouse, twin, parent, child or sibling.
	RelationHousehold Relation = "household"
	// RelationNamesake: the answer has the family name, given name and
	// full birth date of one of the person's records, and no household.
	RelationNamesake Relation = "namesake"
	// RelationOther: anyone else.
	RelationOther Relation = "other"
)

var relations = []Relation{RelationHousehold, RelationNamesake, RelationOther}

// RelationOf tells how the record w relates to the person whose records
// are person.
func RelationOf(person []*record.Record, w *record.Record) Relation {
	wa, wn := addressKey(w), nameKey(w)
	for _, p := range person {
		if (wa != "" && addressKey(p) == wa) || (w.Phone != "" && p.Phone == w.Phone) {
			return RelationHousehold
		}
	}
	for _, p := range person {
		if wn != "" && nameKey(p) == wn {
			return RelationNamesake
		}
	}
	return RelationOther
}

// addressKey is the street address of r (house number, street, postal
// code), or "" when one of them is missing.
func addressKey(r *record.Record) string {
	a := r.Address
	if a.Number == "" || a.Street == "" || a.PostalCode == "" {
		return ""
	}
	return a.Number + "\x00" + a.Street + "\x00" + a.PostalCode
}

// nameKey is r's family name, given name and full birth date, or "" when
// one of them is missing.
func nameKey(r *record.Record) string {
	d := r.BirthDate
	if r.Family == "" || r.Given == "" || d.Year == 0 || d.Month == 0 || d.Day == 0 {
		return ""
	}
	return fmt.Sprintf("%s\x00%s\x00%d-%d-%d", r.Family, r.Given, d.Year, d.Month, d.Day)
}

// registryOf counts the absent people of split by whom the registry
// (split.Stored) holds for them: a household member, a namesake (a person
// can have both), or neither.
func registryOf(split MatchSplit, people map[string][]*record.Record, byID map[string]*record.Record) MatchRegistry {
	addrs, phones, names := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, id := range split.Stored {
		r, ok := byID[id]
		if !ok {
			continue
		}
		addrs[addressKey(r)] = true
		phones[r.Phone] = true
		names[nameKey(r)] = true
	}
	delete(addrs, "")
	delete(phones, "")
	delete(names, "")
	var reg MatchRegistry
	for _, q := range split.Queries {
		if q.Present {
			continue
		}
		household, namesake := false, false
		for _, p := range people[q.Entity] {
			household = household || addrs[addressKey(p)] || phones[p.Phone]
			namesake = namesake || names[nameKey(p)]
		}
		if household {
			reg.Household++
		}
		if namesake {
			reg.Namesake++
		}
		if !household && !namesake {
			reg.Stranger++
		}
	}
	return reg
}

// summarizeMatch adds up the outcomes of the queries.
func summarizeMatch(queries []MatchQuery, outcomes []matchOutcome) (MatchPresent, MatchAbsent) {
	var p MatchPresent
	var a MatchAbsent
	pBy, aBy := newByRelation(), newByRelation()
	for i, q := range queries {
		o := outcomes[i]
		if !q.Present {
			a.Queries++
			countGrade(&a.Certain.N, &a.Probable.N, &a.Possible.N, o.wrong, o.wrongID != "")
			aBy.add(o)
			continue
		}
		p.Queries++
		if o.top1 {
			p.Top1.N++
		}
		countGrade(&p.CertainRight.N, &p.ProbableRight.N, &p.Found.N, o.right, o.right != scoring.GradeNone)
		countGrade(&p.CertainWrong.N, &p.ProbableWrong.N, new(int), o.wrong, o.wrongID != "")
		pBy.add(o)
	}
	for _, c := range []*MatchCount{&p.Top1, &p.CertainRight, &p.ProbableRight, &p.Found, &p.CertainWrong, &p.ProbableWrong} {
		c.Rate = rate(c.N, p.Queries)
	}
	for _, c := range []*MatchCount{&a.Certain, &a.Probable, &a.Possible} {
		c.Rate = rate(c.N, a.Queries)
	}
	p.WrongBy, a.AnswerBy = pBy.list(), aBy.list()
	p.NotCertainBy = reasons(queries, outcomes)
	p.NotCertainPatterns, p.WrongPatterns, a.AnswerPatterns = patterns(queries, outcomes)
	return p, a
}

// reasons counts the present queries' whyNot, most frequent first.
func reasons(queries []MatchQuery, outcomes []matchOutcome) []MatchReason {
	n := map[string]int{}
	for i, q := range queries {
		if q.Present && outcomes[i].whyNot != "" {
			n[outcomes[i].whyNot]++
		}
	}
	if len(n) == 0 {
		return nil
	}
	out := make([]MatchReason, 0, len(n))
	for r, c := range n {
		out = append(out, MatchReason{Reason: r, N: c})
	}
	slices.SortFunc(out, func(a, b MatchReason) int {
		if a.N != b.N {
			return b.N - a.N
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	return out
}

// patterns counts the pairs' patterns: of present queries not certain by
// reason, of wrong answers graded probable or better by relation and
// grade, present and absent apart; the MaxMatchPatterns most frequent of
// each.
func patterns(queries []MatchQuery, outcomes []matchOutcome) (notCertain, wrong, absent []MatchPattern) {
	nc, pw, aw := map[MatchPattern]int{}, map[MatchPattern]int{}, map[MatchPattern]int{}
	for i, q := range queries {
		o := outcomes[i]
		if o.whyPattern != "" {
			nc[MatchPattern{Kind: o.whyNot, Pattern: o.whyPattern}]++
		}
		if o.wrongPattern != "" {
			k := MatchPattern{Kind: string(o.wrongRel) + " " + o.wrong.String(), Pattern: o.wrongPattern}
			if q.Present {
				pw[k]++
			} else {
				aw[k]++
			}
		}
	}
	return topPatterns(nc), topPatterns(pw), topPatterns(aw)
}

// topPatterns lists the MaxMatchPatterns most frequent of n.
func topPatterns(n map[MatchPattern]int) []MatchPattern {
	if len(n) == 0 {
		return nil
	}
	out := make([]MatchPattern, 0, len(n))
	for k, c := range n {
		k.N = c
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b MatchPattern) int {
		if a.N != b.N {
			return b.N - a.N
		}
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Pattern, b.Pattern)
	})
	return out[:min(len(out), MaxMatchPatterns)]
}

// countGrade adds one to each of certain, probable and possible that grade
// g reaches, when the answer exists (ok).
func countGrade(certain, probable, possible *int, g scoring.Grade, ok bool) {
	if !ok {
		return
	}
	if g >= scoring.GradeCertain {
		*certain++
	}
	if g >= scoring.GradeProbable {
		*probable++
	}
	if g >= scoring.GradePossible {
		*possible++
	}
}

func rate(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// byRelation counts best wrong answers by relation.
type byRelation map[Relation]*MatchByRelation

func newByRelation() byRelation {
	b := byRelation{}
	for _, r := range relations {
		b[r] = &MatchByRelation{Relation: string(r)}
	}
	return b
}

func (b byRelation) add(o matchOutcome) {
	if o.wrongID == "" {
		return
	}
	c := b[o.wrongRel]
	countGrade(&c.Certain, &c.Probable, &c.Possible, o.wrong, true)
}

func (b byRelation) list() []MatchByRelation {
	out := make([]MatchByRelation, len(relations))
	for i, r := range relations {
		out[i] = *b[r]
	}
	return out
}

// matchExamples lists, in query order, the first MaxMatchExamples present
// queries whose person was not graded certain and as many absent queries
// answered probable or better.
func matchExamples(queries []MatchQuery, outcomes []matchOutcome) []MatchExample {
	out := []MatchExample{}
	present, absent := 0, 0
	for i, q := range queries {
		o := outcomes[i]
		switch {
		case q.Present && o.right < scoring.GradeCertain && present < MaxMatchExamples:
			present++
		case !q.Present && o.wrongID != "" && o.wrong >= scoring.GradeProbable && absent < MaxMatchExamples:
			absent++
		default:
			continue
		}
		ex := MatchExample{Query: q.ID, Present: q.Present, RightGrade: o.right.String(), WhyNot: o.whyNot, WhyPattern: o.whyPattern}
		if o.wrongID != "" {
			ex.WrongAnswer, ex.WrongGrade, ex.WrongRelation = o.wrongID, o.wrong.String(), string(o.wrongRel)
			ex.WrongPattern = o.wrongPattern
		}
		out = append(out, ex)
	}
	return out
}
