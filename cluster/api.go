package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// maxOpPatients and maxOpBytes bound one stream message (NATS refuses
// payloads over 1 MiB by default; a shard engine commits one message's
// patients at once).
const (
	maxOpPatients = 200
	maxOpBytes    = 512 << 10
)

// Upsert stores p: published to its shard's subject, acknowledged once the
// stream has it, answered with the version a replica of the shard applied.
func (n *Node) Upsert(ctx context.Context, p *fm.Patient) (matcher.StoredPatient, bool, error) {
	res, err := n.UpsertBatch(ctx, []*fm.Patient{p})
	if err != nil {
		return matcher.StoredPatient{}, false, err
	}
	return res[0], res[0].Outcome == matcher.Created, nil
}

// shardOp is one message to publish and the batch positions it holds.
type shardOp struct {
	shard int
	slots []int
	ids   []string
	data  []byte
	seq   uint64
}

// UpsertBatch stores every patient of ps. Each shard's part is one or more
// stream messages, each applied whole; unlike the single engine, a batch
// spanning shards is not one commit: should publishing fail part-way, the
// parts acknowledged before the error stay stored.
func (n *Node) UpsertBatch(ctx context.Context, ps []*fm.Patient) ([]matcher.StoredPatient, error) {
	ops, err := n.splitBatch(ps)
	if err != nil {
		return nil, err
	}
	if err := n.publishAll(ctx, ops); err != nil {
		return nil, err
	}
	out := make([]matcher.StoredPatient, len(ps))
	err = n.forEach(ctx, ops, func(ctx context.Context, op *shardOp) error {
		rep, err := n.askAny(ctx, op.shard, shardRequest{Kind: reqResult, After: op.seq, IDs: op.ids})
		if err != nil {
			return err
		}
		if len(rep.Stored) != len(op.ids) {
			return fmt.Errorf("cluster: shard %d answered %d of %d patients", op.shard, len(rep.Stored), len(op.ids))
		}
		for i, sr := range rep.Stored {
			if sr.NotFound {
				return fmt.Errorf("cluster: shard %d: %s missing after its write at %d (written again since?)", op.shard, op.ids[i], op.seq)
			}
			out[op.slots[i]] = sr.Patient
		}
		return nil
	})
	return out, err
}

// splitBatch validates ps and cuts it into stream messages per shard.
func (n *Node) splitBatch(ps []*fm.Patient) ([]*shardOp, error) {
	seen := make(map[string]bool, len(ps))
	var ops []*shardOp
	open := map[int]*shardOp{}
	size := map[int]int{}
	for i, p := range ps {
		if err := matcher.ValidatePatient(p); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		if seen[*p.Id] {
			return nil, fmt.Errorf("%w: entry %d: id %q appears twice in one batch", matcher.ErrInvalid, i, *p.Id)
		}
		seen[*p.Id] = true
		b, err := p.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d: %v", matcher.ErrInvalid, i, err)
		}
		s := shardOf(*p.Id, n.shards)
		op := open[s]
		if op == nil || len(op.ids) >= maxOpPatients || size[s]+len(b) > maxOpBytes {
			op = &shardOp{shard: s, data: []byte(`{"upsert":[`)}
			open[s], size[s] = op, 0
			ops = append(ops, op)
		} else {
			op.data = append(op.data, ',')
		}
		op.data = append(op.data, b...)
		size[s] += len(b)
		op.slots, op.ids = append(op.slots, i), append(op.ids, *p.Id)
	}
	for _, op := range ops {
		op.data = append(op.data, "]}"...)
	}
	return ops, nil
}

// publishAll publishes ops concurrently and waits for the stream to
// acknowledge each.
func (n *Node) publishAll(ctx context.Context, ops []*shardOp) error {
	return n.forEach(ctx, ops, func(ctx context.Context, op *shardOp) error {
		seq, err := n.publish(ctx, op.shard, op.data)
		op.seq = seq
		return err
	})
}

// publish puts one write on the stream and returns its sequence once the
// stream (a quorum of its replicas) has it. A failed attempt (a NATS
// server died) is retried with the same message id, which the stream
// de-duplicates, until ctx ends.
func (n *Node) publish(ctx context.Context, shard int, data []byte) (uint64, error) {
	if n.isClosed() {
		return 0, matcher.ErrClosed
	}
	msgID := nuid.Next()
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, n.opts.RequestTimeout)
		ack, err := n.js.Publish(actx, shardSubject(shard), data, jetstream.WithMsgID(msgID))
		cancel()
		if err == nil {
			n.acked[shard].raise(ack.Sequence)
			return ack.Sequence, nil
		}
		if ctx.Err() != nil || attempt >= 20 {
			return 0, fmt.Errorf("cluster: writing to shard %d: %w", shard, err)
		}
		n.log.Warn("publish failed; retrying", "shard", shard, "attempt", attempt, "err", err)
		sleep(ctx, 100*time.Millisecond)
	}
}

// forEach runs fn for every op at once and returns the first error.
func (n *Node) forEach(ctx context.Context, ops []*shardOp, fn func(context.Context, *shardOp) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(ops))
	sem := make(chan struct{}, 32)
	for i, op := range ops {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if errs[i] = fn(ctx, op); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

// Delete removes the patient with id; ErrNotFound when no live patient had
// it (the delete is in the stream either way, and changes nothing then).
func (n *Node) Delete(ctx context.Context, id string) error {
	if !validFHIRID(id) {
		return fmt.Errorf("%w: %s", matcher.ErrNotFound, id)
	}
	data, err := json.Marshal(writeOp{Delete: id})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	s := shardOf(id, n.shards)
	seq, err := n.publish(ctx, s, data)
	if err != nil {
		return err
	}
	rep, err := n.askAny(ctx, s, shardRequest{Kind: reqResult, After: seq, IDs: []string{id}})
	if err != nil {
		return err
	}
	if len(rep.Stored) == 1 && rep.Stored[0].DeleteMissed {
		return fmt.Errorf("%w: %s", matcher.ErrNotFound, id)
	}
	return nil
}

func validFHIRID(id string) bool {
	id0 := id
	return matcher.ValidatePatient(&fm.Patient{Id: &id0}) == nil
}

// Get returns the live patient with id, or ErrNotFound.
func (n *Node) Get(ctx context.Context, id string) (matcher.StoredPatient, error) {
	s := shardOf(id, n.shards)
	rep, err := n.askAny(ctx, s, shardRequest{Kind: reqGet, After: n.acked[s].get(), IDs: []string{id}})
	if err != nil {
		return matcher.StoredPatient{}, err
	}
	if len(rep.Stored) != 1 || rep.Stored[0].NotFound {
		return matcher.StoredPatient{}, fmt.Errorf("%w: %s", matcher.ErrNotFound, id)
	}
	return rep.Stored[0].Patient, nil
}

// Match asks every shard for its best matches of q and merges them. q is
// normalized once, here (record.Record is the normalized form); every
// shard scores it with the same model and cluster-wide term frequencies,
// so a candidate scores on its shard exactly as on one engine holding all
// patients. The answer fails rather than leave out an unanswered shard.
func (n *Node) Match(ctx context.Context, q record.Record, opts matcher.MatchOptions) ([]matcher.Match, error) {
	count := opts.Count
	if count <= 0 {
		count = 10
	}
	// Each shard returns its own top count (by the engine's order, the
	// merged top count is among them). Certain-only is decided on the
	// merged list: a shard sees only its own certain matches, so it is
	// asked for up to two of them.
	so := matcher.MatchOptions{Count: count, MinGrade: opts.MinGrade, Explain: opts.Explain}
	if opts.OnlyCertain {
		so.Count, so.MinGrade = 2, scoring.GradeCertain
	}
	if opts.OnlySingle {
		so.Count = max(so.Count, 2) // the next one decides whether the best is single
	}
	answers := make([][]matcher.Match, n.shards)
	err := n.gather(ctx, shardRequest{Kind: reqMatch, Record: &q, Options: so}, func(s int, rep shardReply) { answers[s] = rep.Matches })
	if err != nil {
		return nil, err
	}
	return merge(answers, count, opts), nil
}

// merge ranks the shards' answers with the engine's one order
// (matcher.Rank: grade, then weight, then id) and applies the request's
// selection (matcher.Select), so a cluster answers as one engine would.
func merge(answers [][]matcher.Match, count int, opts matcher.MatchOptions) []matcher.Match {
	var all []matcher.Match
	for _, a := range answers {
		all = append(all, a...)
	}
	matcher.Rank(all)
	opts.Count = count
	return matcher.Select(all, opts)
}

// askAny has shard answer req: this node's replica of it when it serves
// the shard (no message), else the shard's queue group.
func (n *Node) askAny(ctx context.Context, shard int, req shardRequest) (shardReply, error) {
	n.mu.Lock()
	r := n.mu.replicas[shard]
	n.mu.Unlock()
	if r != nil && r.answering() && !n.noLocal {
		rep := r.respondWithin(ctx, req, n.opts.RequestTimeout)
		if !rep.retryElsewhere() {
			return rep, rep.error()
		}
	}
	return n.ask(ctx, shard, req)
}

// ask sends one request to a shard's queue group. When no replica answers
// in time (one just died, or none serves yet) it asks again, within ctx.
func (n *Node) ask(ctx context.Context, shard int, req shardRequest) (shardReply, error) {
	if n.isClosed() {
		return shardReply{}, matcher.ErrClosed
	}
	data, err := json.Marshal(req)
	if err != nil {
		return shardReply{}, fmt.Errorf("cluster: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 3*n.opts.RequestTimeout)
		defer cancel()
	}
	for {
		actx, cancel := context.WithTimeout(ctx, n.opts.RequestTimeout)
		m, err := n.nc.RequestWithContext(actx, querySubject(shard), data)
		cancel()
		if err == nil {
			var rep shardReply
			if err := json.Unmarshal(m.Data, &rep); err != nil {
				return shardReply{}, fmt.Errorf("cluster: shard %d: undecodable reply: %w", shard, err)
			}
			if !rep.retryElsewhere() {
				return rep, rep.error()
			}
			// A replica closing, restoring or behind: another may answer.
			err = rep.error()
		} else if !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
			return shardReply{}, fmt.Errorf("cluster: shard %d: %w", shard, err)
		}
		if ctx.Err() != nil {
			return shardReply{}, fmt.Errorf("cluster: shard %d did not answer: %w", shard, err)
		}
		sleep(ctx, 50*time.Millisecond)
	}
}

// Len is the number of live patients in the cluster.
func (n *Node) Len() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*n.opts.RequestTimeout)
	defer cancel()
	counts := make([]int, n.shards)
	err := n.gather(ctx, shardRequest{Kind: reqLen}, func(s int, rep shardReply) { counts[s] = rep.Len })
	if err != nil {
		n.log.Warn("counting patients failed", "err", err)
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	return total
}

// Ping reports whether the node is open and connected (GET /readyz).
func (n *Node) Ping(context.Context) error {
	if n.isClosed() {
		return matcher.ErrClosed
	}
	if !n.nc.IsConnected() {
		return fmt.Errorf("%w: not connected to NATS", matcher.ErrClosed)
	}
	return nil
}

func (n *Node) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mu.closed
}

// RefreshTermFrequencies counts the names of every shard's patients (one
// replica each), publishes the sum as the cluster-wide table, and returns
// its revision. Every node reopens its shard engines with it within a
// heartbeat (WaitTerms). A single engine counts its table when opened;
// this is the cluster's equivalent, run after a bulk load or now and then.
func (n *Node) RefreshTermFrequencies(ctx context.Context) (uint64, error) {
	parts := make([]*scoring.TermFrequencies, n.shards)
	err := n.gather(ctx, shardRequest{Kind: reqTerms}, func(s int, rep shardReply) { parts[s] = rep.Terms })
	if err != nil {
		return 0, err
	}
	sum := sumTerms(parts)
	b, err := json.Marshal(sum)
	if err != nil {
		return 0, fmt.Errorf("cluster: %w", err)
	}
	rev, err := n.meta.Put(ctx, keyTerms, b)
	if err != nil {
		return 0, fmt.Errorf("cluster: publishing the term frequencies: %w", err)
	}
	return rev, nil
}

// sumTerms adds the shards' name counts (nil parts skipped) into the
// cluster-wide table (scoring.TermFrequencies.Merge): each count the sum
// of the shards', as one engine holding every patient would count them.
func sumTerms(parts []*scoring.TermFrequencies) *scoring.TermFrequencies {
	sum := scoring.NewTermFrequencies()
	for _, p := range parts {
		sum.Merge(p)
	}
	return sum
}
