package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// Names of the JetStream objects a cluster is made of. One cluster per
// NATS account.
const (
	// streamName is the replicated log of every write.
	streamName = "PATIENTS"
	// subjectPrefix + shard number is the subject of a shard's writes.
	subjectPrefix = "patients."
	// metaBucket holds the cluster's fixed settings (shard count) and the
	// cluster-wide model and term-frequency tables, versioned by revision.
	metaBucket = "patientmatch_meta"
	// nodesBucket holds one entry per live node, kept alive by a TTL.
	nodesBucket = "patientmatch_nodes"
	// querySubjectPrefix + shard number is the request-reply subject a
	// shard's replicas answer, as one queue group.
	querySubjectPrefix = "patientmatch.shard."
	// nodeQuerySubjectPrefix + node id is the request-reply subject on
	// which a node answers for several of its shards at once (scatter.go).
	nodeQuerySubjectPrefix = "patientmatch.node."

	keyConfig = "config"
	keyTerms  = "terms"
	keyModel  = "model"
)

// shardOf is the shard of a patient id: FNV-1a of the id modulo the
// cluster's shard count.
func shardOf(id string, shards int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(shards))
}

func shardSubject(s int) string { return subjectPrefix + strconv.Itoa(s) }
func querySubject(s int) string { return querySubjectPrefix + strconv.Itoa(s) }

// clusterConfig is what is fixed when the cluster is created.
type clusterConfig struct {
	Shards int `json:"shards"`
}

// writeOp is one message of the stream: the upserts of one shard's part of
// a caller's batch, or one delete. A message is applied as a whole.
type writeOp struct {
	Upsert []json.RawMessage `json:"upsert,omitempty"`
	Delete string            `json:"delete,omitempty"`
	// Trim marks where the shard's subject is trimmed (snapshot.go): the
	// messages before this one may be purged once a snapshot holds them.
	Trim *trimMark `json:"trim,omitempty"`
}

// trimMark is published (expecting the subject's last sequence to be
// Prev, so nothing slips in between) before a snapshot that covers it;
// then the shard's messages before the mark are purged. A replica that
// reaches the mark having applied less than Prev missed purged writes,
// and restores the snapshot instead (the ordered consumer does not see a
// purge as a gap: it counts deliveries, not stream sequences).
type trimMark struct {
	Prev uint64 `json:"prev"`
}

// Request kinds a shard answers.
const (
	reqMatch  = "match"
	reqGet    = "get"
	reqResult = "result"
	reqLen    = "len"
	reqTerms  = "terms"
)

// shardRequest is a request to one shard, answered by one of its replicas.
type shardRequest struct {
	Kind string `json:"kind"`
	// After is a stream sequence the replica must have applied before it
	// answers (read-your-writes); 0 for no wait.
	After uint64 `json:"after,omitempty"`
	// Record is the normalized query (reqMatch): normalized once, by the
	// node that took the request.
	Record *record.Record `json:"record,omitempty"`
	// Options of the shard's Engine.Match (reqMatch).
	Options matcher.MatchOptions `json:"options"`
	// IDs are the patients to read (reqGet, reqResult).
	IDs []string `json:"ids,omitempty"`
}

// shardReply is a shard's answer. Err carries a classified error.
type shardReply struct {
	Err     string                   `json:"err,omitempty"`
	Code    string                   `json:"code,omitempty"`
	Matches []matcher.Match          `json:"matches,omitempty"`
	Stored  []storedReply            `json:"stored,omitempty"`
	Len     int                      `json:"len,omitempty"`
	Terms   *scoring.TermFrequencies `json:"terms,omitempty"`
	Applied uint64                   `json:"applied,omitempty"`
	Node    string                   `json:"node,omitempty"`
}

// storedReply is one patient of a reqGet or reqResult answer.
type storedReply struct {
	Patient  matcher.StoredPatient `json:"patient"`
	NotFound bool                  `json:"not_found,omitempty"`
	// DeleteMissed: the delete at the asked sequence found no live patient.
	DeleteMissed bool `json:"delete_missed,omitempty"`
}

// Error codes of shardReply, mapped back to the engine's sentinels so the
// API boundaries classify cluster errors exactly as single-node ones.
const (
	codeNotFound = "not_found"
	codeInvalid  = "invalid"
	codeClosed   = "closed"
)

func errorReply(err error) shardReply {
	r := shardReply{Err: err.Error()}
	switch {
	case errors.Is(err, matcher.ErrNotFound):
		r.Code = codeNotFound
	case errors.Is(err, matcher.ErrInvalid):
		r.Code = codeInvalid
	case errors.Is(err, matcher.ErrClosed):
		r.Code = codeClosed
	}
	return r
}

// replyError turns a shard's error back into an error wrapping the
// engine's sentinel.
func (r shardReply) error() error {
	if r.Err == "" {
		return nil
	}
	switch r.Code {
	case codeNotFound:
		return fmt.Errorf("%w: %s", matcher.ErrNotFound, r.Err)
	case codeInvalid:
		return fmt.Errorf("%w: %s", matcher.ErrInvalid, r.Err)
	case codeClosed:
		return fmt.Errorf("%w: %s", matcher.ErrClosed, r.Err)
	}
	return fmt.Errorf("cluster: shard: %s", r.Err)
}
