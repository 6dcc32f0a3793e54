package audit

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Recorder writes one Entry per audited request to a Log.
type Recorder struct {
	log *Log
}

// NewRecorder returns a Recorder writing to l.
func NewRecorder(l *Log) *Recorder { return &Recorder{log: l} }

// unaudited are the probe and discovery endpoints, which touch no patient.
var unaudited = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true, "/fhir/metadata": true}

// Middleware records every HTTP request except the probes and metadata:
// operation (method and templated path), status, outcome, client and the
// patients noted. Put it outside the authentication middleware, so refused
// requests are recorded too, and make the authentication middleware call
// SetClient on the Note when it accepts a token.
func (rc *Recorder) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if unaudited[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		ctx, note := WithNote(r.Context())
		note.SetClient(Client{Peer: hostOf(r.RemoteAddr)})
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			e := note.entry(Entry{Protocol: "http", Operation: r.Method + " " + Template(r.URL.Path),
				Outcome: httpOutcome(status), Status: strconv.Itoa(status)})
			_ = rc.log.Write(e)
		}()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// UnaryInterceptor records every PatientMatch call (not health checks or
// reflection). Chain it outside the authorization interceptor.
func (rc *Recorder) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !audited(info.FullMethod) {
		return handler(ctx, req)
	}
	ctx, note := WithNote(ctx)
	note.SetClient(Client{Peer: grpcPeer(ctx)})
	resp, err := handler(ctx, req)
	rc.writeGRPC(note, info.FullMethod, err)
	return resp, err
}

// StreamInterceptor records each PatientMatch stream as one Entry when it
// ends, listing the patients of all its messages (up to MaxPatients).
func (rc *Recorder) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !audited(info.FullMethod) {
		return handler(srv, ss)
	}
	ctx, note := WithNote(ss.Context())
	note.SetClient(Client{Peer: grpcPeer(ctx)})
	err := handler(srv, &noteStream{ServerStream: ss, ctx: ctx})
	rc.writeGRPC(note, info.FullMethod, err)
	return err
}

func (rc *Recorder) writeGRPC(note *Note, method string, err error) {
	code := status.Code(err)
	_ = rc.log.Write(note.entry(Entry{Protocol: "grpc", Operation: method, Outcome: grpcOutcome(code), Status: code.String()}))
}

type noteStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *noteStream) Context() context.Context { return s.ctx }

func audited(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/patientmatch.")
}

func grpcPeer(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return hostOf(p.Addr.String())
	}
	return ""
}

// hostOf drops the port of an address: the port says nothing about who.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func httpOutcome(status int) string {
	switch {
	case status < 400:
		return "ok"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "denied"
	case status == http.StatusNotFound || status == http.StatusGone:
		return "not_found"
	case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
		return "unavailable"
	case status < 500:
		return "invalid"
	}
	return "error"
}

func grpcOutcome(c codes.Code) string {
	switch c {
	case codes.OK:
		return "ok"
	case codes.Unauthenticated, codes.PermissionDenied:
		return "denied"
	case codes.NotFound:
		return "not_found"
	case codes.Unavailable, codes.ResourceExhausted:
		return "unavailable"
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange, codes.AlreadyExists, codes.Unimplemented:
		return "invalid"
	case codes.Canceled, codes.DeadlineExceeded:
		return "cancelled"
	}
	return "error"
}

// literal are the path segments kept as they are in an operation name;
// every other segment (a patient id, a link id...) becomes "{id}", so the
// trail's operation never carries an identifier from the URL.
var literal = map[string]bool{
	"fhir": true, "Patient": true, "Person": true, "Parameters": true, "metadata": true,
	"$match": true, "$idi-match": true, "$merge": true, "$unmerge": true, "_history": true, "_search": true,
	"match": true, "claims": true, "links": true, "review": true, "decision": true,
}

// Template returns path with every segment that is not a known literal
// replaced by "{id}" (and at most 8 segments).
func Template(path string) string {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(segs) > 8 {
		segs = append(segs[:8], "…")
	}
	for i, s := range segs {
		if s != "" && s != "…" && !literal[s] {
			segs[i] = "{id}"
		}
	}
	return "/" + strings.Join(segs, "/")
}

// statusWriter remembers the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
