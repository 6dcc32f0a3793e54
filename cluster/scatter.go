package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/patientmatch/patientmatch/matcher"
)

// A query asks every shard. Asking each shard's queue group separately
// cost a node holding 16 shards 16 requests, 16 decodings of the query
// and 16 replies per query, all queued on the same cores (measured: JSON
// and NATS took over half the CPU of a query at S = 16). A query is
// therefore planned per node instead: the shards this node serves are
// answered in-process, the others with one request per remote node
// carrying its shards (the membership says who serves what), and only
// what that leaves unanswered (a node that died or handed a shard over
// since its last announcement, a shard no node announces) goes to the
// shard's queue group, which any live replica answers.

// nodeRequest asks one node for the answers of several of its shards.
type nodeRequest struct {
	Request shardRequest `json:"request"`
	Shards  []int        `json:"shards"`
	// After is, per shard of Shards, the sequence the shard must have
	// applied before it answers (shardRequest.After).
	After []uint64 `json:"after"`
}

// nodeReply holds one shardReply per shard of the request, in its order.
type nodeReply struct {
	Replies []shardReply `json:"replies"`
}

// codeNotServing: the node asked does not serve the shard (any more); the
// asker asks the shard's queue group instead.
// codeBehind: this node's replica had not applied the write asked for
// within the request timeout; the asker asks the shard's queue group.
const (
	codeNotServing = "not_serving"
	codeBehind     = "behind"
)

func nodeSubject(id string) string { return nodeQuerySubjectPrefix + id }

// routes is what the membership says about who serves which shard:
// for each shard, the other nodes announcing it as serving.
type routes map[int][]string

// readRoutes reads every live node's announcement (but this node's).
func (n *Node) readRoutes(ctx context.Context, keys []string) routes {
	rt := routes{}
	for _, k := range keys {
		if k == n.id {
			continue
		}
		e, err := n.nodes.Get(ctx, k)
		if err != nil {
			continue // left since listed
		}
		var ne nodeEntry
		if err := json.Unmarshal(e.Value(), &ne); err != nil {
			n.log.Warn("undecodable membership entry", "node", k, "err", err)
			continue
		}
		for ks := range ne.Serving {
			if s, err := strconv.Atoi(ks); err == nil {
				rt[s] = append(rt[s], k)
			}
		}
	}
	return rt
}

// queryPlan says who answers each shard of a query.
type queryPlan struct {
	local  map[int]*replica
	remote map[string][]int // node id → its shards
	group  []int            // asked through the shard's queue group
}

// plan answers from this node every shard it serves, covers the rest with
// as few remote nodes as the membership allows (ties broken at random, so
// the load spreads over a shard's replicas), and leaves to the queue
// groups the shards no node announces.
func (n *Node) plan() queryPlan {
	p := queryPlan{local: map[int]*replica{}, remote: map[string][]int{}}
	n.mu.Lock()
	var rest []int
	for s := range n.shards {
		if r := n.mu.replicas[s]; r != nil && r.answering() && !n.noLocal {
			p.local[s] = r
		} else {
			rest = append(rest, s)
		}
	}
	rt := n.mu.routes
	n.mu.Unlock()
	salt := rand.Uint64()
	for len(rest) > 0 {
		count := map[string]int{}
		for _, s := range rest {
			for _, id := range rt[s] {
				count[id]++
			}
		}
		best, bestN, bestH := "", 0, uint64(0)
		for id, c := range count {
			if h := tieBreak(id, salt); c > bestN || c == bestN && h < bestH {
				best, bestN, bestH = id, c, h
			}
		}
		if best == "" {
			p.group = rest
			break
		}
		rest = slices.DeleteFunc(rest, func(s int) bool {
			if slices.Contains(rt[s], best) {
				p.remote[best] = append(p.remote[best], s)
				return true
			}
			return false
		})
	}
	return p
}

func tieBreak(id string, salt uint64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64() ^ salt
}

// gather answers req for every shard, each answer passed to keep (called
// from several goroutines, once per shard). The first error wins; a shard
// that goes unanswered is an error, never left out.
func (n *Node) gather(ctx context.Context, req shardRequest, keep func(int, shardReply)) error {
	if n.isClosed() {
		return matcher.ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := n.plan()
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	fail := func(err error) {
		errMu.Lock()
		if first == nil || errors.Is(first, context.Canceled) {
			first = err
		}
		errMu.Unlock()
		cancel()
	}
	// A shard a replica could not answer (closed or handed over meanwhile)
	// goes to its queue group.
	viaGroup := func(s int) {
		rep, err := n.ask(ctx, s, n.withAfter(req, s))
		if err != nil {
			fail(err)
			return
		}
		keep(s, rep)
	}
	settle := func(s int, rep shardReply) {
		switch {
		case rep.retryElsewhere():
			viaGroup(s)
		case rep.Err != "":
			fail(rep.error())
		default:
			keep(s, rep)
		}
	}
	for id, shards := range p.remote {
		wg.Go(func() {
			reps, err := n.askNode(ctx, id, req, shards)
			for i, s := range shards {
				if err != nil {
					viaGroup(s)
				} else {
					settle(s, reps[i])
				}
			}
		})
	}
	for _, s := range p.group {
		wg.Go(func() { viaGroup(s) })
	}
	local := slices.Sorted(maps.Keys(p.local))
	answerEach(ctx, n.opts.RequestTimeout, local, p.local, func(s int) shardRequest { return n.withAfter(req, s) }, settle)
	wg.Wait()
	return first
}

// withAfter is req with the read-your-writes sequence of shard s.
func (n *Node) withAfter(req shardRequest, s int) shardRequest {
	req.After = max(req.After, n.acked[s].get())
	return req
}

// answerEach has this node's replicas answer their shards, reqFor(s) for
// shard s, spread over at most as many goroutines as the process has
// cores (the calling one among them): more would only queue on the cores.
func answerEach(ctx context.Context, timeout time.Duration, shards []int, reps map[int]*replica, reqFor func(int) shardRequest, settle func(int, shardReply)) {
	if len(shards) == 0 {
		return
	}
	next := make(chan int, len(shards))
	for _, s := range shards {
		next <- s
	}
	close(next)
	work := func() {
		for s := range next {
			settle(s, reps[s].respondWithin(ctx, reqFor(s), timeout))
		}
	}
	var wg sync.WaitGroup
	for range min(len(shards), runtime.GOMAXPROCS(0)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}

// askNode sends req for shards to node id in one request and returns its
// replies, one per shard. An error means no reply (the node is gone or
// too slow): the caller asks the shards' queue groups instead.
func (n *Node) askNode(ctx context.Context, id string, req shardRequest, shards []int) ([]shardReply, error) {
	nr := nodeRequest{Request: req, Shards: shards, After: make([]uint64, len(shards))}
	for i, s := range shards {
		nr.After[i] = n.acked[s].get()
	}
	data, err := json.Marshal(nr)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	actx, cancel := context.WithTimeout(ctx, n.opts.RequestTimeout)
	defer cancel()
	m, err := n.nc.RequestWithContext(actx, nodeSubject(id), data)
	if err != nil {
		return nil, fmt.Errorf("cluster: node %s: %w", id, err)
	}
	var rep nodeReply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		return nil, fmt.Errorf("cluster: node %s: undecodable reply: %w", id, err)
	}
	if len(rep.Replies) != len(shards) {
		return nil, fmt.Errorf("cluster: node %s answered %d of %d shards", id, len(rep.Replies), len(shards))
	}
	return rep.Replies, nil
}

// handleNode answers a nodeRequest: each shard this node serves answers as
// it would alone; the others are marked not served, for the asker to ask
// their queue groups.
func (n *Node) handleNode(m *nats.Msg) {
	n.slots <- struct{}{}
	go func() {
		defer func() { <-n.slots }()
		ctx, cancel := context.WithTimeout(context.Background(), n.opts.RequestTimeout)
		defer cancel()
		var nr nodeRequest
		var out nodeReply
		if err := json.Unmarshal(m.Data, &nr); err != nil || len(nr.After) != len(nr.Shards) {
			out.Replies = []shardReply{errorReply(fmt.Errorf("%w: undecodable node request: %v", matcher.ErrInvalid, err))}
		} else {
			out.Replies = n.answerNode(ctx, nr)
		}
		b, err := json.Marshal(out)
		if err != nil {
			b, _ = json.Marshal(nodeReply{Replies: []shardReply{errorReply(fmt.Errorf("encoding the reply: %w", err))}})
		}
		if err := m.Respond(b); err != nil {
			n.log.Debug("reply not sent", "err", err)
		}
	}()
}

func (n *Node) answerNode(ctx context.Context, nr nodeRequest) []shardReply {
	out := make([]shardReply, len(nr.Shards))
	reps := map[int]*replica{}
	after := map[int]uint64{}
	pos := map[int]int{}
	var mine []int
	n.mu.Lock()
	for i, s := range nr.Shards {
		pos[s], after[s] = i, nr.After[i]
		if r := n.mu.replicas[s]; r != nil && r.answering() {
			reps[s] = r
			mine = append(mine, s)
		} else {
			out[i] = shardReply{Code: codeNotServing, Err: "not serving shard " + strconv.Itoa(s)}
		}
	}
	n.mu.Unlock()
	reqFor := func(s int) shardRequest {
		req := nr.Request
		req.After = after[s]
		return req
	}
	// Each shard writes its own slot of out.
	answerEach(ctx, n.opts.RequestTimeout, mine, reps, reqFor, func(s int, rep shardReply) { out[pos[s]] = rep })
	return out
}
