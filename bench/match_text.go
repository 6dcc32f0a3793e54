package bench

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteText writes ev as a few lines for a person: the present queries'
// figures, then the absent ones', each wrong answer split by relation.
func (ev *MatchEval) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p, a := &ev.Present, &ev.Missing
	fmt.Fprintf(bw, "$match on held-out people: %s (%d records, %d stored; %d queries; absent share %.2f, seed %d, count %d, model %s)\n",
		ev.Input, ev.Records, ev.Stored, p.Queries+a.Queries, ev.Absent, ev.Seed, ev.Count, orDefault(ev.Model, "built-in"))
	fmt.Fprintf(bw, "  in the registry: %d queries\n", p.Queries)
	line := func(what string, c MatchCount) { fmt.Fprintf(bw, "    %-34s %.4f  (%d)\n", what, c.Rate, c.N) }
	line("top-1 is the right patient", p.Top1)
	line("right patient certain", p.CertainRight)
	line("right patient probable+", p.ProbableRight)
	line("right patient in the answer", p.Found)
	line("a wrong patient certain", p.CertainWrong)
	line("a wrong patient probable+", p.ProbableWrong)
	fmt.Fprintf(bw, "    best wrong answer by relation (certain / probable+ / possible+): %s\n", byRelationText(p.WrongBy))
	if len(p.NotCertainBy) > 0 {
		parts := make([]string, len(p.NotCertainBy))
		for i, r := range p.NotCertainBy {
			parts[i] = fmt.Sprintf("%s %d", r.Reason, r.N)
		}
		fmt.Fprintf(bw, "    right patient not certain, why: %s\n", strings.Join(parts, "; "))
	}
	writePatterns(bw, "right patient not certain", p.NotCertainPatterns)
	writePatterns(bw, "wrong patient probable+", p.WrongPatterns)
	fmt.Fprintf(bw, "  not in the registry: %d queries (the registry holds a household member for %d, a namesake for %d, neither for %d)\n",
		a.Queries, a.Registry.Household, a.Registry.Namesake, a.Registry.Stranger)
	line("answered certain", a.Certain)
	line("answered probable+", a.Probable)
	line("answered possible+", a.Possible)
	fmt.Fprintf(bw, "    best answer by relation (certain / probable+ / possible+): %s\n", byRelationText(a.AnswerBy))
	writePatterns(bw, "answered probable+", a.AnswerPatterns)
	fmt.Fprintf(bw, "  %d queries in %.1fs\n", p.Queries+a.Queries, ev.Elapsed.Seconds())
	return bw.Flush()
}

// textPatterns is how many patterns of each list WriteText shows (the
// JSON has MaxMatchPatterns).
const textPatterns = 3

// writePatterns writes the first textPatterns patterns of ps, if any.
func writePatterns(w io.Writer, what string, ps []MatchPattern) {
	for i, p := range ps[:min(len(ps), textPatterns)] {
		if i == 0 {
			fmt.Fprintf(w, "    %s, most frequent pair patterns:\n", what)
		}
		fmt.Fprintf(w, "      %5d  %s: %s\n", p.N, p.Kind, p.Pattern)
	}
}

func byRelationText(rs []MatchByRelation) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%s %d / %d / %d", r.Relation, r.Certain, r.Probable, r.Possible)
	}
	return strings.Join(parts, "; ")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
