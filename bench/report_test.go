package bench

import (
	"bytes"
	"context"
	"encoding/xml"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
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
		"B-cubed",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
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
	if len(svgs) != 2 {
		t.Fatalf("%d SVG charts, want 2", len(svgs))
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
	}
}

// TestReportRendersInChromium takes a screenshot of the report in headless
// Chromium, when installed, and checks it shows something: a PNG of the
// requested size that is neither blank nor one flat colour.
func TestReportRendersInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("no chromium on PATH (apt-get install chromium); see bench/REPORT.md for the manual check")
	}
	dir := t.TempDir()
	html := filepath.Join(dir, "report.html")
	if err := os.WriteFile(html, reportFor(t), 0o600); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "report.png")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+shot, "--window-size=1280,2000",
		"file://"+html)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2000 {
		t.Errorf("screenshot %v, want 1280×2000", b)
	}
	colours, inked := pixelStats(img)
	t.Logf("screenshot: %d distinct colours, %.1f%% non-white pixels", colours, 100*inked)
	if colours < 20 || inked < 0.02 {
		t.Errorf("screenshot looks blank: %d colours, %.2f%% non-white", colours, 100*inked)
	}
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
	return len(seen), float64(ink) / float64(n)
}
