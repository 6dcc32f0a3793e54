package grpcapi

import (
	"context"
	"fmt"
	"testing"

	pb "github.com/patientmatch/patientmatch/api/patientmatch/v1"
)

// BenchmarkMatchUnary measures one Match call through the whole gRPC stack
// (client, HTTP/2 over an in-memory connection, interceptors, validation,
// normalization, response conversion) with a fake engine answering at once.
func BenchmarkMatchUnary(b *testing.B) {
	h := newHarness(b, newFakeEngine(), nil, Options{})
	req := &pb.MatchRequest{Subject: demo(&pb.Demographics{
		Family: "Smith", Given: []string{"John", "Adam"}, BirthDate: "1985-02-03", Sex: pb.Sex_SEX_MALE,
		Address: &pb.Address{Lines: []string{"12 Main St"}, City: "Springfield", State: "IL", PostalCode: "62701"},
		Phone:   "555-123-4567", Email: "john@example.org",
	}), Count: 5}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := h.client.Match(ctx, req)
		if err != nil || len(resp.Matches) != 1 {
			b.Fatal(resp, err)
		}
	}
}

// BenchmarkMatchStream measures per-request cost over MatchStream.
func BenchmarkMatchStream(b *testing.B) {
	h := newHarness(b, newFakeEngine(), nil, Options{})
	stream, err := h.client.MatchStream(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	req := streamRequest(1)
	done := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for range b.N {
			if err := stream.Send(req); err != nil {
				done <- err
				return
			}
		}
		done <- stream.CloseSend()
	}()
	for i := range b.N {
		if _, err := stream.Recv(); err != nil {
			b.Fatal(fmt.Sprint(i), err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
