package bench

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds a Chromium to drive: Debian's /usr/bin/chromium, which
// .ci/run installs, or one on PATH.
func chromiumPath() string {
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// chartBox is what the browser says about one chart.
type chartBox struct {
	Name    string  `json:"name"`
	Width   float64 `json:"width"`
	Height  float64 `json:"height"`
	Visible bool    `json:"visible"`
	Shapes  int     `json:"shapes"`
}

// TestReportChartsInChromium opens the report in headless Chromium and
// checks that every chart the report has is laid out, visible and drawn:
// a box of its size, not hidden, with shapes in it, and a screenshot of just
// that chart that is neither blank nor one flat colour. It also checks that
// the page asks the network for nothing. It skips when Chromium is absent.
func TestReportChartsInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	bin := chromiumPath()
	if bin == "" {
		t.Skip("no Chromium (apt-get install chromium; .ci/run installs it): the report's browser check cannot run")
	}
	dir := t.TempDir()
	page := reportFor(t)
	want := chartNames(string(page))
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, page, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(1280, 2000),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true), chromedp.Flag("disable-dev-shm-usage", true),
	)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	var mu sync.Mutex
	var requests []string
	if err := chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate("file://"+file)); err != nil {
		t.Fatalf("opening the report: %v", err)
	}
	boxes, err := chromedp.Run(bctx, chromedp.Evaluate[[]chartBox](`Array.from(document.querySelectorAll("svg[data-chart]")).map(s => {
		const r = s.getBoundingClientRect(), cs = getComputedStyle(s);
		return {name: s.dataset.chart, width: r.width, height: r.height,
			visible: cs.visibility !== "hidden" && cs.display !== "none" && parseFloat(cs.opacity) > 0,
			shapes: s.querySelectorAll("rect,polyline,path,circle,line").length};
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if len(boxes) != len(want) || len(want) < 6 {
		t.Fatalf("the browser found %d charts, the page has %v", len(boxes), want)
	}
	for i, b := range boxes {
		if b.Name != want[i] || !b.Visible || b.Width < 200 || b.Height < 150 || b.Shapes < 5 {
			t.Errorf("chart %+v: want %s visible, at least 200×150, drawn", b, want[i])
			continue
		}
		shot, err := chromedp.Run(bctx, chromedp.Screenshot(chromedp.CSS(`svg[data-chart="`+b.Name+`"]`)))
		if err != nil {
			t.Errorf("screenshot of %s: %v", b.Name, err)
			continue
		}
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Errorf("screenshot of %s: %v", b.Name, err)
			continue
		}
		colours, inked := pixelStats(img)
		t.Logf("%s: %.0f×%.0f, %d shapes, %d colours, %.1f%% inked", b.Name, b.Width, b.Height, b.Shapes, colours, 100*inked)
		if colours < 4 || inked < 0.03 {
			t.Errorf("%s looks blank: %d colours, %.1f%% inked", b.Name, colours, 100*inked)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range requests {
		if !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") && u != "about:blank" {
			t.Errorf("the report requested %s", u)
		}
	}
}
