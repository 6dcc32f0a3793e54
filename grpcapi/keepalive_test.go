package grpcapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawClient is an HTTP/2 connection to a test server spoken frame by
// frame: grpc-go's own client never pings more often than every 10 s,
// whatever it is configured with, so a client that pings too often has to
// be written by hand.
type rawClient struct {
	conn net.Conn
	fr   *http2.Framer
}

func dialRaw(t *testing.T, h *harness) *rawClient {
	t.Helper()
	conn, err := h.lis.DialContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// A guard against a hang only: every read below ends by itself when
	// the server behaves.
	if err := conn.SetDeadline(time.Now().Add(hangGuard)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	c := &rawClient{conn: conn, fr: http2.NewFramer(conn, conn)}
	if err := c.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return c
}

// openCall starts a MatchStream on stream 1 and leaves it open (no
// message, no end of stream): the server then holds one active call.
func (c *rawClient) openCall(t *testing.T) {
	t.Helper()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{
		{":method", "POST"}, {":scheme", "http"}, {":authority", "bufconn"},
		{":path", "/" + ServiceName + "/MatchStream"},
		{"content-type", "application/grpc"}, {"te", "trailers"},
	} {
		if err := enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
}

// ping sends n pings, pause apart. Write errors are ignored: a server
// enforcing its policy may close the connection before the last one.
func (c *rawClient) ping(n int, pause time.Duration) {
	for i := range n {
		if i > 0 && pause > 0 {
			time.Sleep(pause)
		}
		if err := c.fr.WritePing(false, [8]byte{'p', 'm', byte(i)}); err != nil {
			return
		}
	}
}

// goAway reads frames until the server's GOAWAY and returns it, or nil
// when acks of wantAcks pings came first.
func (c *rawClient) goAway(t *testing.T, wantAcks int) *http2.GoAwayFrame {
	t.Helper()
	acks := 0
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading from the server: %v (after %d ping acks, no GOAWAY)", err, acks)
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			return f
		case *http2.PingFrame:
			if f.IsAck() {
				acks++
				if wantAcks > 0 && acks == wantAcks {
					return nil
				}
			}
		}
	}
}

// closed reads until the server closes the connection and returns nil, or
// returns the guard's timeout when it never does.
func (c *rawClient) closed() error {
	for {
		if _, err := c.fr.ReadFrame(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return err
			}
			return nil
		}
	}
}

func wantTooManyPings(t *testing.T, c *rawClient) {
	t.Helper()
	ga := c.goAway(t, 0)
	if ga.ErrCode != http2.ErrCodeEnhanceYourCalm || string(ga.DebugData()) != "too_many_pings" {
		t.Fatalf("GOAWAY %v %q, want ENHANCE_YOUR_CALM too_many_pings", ga.ErrCode, ga.DebugData())
	}
	if err := c.closed(); err != nil {
		t.Fatalf("connection still open after GOAWAY: %v", err)
	}
}

// TestKeepaliveEnforcement is issue 14 item 6: keepalive enforcement
// (Options.KeepaliveMinTime) drops a client that pings too often, during a
// call or with none open, and leaves one that keeps to the policy alone.
func TestKeepaliveEnforcement(t *testing.T) {
	t.Run("during a call, more often than KeepaliveMinTime", func(t *testing.T) {
		h := newHarness(t, newFakeEngine(), nil, Options{KeepaliveMinTime: time.Hour})
		c := dialRaw(t, h)
		c.openCall(t)
		c.ping(10, 0)
		wantTooManyPings(t, c)
	})
	t.Run("with no call open", func(t *testing.T) {
		h := newHarness(t, newFakeEngine(), nil, Options{})
		c := dialRaw(t, h)
		c.ping(10, 0)
		wantTooManyPings(t, c)
	})
	t.Run("during a call, within a short KeepaliveMinTime", func(t *testing.T) {
		// Pings 5 ms apart against a 1 ms minimum: a slow machine only
		// spaces them further.
		h := newHarness(t, newFakeEngine(), nil, Options{KeepaliveMinTime: time.Millisecond})
		c := dialRaw(t, h)
		c.openCall(t)
		const n = 8
		c.ping(n, 5*time.Millisecond)
		if ga := c.goAway(t, n); ga != nil {
			t.Fatalf("a client keeping to the policy got GOAWAY %v %q", ga.ErrCode, ga.DebugData())
		}
	})
}
