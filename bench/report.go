package bench

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"
	"time"

	"github.com/patientmatch/patientmatch/scoring"
)

// The HTML report is one self-contained file: inline CSS, inline SVG
// charts drawn here from the numbers, no script, no external URL, so it can
// be mailed, archived with a model, or opened on an air-gapped machine.

// reportData is what the template sees.
type reportData struct {
	A         *Accuracy
	Generated string
	Grades    []gradeRow
	Best      SweepPoint
	BestP     string
	PRCurve   template.HTML
	Histogram template.HTML
	Model     []modelRow
	Prior     string
	MemMiB    string
	// The charts and lists of report_charts.go and errors.go.
	PRFThreshold  template.HTML
	MUChart       template.HTML
	WeightChart   template.HTML
	ModelWarnings []string
	Waterfalls    []waterfallView
	ErrorLists    []errorListView
	MaxPairs      int
}

type gradeRow struct {
	Label, Threshold, Precision, Recall, F1 string
	TP, FP, FN, TrueAt, FalseAt             int64
}

type modelRow struct {
	Comparison      string
	First           bool
	Rows            int
	Level, M, U, Wt string
	TF, Negative    bool
}

// WriteHTML writes the report as one self-contained HTML page.
func (a *Accuracy) WriteHTML(w io.Writer) error {
	d := reportData{
		A:         a,
		Generated: time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Best:      a.Best,
		BestP:     fmtProb(a.Best.Probability),
		PRCurve:   template.HTML(prCurveSVG(a)),
		Histogram: template.HTML(histogramSVG(a)),
		MemMiB:    fmt.Sprintf("%.1f", float64(a.PeakMemoryBytes)/(1<<20)),

		PRFThreshold:  template.HTML(prfThresholdSVG(a)),
		ModelWarnings: a.ModelWarnings,
		Waterfalls:    waterfalls(a),
		ErrorLists:    errorViews(a),
		MaxPairs:      MaxErrorPairs,
	}
	for _, g := range a.Grades {
		m := g.AtOrAbove
		r := gradeRow{
			Label: g.Grade + " or higher", Threshold: fmt.Sprintf("p ≥ %g", g.Threshold),
			Precision: fmtPrecision(m), Recall: fmt.Sprintf("%.4f", m.Recall), F1: fmt.Sprintf("%.4f", m.F1),
			TP: m.TruePositives, FP: m.FalsePositives, FN: m.FalseNegatives, TrueAt: g.TruePairs, FalseAt: g.FalsePairs,
		}
		if g.Grade == "none" {
			r.Label, r.Threshold = "every candidate", "–"
		}
		d.Grades = append(d.Grades, r)
	}
	if m := a.model; m != nil {
		d.Prior = fmt.Sprintf("%.4g (weight %+.2f)", m.Prior, math.Log2(m.Prior/(1-m.Prior)))
		for ci, c := range m.Comparisons {
			for i, l := range c.Levels {
				d.Model = append(d.Model, modelRow{
					Comparison: c.Name, First: i == 0, Rows: len(c.Levels) + 1,
					Level: l.Label, M: fmt.Sprintf("%.6g", l.M), U: fmt.Sprintf("%.6g", l.U),
					Wt: fmt.Sprintf("%+.2f", l.Weight()), TF: m.TFAdjusts(ci, i), Negative: l.Weight() < 0,
				})
			}
			d.Model = append(d.Model, modelRow{Comparison: c.Name, Level: "missing", M: "–", U: "–", Wt: "+0.00"})
		}
		rows := levelRows(m, a.ModelWarnings)
		d.MUChart, d.WeightChart = template.HTML(muSVG(rows)), template.HTML(weightsSVG(rows))
	}
	return reportTemplate.Execute(w, d)
}

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>patientmatch accuracy: {{.A.Dataset}}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2329; margin: 24px auto; max-width: 1100px; padding: 0 20px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d5dbe1; padding-bottom: 4px; }
p.sub { color: #5b6770; margin: 0 0 16px; }
table { border-collapse: collapse; margin: 6px 0 10px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e8ec; text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f5f7; font-weight: 600; }
td.l, th.l { text-align: left; }
td.neg { color: #b3261e; }
td.pos { color: #1b6e3a; }
tr.best td { background: #fff8e1; }
h3 { font-size: 15px; margin: 18px 0 4px; }
.warn { border-left: 4px solid #f08c00; background: #fff8e1; padding: 6px 12px; margin: 8px 0; max-width: 980px; }
table.pairs { font-size: 12px; }
table.pairs td { vertical-align: top; }
table.pairs td.nw { white-space: nowrap; }
table.pairs tr.left td { border-top: 2px solid #c5ccd3; }
table.pairs td.d { background: #fde7e5; }
table.pairs td.x { font-size: 11.5px; color: #3b444b; }
code { font-size: 12.5px; }
.grid { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.card { border: 1px solid #d5dbe1; border-radius: 6px; padding: 10px 14px; background: #fff; }
.note { color: #5b6770; font-size: 12.5px; max-width: 980px; }
svg text { font: 11px system-ui, sans-serif; fill: #1d2329; }
</style>
</head>
<body>
<h1>Accuracy report: {{.A.Dataset}}</h1>
<p class="sub">{{.A.Task}} · {{.A.Records}} records{{if .A.RightRecords}} × {{.A.RightRecords}}{{end}} · model: {{.A.Model}} · generated {{.Generated}}</p>

<h2>Summary</h2>
<table>
<tr><th class="l">measure</th><th>value</th></tr>
<tr><td class="l">true pairs in the data</td><td>{{.A.Blocking.TruePairs}}</td></tr>
<tr><td class="l">candidate pairs (blocking) / all pairs</td><td>{{.A.Blocking.CandidatePairs}} / {{.A.Blocking.AllPairs}}</td></tr>
<tr><td class="l">pairs completeness (true pairs among candidates)</td><td>{{printf "%.4f" .A.Blocking.PairsCompleteness}}</td></tr>
<tr><td class="l">reduction ratio</td><td>{{printf "%.6f" .A.Blocking.ReductionRatio}}</td></tr>
<tr class="best"><td class="l">best pairwise F1 over the sweep (weight ≥ {{printf "%.2f" .Best.Weight}}, p ≥ {{.BestP}})</td><td>{{printf "%.4f" .Best.F1}} (P {{printf "%.4f" .Best.Precision}}, R {{printf "%.4f" .Best.Recall}})</td></tr>
{{if .A.Promoted}}<tr><td class="l">pairs graded certain through a third record / of them false</td><td>{{.A.Promoted}} / {{.A.PromotedFalse}}</td></tr>
{{end}}<tr><td class="l">clusters, B-cubed precision / recall / F1</td><td>{{printf "%.4f" .A.Clusters.Precision}} / {{printf "%.4f" .A.Clusters.Recall}} / {{printf "%.4f" .A.Clusters.F1}}</td></tr>
<tr><td class="l">clusters found / people in the truth</td><td>{{.A.Clusters.Clusters}} / {{.A.Clusters.Entities}}</td></tr>
{{if .A.Unlabelled}}<tr><td class="l">records missing from the truth file (each its own person)</td><td>{{.A.Unlabelled}}</td></tr>{{end}}
<tr><td class="l">time: read / block+score / cluster</td><td>{{printf "%.2f" .A.ReadSec}} s / {{printf "%.2f" .A.ScoreSec}} s / {{printf "%.2f" .A.ClusterSec}} s</td></tr>
<tr><td class="l">peak memory (resident)</td><td>{{.MemMiB}} MiB</td></tr>
</table>

<h2>Decisions by grade</h2>
<table>
<tr><th class="l">declare a match at</th><th>model threshold</th><th>precision</th><th>recall</th><th>F1</th><th>TP</th><th>FP</th><th>FN</th><th>true pairs at this grade</th><th>false pairs at this grade</th></tr>
{{range .Grades}}<tr><td class="l">{{.Label}}</td><td>{{.Threshold}}</td><td>{{.Precision}}</td><td>{{.Recall}}</td><td>{{.F1}}</td><td>{{.TP}}</td><td>{{.FP}}</td><td>{{.FN}}</td><td>{{.TrueAt}}</td><td>{{.FalseAt}}</td></tr>
{{end}}</table>
<p class="note">A grade row declares every pair of that grade or higher a match. Grade caps (hazard rules for twins, juniors, households) can lower a pair below the grade its probability reaches. "False pairs at this grade" is what a reviewer working that grade would see; in the last row, the pairs below possible. Pairs blocking never proposed count as false negatives.</p>

<h2>Charts</h2>
<div class="grid">
<div class="card"><div><b>Precision–recall over the match-weight sweep</b></div>{{.PRCurve}}</div>
<div class="card"><div><b>Match weight of candidate pairs, true and false</b></div>{{.Histogram}}</div>
<div class="card"><div><b>Precision, recall and F1 against the match-weight threshold</b></div>{{.PRFThreshold}}</div>
</div>
<p class="note">The threshold chart declares every pair at or above a match weight a match (grade caps ignored, as in the sweep); the dashed lines are where the model's grades start.</p>

<h2>Model: m and u per level</h2>
<p class="note">Prior λ = {{.Prior}}. Weight = log2(m/u); the implicit "missing" level is neutral. "(tf)" marks an exact level adjusted by term frequency.</p>
<table>
<tr><th class="l">comparison</th><th class="l">level</th><th>m</th><th>u</th><th>weight</th></tr>
{{range .Model}}<tr>{{if .First}}<td class="l" rowspan="{{.Rows}}"><b>{{.Comparison}}</b></td>{{end}}<td class="l">{{.Level}}{{if .TF}} (tf){{end}}</td><td>{{.M}}</td><td>{{.U}}</td><td class="{{if .Negative}}neg{{else}}pos{{end}}">{{.Wt}}</td></tr>
{{end}}</table>
<div class="warn" data-model-warnings="{{len .ModelWarnings}}">{{if .ModelWarnings}}<b>Implausible weights ({{len .ModelWarnings}}):</b><ul>{{range .ModelWarnings}}<li>{{.}}</li>{{end}}</ul>Check the training data (EM may have learned households or a data-entry pattern) before using this model.{{else}}No implausible weights: every agreement level counts for a match, every disagreement against it, and no level weighs more than a bit above exact agreement of its comparison.{{end}}</div>
{{if .MUChart}}<div class="grid">
<div class="card"><div><b>m and u per comparison level</b></div>{{.MUChart}}</div>
<div class="card"><div><b>Weight log2(m/u) per comparison level</b> (! marks an implausible weight)</div>{{.WeightChart}}</div>
</div>{{end}}

<h2>Why pairs score as they do: waterfalls</h2>
<p class="note">Each chart starts from the prior weight and adds each comparison's weight; the last bar is the match weight, the dashed lines the grade thresholds. Grade caps can lower a pair's grade below what its weight reaches.</p>
{{range .Waterfalls}}<div class="card wf"><div><b>{{.Title}}</b>: {{.Left}} and {{.Right}}, match weight {{printf "%+.2f" .Weight}}, grade {{.Grade}}{{if .Cap}} (capped: {{.Cap}}){{end}}</div>{{.SVG}}</div>
{{else}}<p>No false positives or false negatives to show.</p>{{end}}

<h2>False positives and false negatives at each grade</h2>
<p class="note">Records as the scorer saw them (normalized). False positives at a grade are pairs of different people given that grade: what deciding at it wrongly joins. False negatives at a grade are true pairs given that grade: what deciding at any higher grade misses; "none" scored below possible, "not compared" were never proposed by blocking (scored here to show why). Each list shows its first {{.MaxPairs}} pairs: false positives by falling weight, false negatives by rising weight. Cells that differ from the other record are marked. The same lists are in <code>bench accuracy --json</code> under <code>errors</code>.</p>
{{range .ErrorLists}}<h3 id="{{.Key}}">{{.Title}}: {{.Total}}{{if lt .Shown .Total}} (first {{.Shown}} shown){{end}}</h3>
{{if .Pairs}}<table class="pairs">
<thead><tr><th>#</th><th class="l">id</th><th class="l">family</th><th class="l">given</th><th class="l">middle</th><th class="l">birth date</th><th class="l">sex</th><th class="l">address</th><th class="l">phone</th><th class="l">email</th><th class="l">identifiers</th><th class="l">score and explanation</th></tr></thead>
<tbody data-list="{{.Key}}" data-total="{{.Total}}">
{{range .Pairs}}<tr class="left" data-pair="{{.P.Left.ID}}|{{.P.Right.ID}}" data-weight="{{printf "%.4f" .P.MatchWeight}}"><td rowspan="2">{{.N}}</td>{{template "rec" .LeftCells}}<td class="l x nw" rowspan="2"><b>{{printf "%+.2f" .P.MatchWeight}}</b> {{.P.Grade}}{{if .P.LinkedBy}} (through {{.P.LinkedBy}}){{end}}{{if .P.Cap}} (cap: {{.P.Cap}}){{end}}{{range .Explain}}<br>{{.}}{{end}}</td></tr>
<tr class="right">{{template "rec" .RightCells}}</tr>
{{end}}</tbody></table>{{end}}
{{end}}
</body>
</html>
{{define "rec"}}{{range .}}<td class="l{{if .Differs}} d{{end}}{{if .NoWrap}} nw{{end}}">{{.Value}}</td>{{end}}{{end}}
`))

// Chart geometry, in SVG user units.
const (
	chartPadL, chartPadR, chartPadT, chartPadB = 52.0, 16.0, 14.0, 44.0
)

// prCurveSVG draws precision against recall over the sweep, with the grade
// decisions and the best F1 marked.
func prCurveSVG(a *Accuracy) string {
	const w, h = 430.0, 380.0
	pw, ph := w-chartPadL-chartPadR, h-chartPadT-chartPadB
	xlo, ylo, pts := prZoom(a)
	x := func(r float64) float64 { return chartPadL + (r-xlo)/(1-xlo)*pw }
	y := func(p float64) float64 { return chartPadT + (1-p)/(1-ylo)*ph }
	var b strings.Builder
	svgOpen(&b, "pr-curve", "precision-recall curve", w, h)
	axes(&b, chartPadL, chartPadT, pw, ph)
	for i := 0; i <= 5; i++ {
		vx := xlo + (1-xlo)*float64(i)/5
		vy := ylo + (1-ylo)*float64(i)/5
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e8ec"/>`, x(vx), y(ylo), x(vx), y(1))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e8ec"/>`, x(xlo), y(vy), x(1), y(vy))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%.2f</text>`, x(vx), y(ylo)+16, vx)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%.2f</text>`, x(xlo)-6, y(vy)+4, vy)
	}
	label := "recall"
	if xlo > 0 || ylo > 0 {
		label = "recall (axes zoomed on the decisions)"
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x((1+xlo)/2), h-6, label)
	fmt.Fprintf(&b, `<text x="14" y="%.1f" text-anchor="middle" transform="rotate(-90 14 %.1f)">precision</text>`, y((1+ylo)/2), y((1+ylo)/2))
	if len(pts) > 0 {
		b.WriteString(`<polyline fill="none" stroke="#2f6db3" stroke-width="2" points="`)
		for i, c := range pts {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.1f,%.1f", x(c.Recall), y(c.Precision))
		}
		b.WriteString(`"/>`)
	}
	colors := map[string]string{"certain": "#1b6e3a", "probable": "#c77700", "possible": "#b3261e"}
	ly := chartPadT + 14
	for _, g := range a.Grades {
		col, ok := colors[g.Grade]
		if !ok || g.AtOrAbove.Predicted() == 0 {
			continue
		}
		m := g.AtOrAbove
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="5" fill="%s" stroke="#fff" stroke-width="1.5"><title>%s: P %.4f R %.4f</title></circle>`,
			x(m.Recall), y(m.Precision), col, html.EscapeString(g.Grade), m.Precision, m.Recall)
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="5" fill="%s"/><text x="%.1f" y="%.1f">%s+ (F1 %.3f)</text>`,
			chartPadL+14, ly+ph*0.55, col, chartPadL+24, ly+ph*0.55+4, html.EscapeString(g.Grade), m.F1)
		ly += 16
	}
	if a.Best.Predicted() > 0 {
		bx, by := x(a.Best.Recall), y(a.Best.Precision)
		fmt.Fprintf(&b, `<path d="M%.1f %.1fl6 6-6 6-6-6z" fill="#f2b705" stroke="#1d2329" stroke-width="1"><title>best F1 %.4f at weight %.2f</title></path>`, bx, by-6, a.Best.F1, a.Best.Weight)
		fmt.Fprintf(&b, `<path d="M%.1f %.1fl6 6-6 6-6-6z" fill="#f2b705" stroke="#1d2329" stroke-width="1"/><text x="%.1f" y="%.1f">best F1 %.3f (w ≥ %.1f)</text>`,
			chartPadL+14, ly+ph*0.55-6, chartPadL+24, ly+ph*0.55+4, a.Best.F1, a.Best.Weight)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// prZoom chooses the region of the precision–recall square to draw: the
// one that holds the decisions (good models crowd the top-right corner of
// a full [0,1] square). It returns the lowest recall and precision shown
// and the points of the curve inside.
func prZoom(a *Accuracy) (xlo, ylo float64, pts []SweepPoint) {
	xlo = 1.0
	for _, g := range a.Grades {
		if g.Grade != "none" && g.AtOrAbove.Predicted() > 0 {
			xlo = min(xlo, g.AtOrAbove.Recall)
		}
	}
	if a.Best.Predicted() > 0 {
		xlo = min(xlo, a.Best.Recall)
	}
	xlo = max(math.Floor((xlo-0.05)*10)/10, 0)
	ylo = 1.0
	for _, c := range a.Curve {
		if c.Recall >= xlo {
			pts = append(pts, c)
			ylo = min(ylo, c.Precision)
		}
	}
	for _, g := range a.Grades {
		if g.Grade != "none" && g.AtOrAbove.Predicted() > 0 {
			ylo = min(ylo, g.AtOrAbove.Precision)
		}
	}
	ylo = max(math.Floor((ylo-0.02)*10)/10, 0)
	return xlo, ylo, pts
}

// histogramSVG overlays the match-weight histograms of true and false
// candidate pairs, on a log count scale (false pairs outnumber true ones by
// orders of magnitude), with the grade thresholds as dashed lines.
func histogramSVG(a *Accuracy) string {
	const w, h = 600.0, 380.0
	hg := a.Histogram
	pw, ph := w-chartPadL-chartPadR, h-chartPadT-chartPadB
	bins := len(hg.True)
	lo, hi := hg.Min, hg.Min+float64(bins)*hg.Width
	x := func(v float64) float64 { return chartPadL + (v-lo)/(hi-lo)*pw }
	var maxC int64 = 1
	for i := range bins {
		maxC = max(maxC, hg.True[i], hg.False[i])
	}
	// Log scale with a floor below 1, so a bin of one pair still shows.
	const floor = 0.3
	top := max(math.Ceil(math.Log10(float64(maxC))), 1)
	yLog := func(e float64) float64 { return chartPadT + ph - (e+floor)/(top+floor)*ph }
	y := func(c int64) float64 { return yLog(math.Log10(float64(c))) }

	var b strings.Builder
	svgOpen(&b, "weight-histogram", "match weight histogram", w, h)
	axes(&b, chartPadL, chartPadT, pw, ph)
	for e := 0.0; e <= top; e++ {
		yy := yLog(e)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e8ec"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`,
			chartPadL, yy, chartPadL+pw, yy, chartPadL-6, yy+4, pow10Label(int(e)))
	}
	step := niceStep((hi - lo) / 8)
	for v := math.Ceil(lo/step) * step; v <= hi+1e-9; v += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9aa5ae"/><text x="%.1f" y="%.1f" text-anchor="middle">%g</text>`,
			x(v), chartPadT+ph, x(v), chartPadT+ph+4, x(v), chartPadT+ph+16, math.Round(v*100)/100)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">match weight (log2 odds)</text>`, chartPadL+pw/2, h-6)
	fmt.Fprintf(&b, `<text x="14" y="%.1f" text-anchor="middle" transform="rotate(-90 14 %.1f)">pairs (log scale)</text>`, chartPadT+ph/2, chartPadT+ph/2)
	bw := pw / float64(bins)
	for _, s := range []struct {
		counts []int64
		color  string
		what   string
	}{{hg.False, "#d9534f", "false"}, {hg.True, "#2f6db3", "true"}} {
		for i, c := range s.counts {
			if c == 0 {
				continue
			}
			x0 := chartPadL + float64(i)*bw
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="0.55"><title>%d %s pairs, weight %.1f to %.1f</title></rect>`,
				x0, y(c), max(bw-0.5, 0.5), chartPadT+ph-y(c), s.color, c, s.what, lo+float64(i)*hg.Width, lo+float64(i+1)*hg.Width)
		}
	}
	if m := a.model; m != nil {
		for _, t := range []struct {
			name string
			p    float64
		}{{"possible", m.Thresholds.Possible}, {"probable", m.Thresholds.Probable}, {"certain", m.Thresholds.Certain}} {
			wt := math.Log2(t.p / (1 - t.p))
			if wt < lo || wt > hi {
				continue
			}
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#1d2329" stroke-dasharray="4 3"/><text x="%.1f" y="%.1f" text-anchor="end" transform="rotate(-90 %.1f %.1f)">%s</text>`,
				x(wt), chartPadT, x(wt), chartPadT+ph, x(wt)-3, chartPadT+4, x(wt)-3, chartPadT+4, t.name)
		}
	}
	lx := chartPadL + 10
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="12" fill="#d9534f" fill-opacity="0.55"/><text x="%.1f" y="%.1f">false pairs</text>`, lx, chartPadT+6, lx+17, chartPadT+16)
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="12" fill="#2f6db3" fill-opacity="0.55"/><text x="%.1f" y="%.1f">true pairs</text>`, lx, chartPadT+24, lx+17, chartPadT+34)
	b.WriteString(`</svg>`)
	return b.String()
}

// axes draws the left and bottom axis lines of a plot area.
func axes(b *strings.Builder, x, y, w, h float64) {
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#fbfcfd"/>`, x, y, w, h)
	fmt.Fprintf(b, `<path d="M%.1f %.1fV%.1fH%.1f" fill="none" stroke="#5b6770"/>`, x, y, y+h, x+w)
}

// niceStep rounds a tick step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func pow10Label(e int) string {
	if e <= 3 {
		return fmt.Sprint(int(math.Pow(10, float64(e))))
	}
	return fmt.Sprintf("1e%d", e)
}

// ScoringModel returns the scoring model the accuracy was measured with
// (nil for an Accuracy decoded from JSON).
func (a *Accuracy) ScoringModel() *scoring.Model { return a.model }
