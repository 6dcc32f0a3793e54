package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/patientmatch/patientmatch/matcher"
)

// handle answers one request of the shard's queue group. nats.go delivers a
// subscription's messages one at a time, so each is answered in its own
// goroutine, bounded by the node's answer slots.
func (r *replica) handle(m *nats.Msg) {
	n := r.node
	// A full set of slots holds up this subscription's deliveries (NATS
	// buffers them) rather than drop a request.
	n.slots <- struct{}{}
	go func() {
		defer func() { <-n.slots }()
		ctx, cancel := context.WithTimeout(context.Background(), n.opts.RequestTimeout)
		defer cancel()
		var rep shardReply
		var req shardRequest
		if err := json.Unmarshal(m.Data, &req); err != nil {
			rep = errorReply(fmt.Errorf("%w: undecodable request: %v", matcher.ErrInvalid, err))
		} else {
			rep = r.respond(ctx, req)
		}
		b, err := json.Marshal(rep)
		if err != nil {
			b, _ = json.Marshal(errorReply(fmt.Errorf("encoding the reply: %w", err)))
		}
		if err := m.Respond(b); err != nil {
			r.log.Debug("reply not sent", "err", err)
		}
	}()
}

// respond answers req as this replica of the shard, whoever asked: the
// shard's queue group, a node request, or this node itself.
func (r *replica) respond(ctx context.Context, req shardRequest) shardReply {
	rep := r.answer(ctx, req)
	rep.Node = r.node.id
	rep.Applied = r.applied.Load()
	return rep
}

// respondWithin is respond for an asker on this node, bounded by d as a
// request to another node is: a replica that has not applied the asked
// write by then answers codeBehind, and the asker tries the shard's other
// replicas.
func (r *replica) respondWithin(ctx context.Context, req shardRequest, d time.Duration) shardReply {
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	rep := r.respond(rctx, req)
	if rep.Err != "" && rctx.Err() != nil && ctx.Err() == nil {
		rep.Code = codeBehind
	}
	return rep
}

// retryElsewhere reports whether another replica of the shard should be
// asked instead: this one does not serve it (any more), was closed, or is
// behind.
func (rep shardReply) retryElsewhere() bool {
	return rep.Code == codeNotServing || rep.Code == codeClosed || rep.Code == codeBehind
}

func (r *replica) answer(ctx context.Context, req shardRequest) shardReply {
	// Read-your-writes: wait for the asker's last write to this shard
	// before taking the engine (a retune waiting for the lock must not
	// hold up the writes this waits for).
	if err := r.applied.Wait(ctx, req.After); err != nil {
		return errorReply(fmt.Errorf("cluster: waiting for sequence %d (applied %d): %w", req.After, r.applied.Load(), err))
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	eng := r.eng
	if eng == nil {
		return errorReply(matcher.ErrClosed)
	}
	switch req.Kind {
	case reqMatch:
		if req.Record == nil {
			return errorReply(fmt.Errorf("%w: match request without a record", matcher.ErrInvalid))
		}
		ms, err := eng.Match(ctx, *req.Record, req.Options)
		if err != nil {
			return errorReply(err)
		}
		return shardReply{Matches: ms}
	case reqGet, reqResult:
		out := make([]storedReply, 0, len(req.IDs))
		for _, id := range req.IDs {
			sr, err := r.stored(ctx, eng, id, req)
			if err != nil {
				return errorReply(err)
			}
			out = append(out, sr)
		}
		return shardReply{Stored: out}
	case reqLen:
		return shardReply{Len: eng.Len()}
	case reqTerms:
		return shardReply{Terms: eng.TermCounts()}
	}
	return errorReply(fmt.Errorf("%w: unknown request kind %q", matcher.ErrInvalid, req.Kind))
}

// stored reads one patient; for reqResult it also says what the write at
// req.After did to it.
func (r *replica) stored(ctx context.Context, eng *matcher.Engine, id string, req shardRequest) (storedReply, error) {
	sp, err := eng.Get(ctx, id)
	notFound := errors.Is(err, matcher.ErrNotFound)
	if err != nil && !notFound {
		return storedReply{}, err
	}
	sr := storedReply{Patient: sp, NotFound: notFound}
	if req.Kind != reqResult {
		return sr, nil
	}
	ro, ok := r.outcomes.get(id, req.After)
	switch {
	case ok:
		sr.Patient.Outcome, sr.DeleteMissed = ro.outcome, ro.notFound
	case sp.VersionID == 1:
		sr.Patient.Outcome = matcher.Created
	default:
		sr.Patient.Outcome = matcher.Updated
	}
	return sr, nil
}
