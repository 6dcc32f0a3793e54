package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/patientmatch/patientmatch/batch"
	"github.com/patientmatch/patientmatch/scoring"
)

// Output formats of the pairs and clusters files (--output-format).
const (
	// outputLegacy is the default: the pairs CSV of CONTRACT.md
	// (left_id,right_id,probability,grade) and clusters id,cluster_id.
	outputLegacy = ""
	// outputCSV and outputNDJSON carry everything a data team checks a
	// pair by, as Splink's predictions table does: the match weight, the
	// cap that lowered the grade, and each comparison's level and weight;
	// clusters carry their size.
	outputCSV    = "csv"
	outputNDJSON = "ndjson"
)

// parseOutputFormat checks --output-format.
func parseOutputFormat(s string) (string, error) {
	switch f := strings.ToLower(strings.TrimSpace(s)); f {
	case outputLegacy, outputCSV, outputNDJSON:
		return f, nil
	}
	return "", usageErrorf("--output-format %q: want csv or ndjson (--format is the input format)", s)
}

// pairSink writes scored pairs in one output format. linkedBy is the id of
// the record through which the job graded the pair certain (batch.Promote),
// "" for a pair graded on its own.
type pairSink interface {
	write(a, b *scoring.Prepared, p batch.Pair, linkedBy string) error
	flush() error
}

// newPairSink returns the writer of format to w; s explains each pair for
// the detailed formats.
func newPairSink(w io.Writer, format string, s *scoring.Scorer) pairSink {
	switch format {
	case outputCSV:
		return newDetailCSV(w, s)
	case outputNDJSON:
		return &detailNDJSON{bw: bufio.NewWriterSize(w, 256<<10), s: s}
	}
	return newPairWriter(w)
}

// detail is a pair with what explains it.
type detail struct {
	r   scoring.Result
	exp []scoring.ComparisonResult
}

func explainPair(s *scoring.Scorer, a, b *scoring.Prepared) detail {
	return detail{r: s.Score(a, b), exp: s.Explain(a, b)}
}

// formatWeight writes a match weight with four decimals.
func formatWeight(w float64) string { return strconv.FormatFloat(w, 'f', 4, 64) }

// capName is the cap column: "" when no cap applied.
func capName(c scoring.Cap) string {
	if c == scoring.CapNone {
		return ""
	}
	return c.String()
}

// detailCSV writes left_id, right_id, match_weight, probability, grade,
// cap, then level_<comparison> and weight_<comparison> for each comparison,
// then linked_by: last, so that readers of the columns by position before
// it keep working.
type detailCSV struct {
	bw  *bufio.Writer
	cw  *csv.Writer
	s   *scoring.Scorer
	row []string
	err error
}

func newDetailCSV(w io.Writer, s *scoring.Scorer) *detailCSV {
	bw := bufio.NewWriterSize(w, 256<<10)
	d := &detailCSV{bw: bw, cw: csv.NewWriter(bw), s: s}
	head := []string{"left_id", "right_id", "match_weight", "probability", "grade", "cap"}
	for c := range scoring.NumComparisons {
		n := scoring.ComparisonName(c)
		head = append(head, "level_"+n, "weight_"+n)
	}
	head = append(head, "linked_by")
	d.err = d.cw.Write(head)
	return d
}

func (d *detailCSV) write(a, b *scoring.Prepared, p batch.Pair, linkedBy string) error {
	if d.err != nil {
		return d.err
	}
	x := explainPair(d.s, a, b)
	d.row = append(d.row[:0], a.Rec.ID, b.Rec.ID, formatWeight(p.Weight), formatProbability(p.Probability), p.Grade.String(), capName(x.r.Cap))
	for _, e := range x.exp {
		d.row = append(d.row, e.Level, formatWeight(e.Weight))
	}
	d.row = append(d.row, linkedBy)
	d.err = d.cw.Write(d.row)
	return d.err
}

func (d *detailCSV) flush() error {
	if d.err != nil {
		return d.err
	}
	d.cw.Flush()
	return errors.Join(d.cw.Error(), d.bw.Flush())
}

// pairJSON is one line of the NDJSON pairs file.
type pairJSON struct {
	LeftID      string                    `json:"left_id"`
	RightID     string                    `json:"right_id"`
	MatchWeight float64                   `json:"match_weight"`
	Probability float64                   `json:"probability"`
	Grade       string                    `json:"grade"`
	Cap         string                    `json:"cap"`
	Comparisons map[string]comparisonJSON `json:"comparisons"`
	// LinkedBy: see pairSink.
	LinkedBy string `json:"linked_by"`
}

type comparisonJSON struct {
	Level      string  `json:"level"`
	Weight     float64 `json:"weight"`
	TFAdjusted bool    `json:"tf_adjusted,omitempty"`
}

type detailNDJSON struct {
	bw  *bufio.Writer
	s   *scoring.Scorer
	err error
}

func (d *detailNDJSON) write(a, b *scoring.Prepared, p batch.Pair, linkedBy string) error {
	if d.err != nil {
		return d.err
	}
	x := explainPair(d.s, a, b)
	line := pairJSON{
		LeftID: a.Rec.ID, RightID: b.Rec.ID, MatchWeight: round4(p.Weight), Probability: p.Probability,
		Grade: p.Grade.String(), Cap: capName(x.r.Cap), Comparisons: make(map[string]comparisonJSON, len(x.exp)),
		LinkedBy: linkedBy,
	}
	for _, e := range x.exp {
		line.Comparisons[e.Comparison] = comparisonJSON{Level: e.Level, Weight: round4(e.Weight), TFAdjusted: e.TFAdjusted}
	}
	js, err := json.Marshal(line)
	if err != nil {
		d.err = fmt.Errorf("pair %s %s: %w", a.Rec.ID, b.Rec.ID, err)
		return d.err
	}
	js = append(js, '\n')
	_, d.err = d.bw.Write(js)
	return d.err
}

func (d *detailNDJSON) flush() error {
	if d.err != nil {
		return d.err
	}
	return d.bw.Flush()
}

// round4 keeps four decimals of a weight, as the CSV does.
func round4(w float64) float64 {
	v, _ := strconv.ParseFloat(formatWeight(w), 64)
	return v
}
