package grpcapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	pb "github.com/patientmatch/patientmatch/api/patientmatch/v1"
	"github.com/patientmatch/patientmatch/claims"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
)

// fakeEngine is an in-memory Engine. Match answers from matchFn when set,
// else one match per call whose ID is the normalized family name. It counts
// concurrent Match calls.
type fakeEngine struct {
	mu       sync.Mutex
	patients map[string]matcher.StoredPatient
	version  uint64
	lastRec  record.Record
	lastOpts matcher.MatchOptions

	matchFn func(ctx context.Context, r record.Record, opts matcher.MatchOptions) ([]matcher.Match, error)

	calls       atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{patients: make(map[string]matcher.StoredPatient)}
}

func (e *fakeEngine) Match(ctx context.Context, r record.Record, opts matcher.MatchOptions) ([]matcher.Match, error) {
	e.calls.Add(1)
	n := e.inFlight.Add(1)
	defer e.inFlight.Add(-1)
	for {
		m := e.maxInFlight.Load()
		if n <= m || e.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	e.mu.Lock()
	e.lastRec, e.lastOpts = r, opts
	fn := e.matchFn
	e.mu.Unlock()
	if fn != nil {
		return fn(ctx, r, opts)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return []matcher.Match{{ID: r.Family, Resource: json.RawMessage(`{"resourceType":"Patient","id":"` + r.Family + `"}`), Probability: 0.99, Weight: 20, Grade: 3}}, nil
}

func (e *fakeEngine) last() (record.Record, matcher.MatchOptions) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastRec, e.lastOpts
}

func (e *fakeEngine) Upsert(ctx context.Context, p *fm.Patient) (matcher.StoredPatient, bool, error) {
	if err := ctx.Err(); err != nil {
		return matcher.StoredPatient{}, false, err
	}
	if p.Id == nil || *p.Id == "" {
		return matcher.StoredPatient{}, false, fmt.Errorf("%w: no id", matcher.ErrInvalid)
	}
	js, err := json.Marshal(p)
	if err != nil {
		return matcher.StoredPatient{}, false, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, existed := e.patients[*p.Id]
	e.version++
	sp := matcher.StoredPatient{ID: *p.Id, Resource: js, VersionID: e.version, LastUpdated: time.Unix(1700000000, 0).UTC()}
	e.patients[*p.Id] = sp
	return sp, !existed, nil
}

func (e *fakeEngine) Get(ctx context.Context, id string) (matcher.StoredPatient, error) {
	if err := ctx.Err(); err != nil {
		return matcher.StoredPatient{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sp, ok := e.patients[id]
	if !ok {
		return sp, fmt.Errorf("get %s: %w", id, matcher.ErrNotFound)
	}
	return sp, nil
}

func (e *fakeEngine) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.patients[id]; !ok {
		return fmt.Errorf("delete %s: %w", id, matcher.ErrNotFound)
	}
	delete(e.patients, id)
	return nil
}

// fakeClaims is a ClaimsMatcher that records its request.
type fakeClaims struct {
	mu   sync.Mutex
	req  claims.Request
	resp claims.Response
	err  error
}

func (c *fakeClaims) MatchClaims(_ context.Context, req claims.Request) (claims.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.req = req
	return c.resp, c.err
}

// harness is a Server on an in-memory listener and a client of it.
type harness struct {
	srv     *Server
	stopped atomic.Bool
	conn    *grpc.ClientConn
	client  pb.PatientMatchClient
	lis     *bufconn.Listener // for raw connections to the server
}

func newHarness(t testing.TB, eng Engine, cm ClaimsMatcher, opts Options) *harness {
	t.Helper()
	srv, err := New(eng, cm, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	lis := bufconn.Listen(1 << 20)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20), grpc.MaxCallSendMsgSize(16<<20)),
	)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	h := &harness{srv: srv, conn: conn, client: pb.NewPatientMatchClient(conn), lis: lis}
	t.Cleanup(func() {
		_ = conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil && !h.stopped.Load() {
			t.Errorf("Stop: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return h
}

// stop stops the server from the test; the cleanup then checks nothing more
// of Stop.
func (h *harness) stop(ctx context.Context) error {
	h.stopped.Store(true)
	return h.srv.Stop(ctx)
}

// violationsOf returns field → description of err's BadRequest detail.
func violationsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	st := status.Convert(err)
	out := map[string]string{}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				out[fv.GetField()] = fv.GetDescription()
			}
		}
	}
	return out
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
}

// ctxT is a call context whose deadline only guards against a hang: tests
// assert what calls answer, never how fast, and a loaded machine (the race
// detector, other builds) can take many seconds over a few thousand calls.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	t.Cleanup(cancel)
	return ctx
}

// hangGuard bounds waits that end by themselves unless the code under test
// is broken; it is never a speed bound.
const hangGuard = 2 * time.Minute

// eventually waits for cond, failing with what after hangGuard.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	guard := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(guard) {
			t.Fatalf("still waiting after %v: %s", hangGuard, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// reachingEngine runs attempt with deadlines 250 ms, 500 ms, 1 s, … until
// one reports that the call reached the engine before its deadline ran
// out (on a loaded machine a short deadline can pass before the request
// is even read). Bounded by attempts, not by time.
func reachingEngine(t *testing.T, attempt func(t *testing.T, deadline time.Duration) (reached bool)) {
	t.Helper()
	for deadline := 250 * time.Millisecond; deadline <= 64*time.Second; deadline *= 2 {
		if attempt(t, deadline) || t.Failed() {
			return
		}
		t.Logf("deadline %v passed before the request reached the engine; doubling it", deadline)
	}
	t.Fatal("no attempt reached the engine before its deadline")
}
