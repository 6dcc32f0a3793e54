package grpcapi

import (
	"context"
	"errors"
	"io"
	"sync"

	pb "github.com/patientmatch/patientmatch/api/patientmatch/v1"
)

// streamItem is one request of a MatchStream on its way through.
type streamItem struct {
	id   string
	req  *pb.MatchRequest
	resp *pb.MatchStreamResponse // set by a worker before done is closed
	done chan struct{}
}

// MatchStream answers a stream of match requests in request order.
//
// Three parts share the work, all owned by this call:
//   - a reader receives requests and queues each twice: on pending (in
//     order, for the writer) and on jobs (for the workers). pending holds at
//     most StreamWindow items, so when the writer falls behind the reader
//     stops receiving and HTTP/2 flow control slows the client: nothing is
//     buffered without bound;
//   - StreamWorkers workers run the matches, so the engine sees at most that
//     many calls of this stream at once;
//   - the writer (this goroutine) takes pending items in order, waits for
//     each to be done and sends its response.
//
// A request that fails gets a response carrying an ItemError and the stream
// goes on. The stream ends when the client closes its side and every
// response is sent, or with the stream's error when it is cancelled, runs
// past its deadline or breaks.
func (s *service) MatchStream(stream pb.PatientMatch_MatchStreamServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()

	pending := make(chan *streamItem, s.opts.StreamWindow)
	jobs := make(chan *streamItem, s.opts.StreamWindow)
	recvErr := make(chan error, 1)

	var workers sync.WaitGroup
	for range s.opts.StreamWorkers {
		workers.Go(func() { s.streamWorker(ctx, jobs) })
	}
	// Workers stop on ctx; their engine calls honour it.
	defer func() {
		cancel()
		workers.Wait()
	}()

	// The reader may outlive this call only while blocked in Recv, which
	// returns once the call has ended.
	go func() {
		defer close(jobs)
		defer close(pending)
		for {
			req, err := stream.Recv()
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				recvErr <- err
				return
			}
			it := &streamItem{id: req.GetRequestId(), req: req.GetMatch(), done: make(chan struct{})}
			select {
			case pending <- it:
			case <-ctx.Done():
				recvErr <- ctx.Err()
				return
			}
			select {
			case jobs <- it:
			case <-ctx.Done():
				recvErr <- ctx.Err()
				return
			}
		}
	}()

	for it := range pending {
		select {
		case <-it.done:
		case <-ctx.Done():
			return toStatus(ctx.Err(), "").Err()
		}
		if err := stream.Send(it.resp); err != nil {
			return err
		}
	}
	if err := <-recvErr; err != nil {
		if ctx.Err() != nil {
			return toStatus(ctx.Err(), "").Err()
		}
		return err
	}
	return nil
}

// streamWorker matches the items of jobs until it is closed or ctx is done.
func (s *service) streamWorker(ctx context.Context, jobs <-chan *streamItem) {
	for {
		select {
		case it, ok := <-jobs:
			if !ok || ctx.Err() != nil {
				// Closed, or the stream ended while this job waited:
				// start no new engine work.
				return
			}
			it.resp = s.streamItem(ctx, it)
			close(it.done)
		case <-ctx.Done():
			return
		}
	}
}

// streamItem answers one item of a MatchStream, within the shared
// in-flight bound: refused, the item answers RESOURCE_EXHAUSTED and the
// stream goes on.
func (s *service) streamItem(ctx context.Context, it *streamItem) *pb.MatchStreamResponse {
	out := &pb.MatchStreamResponse{RequestId: it.id}
	release, err := admit(ctx, s.opts.Admission, false)
	if err != nil {
		out.Result = &pb.MatchStreamResponse_Error{Error: itemError(err)}
		return out
	}
	defer release()
	if resp, err := s.matchItem(ctx, it.req); err != nil {
		out.Result = &pb.MatchStreamResponse_Error{Error: itemError(err)}
	} else {
		out.Result = &pb.MatchStreamResponse_Match{Match: resp}
	}
	return out
}

// matchItem is one MatchStream request, bounded by CallTimeout like a unary
// call, so one slow request cannot hold a worker for the stream's life.
func (s *service) matchItem(ctx context.Context, req *pb.MatchRequest) (*pb.MatchResponse, error) {
	if s.opts.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.CallTimeout)
		defer cancel()
	}
	return s.match(ctx, req, "match.")
}
