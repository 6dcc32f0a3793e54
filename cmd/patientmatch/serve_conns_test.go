package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawConn is one client connection to the server, spoken to by hand so
// that the test decides which connections stay open.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, base string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A hang guard, not a speed bound: a connection the server never
	// answers fails the test here instead of hanging it.
	_ = c.SetDeadline(time.Now().Add(e2eHangGuard))
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

// do sends one request on the connection and reads its answer.
func (c *rawConn) do(t *testing.T, method, path, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+c.RemoteAddr().String()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if err := req.Write(c); err != nil {
		t.Fatalf("%s %s: writing the request: %v", method, path, err)
	}
	resp, err := http.ReadResponse(c.r, req)
	if err != nil {
		t.Fatalf("%s %s: no answer (%v)", method, path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestServeConnsOverLimit: with every --max-conns place held by open
// connections, a further connection's $match is answered 503 with
// Retry-After and an OperationOutcome, and the connection closed, instead
// of the connection waiting unanswered in the kernel's accept queue (what
// netutil.LimitListener did: under overload, clients' requests timed out).
// Health is still answered on such a connection.
func TestServeConnsOverLimit(t *testing.T) {
	s := startServer(t, serveConfig{data: t.TempDir(), security: securityConfig{maxConns: 2},
		admission: admissionFlags{maxInFlight: 4, queueWait: 5 * time.Millisecond, burstWait: 5 * time.Millisecond, interval: 100 * time.Millisecond}})
	// Two connections take the two places (each answered once, so both
	// were accepted before the next is dialled) and stay open.
	held := []*rawConn{dialRaw(t, s.httpBase), dialRaw(t, s.httpBase)}
	for _, c := range held {
		if resp, _ := c.do(t, "GET", "/healthz", ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /healthz within the limit: %s", resp.Status)
		}
	}

	over := dialRaw(t, s.httpBase)
	resp, body := over.do(t, "POST", "/fhir/Patient/$match", `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","name":[{"family":"Smith","given":["Maria"]}],"birthDate":"1984-03-14"}}]}`)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !resp.Close {
		t.Errorf("$match over --max-conns: %s, Retry-After %q, close %v; want 503 with Retry-After, connection closed",
			resp.Status, resp.Header.Get("Retry-After"), resp.Close)
	}
	if !strings.Contains(body, `"OperationOutcome"`) || !strings.Contains(body, `"throttled"`) {
		t.Errorf("$match over --max-conns: body %s, want a throttled OperationOutcome", body)
	}
	if _, err := over.r.ReadByte(); err != io.EOF {
		t.Errorf("after the refusal: read %v, want the server to have closed the connection", err)
	}

	health := dialRaw(t, s.httpBase)
	if resp, _ := health.do(t, "GET", "/healthz", ""); resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("GET /healthz over --max-conns: %s, close %v; want 200, connection closed", resp.Status, resp.Close)
	}

	// The held connections are still served, and the metrics count both
	// connections over the limit and the refused request.
	_, metrics := held[0].do(t, "GET", "/metrics", "")
	for _, want := range []string{
		`patientmatch_connections_over_limit_total{listener="http",outcome="refused"} 2`,
		`patientmatch_admission_shed_total{surface="http"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
