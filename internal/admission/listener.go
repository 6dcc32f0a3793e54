package admission

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultRefuseWithin is how long a connection over the limit may live:
// time for a client to send its request's headers and read the refusal.
const DefaultRefuseWithin = time.Second

// ListenerOptions configure a Listener.
type ListenerOptions struct {
	// MaxConns is the number of connections served at once. Required.
	MaxConns int
	// MaxRefusing is the number of connections over MaxConns that may be
	// open at once to be refused (each gets its refusal, then is closed).
	// Beyond it a connection is closed as soon as it is accepted. 0: none
	// (every connection over MaxConns is closed at once, for a protocol
	// whose refusal needs more than an answer to one request, as gRPC's
	// HTTP/2 handshake does).
	MaxRefusing int
	// RefuseWithin bounds the life of a connection over the limit (its
	// read and write deadlines), so that one trickling its request holds
	// a place for no longer. Default DefaultRefuseWithin.
	RefuseWithin time.Duration
	// Name labels the metrics ("http", "grpc").
	Name string
	// Registerer receives patientmatch_connections_* metrics. Default: none.
	Registerer prometheus.Registerer
}

// Listener bounds the connections served at once without leaving the
// excess unanswered. netutil.LimitListener stops accepting at its limit,
// so a client's further connections sit in the kernel's accept queue,
// established from the client's side, until the client gives up: under
// overload (an HTTP client opening a connection for each request it has
// outstanding) that turned the excess into timeouts instead of refusals.
// This Listener always accepts; a connection over the limit is marked so
// that every request on it is refused at once (ConnContext, Acquire) and
// the connection closed after the answer, and beyond MaxRefusing of those
// it is closed at once, which a client sees at once too.
type Listener struct {
	net.Listener
	opts     ListenerOptions
	served   chan struct{}
	refusing chan struct{}
	over     *prometheus.CounterVec
	open     prometheus.GaugeFunc
}

// NewListener wraps l.
func NewListener(l net.Listener, opts ListenerOptions) (*Listener, error) {
	if opts.MaxConns <= 0 || opts.MaxRefusing < 0 || opts.RefuseWithin < 0 {
		return nil, fmt.Errorf("admission: listener bounds MaxConns %d, MaxRefusing %d, RefuseWithin %v: want MaxConns > 0, the others not negative",
			opts.MaxConns, opts.MaxRefusing, opts.RefuseWithin)
	}
	if opts.RefuseWithin == 0 {
		opts.RefuseWithin = DefaultRefuseWithin
	}
	ln := &Listener{Listener: l, opts: opts, served: make(chan struct{}, opts.MaxConns),
		refusing: make(chan struct{}, opts.MaxRefusing)}
	ln.over = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "patientmatch_connections_over_limit_total",
		Help:        "Connections accepted over the listener's limit, by outcome: refused (their requests answered 503, then closed) or closed (at once).",
		ConstLabels: prometheus.Labels{"listener": opts.Name},
	}, []string{"outcome"})
	ln.open = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "patientmatch_connections_open",
		Help:        "Connections open under the listener's limit.",
		ConstLabels: prometheus.Labels{"listener": opts.Name},
	}, func() float64 { return float64(len(ln.served)) })
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{ln.over, ln.open} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("admission: register listener metrics: %w", err)
			}
		}
	}
	return ln, nil
}

// Accept returns the next connection: one to serve, or one over the limit
// to refuse (see ConnContext). It never waits for a place.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.served <- struct{}{}:
			return &limitedConn{Conn: c, place: l.served}, nil
		default:
		}
		select {
		case l.refusing <- struct{}{}:
			l.over.WithLabelValues("refused").Inc()
			return newRefusedConn(c, l.refusing, time.Now().Add(l.opts.RefuseWithin)), nil
		default:
		}
		l.over.WithLabelValues("closed").Inc()
		c.Close()
	}
}

// limitedConn gives its place back when closed (once, however often it is
// closed).
type limitedConn struct {
	net.Conn
	place chan struct{}
	once  sync.Once
}

// Close gives the place back before closing, so that a client which saw
// the connection end finds the place free.
func (c *limitedConn) Close() error {
	c.once.Do(func() { <-c.place })
	return c.Conn.Close()
}

// refusedConn is a connection over the limit: its deadlines never reach
// past by, whatever the server sets.
type refusedConn struct {
	limitedConn
	by time.Time
}

func newRefusedConn(c net.Conn, place chan struct{}, by time.Time) *refusedConn {
	_ = c.SetDeadline(by) // fails only on a closed connection, whose reads fail anyway
	return &refusedConn{limitedConn: limitedConn{Conn: c, place: place}, by: by}
}

func (c *refusedConn) clamp(t time.Time) time.Time {
	if t.IsZero() || t.After(c.by) {
		return c.by
	}
	return t
}

func (c *refusedConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.clamp(t)) }
func (c *refusedConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.clamp(t)) }
func (c *refusedConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.clamp(t)) }

type overLimitKey struct{}

// ConnContext is for http.Server.ConnContext: it marks the context of a
// connection the Listener accepted over its limit, so that Acquire refuses
// every request on it without waiting and OverLimit tells the handler to
// close it after the answer. Other connections' contexts are unchanged.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if _, ok := c.(*refusedConn); ok {
		return context.WithValue(ctx, overLimitKey{}, true)
	}
	return ctx
}

// OverLimit reports whether ctx is of a connection over the Listener's
// limit (see ConnContext).
func OverLimit(ctx context.Context) bool {
	over, _ := ctx.Value(overLimitKey{}).(bool)
	return over
}

// errOverLimit is why Acquire refused a request of a connection over the
// limit; it is ErrOverloaded to callers.
var errOverLimit = fmt.Errorf("%w: too many connections", ErrOverloaded)
