package bench

import (
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/patientmatch/patientmatch/scoring"
)

// The report's further charts: precision, recall and F1 against the
// threshold; m and u, and the weight, of every comparison level; and the
// waterfall of a pair's match weight. Like the first two, each is inline SVG
// drawn from the numbers, with a data-chart attribute naming it (the
// browser test finds every chart by it).

// gradeWeights are the grade thresholds as match weights, weakest first.
func gradeWeights(t scoring.Thresholds) []struct {
	name string
	w    float64
} {
	lw := func(p float64) float64 { return math.Log2(p / (1 - p)) }
	return []struct {
		name string
		w    float64
	}{{"possible", lw(t.Possible)}, {"probable", lw(t.Probable)}, {"certain", lw(t.Certain)}}
}

// svgOpen starts a chart of w×h with its name and accessible label.
func svgOpen(b *strings.Builder, name, label string, w, h float64) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" data-chart="%s" width="%g" height="%g" viewBox="0 0 %g %g" role="img" aria-label="%s">`,
		name, w, h, w, h, html.EscapeString(label))
}

// prfThresholdSVG draws precision, recall and F1 of declaring every pair at
// or above a match weight a match, against that weight, with the grade
// thresholds as dashed lines.
func prfThresholdSVG(a *Accuracy) string {
	const w, h = 600.0, 380.0
	pw, ph := w-chartPadL-chartPadR, h-chartPadT-chartPadB
	pts := a.Curve
	lo, hi := 0.0, 1.0
	if len(pts) > 0 {
		lo, hi = pts[len(pts)-1].Weight, pts[0].Weight
	}
	var gw []struct {
		name string
		w    float64
	}
	if a.model != nil {
		gw = gradeWeights(a.model.Thresholds)
		for _, g := range gw {
			lo, hi = min(lo, g.w), max(hi, g.w)
		}
	}
	lo, hi = math.Floor(lo)-1, math.Ceil(hi)+1
	x := func(v float64) float64 { return chartPadL + (v-lo)/(hi-lo)*pw }
	y := func(v float64) float64 { return chartPadT + (1-v)*ph }
	var b strings.Builder
	svgOpen(&b, "prf-threshold", "precision, recall and F1 against the match-weight threshold", w, h)
	axes(&b, chartPadL, chartPadT, pw, ph)
	for i := 0; i <= 5; i++ {
		v := float64(i) / 5
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e8ec"/><text x="%.1f" y="%.1f" text-anchor="end">%.1f</text>`,
			chartPadL, y(v), chartPadL+pw, y(v), chartPadL-6, y(v)+4, v)
	}
	step := niceStep((hi - lo) / 8)
	for v := math.Ceil(lo/step) * step; v <= hi+1e-9; v += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9aa5ae"/><text x="%.1f" y="%.1f" text-anchor="middle">%g</text>`,
			x(v), chartPadT+ph, x(v), chartPadT+ph+4, x(v), chartPadT+ph+16, math.Round(v*100)/100)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">declare a match at match weight ≥ (log2 odds)</text>`, chartPadL+pw/2, h-6)
	series := []struct {
		name, color string
		get         func(SweepPoint) float64
	}{
		{"precision", "#2f6db3", func(p SweepPoint) float64 { return p.Precision }},
		{"recall", "#c77700", func(p SweepPoint) float64 { return p.Recall }},
		{"F1", "#1b6e3a", func(p SweepPoint) float64 { return p.F1 }},
	}
	for k, s := range series {
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline data-series="%s" fill="none" stroke="%s" stroke-width="2" points="`, s.name, s.color)
			for i, p := range pts {
				if i > 0 {
					b.WriteByte(' ')
				}
				fmt.Fprintf(&b, "%.1f,%.1f", x(p.Weight), y(s.get(p)))
			}
			b.WriteString(`"/>`)
		}
		lx := chartPadL + pw - 110
		ly := chartPadT + ph - 60 + float64(k)*16
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/><text x="%.1f" y="%.1f">%s</text>`,
			lx, ly, lx+18, ly, s.color, lx+24, ly+4, s.name)
	}
	for _, g := range gw {
		fmt.Fprintf(&b, `<line data-threshold="%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#1d2329" stroke-dasharray="4 3"/><text x="%.1f" y="%.1f" text-anchor="end" transform="rotate(-90 %.1f %.1f)">%s</text>`,
			g.name, x(g.w), chartPadT, x(g.w), chartPadT+ph, x(g.w)-3, chartPadT+4, x(g.w)-3, chartPadT+4, g.name)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// levelRow is one comparison level of the model charts.
type levelRow struct {
	comparison, level string
	first             bool // first level of its comparison
	m, u, weight      float64
	flagged           bool
}

func levelRows(m *scoring.Model, warnings []string) []levelRow {
	var rows []levelRow
	for _, c := range m.Comparisons {
		for i, l := range c.Levels {
			flagged := false
			prefix := c.Name + " " + l.Label + " has weight"
			for _, w := range warnings {
				flagged = flagged || strings.HasPrefix(w, prefix)
			}
			rows = append(rows, levelRow{comparison: c.Name, level: l.Label, first: i == 0, m: l.M, u: l.U, weight: l.Weight(), flagged: flagged})
		}
	}
	return rows
}

// muSVG draws m and u of every level as paired horizontal bars on a linear
// scale, comparisons one under the other.
func muSVG(rows []levelRow) string {
	const w, labelW, rowH, gap = 600.0, 200.0, 22.0, 14.0
	groups := 0
	for _, r := range rows {
		if r.first {
			groups++
		}
	}
	h := chartPadT + float64(len(rows))*rowH + float64(groups)*gap + 40
	pw := w - labelW - chartPadR - 120
	var b strings.Builder
	svgOpen(&b, "m-u", "m and u probability of each comparison level", w, h)
	y := chartPadT
	for i := 0; i <= 4; i++ {
		v := float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e8ec"/><text x="%.1f" y="%.1f" text-anchor="middle">%.2f</text>`,
			labelW+v*pw, chartPadT, labelW+v*pw, h-30, labelW+v*pw, h-16, v)
	}
	for _, r := range rows {
		if r.first {
			y += gap
			fmt.Fprintf(&b, `<text x="4" y="%.1f" font-weight="600">%s</text>`, y-2, html.EscapeString(r.comparison))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, labelW-6, y+rowH/2+4, html.EscapeString(r.level))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="8" fill="#2f6db3"><title>%s %s: m %.4g</title></rect>`,
			labelW, y+2, max(r.m*pw, 1), html.EscapeString(r.comparison), html.EscapeString(r.level), r.m)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="8" fill="#d9534f"><title>%s %s: u %.4g</title></rect>`,
			labelW, y+11, max(r.u*pw, 1), html.EscapeString(r.comparison), html.EscapeString(r.level), r.u)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10">m %.3g · u %.3g</text>`, labelW+max(r.m, r.u)*pw+4, y+rowH/2+4, r.m, r.u)
		y += rowH
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="8" fill="#2f6db3"/><text x="%.1f" y="%.1f">m (among true matches)</text>`, labelW, h-10, labelW+16, h-2)
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="8" fill="#d9534f"/><text x="%.1f" y="%.1f">u (among non-matches)</text>`, labelW+180, h-10, labelW+196, h-2)
	b.WriteString(`</svg>`)
	return b.String()
}

// weightsSVG draws each level's weight log2(m/u) as a bar from zero:
// green for evidence for a match, red against, an orange outline and "!"
// where ModelWarnings flags the level.
func weightsSVG(rows []levelRow) string {
	const w, labelW, rowH, gap = 600.0, 200.0, 16.0, 14.0
	lo, hi := 0.0, 0.0
	groups := 0
	for _, r := range rows {
		lo, hi = min(lo, r.weight), max(hi, r.weight)
		if r.first {
			groups++
		}
	}
	lo, hi = math.Floor(lo)-1, math.Ceil(hi)+1
	h := chartPadT + float64(len(rows))*rowH + float64(groups)*gap + 30
	pw := w - labelW - chartPadR
	x := func(v float64) float64 { return labelW + (v-lo)/(hi-lo)*pw }
	var b strings.Builder
	svgOpen(&b, "level-weights", "match weight of each comparison level", w, h)
	step := niceStep((hi - lo) / 8)
	for v := math.Ceil(lo/step) * step; v <= hi+1e-9; v += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e8ec"/><text x="%.1f" y="%.1f" text-anchor="middle">%g</text>`,
			x(v), chartPadT, x(v), h-24, x(v), h-10, v)
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#5b6770"/>`, x(0), chartPadT, x(0), h-24)
	y := chartPadT
	for _, r := range rows {
		if r.first {
			y += gap
			fmt.Fprintf(&b, `<text x="4" y="%.1f" font-weight="600">%s</text>`, y-2, html.EscapeString(r.comparison))
		}
		x0, x1 := x(min(0, r.weight)), x(max(0, r.weight))
		fill, stroke := "#1b6e3a", "none"
		if r.weight < 0 {
			fill = "#b3261e"
		}
		mark := ""
		if r.flagged {
			stroke, mark = "#f08c00", " !"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s%s</text>`, labelW-6, y+rowH/2+3, html.EscapeString(r.level), mark)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="%s" stroke-width="2"><title>%s %s: weight %+.2f</title></rect>`,
			x0, y+2, max(x1-x0, 1), rowH-4, fill, stroke, html.EscapeString(r.comparison), html.EscapeString(r.level), r.weight)
		y += rowH
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// waterfallSVG draws how a pair's match weight builds up: the prior, then
// each comparison's weight as a step up or down, then the total, with the
// grade thresholds as dashed lines. The prior is the total less the
// comparisons' weights, so a report decoded from JSON draws it too.
func waterfallSVG(name string, p ErrorPair, gw []struct {
	name string
	w    float64
}) string {
	const w, h = 600.0, 400.0
	pw, ph := w-chartPadL-64, h-chartPadT-110
	prior := p.MatchWeight
	for _, c := range p.Comparisons {
		prior -= c.Weight
	}
	type step struct {
		label    string
		from, to float64
	}
	steps := []step{{"prior", 0, prior}}
	cum := prior
	for _, c := range p.Comparisons {
		steps = append(steps, step{c.Comparison + ": " + c.Level, cum, cum + c.Weight})
		cum += c.Weight
	}
	steps = append(steps, step{"match weight", 0, p.MatchWeight})
	lo, hi := 0.0, 0.0
	for _, s := range steps {
		lo, hi = min(lo, s.from, s.to), max(hi, s.from, s.to)
	}
	for _, g := range gw {
		lo, hi = min(lo, g.w), max(hi, g.w)
	}
	lo, hi = math.Floor(lo)-1, math.Ceil(hi)+1
	y := func(v float64) float64 { return chartPadT + (hi-v)/(hi-lo)*ph }
	var b strings.Builder
	svgOpen(&b, name, "waterfall of the match weight of "+p.Left.ID+" and "+p.Right.ID, w, h)
	axes(&b, chartPadL, chartPadT, pw, ph)
	step0 := niceStep((hi - lo) / 6)
	for v := math.Ceil(lo/step0) * step0; v <= hi+1e-9; v += step0 {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e8ec"/><text x="%.1f" y="%.1f" text-anchor="end">%g</text>`,
			chartPadL, y(v), chartPadL+pw, y(v), chartPadL-6, y(v)+4, v)
	}
	for _, g := range gw {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#1d2329" stroke-dasharray="4 3"/><text x="%.1f" y="%.1f">%s</text>`,
			chartPadL, y(g.w), chartPadL+pw, y(g.w), chartPadL+pw+3, y(g.w)+4, g.name)
	}
	bw := pw / float64(len(steps))
	for i, s := range steps {
		top, bot := max(s.from, s.to), min(s.from, s.to)
		fill := "#1b6e3a"
		switch {
		case i == 0 || i == len(steps)-1:
			fill = "#5b6770"
		case s.to < s.from:
			fill = "#b3261e"
		}
		bx := chartPadL + float64(i)*bw + bw*0.15
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %+.2f</title></rect>`,
			bx, y(top), bw*0.7, max(y(bot)-y(top), 1), fill, html.EscapeString(s.label), s.to-s.from)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" font-size="10" transform="rotate(-35 %.1f %.1f)">%s</text>`,
			bx+bw*0.35, chartPadT+ph+14, bx+bw*0.35, chartPadT+ph+14, html.EscapeString(s.label))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%+.1f</text>`, bx+bw*0.35, y(top)-3, s.to-s.from)
	}
	b.WriteString(`</svg>`)
	return b.String()
}
