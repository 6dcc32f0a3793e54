package bench

import (
	"bytes"
	"encoding/xml"
	"image"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/scoring"
)

// reportFor renders the HTML report of a small generated dataset.
func reportFor(t *testing.T) []byte {
	t.Helper()
	data, truth := synthDataset(t, t.TempDir(), 500, 5)
	a := accuracyOn(t, data, truth)
	var buf bytes.Buffer
	if err := a.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReportSections(t *testing.T) {
	page := string(reportFor(t))
	for _, want := range []string{
		"<!DOCTYPE html>", "<style>", "Summary", "pairs completeness", "reduction ratio",
		"Decisions by grade", "certain or higher", "probable or higher", "possible or higher",
		"false pairs at this grade", "Precision–recall", "Match weight of candidate pairs",
		"Model: m and u per level", "given_name", "birth_date", "household", "identifier", "(tf)",
		"B-cubed", "Precision, recall and F1 against the match-weight threshold", "m and u per comparison level",
		"Weight log2(m/u) per comparison level", "No implausible weights", "waterfalls",
		"False positives and false negatives at each grade", `data-list="false_negative/none"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// A listed pair a hazard rule holds below its score names the rule.
	caps := regexp.MustCompile(`\(cap: ([a-z_]+)\)`).FindAllStringSubmatch(page, -1)
	if len(caps) == 0 {
		t.Errorf("no listed pair names the cap that lowered its grade")
	}
	for _, c := range caps {
		if !isCapName(c[1]) {
			t.Errorf("report names an unknown cap %q", c[1])
		}
	}
	// Self-contained: nothing fetched from anywhere, no script.
	for _, bad := range []string{"<script", "src=", "<link", "@import", "url(", "href="} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	for _, u := range regexp.MustCompile(`https?://[^"'\s<>]+`).FindAllString(page, -1) {
		if u != "http://www.w3.org/2000/svg" {
			t.Errorf("report refers to %s", u)
		}
	}
	// Each chart is well-formed XML with drawn content.
	svgs := regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(page, -1)
	names := chartNames(page)
	if len(svgs) != len(names) || !slices.Equal(names[:5], []string{"pr-curve", "weight-histogram", "prf-threshold", "m-u", "level-weights"}) ||
		len(names) < 6 || names[5] != "waterfall-1" {
		t.Fatalf("charts %v (%d SVGs): want the PR curve, histogram, threshold, m/u and weight charts and at least one waterfall", names, len(svgs))
	}
	for i, s := range svgs {
		dec := xml.NewDecoder(strings.NewReader(s))
		elems := map[string]int{}
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("chart %d is not well-formed XML: %v", i, err)
			}
			if se, ok := tok.(xml.StartElement); ok {
				elems[se.Name.Local]++
			}
		}
		if i == 0 && (elems["polyline"] != 1 || elems["circle"] < 3) {
			t.Errorf("PR chart elements %v: want the curve and grade markers", elems)
		}
		if i == 1 && elems["rect"] < 10 {
			t.Errorf("histogram elements %v: want bars", elems)
		}
		if i == 2 && (elems["polyline"] != 3 || strings.Count(s, "data-threshold=") != 3) {
			t.Errorf("threshold chart elements %v: want P, R and F1 lines and three grade thresholds", elems)
		}
		if (i == 3 || i == 4) && elems["rect"] < 30 {
			t.Errorf("chart %s elements %v: want a bar per level", names[i], elems)
		}
		if i >= 5 && elems["rect"] != 2+scoring.NumComparisons+1 {
			t.Errorf("waterfall %s elements %v: want prior, %d comparisons and the total", names[i], elems, scoring.NumComparisons)
		}
	}
}

// isCapName reports whether name is a hazard rule's (scoring.Cap), "none"
// excluded.
func isCapName(name string) bool {
	for c := scoring.CapNone + 1; c.String() != "none"; c++ {
		if c.String() == name {
			return true
		}
	}
	return false
}

// chartNames lists the data-chart names of the report's SVGs, in order.
func chartNames(page string) []string {
	var names []string
	for _, m := range regexp.MustCompile(`<svg [^>]*data-chart="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		names = append(names, m[1])
	}
	return names
}

// pixelStats counts distinct colours and the share of pixels that are not
// near white.
func pixelStats(img image.Image) (colours int, inked float64) {
	b := img.Bounds()
	seen := map[[3]uint32]bool{}
	var n, ink int
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			n++
			if r>>8 < 230 || g>>8 < 230 || bl>>8 < 230 {
				ink++
			}
		}
	}
	return len(seen), float64(ink) / float64(max(n, 1))
}
