package bench

import (
	"fmt"
	"html/template"

	"github.com/patientmatch/patientmatch/scoring"
)

// The views of the error lists and the waterfalls in the HTML report.

type waterfallView struct {
	Title, Left, Right, Grade, Cap string
	Weight                         float64
	SVG                            template.HTML
}

type errorListView struct {
	Key, Title string
	Total      int64
	Shown      int
	Pairs      []errorPairView
}

type errorPairView struct {
	N                     int
	P                     ErrorPair
	LeftCells, RightCells []cell
	Explain               []string
}

type cell struct {
	Value   string
	Differs bool
	NoWrap  bool // short codes that read badly broken: id, birth date, sex, phone
}

// errorTitle says what a list holds.
func errorTitle(l ErrorList) string {
	if l.Kind == KindFalsePositive {
		return fmt.Sprintf("False positives graded %s (different people; joined when deciding at %s or lower)", l.Grade, l.Grade)
	}
	switch l.Grade {
	case GradeNotCompared:
		return "False negatives never compared (true pairs blocking did not propose; missed at every grade)"
	case scoring.GradeNone.String():
		return "False negatives below possible (true pairs scored under every grade; missed at every grade)"
	}
	return fmt.Sprintf("False negatives graded %s (true pairs; missed when deciding above %s)", l.Grade, l.Grade)
}

// errorViews lays out every error list as rows of two records.
func errorViews(a *Accuracy) []errorListView {
	var out []errorListView
	for _, l := range a.Errors {
		v := errorListView{Key: l.Kind + "/" + l.Grade, Title: errorTitle(l), Total: l.Total, Shown: len(l.Pairs)}
		for i, p := range l.Pairs {
			lc, rc := recordCells(p.Left), recordCells(p.Right)
			for k := range lc {
				d := k > 0 && lc[k].Value != rc[k].Value
				lc[k].Differs, rc[k].Differs = d, d
			}
			v.Pairs = append(v.Pairs, errorPairView{N: i + 1, P: p, LeftCells: lc, RightCells: rc, Explain: explainText(p.Comparisons)})
		}
		out = append(out, v)
	}
	return out
}

func recordCells(r ErrorRecord) []cell {
	vals := []string{r.ID, r.Family, r.Given, r.Middle, r.BirthDate, r.Sex, r.Address, r.Phone, r.Email, r.Identifiers}
	cells := make([]cell, len(vals))
	for i, v := range vals {
		cells[i] = cell{Value: v, NoWrap: i == 0 || i == 4 || i == 5 || i == 7}
	}
	return cells
}

// explainText is a pair's explanation, one line per comparison: its level
// and weight.
func explainText(cs []ComparisonLevel) []string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		tf := ""
		if c.TFAdjusted {
			tf = " (tf)"
		}
		parts[i] = fmt.Sprintf("%s %s%s %+.2f", c.Comparison, c.Level, tf, c.Weight)
	}
	return parts
}

// waterfalls picks the pairs a reader most wants explained: the most
// convincing false positive, the worst-scored false negative that was
// compared, and the first true pair blocking never proposed.
func waterfalls(a *Accuracy) []waterfallView {
	var gw []struct {
		name string
		w    float64
	}
	if a.model != nil {
		gw = gradeWeights(a.model.Thresholds)
	}
	var out []waterfallView
	add := func(title string, lists ...[2]string) {
		for _, k := range lists {
			l, ok := a.ErrorList(k[0], k[1])
			if !ok || len(l.Pairs) == 0 {
				continue
			}
			p := l.Pairs[0]
			out = append(out, waterfallView{
				Title: title + " (" + l.Grade + ")", Left: p.Left.ID, Right: p.Right.ID, Grade: p.Grade, Cap: p.Cap, Weight: p.MatchWeight,
				SVG: template.HTML(waterfallSVG(fmt.Sprintf("waterfall-%d", len(out)+1), p, gw)),
			})
			return
		}
	}
	add("Most convincing false positive", [2]string{KindFalsePositive, "certain"}, [2]string{KindFalsePositive, "probable"}, [2]string{KindFalsePositive, "possible"})
	add("Worst-scored false negative", [2]string{KindFalseNegative, "none"}, [2]string{KindFalseNegative, "possible"}, [2]string{KindFalseNegative, "probable"})
	add("A true pair never compared", [2]string{KindFalseNegative, GradeNotCompared})
	return out
}
