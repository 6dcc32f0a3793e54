package identity

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/scoring"
)

//go:embed page.html
var pageFS embed.FS

var pageTmpl = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"pct":  func(f float64) string { return fmt.Sprintf("%.4f", f) },
	"prob": func(f float64) string { return fmt.Sprintf("%.6f", f) },
	"w":    func(f float64) string { return fmt.Sprintf("%+.2f", f) },
}).ParseFS(pageFS, "page.html"))

// fieldRow is one line of the side-by-side view.
type fieldRow struct {
	Name  string `json:"name"`
	Left  string `json:"left"`
	Right string `json:"right"`
	// Class is "same", "diff" (both present and different) or "one"
	// (only one side has it).
	Class string `json:"class"`
}

// step is one bar of the explanation waterfall: the weight a comparison
// adds, drawn from the running total before it to the one after, on a
// scale where Start and End are percentages.
type step struct {
	Label  string  `json:"comparison"`
	Level  string  `json:"level"`
	Weight float64 `json:"weight"`
	Start  float64 `json:"start"`
	Width  float64 `json:"width"`
	Kind   string  `json:"kind"` // "pos", "neg", "prior" or "total"
}

// taskDetail is one task with both records and the explanation.
type taskDetail struct {
	Task        taskJSON   `json:"task"`
	Fields      []fieldRow `json:"fields"`
	Steps       []step     `json:"explanation"`
	Weight      float64    `json:"weight"`
	Probability float64    `json:"probability"`
	Grade       string     `json:"grade"`
	// Cap names the hazard rule that holds the grade below what the
	// score alone gives (twins, junior, ...; scoring.Cap), absent when
	// none does: a steward should know a twin-shaped pair from a weak one.
	Cap         string `json:"cap,omitempty"`
	LeftPerson  string `json:"leftPerson"`
	RightPerson string `json:"rightPerson"`
}

func (h *Handler) taskDetail(ctx context.Context, taskID string) (taskDetail, error) {
	t, err := h.svc.Task(taskID)
	if err != nil {
		return taskDetail{}, err
	}
	d := taskDetail{Task: taskView(t)}
	var sides [2]patientFields
	for i, id := range []string{t.Left, t.Right} {
		sp, err := h.pats.Get(ctx, id)
		if err != nil {
			return taskDetail{}, err
		}
		var p fm.Patient
		if err := json.Unmarshal(sp.Resource, &p); err != nil {
			return taskDetail{}, fmt.Errorf("identity: stored Patient/%s: %w", id, err)
		}
		sides[i] = fieldsOf(&p)
	}
	for i, name := range fieldNames {
		row := fieldRow{Name: name, Left: sides[0][i], Right: sides[1][i]}
		switch {
		case row.Left == "" && row.Right == "":
			continue
		case name == "id":
			row.Class = "id" // ids always differ; not worth a highlight
		case row.Left == "" || row.Right == "":
			row.Class = "one"
		case strings.EqualFold(strings.TrimSpace(row.Left), strings.TrimSpace(row.Right)):
			row.Class = "same"
		default:
			row.Class = "diff"
		}
		d.Fields = append(d.Fields, row)
	}
	pr, err := h.pats.ComparePair(ctx, t.Left, t.Right)
	if err != nil {
		return taskDetail{}, err
	}
	d.Weight, d.Probability, d.Grade = pr.Weight, pr.Probability, pr.Grade.String()
	if pr.Cap != scoring.CapNone {
		d.Cap = pr.Cap.String()
	}
	d.Steps = waterfall(pr.Prior, pr.Explanation)
	if id, err := h.svc.PersonOf(t.Left); err == nil {
		d.LeftPerson = id.ID
	}
	if id, err := h.svc.PersonOf(t.Right); err == nil {
		d.RightPerson = id.ID
	}
	return d, nil
}

var fieldNames = []string{"id", "family", "given", "birth date", "sex", "address", "phone", "email", "identifiers", "links"}

type patientFields [10]string

// fieldsOf extracts what a steward compares from a Patient.
func fieldsOf(p *fm.Patient) patientFields {
	var f patientFields
	if p.Id != nil {
		f[0] = *p.Id
	}
	if len(p.Name) > 0 {
		n := p.Name[0]
		if n.Family != nil {
			f[1] = *n.Family
		}
		f[2] = strings.Join(n.Given, " ")
	}
	if p.BirthDate != nil {
		f[3] = *p.BirthDate
	}
	if p.Gender != nil {
		f[4] = p.Gender.Code()
	}
	if len(p.Address) > 0 {
		a := p.Address[0]
		parts := append([]string{}, a.Line...)
		for _, s := range []*string{a.City, a.State, a.PostalCode} {
			if s != nil {
				parts = append(parts, *s)
			}
		}
		f[5] = strings.Join(parts, ", ")
	}
	var phones, emails, ids, links []string
	for _, c := range p.Telecom {
		if c.Value == nil || c.System == nil {
			continue
		}
		switch c.System.Code() {
		case "phone":
			phones = append(phones, *c.Value)
		case "email":
			emails = append(emails, *c.Value)
		}
	}
	for _, id := range p.Identifier {
		if id.Value != nil {
			sys := ""
			if id.System != nil {
				sys = *id.System + "|"
			}
			ids = append(ids, sys+*id.Value)
		}
	}
	for _, l := range p.Link {
		if l.Other.Reference != nil {
			links = append(links, l.Type.Code()+" "+*l.Other.Reference)
		}
	}
	f[6], f[7], f[8], f[9] = strings.Join(phones, "; "), strings.Join(emails, "; "), strings.Join(ids, "; "), strings.Join(links, "; ")
	return f
}

// waterfall lays the prior and each comparison's weight out as running
// totals on one scale.
func waterfall(prior float64, expl []scoring.ComparisonResult) []step {
	points := []float64{0, prior}
	run := prior
	for _, c := range expl {
		run += c.Weight
		points = append(points, run)
	}
	lo, hi := 0.0, 0.0
	for _, p := range points {
		lo, hi = math.Min(lo, p), math.Max(hi, p)
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	pos := func(v float64) float64 { return (v - lo) / span * 100 }
	bar := func(a, b float64) (float64, float64) {
		return pos(math.Min(a, b)), math.Max(math.Abs(pos(b)-pos(a)), 0.4)
	}
	var out []step
	s, wd := bar(0, prior)
	out = append(out, step{Label: "prior", Level: "log2 prior odds", Weight: prior, Start: s, Width: wd, Kind: "prior"})
	run = prior
	for _, c := range expl {
		s, wd := bar(run, run+c.Weight)
		kind := "pos"
		if c.Weight < 0 {
			kind = "neg"
		}
		out = append(out, step{Label: c.Comparison, Level: c.Level, Weight: c.Weight, Start: s, Width: wd, Kind: kind})
		run += c.Weight
	}
	s, wd = bar(0, run)
	return append(out, step{Label: "total", Level: "match weight", Weight: run, Start: s, Width: wd, Kind: "total"})
}

// queueRow is one line of the page's queue.
type queueRow struct {
	Task             taskJSON
	LeftName, RightN string
	Current          bool
}

type pageData struct {
	Grade   string
	Total   int
	Queue   []queueRow
	Current *taskDetail
	Error   string
}

// handlePage serves GET /review/: the open queue, best score first, and
// one task (?task=, else the first) side by side.
func (h *Handler) handlePage(w http.ResponseWriter, r *http.Request) {
	grade := r.URL.Query().Get("grade")
	if grade != "" && grade != "certain" && grade != "probable" && grade != "possible" {
		grade = ""
	}
	ts, total := h.svc.Tasks(StatusOpen, grade, 0, 50)
	data := pageData{Grade: grade, Total: total}
	cur := r.URL.Query().Get("task")
	if cur == "" && len(ts) > 0 {
		cur = ts[0].ID
	}
	for _, t := range ts {
		data.Queue = append(data.Queue, queueRow{Task: taskView(t), LeftName: h.name(r.Context(), t.Left), RightN: h.name(r.Context(), t.Right), Current: t.ID == cur})
	}
	if cur != "" {
		d, err := h.taskDetail(r.Context(), cur)
		if err != nil {
			data.Error = err.Error()
		} else {
			data.Current = &d
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	if err := pageTmpl.Execute(w, data); err != nil {
		h.opts.Logger.Error("identity: rendering the review page", "err", err)
	}
}

// name is a patient's "Given Family" for the queue.
func (h *Handler) name(ctx context.Context, id string) string {
	sp, err := h.pats.Get(ctx, id)
	if err != nil {
		return id
	}
	var p fm.Patient
	if json.Unmarshal(sp.Resource, &p) != nil {
		return id
	}
	f := fieldsOf(&p)
	return strings.TrimSpace(f[2] + " " + f[1])
}
