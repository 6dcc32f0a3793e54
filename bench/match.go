package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// This file measures $match the way a registry is used: people come to be
// matched, some of whom the registry holds (under one or more records) and
// some of whom it has never seen — though it may hold their spouse, twin,
// parent or a namesake. RunAccuracy asks whether two records of a file are
// one person, RecallAtK whether a stored duplicate comes back at all; this
// asks what a $match caller is told: is the right patient first and
// graded certain, and is anyone graded probable or certain for a person
// who is not there. Issue 13 states its first targets this way.

// MatchAnswerer is what EvaluateMatch needs of a matching engine: the
// answer a $match request for q gets, best first, with its grades. The
// command wraps matcher.Engine.Match with the options of a $match request,
// so nothing here is a second matching path.
type MatchAnswerer interface {
	Answer(ctx context.Context, q record.Record) ([]MatchAnswer, error)
}

// MatchAnswer is one entry of a $match answer.
type MatchAnswer struct {
	ID    string
	Grade scoring.Grade
}

// MatchPairGrader is an optional capability of a MatchAnswerer: what the
// engine's scorer makes of the pair (q, stored). EvaluateMatch uses it to
// say why a present query's right patient was not graded certain, and
// what the pairs behind wrong probable answers look like; the answers
// themselves come from Answer alone.
type MatchPairGrader interface {
	GradePair(q, stored *record.Record) MatchPair
}

// MatchPair is a MatchPairGrader's account of one pair.
type MatchPair struct {
	Grade scoring.Grade
	// Cap is the hazard rule that lowered the grade, "none" if none did.
	Cap string
	// Pattern is the pair's comparison levels, e.g. "given_name=phonetic
	// family_name=exact …": what a model change would have to tell apart.
	Pattern string
}

// MatchSplitOptions choose how SplitForMatch holds people out.
type MatchSplitOptions struct {
	// Absent is the share of the queries asked for people not in the
	// registry, in [0,1). The split reaches it to within one query.
	Absent float64
	// Seed makes the split reproducible: the same file, truth and seed
	// give the same split, whatever the order of the file's rows.
	Seed uint64
}

// MatchQuery is one query of a split: a record of the file, whether its
// person has other records stored (Present) or none (absent).
type MatchQuery struct {
	ID      string `json:"id"`
	Entity  string `json:"entity"`
	Present bool   `json:"present"`
}

// MatchSplit divides a labelled file into the registry and the queries.
// Every record is in exactly one of Stored and Queries or in neither (the
// other records of an absent person, held out with it).
type MatchSplit struct {
	Stored  []string     // ids, sorted
	Queries []MatchQuery // sorted by id
}

// SplitForMatch splits the records ids of a labelled file by person. People
// are drawn in a seeded order and held out whole until absent queries are
// opts.Absent of all queries: every record of such a person is left out
// of the registry and one of them is the query, so household members and
// namesakes who remain stored become their relatives and namesakes. Of
// every other person with at least two records, one record is the query
// and the rest are stored; people with one record are stored and not
// queried (there would be nothing to find). Records missing from truth are
// people of their own; an id given twice counts once.
func SplitForMatch(ids []string, truth *Truth, opts MatchSplitOptions) (MatchSplit, error) {
	if !(opts.Absent >= 0 && opts.Absent < 1) {
		return MatchSplit{}, fmt.Errorf("bench: absent share %v: must be in [0,1)", opts.Absent)
	}
	people := peopleOf(ids, truth)
	names := make([]string, 0, len(people))
	multi := 0
	for ent, recs := range people {
		names = append(names, ent)
		if len(recs) > 1 {
			multi++
		}
	}
	slices.Sort(names)
	r := rand.New(rand.NewPCG(opts.Seed, 0x6d61746368)) // "match"
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })

	var split MatchSplit
	absent, present := 0, multi
	for _, ent := range names {
		recs := people[ent]
		pick := recs[r.IntN(len(recs))]
		switch {
		case float64(absent) < opts.Absent*float64(absent+present):
			absent++
			if len(recs) > 1 {
				present--
			}
			split.Queries = append(split.Queries, MatchQuery{ID: pick, Entity: ent})
		case len(recs) == 1:
			split.Stored = append(split.Stored, pick)
		default:
			split.Queries = append(split.Queries, MatchQuery{ID: pick, Entity: ent, Present: true})
			for _, id := range recs {
				if id != pick {
					split.Stored = append(split.Stored, id)
				}
			}
		}
	}
	slices.Sort(split.Stored)
	slices.SortFunc(split.Queries, func(a, b MatchQuery) int { return strings.Compare(a.ID, b.ID) })
	return split, nil
}

// peopleOf groups ids by entity, each group's ids sorted and distinct.
func peopleOf(ids []string, truth *Truth) map[string][]string {
	people := map[string][]string{}
	for _, id := range ids {
		ent := entityOrSelf(truth, id)
		people[ent] = append(people[ent], id)
	}
	for ent, recs := range people {
		slices.Sort(recs)
		people[ent] = slices.Compact(recs)
	}
	return people
}

// entityOrSelf is id's entity, or a name no labelled entity can have for a
// record the truth does not know (a person of its own).
func entityOrSelf(truth *Truth, id string) string {
	if e, ok := truth.Entity(id); ok {
		return e
	}
	return "\x00" + id
}

// MatchEval is the result of EvaluateMatch.
type MatchEval struct {
	// Input, Model and Count describe the run; the command fills them in.
	Input string `json:"input,omitempty"`
	Model string `json:"model,omitempty"`
	Count int    `json:"count,omitempty"`
	// Records is the number of records of the file, Stored how many of
	// them the registry holds.
	Records int     `json:"records"`
	Stored  int     `json:"stored"`
	Absent  float64 `json:"absent_share"`
	Seed    uint64  `json:"seed"`

	Present MatchPresent `json:"present"`
	Missing MatchAbsent  `json:"absent"`
	// Examples lists, by query id, up to MaxMatchExamples present queries
	// whose right patient is not graded certain and as many absent ones
	// answered probable or better: ids and grades only.
	Examples []MatchExample `json:"examples"`
	// Elapsed is the wall time of all queries.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// MatchCount is a number of queries and its share of the queries of its
// kind (present or absent).
type MatchCount struct {
	N    int     `json:"n"`
	Rate float64 `json:"rate"`
}

// MatchPresent is what queries for people in the registry were told.
type MatchPresent struct {
	Queries int `json:"queries"`
	// Top1: the first answer is the right person. CertainRight,
	// ProbableRight, Found: a record of the right person is in the answer
	// graded certain, probable or better, possible or better.
	Top1          MatchCount `json:"top1"`
	CertainRight  MatchCount `json:"certain_right"`
	ProbableRight MatchCount `json:"probable_right"`
	Found         MatchCount `json:"found"`
	// CertainWrong, ProbableWrong: someone else is in the answer graded
	// certain, or probable or better.
	CertainWrong  MatchCount `json:"certain_wrong"`
	ProbableWrong MatchCount `json:"probable_wrong"`
	// WrongBy splits the queries by their best wrong answer's relation to
	// the query's person.
	WrongBy []MatchByRelation `json:"wrong_by"`
	// NotCertainBy counts the queries whose right patient was not graded
	// certain by why, most frequent first, when the answerer can grade
	// pairs (MatchPairGrader): the best pair of the query with one of its
	// person's stored records is capped by a hazard rule ("cap: twins"),
	// or graded below certain without a cap ("below certain: probable"),
	// or is certain but was not answered so ("certain pair not answered":
	// the candidates missed it).
	NotCertainBy []MatchReason `json:"not_certain_by,omitempty"`
	// NotCertainPatterns are the most frequent (reason, pattern) of those
	// queries' best pairs; WrongPatterns the most frequent (relation and
	// grade, pattern) of the pairs with a wrong answer graded probable or
	// better. At most MaxMatchPatterns each, when the answerer can grade
	// pairs.
	NotCertainPatterns []MatchPattern `json:"not_certain_patterns,omitempty"`
	WrongPatterns      []MatchPattern `json:"wrong_patterns,omitempty"`
}

// MatchPattern is a number of pairs of one kind (a reason, or a relation
// and grade) with one pattern of comparison levels.
type MatchPattern struct {
	Kind    string `json:"kind"`
	Pattern string `json:"pattern"`
	N       int    `json:"n"`
}

// MaxMatchPatterns bounds each list of MatchPattern.
const MaxMatchPatterns = 10

// MatchReason is a number of queries that missed for one reason.
type MatchReason struct {
	Reason string `json:"reason"`
	N      int    `json:"n"`
}

// MatchAbsent is what queries for people not in the registry were told:
// every answer is someone else.
type MatchAbsent struct {
	Queries int `json:"queries"`
	// Registry says whom the registry holds for these people: a household
	// member (Household), someone of the same name and birth date
	// (Namesake) — a person can have both — or neither (Stranger). See
	// Relation.
	Registry MatchRegistry `json:"registry"`
	// Certain, Probable, Possible: the best answer is graded certain,
	// probable or better, possible or better (anything at all).
	Certain  MatchCount `json:"certain"`
	Probable MatchCount `json:"probable"`
	Possible MatchCount `json:"possible"`
	// AnswerBy splits them by the best answer's relation to the person.
	AnswerBy []MatchByRelation `json:"answer_by"`
	// AnswerPatterns are the most frequent (relation and grade, pattern)
	// of the pairs answered probable or better (see MatchPresent).
	AnswerPatterns []MatchPattern `json:"answer_patterns,omitempty"`
}

// MatchRegistry counts absent people by whom the registry holds for them.
type MatchRegistry struct {
	Household int `json:"household"`
	Namesake  int `json:"namesake"`
	Stranger  int `json:"stranger"`
}

// MatchByRelation counts the queries whose best wrong answer has one
// relation to the query's person, by that answer's grade (at or above).
type MatchByRelation struct {
	Relation string `json:"relation"`
	Certain  int    `json:"certain"`
	Probable int    `json:"probable"`
	Possible int    `json:"possible"`
}

// MatchExample is one query that missed: the best grade its person got
// (absent people: none) and its best wrong answer, if any.
type MatchExample struct {
	Query         string `json:"query"`
	Present       bool   `json:"present"`
	RightGrade    string `json:"right_grade"`
	WhyNot        string `json:"why_not_certain,omitempty"`
	WhyPattern    string `json:"why_pattern,omitempty"`
	WrongAnswer   string `json:"wrong_answer,omitempty"`
	WrongGrade    string `json:"wrong_grade,omitempty"`
	WrongRelation string `json:"wrong_relation,omitempty"`
	WrongPattern  string `json:"wrong_pattern,omitempty"`
}

// MaxMatchExamples bounds each kind of MatchEval.Examples.
const MaxMatchExamples = 20

// EvaluateMatch asks a for every query of split, on workers goroutines (at
// least one), and adds up what each was told. records holds every record
// of the file (queries, stored and held out) as normalized for matching;
// the registry a answers from must hold exactly split.Stored. The result
// depends only on the answers, not on the number of workers.
func EvaluateMatch(ctx context.Context, a MatchAnswerer, records []record.Record, truth *Truth, split MatchSplit, workers int) (MatchEval, error) {
	byID := make(map[string]*record.Record, len(records))
	people := map[string][]*record.Record{}
	for i := range records {
		r := &records[i]
		if _, dup := byID[r.ID]; dup {
			continue
		}
		byID[r.ID] = r
		ent := entityOrSelf(truth, r.ID)
		people[ent] = append(people[ent], r)
	}
	outcomes := make([]matchOutcome, len(split.Queries))
	start := time.Now()
	err := forEachQuery(len(split.Queries), workers, func(i int) error {
		q := split.Queries[i]
		rec, ok := byID[q.ID]
		if !ok {
			return fmt.Errorf("bench: query %q is not among the records", q.ID)
		}
		answers, err := a.Answer(ctx, *rec)
		if err != nil {
			return fmt.Errorf("bench: query %q: %w", q.ID, err)
		}
		outcomes[i] = judge(q, answers, truth, people[q.Entity], byID)
		if g, ok := a.(MatchPairGrader); ok {
			explain(g, &outcomes[i], q, rec, people[q.Entity], byID)
		}
		return nil
	})
	if err != nil {
		return MatchEval{}, err
	}
	if err := ctx.Err(); err != nil {
		return MatchEval{}, err
	}
	ev := MatchEval{Records: len(byID), Stored: len(split.Stored), Elapsed: time.Since(start)}
	ev.Present, ev.Missing = summarizeMatch(split.Queries, outcomes)
	ev.Missing.Registry = registryOf(split, people, byID)
	ev.Examples = matchExamples(split.Queries, outcomes)
	return ev, nil
}

// matchOutcome is what one query was told: the best grade given to its
// person (GradeNone: not in the answer), whether the first answer was the
// person, and the best wrong answer with its relation to the person.
type matchOutcome struct {
	right    scoring.Grade
	top1     bool
	wrong    scoring.Grade
	wrongID  string
	wrongRel Relation
	// whyNot says why a present query's person was not graded certain
	// and whyPattern is that best pair's pattern (whyNotCertain);
	// wrongPattern is the pattern of the pair with the best wrong answer
	// when it is probable or better. Set when the answerer can grade pairs.
	whyNot, whyPattern, wrongPattern string
}

// judge reads one answer. Answers come best first (grade, then weight), so
// the first answer of each kind carries its best grade.
func judge(q MatchQuery, answers []MatchAnswer, truth *Truth, person []*record.Record, byID map[string]*record.Record) matchOutcome {
	var o matchOutcome
	for i, ans := range answers {
		if entityOrSelf(truth, ans.ID) == q.Entity {
			o.top1 = o.top1 || i == 0
			o.right = max(o.right, ans.Grade)
			continue
		}
		if o.wrongID == "" || ans.Grade > o.wrong {
			o.wrong, o.wrongID = ans.Grade, ans.ID
			o.wrongRel = RelationOther
			if w, ok := byID[ans.ID]; ok {
				o.wrongRel = RelationOf(person, w)
			}
		}
	}
	return o
}

// explain fills in o's account of the pairs behind a miss (see
// matchOutcome), asking g.
func explain(g MatchPairGrader, o *matchOutcome, q MatchQuery, rec *record.Record, person []*record.Record, byID map[string]*record.Record) {
	if q.Present && o.right < scoring.GradeCertain {
		o.whyNot, o.whyPattern = whyNotCertain(g, rec, person)
	}
	if w, ok := byID[o.wrongID]; ok && o.wrong >= scoring.GradeProbable {
		o.wrongPattern = g.GradePair(rec, w).Pattern
	}
}

// whyNotCertain grades the query q against every other record of its
// person (all stored, q being a present query) and names what kept the
// best pair from certain, with that pair's pattern. Of pairs with the
// same grade a capped one is the reason: without its cap it would have
// been certain.
func whyNotCertain(g MatchPairGrader, q *record.Record, person []*record.Record) (why, pattern string) {
	best := MatchPair{Grade: scoring.GradeNone, Cap: "none"}
	for _, r := range person {
		if r.ID == q.ID {
			continue
		}
		if p := g.GradePair(q, r); p.Grade > best.Grade || (p.Grade == best.Grade && best.Cap == "none" && p.Cap != "none") {
			best = p
		}
	}
	switch {
	case best.Grade == scoring.GradeCertain:
		return "certain pair not answered", best.Pattern
	case best.Cap != "none" && best.Cap != "":
		return "cap: " + best.Cap, best.Pattern
	}
	return "below certain: " + best.Grade.String(), best.Pattern
}
