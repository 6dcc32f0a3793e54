package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	pb "github.com/patientmatch/patientmatch/api/patientmatch/v1"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
)

// streamRequest is request i of a test stream: family "f<i>", so the fake
// engine's answer names the request it answers.
func streamRequest(i int) *pb.MatchStreamRequest {
	return &pb.MatchStreamRequest{
		RequestId: fmt.Sprint("r", i),
		Match:     &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: fmt.Sprint("F", i)})},
	}
}

func TestMatchStreamOrderAndConcurrency(t *testing.T) {
	const n, workers = 3000, 3
	eng := newFakeEngine()
	eng.matchFn = func(ctx context.Context, r record.Record, _ matcher.MatchOptions) ([]matcher.Match, error) {
		// Uneven work, so that answers finish out of order.
		if rand.IntN(4) == 0 {
			time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
		}
		return []matcher.Match{{ID: r.Family}}, ctx.Err()
	}
	h := newHarness(t, eng, nil, Options{StreamWorkers: workers, StreamWindow: 8})
	stream, err := h.client.MatchStream(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	sendErr := make(chan error, 1)
	go func() {
		for i := range n {
			req := streamRequest(i)
			if i%500 == 7 { // a bad request does not end the stream
				req.Match.Subject = demo(&pb.Demographics{Family: "x", BirthDate: "July 4th"})
			}
			if err := stream.Send(req); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- stream.CloseSend()
	}()
	for i := range n {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if want := fmt.Sprint("r", i); resp.RequestId != want {
			t.Fatalf("response %d has request_id %q, want %q", i, resp.RequestId, want)
		}
		if i%500 == 7 {
			e := resp.GetError()
			if e == nil || codes.Code(e.Code) != codes.InvalidArgument || len(e.FieldViolations) != 1 ||
				e.FieldViolations[0].Field != "match.demographics.birth_date" {
				t.Fatalf("response %d = %v, want a birth_date violation", i, resp)
			}
			continue
		}
		ms := resp.GetMatch().GetMatches()
		if len(ms) != 1 || ms[0].Id != fmt.Sprint("f", i) {
			t.Fatalf("response %d answers %v, want f%d", i, ms, i)
		}
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("after the last response: %v, want io.EOF", err)
	}
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	if got := eng.maxInFlight.Load(); got > workers || got < 1 {
		t.Errorf("engine saw %d concurrent calls, want 1..%d", got, workers)
	}
	t.Logf("max concurrent engine calls: %d of %d allowed", eng.maxInFlight.Load(), workers)
}

func TestMatchStreamItemErrors(t *testing.T) {
	eng := newFakeEngine()
	eng.matchFn = func(_ context.Context, r record.Record, _ matcher.MatchOptions) ([]matcher.Match, error) {
		if r.Family == "closed" {
			return nil, matcher.ErrClosed
		}
		return nil, nil
	}
	h := newHarness(t, eng, nil, Options{})
	stream, err := h.client.MatchStream(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	reqs := []*pb.MatchStreamRequest{
		{RequestId: "no-match-field"},
		{RequestId: "engine-down", Match: &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "closed"})}},
		{RequestId: "ok", Match: &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "fine"})}},
	}
	for _, r := range reqs {
		if err := stream.Send(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id    string
		code  codes.Code
		field string
	}{{"no-match-field", codes.InvalidArgument, "match.subject"}, {"engine-down", codes.Unavailable, ""}, {"ok", codes.OK, ""}}
	for _, w := range want {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.RequestId != w.id {
			t.Fatalf("got %q, want %q", resp.RequestId, w.id)
		}
		if w.code == codes.OK {
			if resp.GetMatch() == nil {
				t.Errorf("%s: %v, want a match response", w.id, resp)
			}
			continue
		}
		e := resp.GetError()
		if e == nil || codes.Code(e.Code) != w.code {
			t.Fatalf("%s: %v, want code %v", w.id, resp, w.code)
		}
		if w.field != "" && (len(e.FieldViolations) != 1 || e.FieldViolations[0].Field != w.field) {
			t.Errorf("%s: violations %v, want %s", w.id, e.FieldViolations, w.field)
		}
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
}

// recvCounter counts the messages the server has received on streams.
type recvCounter struct {
	grpc.ServerStream
	n *atomic.Int64
}

func (r recvCounter) RecvMsg(m any) error {
	err := r.ServerStream.RecvMsg(m)
	if err == nil {
		r.n.Add(1)
	}
	return err
}

// TestMatchStreamBackPressure: with the engine stalled, the server stops
// reading once its window is full, however much the client sends; when the
// engine resumes, every request is answered, in order.
func TestMatchStreamBackPressure(t *testing.T) {
	const n, workers, window = 400, 2, 6
	eng := newFakeEngine()
	release := make(chan struct{})
	eng.matchFn = func(ctx context.Context, r record.Record, _ matcher.MatchOptions) ([]matcher.Match, error) {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return []matcher.Match{{ID: r.Family}}, nil
	}
	var received atomic.Int64
	count := grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, recvCounter{ServerStream: ss, n: &received})
	})
	h := newHarness(t, eng, nil, Options{StreamWorkers: workers, StreamWindow: window, ServerOptions: []grpc.ServerOption{count}})
	stream, err := h.client.MatchStream(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	sendErr := make(chan error, 1)
	go func() {
		for i := range n {
			if err := stream.Send(streamRequest(i)); err != nil {
				sendErr <- err
				return
			}
			sent.Add(1)
		}
		sendErr <- stream.CloseSend()
	}()

	// Wait until the workers are all stuck and reading has stopped.
	eventually(t, "workers stuck and the client ahead of the window", func() bool {
		return eng.inFlight.Load() >= workers && sent.Load() >= window+10
	})
	time.Sleep(100 * time.Millisecond) // time to read on, were it unbounded
	// Received and unanswered: the window, one held by the writer, one by
	// the reader while it waits for room.
	if got, limit := received.Load(), int64(window+2); got > limit {
		t.Errorf("server received %d requests with none answered; want at most %d", got, limit)
	}
	t.Logf("client sent %d, server received %d, engine calls in flight %d", sent.Load(), received.Load(), eng.inFlight.Load())
	if got := eng.inFlight.Load(); got != workers {
		t.Errorf("engine calls in flight = %d, want %d", got, workers)
	}

	close(release)
	for i := range n {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if resp.RequestId != fmt.Sprint("r", i) || resp.GetMatch().GetMatches()[0].GetId() != fmt.Sprint("f", i) {
			t.Fatalf("response %d = %v", i, resp)
		}
	}
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	if got := eng.maxInFlight.Load(); got > workers {
		t.Errorf("engine saw %d concurrent calls, want at most %d", got, workers)
	}
}

// TestMatchStreamCancel: cancelling the stream cancels the matches in
// progress, and the call ends.
func TestMatchStreamCancel(t *testing.T) {
	const workers = 3
	eng := newFakeEngine()
	var cancelled atomic.Int64
	eng.matchFn = func(ctx context.Context, _ record.Record, _ matcher.MatchOptions) ([]matcher.Match, error) {
		<-ctx.Done()
		if errors.Is(ctx.Err(), context.Canceled) {
			cancelled.Add(1)
		}
		return nil, ctx.Err()
	}
	h := newHarness(t, eng, nil, Options{StreamWorkers: workers})
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := h.client.MatchStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := stream.Send(streamRequest(i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "every worker in a match", func() bool { return eng.inFlight.Load() >= workers })
	cancel()
	_, err = stream.Recv()
	wantCode(t, err, codes.Canceled)
	eventually(t, "matches ending after cancel", func() bool { return eng.inFlight.Load() == 0 })
	if got := cancelled.Load(); got != workers {
		t.Errorf("%d engine calls observed cancellation, want %d", got, workers)
	}
	// The queued requests were never started.
	if got := eng.calls.Load(); got != workers {
		t.Errorf("%d engine calls, want %d", got, workers)
	}
}

// TestMatchStreamDeadline: a stream past its deadline ends with
// DEADLINE_EXCEEDED, and the engine, working on a request, sees the
// deadline.
func TestMatchStreamDeadline(t *testing.T) {
	reachingEngine(t, func(t *testing.T, deadline time.Duration) bool {
		eng := newFakeEngine()
		entered := make(chan struct{}, 1)
		observed := make(chan error, 1)
		eng.matchFn = func(ctx context.Context, _ record.Record, _ matcher.MatchOptions) ([]matcher.Match, error) {
			entered <- struct{}{}
			if _, ok := ctx.Deadline(); !ok {
				observed <- errors.New("no deadline on the engine's context")
				return nil, nil
			}
			<-ctx.Done()
			observed <- ctx.Err()
			return nil, ctx.Err()
		}
		h := newHarness(t, eng, nil, Options{})
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		stream, err := h.client.MatchStream(ctx)
		if err == nil {
			// io.EOF: the stream has ended already; Recv says how.
			if serr := stream.Send(streamRequest(1)); serr != nil && !errors.Is(serr, io.EOF) {
				err = serr
			}
		}
		if err == nil {
			_, err = stream.Recv()
		}
		wantCode(t, err, codes.DeadlineExceeded)
		// Once the server has stopped, every handler and worker is done:
		// the engine was called or never will be.
		stopCtx, stopCancel := context.WithTimeout(context.Background(), hangGuard)
		defer stopCancel()
		if err := h.stop(stopCtx); err != nil {
			t.Fatalf("stop: %v", err)
		}
		select {
		case <-entered:
		default:
			return false
		}
		// The server's timer or the client's RST_STREAM may come first.
		if err := <-observed; !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			t.Errorf("engine observed %v", err)
		}
		return true
	})
}
