package admission

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// hangGuard bounds waits that end by themselves unless the code is broken;
// it is never a speed bound.
const hangGuard = 30 * time.Second

// acceptor runs Accept in the background, handing over what it accepts.
func acceptor(t *testing.T, l net.Listener) <-chan net.Conn {
	t.Helper()
	out := make(chan net.Conn)
	go func() {
		defer close(out)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			out <- c
		}
	}()
	return out
}

func dial(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(hangGuard))
	return c
}

func next(t *testing.T, accepted <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c := <-accepted:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(hangGuard):
		t.Fatal("no connection accepted: the listener waits instead of accepting")
		return nil
	}
}

// TestListenerAcceptsOverLimit: a connection over MaxConns is accepted and
// marked (its requests are refused), not left in the kernel's accept queue
// as netutil.LimitListener did; beyond MaxRefusing more it is closed, which
// the client reads as the end of the connection, not as silence.
func TestListenerAcceptsOverLimit(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	l, err := NewListener(raw, ListenerOptions{MaxConns: 1, MaxRefusing: 1, Name: "http", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := acceptor(t, l)

	dial(t, l)
	served := next(t, accepted)
	if OverLimit(ConnContext(context.Background(), served)) {
		t.Fatal("the first connection (within MaxConns 1) is marked over the limit")
	}
	dial(t, l)
	refused := next(t, accepted)
	ctx := ConnContext(context.Background(), refused)
	if !OverLimit(ctx) {
		t.Fatal("the second connection (over MaxConns 1) is not marked")
	}
	lim, err := New(Options{MaxInFlight: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lim.Acquire(ctx, "http"); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("Acquire on a connection over the limit with every slot free: %v, want ErrOverloaded", err)
	}

	// Third: over MaxConns and MaxRefusing, closed by the listener.
	third := dial(t, l)
	if _, err := third.Read(make([]byte, 1)); err == nil {
		t.Fatal("read a byte from a connection the listener should have closed")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the connection over both bounds was left waiting, not closed")
	}

	// Places come back when connections close: a new one is served.
	served.Close()
	refused.Close()
	dial(t, l)
	if c := next(t, accepted); OverLimit(ConnContext(context.Background(), c)) {
		t.Error("a connection after the first closed is still marked over the limit")
	}
	got := gathered(t, reg)
	for name, want := range map[string]float64{
		"patientmatch_connections_over_limit_total{http,refused}": 1,
		"patientmatch_connections_over_limit_total{http,closed}":  1,
		"patientmatch_connections_open{http}":                     1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v (all: %v)", name, got[name], want, got)
		}
	}
}

// gathered maps "name{label values}" to the value of every counter and
// gauge of reg, and to the sample count of every histogram.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var vals []string
			for _, lp := range m.GetLabel() {
				vals = append(vals, lp.GetValue())
			}
			// A metric is of one kind: the getters of the others give 0.
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			out[mf.GetName()+"{"+strings.Join(vals, ",")+"}"] = v
		}
	}
	return out
}

// TestListenerNoRefusing: with MaxRefusing 0 (gRPC) every connection over
// the limit is closed at once.
func TestListenerNoRefusing(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewListener(raw, ListenerOptions{MaxConns: 1, Name: "grpc"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := acceptor(t, l)
	dial(t, l)
	next(t, accepted)
	c := dial(t, l)
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("read on a connection over the limit: %v, want the connection closed", err)
	}
}

func isReset(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && !ne.Timeout()
}

// TestRefusedConnDeadline: the server cannot keep a connection over the
// limit open past its RefuseWithin, whatever deadline it sets.
func TestRefusedConnDeadline(t *testing.T) {
	by := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	c := &refusedConn{by: by}
	for _, tc := range []struct{ in, want time.Time }{
		{time.Time{}, by},
		{by.Add(time.Hour), by},
		{by.Add(-time.Millisecond), by.Add(-time.Millisecond)},
	} {
		if got := c.clamp(tc.in); !got.Equal(tc.want) {
			t.Errorf("clamp(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestNewListenerBounds(t *testing.T) {
	for _, o := range []ListenerOptions{{}, {MaxConns: -1}, {MaxConns: 1, MaxRefusing: -1}, {MaxConns: 1, RefuseWithin: -time.Second}} {
		if _, err := NewListener(nil, o); err == nil {
			t.Errorf("NewListener(%+v): no error", o)
		}
	}
}
