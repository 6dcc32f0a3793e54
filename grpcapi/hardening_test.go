package grpcapi

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/patientmatch/patientmatch/api/patientmatch/v1"
	"github.com/patientmatch/patientmatch/internal/syncbuf"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
)

// TestPanicValueNotLogged is issue 14 item 12: a panic value may carry
// patient data, so only runtime errors' messages reach the log.
func TestPanicValueNotLogged(t *testing.T) {
	eng := newFakeEngine()
	eng.matchFn = func(context.Context, record.Record, matcher.MatchOptions) ([]matcher.Match, error) {
		panic("Chalmers 1974-12-25")
	}
	var logs syncbuf.Buffer
	h := newHarness(t, eng, nil, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	_, err := h.client.Match(ctxT(t), &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x"})})
	wantCode(t, err, codes.Internal)
	if strings.Contains(logs.String(), "Chalmers") {
		t.Errorf("panic value logged: %s", logs.String())
	}
	if !strings.Contains(logs.String(), "handler panicked") {
		t.Errorf("panic not logged at all: %s", logs.String())
	}
}

// TestCallTimeout is issue 14 item 5 for gRPC: a call without a deadline
// gets the server's, so it cannot hold the engine forever.
func TestCallTimeout(t *testing.T) {
	eng := newFakeEngine()
	const callTimeout = 200 * time.Millisecond
	eng.matchFn = func(ctx context.Context, _ record.Record, _ matcher.MatchOptions) ([]matcher.Match, error) {
		// The deadline is the server's CallTimeout, not the 30 s default
		// (time only shortens it on a slow machine).
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > callTimeout {
			return nil, fmt.Errorf("engine context deadline %v (set %v), want within %v", dl, ok, callTimeout)
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	h := newHarness(t, eng, nil, Options{CallTimeout: callTimeout})
	_, err := h.client.Match(context.Background(), &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x"})})
	wantCode(t, err, codes.DeadlineExceeded)
}

// TestMaxConcurrentStreams is issue 14 item 6: one connection cannot open
// more streams than MaxConcurrentStreams; the rest wait.
func TestMaxConcurrentStreams(t *testing.T) {
	h := newHarness(t, newFakeEngine(), nil, Options{MaxConcurrentStreams: 5})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var streams []pb.PatientMatch_MatchStreamClient
	for i := range 5 {
		s, err := h.client.MatchStream(ctx)
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		// A round trip makes sure the server holds the stream open.
		if err := s.Send(&pb.MatchStreamRequest{Match: &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x"})}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
		streams = append(streams, s)
	}
	sctx, scancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer scancel()
	s, err := h.client.MatchStream(sctx)
	if err == nil {
		err = s.Send(&pb.MatchStreamRequest{Match: &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x"})}})
		if err == nil {
			_, err = s.Recv()
		}
	}
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("sixth stream: %v, want it to wait (DeadlineExceeded)", err)
	}
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Go(func() { _ = s.CloseSend() })
	}
	wg.Wait()
}

// TestUpsertBirthDateAndLimits is issue 14 items 5 and 8 for gRPC.
func TestUpsertBirthDateAndLimits(t *testing.T) {
	h := newHarness(t, newFakeEngine(), nil, Options{})
	for _, d := range []string{"yesterday", "99999-01-01", "1980/01/01", "", "2099-01-01"} {
		js := fmt.Sprintf(`{"resourceType":"Patient","id":"p1","name":[{"family":"x"}],"birthDate":%q}`, d)
		_, err := h.client.Upsert(ctxT(t), &pb.UpsertRequest{PatientJson: js})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("Upsert birthDate %q: %v, want InvalidArgument", d, err)
		}
	}
	ids := make([]*pb.Identifier, 101)
	for i := range ids {
		ids[i] = &pb.Identifier{System: "urn:x", Value: fmt.Sprintf("V%05d", i)}
	}
	_, err := h.client.Match(ctxT(t), &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x", Identifiers: ids})})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("Match with 101 identifiers: %v, want InvalidArgument", err)
	}
}
