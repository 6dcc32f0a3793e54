package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrLoadOptions is wrapped by every LoadOptions validation error.
var ErrLoadOptions = errors.New("bench: invalid load options")

// MatchPath is the FHIR operation the load generator calls.
const MatchPath = "/fhir/Patient/$match"

// LoadOptions configure a load run against a running server.
type LoadOptions struct {
	// URL is the server's base URL (http://127.0.0.1:8080); MatchPath is
	// appended unless the path already ends with $match. Requests go to
	// this URL only: no proxy from the environment, no redirects followed.
	URL string
	// Queries are request bodies, each a FHIR Patient or Parameters JSON;
	// request i sends Queries[i % len(Queries)]. Required.
	Queries [][]byte
	// Rate is the open-loop request rate per second: request i is due at
	// t0 + i/Rate whatever happened to earlier requests, and its latency
	// is measured from that intended time, so a server stall shows in the
	// latencies of every request it delayed (no coordinated omission).
	// Exactly one of Rate > 0 and Max must be set.
	Rate float64
	// Max runs closed-loop instead: Concurrency workers each send the next
	// request as soon as the previous answer arrives, latency measured from
	// the actual send. It finds the throughput ceiling; its latencies hide
	// stalls (each worker waits instead of sending), so use Rate for
	// latency figures.
	Max bool
	// Concurrency is the number of workers, each with at most one request
	// in flight and its own connection. At a fixed rate it bounds the
	// requests in flight: when every worker is busy, due requests wait and
	// that wait counts in their latency. Default 16.
	Concurrency int
	// Duration is how long requests are scheduled for (open loop: the
	// requests due before it; closed loop: started before it). Required.
	// At a fixed rate, a request due before the end may start up to
	// min(Timeout, 1s) after it, so a short backlog is still timed; each
	// request then has up to Timeout to finish, so a run lasts at most
	// Duration + min(Timeout, 1s) + Timeout.
	Duration time.Duration
	// Timeout bounds each request. Default 10s.
	Timeout time.Duration
	// Header is added to every request (e.g. Authorization).
	Header http.Header
	// Client sends the requests; default a client whose transport keeps
	// Concurrency connections to the one host and ignores proxies.
	Client *http.Client
	// Progress, when set, is called about twice a second with the requests
	// sent and completed so far.
	Progress func(sent, done int64)
}

// Validate reports every problem of o at once, each wrapping ErrLoadOptions.
func (o *LoadOptions) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrLoadOptions}, a...)...))
	}
	if u, err := url.Parse(o.URL); err != nil {
		bad("url: %v", err)
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url %q: want http://host:port or https://host:port", o.URL)
	}
	if len(o.Queries) == 0 {
		bad("no queries")
	}
	switch {
	case o.Max && o.Rate > 0:
		bad("both a rate and max: choose open loop (rate) or closed loop (max)")
	case !o.Max && !(o.Rate > 0):
		bad("rate %v: want a rate > 0 or max", o.Rate)
	}
	if o.Duration <= 0 {
		bad("duration %v: want > 0", o.Duration)
	}
	if o.Concurrency < 0 || o.Timeout < 0 {
		bad("negative concurrency or timeout")
	}
	return errors.Join(errs...)
}

func (o *LoadOptions) ensureDefaults() {
	if o.Concurrency == 0 {
		o.Concurrency = 16
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
}

// target is the URL requests go to.
func (o *LoadOptions) target() string {
	u := strings.TrimRight(o.URL, "/")
	if strings.HasSuffix(u, "$match") {
		return u
	}
	return u + MatchPath
}

// LatencySummary is the latency distribution of a run, in milliseconds.
type LatencySummary struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min_ms"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

func summarize(h *LatencyHistogram) LatencySummary {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return LatencySummary{
		Count: h.Count(), Min: ms(h.Min()), Mean: ms(h.Mean()),
		P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)), P99: ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)), Max: ms(h.Max()),
	}
}

// LoadResult is what a load run measured.
type LoadResult struct {
	// Mode is "open-loop" (fixed rate, latency from the intended start) or
	// "closed-loop" (max, latency from the actual send).
	Mode        string  `json:"mode"`
	URL         string  `json:"url"`
	TargetRate  float64 `json:"target_rate,omitempty"`
	Concurrency int     `json:"concurrency"`
	DurationSec float64 `json:"duration_s"`
	// ElapsedSec runs from the first intended start to the last answer.
	ElapsedSec float64 `json:"elapsed_s"`
	// Scheduled counts requests due before the end (open loop); Sent
	// those actually sent; Missed = Scheduled − Sent, requests still
	// waiting for a free worker min(Timeout, 1s) after the end (the client
	// could not keep the rate: raise Concurrency, or the server stalled).
	Scheduled int64 `json:"scheduled"`
	Sent      int64 `json:"sent"`
	Missed    int64 `json:"missed"`
	// Responses counts requests answered with any HTTP status, OK those
	// answered 2xx. Latency covers every response (any status); requests
	// that failed without one (Errors "timeout", "connection refused", …)
	// are counted, not timed.
	Responses int64            `json:"responses"`
	OK        int64            `json:"ok"`
	Errors    map[string]int64 `json:"errors"`
	// AchievedRate is Responses per second of ElapsedSec.
	AchievedRate float64        `json:"achieved_rate"`
	Latency      LatencySummary `json:"latency"`

	hist *LatencyHistogram
}

// Histogram returns the full latency histogram of the run.
func (r *LoadResult) Histogram() *LatencyHistogram { return r.hist }

// workerStats is one worker's share of the result, merged at the end.
type workerStats struct {
	hist      LatencyHistogram
	sent      int64
	responses int64
	ok        int64
	errors    map[string]int64
	last      time.Time
}

// RunLoad runs a load test against opts.URL and returns its measurements.
// It stops starting requests after opts.Duration (or when ctx ends) and
// waits for those in flight, each bounded by opts.Timeout.
func RunLoad(ctx context.Context, opts LoadOptions) (*LoadResult, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.ensureDefaults()
	client := opts.Client
	if client == nil {
		tr := loadTransport(opts)
		defer tr.CloseIdleConnections()
		client = &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	r := newLoadRun(opts, client)
	stats := make([]*workerStats, opts.Concurrency)
	var wg sync.WaitGroup
	for w := range stats {
		ws := &workerStats{errors: map[string]int64{}}
		stats[w] = ws
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx, ws)
		}()
	}
	stopProgress := r.reportProgress()
	wg.Wait()
	stopProgress()
	res := r.result(stats)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("bench: load run interrupted: %w", err)
	}
	return res, nil
}

// loadTransport is the HTTP transport of a run without a Client of its
// own: one connection per worker, to the given URL only.
func loadTransport(opts LoadOptions) *http.Transport {
	return &http.Transport{
		Proxy:               nil, // only ever the given URL
		DialContext:         (&net.Dialer{Timeout: opts.Timeout}).DialContext,
		MaxIdleConns:        opts.Concurrency,
		MaxIdleConnsPerHost: opts.Concurrency,
		MaxConnsPerHost:     opts.Concurrency,
		IdleConnTimeout:     30 * time.Second,
		ForceAttemptHTTP2:   true,
	}
}

// loadRun is one run of RunLoad: its schedule and the counters its
// workers share.
type loadRun struct {
	opts   LoadOptions
	client *http.Client
	target string
	// t0 is the intended start of the first request, end the end of the
	// schedule, cutoff the latest a request due before end may start.
	t0, end, cutoff time.Time
	// next is the index of the next request; sent and done count requests
	// sent and finished (for progress).
	next, sent, done atomic.Int64
}

func newLoadRun(opts LoadOptions, client *http.Client) *loadRun {
	// t0 a little ahead so every worker is ready when the first request
	// is due.
	t0 := time.Now().Add(5 * time.Millisecond)
	end := t0.Add(opts.Duration)
	return &loadRun{
		opts: opts, client: client, target: opts.target(), t0: t0, end: end,
		// A request due before the end may still start this late: a worker
		// that wakes a little after the end (timer slack, a busy machine)
		// must not drop it, and a short backlog is sent and timed rather
		// than lost.
		cutoff: end.Add(min(opts.Timeout, time.Second)),
	}
}

// due is the intended start of request i.
func (r *loadRun) due(i int64) time.Time {
	return r.t0.Add(time.Duration(float64(i) * float64(time.Second) / r.opts.Rate))
}

// work is one worker: in a closed loop it sends the next request as soon
// as the last is answered; in an open loop it takes the next request of
// the schedule and sends it when due, timing it from then.
func (r *loadRun) work(ctx context.Context, ws *workerStats) {
	for ctx.Err() == nil {
		if r.opts.Max {
			if !sleepUntil(ctx, r.t0) || !time.Now().Before(r.end) {
				return
			}
			i := r.next.Add(1) - 1
			r.send(ctx, ws, i, time.Now())
			continue
		}
		i := r.next.Add(1) - 1
		at := r.due(i)
		if !at.Before(r.end) || !sleepUntil(ctx, at) {
			return
		}
		if !time.Now().Before(r.cutoff) {
			// Due before the end, but no worker was free in time:
			// counted as missed by result.
			return
		}
		r.send(ctx, ws, i, at)
	}
}

// send posts request i and records its latency from start.
func (r *loadRun) send(ctx context.Context, ws *workerStats, i int64, start time.Time) {
	body := r.opts.Queries[int(i%int64(len(r.opts.Queries)))]
	ws.sent++
	r.sent.Add(1)
	status, err := post(ctx, r.client, r.target, body, r.opts.Header, r.opts.Timeout)
	now := time.Now()
	r.done.Add(1)
	ws.last = now
	if err != nil {
		ws.errors[errorKind(err)]++
		return
	}
	ws.responses++
	ws.hist.Record(now.Sub(start))
	if status >= 200 && status < 300 {
		ws.ok++
	} else {
		ws.errors[fmt.Sprintf("http %d", status)]++
	}
}

// reportProgress calls opts.Progress every 500 ms until the returned stop
// is called (which waits for the last call to finish).
func (r *loadRun) reportProgress() (stop func()) {
	if r.opts.Progress == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				r.opts.Progress(r.sent.Load(), r.done.Load())
			}
		}
	}()
	return func() {
		close(quit)
		wg.Wait()
	}
}

// result merges the workers' statistics into the run's result.
func (r *loadRun) result(stats []*workerStats) *LoadResult {
	res := &LoadResult{
		URL:         r.target,
		Concurrency: r.opts.Concurrency,
		DurationSec: r.opts.Duration.Seconds(),
		Errors:      map[string]int64{},
		hist:        &LatencyHistogram{},
		Mode:        "closed-loop",
	}
	if !r.opts.Max {
		res.Mode, res.TargetRate = "open-loop", r.opts.Rate
	}
	last := r.t0
	for _, ws := range stats {
		res.hist.Merge(&ws.hist)
		res.Sent += ws.sent
		res.Responses += ws.responses
		res.OK += ws.ok
		for k, n := range ws.errors {
			res.Errors[k] += n
		}
		if ws.last.After(last) {
			last = ws.last
		}
	}
	res.Scheduled = res.Sent
	if !r.opts.Max {
		res.Scheduled = r.scheduled()
		res.Missed = max(res.Scheduled-res.Sent, 0)
	}
	res.ElapsedSec = last.Sub(r.t0).Seconds()
	if res.ElapsedSec > 0 {
		res.AchievedRate = float64(res.Responses) / res.ElapsedSec
	}
	res.Latency = summarize(res.hist)
	return res
}

// scheduled is the number of requests of an open-loop run: those due
// strictly before the end.
func (r *loadRun) scheduled() int64 {
	n := int64(r.opts.Duration.Seconds() * r.opts.Rate)
	for n > 0 && !r.due(n-1).Before(r.end) {
		n--
	}
	for r.due(n).Before(r.end) {
		n++
	}
	return n
}

// sleepUntil waits until t or ctx ends; false when ctx ended.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// post sends one $match request and drains the answer, so the connection
// is reused.
func post(ctx context.Context, c *http.Client, target string, body []byte, h http.Header, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, vs := range h {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// errorKind classifies a request that got no HTTP answer.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	return "transport"
}

// ReadQueries reads $match request bodies, one JSON object per line (blank
// lines skipped): each a FHIR Patient or Parameters resource. The first bad
// line is an error naming it.
func ReadQueries(r io.Reader) ([][]byte, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	var out [][]byte
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		if err := json.Unmarshal(b, &head); err != nil {
			return nil, fmt.Errorf("bench: queries line %d: %w", line, err)
		}
		if head.ResourceType != "Patient" && head.ResourceType != "Parameters" {
			return nil, fmt.Errorf("bench: queries line %d: resourceType %q, want Patient or Parameters", line, head.ResourceType)
		}
		out = append(out, bytes.Clone(b))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bench: reading queries: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("bench: no queries in the input")
	}
	return out, nil
}

// ReadQueriesFile is ReadQueries on a file.
func ReadQueriesFile(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadQueries(f)
}

// WriteText prints the result as a table for people.
func (r *LoadResult) WriteText(w io.Writer) error {
	var b strings.Builder
	switch r.Mode {
	case "open-loop":
		fmt.Fprintf(&b, "open-loop load at %.0f requests/s for %.1fs, %d workers → %s\n", r.TargetRate, r.DurationSec, r.Concurrency, r.URL)
		fmt.Fprintf(&b, "latency measured from each request's intended start (no coordinated omission)\n")
	default:
		fmt.Fprintf(&b, "closed-loop load (--max), %d workers, %.1fs → %s\n", r.Concurrency, r.DurationSec, r.URL)
		fmt.Fprintf(&b, "latency measured from the actual send: a closed loop waits out stalls, so these latencies understate them; use --rate for latency figures\n")
	}
	fmt.Fprintf(&b, "\n%-10s %10s\n", "requests", "")
	fmt.Fprintf(&b, "  %-22s %10d\n", "scheduled", r.Scheduled)
	fmt.Fprintf(&b, "  %-22s %10d\n", "sent", r.Sent)
	if r.Mode == "open-loop" {
		fmt.Fprintf(&b, "  %-22s %10d\n", "missed (no free worker)", r.Missed)
	}
	fmt.Fprintf(&b, "  %-22s %10d\n", "responses", r.Responses)
	fmt.Fprintf(&b, "  %-22s %10d\n", "ok (2xx)", r.OK)
	fmt.Fprintf(&b, "  %-22s %10.1f /s over %.2fs\n", "achieved rate", r.AchievedRate, r.ElapsedSec)
	kinds := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	if len(kinds) == 0 {
		fmt.Fprintf(&b, "errors: none\n")
	} else {
		fmt.Fprintf(&b, "errors:\n")
		for _, k := range kinds {
			fmt.Fprintf(&b, "  %-22s %10d\n", k, r.Errors[k])
		}
	}
	l := r.Latency
	fmt.Fprintf(&b, "\nlatency (ms) over %d responses\n", l.Count)
	fmt.Fprintf(&b, "  %8s %8s %8s %8s %8s %8s %8s\n", "min", "mean", "p50", "p90", "p99", "p99.9", "max")
	fmt.Fprintf(&b, "  %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f\n", l.Min, l.Mean, l.P50, l.P90, l.P99, l.P999, l.Max)
	if r.Missed > 0 {
		fmt.Fprintf(&b, "WARNING: %d requests were due but never sent: the rate was not kept (more --concurrency, or the server stalled); their latency is not in the table\n", r.Missed)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
