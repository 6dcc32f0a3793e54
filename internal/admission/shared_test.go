package admission_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/patientmatch/patientmatch/api/patientmatch/v1"
	"github.com/patientmatch/patientmatch/fhir"
	"github.com/patientmatch/patientmatch/grpcapi"
	"github.com/patientmatch/patientmatch/internal/admission"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
)

// gatedEngine answers Match with nothing, once its gate is open; entered
// tells that a Match is running.
type gatedEngine struct {
	entered chan struct{}
	gate    chan struct{}
}

func (e *gatedEngine) Match(ctx context.Context, _ record.Record, _ matcher.MatchOptions) ([]matcher.Match, error) {
	select {
	case e.entered <- struct{}{}:
	default:
	}
	select {
	case <-e.gate:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
func (e *gatedEngine) Upsert(context.Context, *fm.Patient) (matcher.StoredPatient, bool, error) {
	return matcher.StoredPatient{}, false, matcher.ErrInvalid
}
func (e *gatedEngine) UpsertBatch(context.Context, []*fm.Patient) ([]matcher.StoredPatient, error) {
	return nil, matcher.ErrInvalid
}
func (e *gatedEngine) Get(context.Context, string) (matcher.StoredPatient, error) {
	return matcher.StoredPatient{}, matcher.ErrNotFound
}
func (e *gatedEngine) Delete(context.Context, string) error { return matcher.ErrNotFound }
func (e *gatedEngine) Len() int                             { return 0 }

// refusalGuard bounds the wait for a refusal while the slot is held: a
// hang guard far beyond the limiter's 10 ms wait, not a speed bound: the
// second bound it replaces also timed the gRPC client's first connection
// and the race detector on a shared 2-core machine.
const refusalGuard = time.Minute

const matchBody = `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","name":[{"family":"Smith","given":["Maria"]}],"birthDate":"1984-03-14"}}]}`

// TestSharedBound holds the one slot of a limiter shared by the HTTP and
// the gRPC server with a $match that cannot finish, then checks that both
// surfaces refuse further work quickly and in their own terms, while
// health checks still answer; and that work is admitted again once the
// slot is free.
func TestSharedBound(t *testing.T) {
	lim, err := admission.New(admission.Options{MaxInFlight: 1, MaxWaiting: 1, Wait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	eng := &gatedEngine{entered: make(chan struct{}, 1), gate: make(chan struct{})}
	hs, err := fhir.NewServer(eng, fhir.Options{Admission: lim})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(hs.Handler())
	defer ts.Close()
	gs, err := grpcapi.New(eng, nil, grpcapi.Options{Admission: lim})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop(context.Background())
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pb.NewPatientMatchClient(conn)

	match := func(ctx context.Context) *http.Response {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/fhir/Patient/$match", strings.NewReader(matchBody))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/fhir+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	held := make(chan int, 1)
	go func() {
		resp := match(context.Background())
		resp.Body.Close()
		held <- resp.StatusCode
	}()
	<-eng.entered // the slot is taken

	// The slot stays taken until the gate opens below, so an answer at all
	// is an answer that did not wait for the slot. refusalGuard only turns
	// a request that waits for it into a failure rather than a hang; how
	// fast a refusal is belongs to the benchmarks (bench/README.md).
	ctx, cancel := context.WithTimeout(context.Background(), refusalGuard)
	defer cancel()
	resp := match(ctx)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("HTTP over the bound: %d, Retry-After %q; want 503, 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var oo fm.OperationOutcome
	if err := json.Unmarshal(body, &oo); err != nil || len(oo.Issue) == 0 || oo.Issue[0].Code != fm.IssueTypeThrottled {
		t.Errorf("HTTP refusal body is not a throttled OperationOutcome: %s", body)
	}

	var trailer metadata.MD
	_, err = client.Match(ctx, &pb.MatchRequest{Subject: &pb.MatchRequest_Demographics{Demographics: &pb.Demographics{Family: "Smith", Given: []string{"Maria"}, BirthDate: "1984-03-14"}}}, grpc.Trailer(&trailer))
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("gRPC over the bound: %v, want RESOURCE_EXHAUSTED", err)
	}
	if got := trailer.Get("retry-after"); len(got) != 1 || got[0] != "1" {
		t.Errorf("gRPC retry-after trailer %v, want [1]", got)
	}

	if r, err := http.Get(ts.URL + "/healthz"); err != nil || r.StatusCode != http.StatusOK {
		t.Errorf("healthz under load: %v %v", r, err)
	} else {
		r.Body.Close()
	}

	close(eng.gate)
	if code := <-held; code != http.StatusOK {
		t.Errorf("the held $match answered %d", code)
	}
	resp = match(context.Background())
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after the slot is free: %d, want 200", resp.StatusCode)
	}
}
