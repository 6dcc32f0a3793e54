package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshotEnv, when set to a file path, makes TestReviewPageBrowser
// write its screenshot there (the README's picture is made that way).
const screenshotEnv = "PATIENTMATCH_REVIEW_SCREENSHOT"

// chromiumPath finds Debian's Chromium (.ci/run installs it).
func chromiumPath() string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// TestReviewPageBrowser drives the steward's page in headless Chromium:
// the queue lists the open tasks best first, a click on "Match" shows the
// result at once and the queue loses the task; the "n" key decides the
// next one "not a match".
func TestReviewPageBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	chromium := chromiumPath()
	if chromium == "" {
		t.Skip("Chromium is not installed (.ci/run installs Debian's chromium); the review page's browser test needs it")
	}
	s := startServer(t, serveConfig{data: t.TempDir()})
	s.put(t, reviewPatient("ra", "Quenneville", "Rosalind", "1971-03-14", true))
	s.put(t, reviewPatient("rb", "Quenville", "Rosalind", "1971-03-14", false))
	s.put(t, reviewPatient("wa", "Wexford", "Ignatia", "1958-09-30", true))
	s.put(t, reviewPatient("wb", "Wexfort", "Ignatia", "1958-09-30", false))
	open := s.tasks(t, "status=open")
	if len(open) != 2 {
		t.Fatalf("want 2 open tasks to review, have %+v", open)
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 820),
	)
	defer cancelAlloc()
	browser, cancel := chromedp.NewContext(alloc)
	defer cancel()
	// The first Run starts the browser and must not carry a timeout (it
	// would stop the browser); later steps each get one.
	if err := chromedp.Do(browser, chromedp.Navigate(s.httpBase+"/review/")); err != nil {
		t.Fatalf("opening /review/: %v", err)
	}
	ctx, cancelT := context.WithTimeout(browser, 60*time.Second)
	defer cancelT()

	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#task"))); err != nil {
		t.Fatalf("no task on the page: %v", err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#queue tr[data-task]").length`))
	if err != nil {
		t.Fatal(err)
	}
	first, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#task"), "data-task"))
	if err != nil {
		t.Fatal(err)
	}
	if rows != 2 || first.Value != open[0].ID {
		t.Fatalf("page shows %d queued tasks, current %q; want 2, the best-scored %q first", rows, first.Value, open[0].ID)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 10000 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot of %d bytes is not an image of the page", len(png))
	}
	if out := os.Getenv(screenshotEnv); out != "" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A click on Match: the result at once, then the queue without it.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-decision="match"]`)), chromedp.WaitVisible(chromedp.CSS("#result.ok"))); err != nil {
		t.Fatalf("clicking Match: %v", err)
	}
	result, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#result")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(result, "Matched: Person/") {
		t.Fatalf("result shown %q, want Matched: Person/…", result)
	}
	waitQueue(ctx, t, 1)
	if got := s.tasks(t, "status=matched"); len(got) != 1 || got[0].ID != first.Value {
		t.Fatalf("server's matched tasks %+v, want %s", got, first.Value)
	}

	// The keyboard: "n" decides the remaining task "not a match".
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#task")), chromedp.KeyEvent("n"), chromedp.WaitVisible(chromedp.CSS("#result.ok"))); err != nil {
		t.Fatalf("pressing n: %v", err)
	}
	if result, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#result"))); err != nil || !strings.HasPrefix(result, "Not a match") {
		t.Fatalf("result shown %q (%v) after n, want Not a match…", result, err)
	}
	waitQueue(ctx, t, 0)
	if got := s.tasks(t, "status=no-match"); len(got) != 1 {
		t.Fatalf("server's no-match tasks %+v, want one", got)
	}
}

// waitQueue waits until the page (reloaded after a decision) lists n
// tasks.
func waitQueue(ctx context.Context, t *testing.T, n int) {
	t.Helper()
	rows := -1
	if !eventually(func() bool {
		var err error
		rows, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.readyState === "complete" && !document.getElementById("result").textContent ? document.querySelectorAll("#queue tr[data-task]").length : -1`))
		return err == nil && rows == n
	}) {
		t.Fatalf("the queue still lists %d tasks, want %d", rows, n)
	}
}
