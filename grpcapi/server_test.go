package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/patientmatch/patientmatch/api/patientmatch/v1"
	"github.com/patientmatch/patientmatch/authn"
	"github.com/patientmatch/patientmatch/claims"
	"github.com/patientmatch/patientmatch/internal/syncbuf"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

func TestMatchDemographics(t *testing.T) {
	eng := newFakeEngine()
	eng.matchFn = func(_ context.Context, r record.Record, _ matcher.MatchOptions) ([]matcher.Match, error) {
		return []matcher.Match{
			{ID: "p1", Resource: []byte(`{"resourceType":"Patient","id":"p1"}`), Probability: 0.97, Weight: 18.5, Grade: scoring.GradeCertain,
				Explanation: []scoring.ComparisonResult{{Comparison: "family_name", Level: "exact", LevelIndex: 0, Weight: 9.25}}},
			{ID: "p2", Resource: []byte(`{"resourceType":"Patient","id":"p2"}`), Probability: 0.4, Weight: 2, Grade: scoring.GradePossible, Cap: scoring.CapTwins},
		}, nil
	}
	h := newHarness(t, eng, nil, Options{})
	resp, err := h.client.Match(ctxT(t), &pb.MatchRequest{
		Subject: &pb.MatchRequest_Demographics{Demographics: &pb.Demographics{
			Family: "Smith", Given: []string{"John", "Adam"}, BirthDate: "1985-02-03", Sex: pb.Sex_SEX_MALE,
			Address:     &pb.Address{Lines: []string{"12 Main St"}, City: "Springfield"},
			Identifiers: []*pb.Identifier{{System: "http://hl7.org/fhir/sid/us-ssn", Value: "536-22-8147"}},
		}},
		Count: 5, OnlyCertain: true, Explain: true, MinGrade: pb.Grade_GRADE_PROBABLE,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec, opts := eng.last()
	if rec.Family != "smith" || rec.Given != "john" || rec.BirthDate.Year != 1985 || rec.BirthDate.Day != 3 || len(rec.Identifiers) != 1 {
		t.Errorf("engine got record %+v", rec)
	}
	if want := (matcher.MatchOptions{Count: 5, OnlyCertain: true, Explain: true, MinGrade: scoring.GradeProbable}); opts != want {
		t.Errorf("engine got options %+v, want %+v", opts, want)
	}
	if len(resp.Matches) != 2 {
		t.Fatalf("got %d matches, want 2", len(resp.Matches))
	}
	m := resp.Matches[0]
	if m.Id != "p1" || m.Probability != 0.97 || m.Weight != 18.5 || m.Grade != pb.Grade_GRADE_CERTAIN || !strings.Contains(m.ResourceJson, `"id":"p1"`) {
		t.Errorf("match 0 = %v", m)
	}
	if len(m.Explanation) != 1 || m.Explanation[0].Comparison != "family_name" || m.Explanation[0].Weight != 9.25 {
		t.Errorf("explanation = %v", m.Explanation)
	}
	if resp.Matches[1].Grade != pb.Grade_GRADE_POSSIBLE || resp.Matches[1].Explanation != nil {
		t.Errorf("match 1 = %v", resp.Matches[1])
	}
	if m.Cap != "" || resp.Matches[1].Cap != "twins" {
		t.Errorf("caps %q, %q; want none for p1 and twins for p2", m.Cap, resp.Matches[1].Cap)
	}
	// The cap belongs to the explanation: without explain it is not sent.
	resp, err = h.client.Match(ctxT(t), &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "Smith"})})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Matches) != 2 || resp.Matches[1].Cap != "" {
		t.Errorf("without explain: matches %v, want p2 without its cap", resp.Matches)
	}
}

func TestMatchPatientJSON(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, nil, Options{})
	resp, err := h.client.Match(ctxT(t), &pb.MatchRequest{Subject: &pb.MatchRequest_PatientJson{
		PatientJson: `{"resourceType":"Patient","name":[{"family":"Okafor","given":["Chidi"]}],"birthDate":"1990-07-01"}`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := eng.last()
	if rec.Family != "okafor" || rec.BirthDate.Year != 1990 {
		t.Errorf("engine got %+v", rec)
	}
	if len(resp.Matches) != 1 || resp.Matches[0].Id != "okafor" {
		t.Errorf("matches = %v", resp.Matches)
	}
}

// TestMatchCountCapsAnswer: count reaches the engine, whose selection
// (matcher.Select, applied by the fake as by the engine) caps the answer.
func TestMatchCountCapsAnswer(t *testing.T) {
	eng := newFakeEngine()
	var gotCount []int
	eng.matchFn = func(_ context.Context, _ record.Record, opts matcher.MatchOptions) ([]matcher.Match, error) {
		gotCount = append(gotCount, opts.Count)
		ms := make([]matcher.Match, 7)
		for i := range ms {
			ms[i] = matcher.Match{ID: fmt.Sprint("p", i)}
		}
		return matcher.Select(ms, opts), nil
	}
	h := newHarness(t, eng, nil, Options{})
	for _, tc := range []struct{ count, want int }{{0, 7}, {3, 3}, {10, 7}} {
		resp, err := h.client.Match(ctxT(t), &pb.MatchRequest{
			Subject: &pb.MatchRequest_Demographics{Demographics: &pb.Demographics{Family: "x"}}, Count: int32(tc.count)})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Matches) != tc.want {
			t.Errorf("count %d: %d matches, want %d", tc.count, len(resp.Matches), tc.want)
		}
		if n := len(gotCount); n == 0 || gotCount[n-1] != tc.count {
			t.Errorf("count %d: engine asked with %v", tc.count, gotCount)
		}
	}
}

func demo(d *pb.Demographics) *pb.MatchRequest_Demographics {
	return &pb.MatchRequest_Demographics{Demographics: d}
}

func TestInvalidArgument(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, nil, Options{MaxCount: 50})
	ok := &pb.Demographics{Family: "Smith"}
	type call func(ctx context.Context) error
	match := func(req *pb.MatchRequest) call {
		return func(ctx context.Context) error { _, err := h.client.Match(ctx, req); return err }
	}
	cases := []struct {
		name string
		call call
		want []string // fields with violations
	}{
		{"no subject", match(&pb.MatchRequest{}), []string{"subject"}},
		{"empty demographics", match(&pb.MatchRequest{Subject: demo(&pb.Demographics{})}), []string{"demographics"}},
		{"bad birth date", match(&pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x", BirthDate: "03/02/1985"})}), []string{"demographics.birth_date"}},
		{"unknown sex", match(&pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x", Sex: 99})}), []string{"demographics.sex"}},
		{"identifier without value", match(&pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x",
			Identifiers: []*pb.Identifier{{Value: "A1234"}, {System: "s", Value: " "}}})}), []string{"demographics.identifiers[1].value"}},
		{"negative count", match(&pb.MatchRequest{Subject: demo(ok), Count: -1}), []string{"count"}},
		{"count too large", match(&pb.MatchRequest{Subject: demo(ok), Count: 51}), []string{"count"}},
		{"unknown grade", match(&pb.MatchRequest{Subject: demo(ok), MinGrade: 7}), []string{"min_grade"}},
		{"all at once", match(&pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x", BirthDate: "1985/2/3"}), Count: -2, MinGrade: 9}),
			[]string{"demographics.birth_date", "count", "min_grade"}},
		{"patient json not json", match(&pb.MatchRequest{Subject: &pb.MatchRequest_PatientJson{PatientJson: "{nope"}}), []string{"patient_json"}},
		{"patient json wrong type", match(&pb.MatchRequest{Subject: &pb.MatchRequest_PatientJson{PatientJson: `{"resourceType":"Observation"}`}}), []string{"patient_json"}},
		{"patient json empty", match(&pb.MatchRequest{Subject: &pb.MatchRequest_PatientJson{PatientJson: " "}}), []string{"patient_json"}},
		{"upsert empty", func(ctx context.Context) error { _, err := h.client.Upsert(ctx, &pb.UpsertRequest{}); return err }, []string{"patient_json"}},
		{"upsert no id", func(ctx context.Context) error {
			_, err := h.client.Upsert(ctx, &pb.UpsertRequest{PatientJson: `{"resourceType":"Patient"}`})
			return err
		}, []string{"patient_json.id"}},
		{"upsert bad id", func(ctx context.Context) error {
			_, err := h.client.Upsert(ctx, &pb.UpsertRequest{PatientJson: `{"resourceType":"Patient","id":"a/b"}`})
			return err
		}, []string{"patient_json.id"}},
		{"get no id", func(ctx context.Context) error { _, err := h.client.Get(ctx, &pb.GetRequest{}); return err }, []string{"id"}},
		{"get bad id", func(ctx context.Context) error {
			_, err := h.client.Get(ctx, &pb.GetRequest{Id: strings.Repeat("a", 65)})
			return err
		}, []string{"id"}},
		{"delete bad id", func(ctx context.Context) error {
			_, err := h.client.Delete(ctx, &pb.DeleteRequest{Id: "../x"})
			return err
		}, []string{"id"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := eng.calls.Load()
			err := tc.call(ctxT(t))
			wantCode(t, err, codes.InvalidArgument)
			got := violationsOf(t, err)
			if len(got) != len(tc.want) {
				t.Errorf("violations = %v, want fields %v", got, tc.want)
			}
			for _, f := range tc.want {
				if got[f] == "" {
					t.Errorf("no violation for %q in %v", f, got)
				}
			}
			if eng.calls.Load() != before {
				t.Errorf("engine called for an invalid request")
			}
		})
	}
}

func TestEngineErrors(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, nil, Options{})
	for _, tc := range []struct {
		err   error
		want  codes.Code
		field string
	}{
		{fmt.Errorf("%w: nothing to match on", matcher.ErrInvalid), codes.InvalidArgument, "demographics"},
		{fmt.Errorf("wrapped: %w", matcher.ErrClosed), codes.Unavailable, ""},
		{errors.New("disk on fire at /secret/path"), codes.Internal, ""},
		{fmt.Errorf("x: %w", matcher.ErrNotFound), codes.NotFound, ""},
	} {
		eng.matchFn = func(context.Context, record.Record, matcher.MatchOptions) ([]matcher.Match, error) {
			return nil, tc.err
		}
		_, err := h.client.Match(ctxT(t), &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x"})})
		wantCode(t, err, tc.want)
		if tc.field != "" && violationsOf(t, err)[tc.field] == "" {
			t.Errorf("%v: no violation on %q: %v", tc.err, tc.field, violationsOf(t, err))
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("internal cause leaked to the caller: %v", err)
		}
	}
}

func TestUpsertGetDelete(t *testing.T) {
	h := newHarness(t, newFakeEngine(), nil, Options{})
	ctx := ctxT(t)
	pj := `{"resourceType":"Patient","id":"pat-1","name":[{"family":"Nguyen"}]}`
	up, err := h.client.Upsert(ctx, &pb.UpsertRequest{PatientJson: pj})
	if err != nil {
		t.Fatal(err)
	}
	if !up.Created || up.Patient.Id != "pat-1" || up.Patient.VersionId == 0 || !strings.Contains(up.Patient.ResourceJson, "Nguyen") {
		t.Errorf("first upsert = %v", up)
	}
	if got := up.Patient.LastUpdated.AsTime(); !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("last_updated = %v", got)
	}
	up2, err := h.client.Upsert(ctx, &pb.UpsertRequest{PatientJson: pj})
	if err != nil {
		t.Fatal(err)
	}
	if up2.Created || up2.Patient.VersionId <= up.Patient.VersionId {
		t.Errorf("second upsert = %v", up2)
	}
	got, err := h.client.Get(ctx, &pb.GetRequest{Id: "pat-1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Patient.Id != "pat-1" || got.Patient.VersionId != up2.Patient.VersionId {
		t.Errorf("get = %v", got)
	}
	if _, err := h.client.Delete(ctx, &pb.DeleteRequest{Id: "pat-1"}); err != nil {
		t.Fatal(err)
	}
	_, err = h.client.Get(ctx, &pb.GetRequest{Id: "pat-1"})
	wantCode(t, err, codes.NotFound)
	_, err = h.client.Delete(ctx, &pb.DeleteRequest{Id: "pat-1"})
	wantCode(t, err, codes.NotFound)
}

func TestMatchClaims(t *testing.T) {
	fc := &fakeClaims{resp: claims.Response{
		Decision: claims.DecisionMatch, Patient: "Patient/p1", FHIRUser: "https://mpi.example/fhir/Patient/p1",
		Score: 0.999, Grade: "certain", ACR: "urn:mace:incommon:iap:silver", LinkStatus: claims.LinkCreated,
		Candidates: []claims.Candidate{{Patient: "Patient/p1", Score: 0.999, Grade: "certain"}, {Patient: "Patient/p9", Score: 0.3, Grade: "possible"}},
	}}
	h := newHarness(t, newFakeEngine(), fc, Options{})
	st, err := structpb.NewStruct(map[string]any{
		"given_name": "Ana", "family_name": "Silva", "birthdate": "1970-01-02",
		"email": "ana@example.org", "email_verified": "false", // a string boolean, as Cognito sends
		"address":       map[string]any{"street_address": "1 Rua A", "locality": "Lisboa"},
		"unknown_claim": 42,
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.client.MatchClaims(ctxT(t), &pb.MatchClaimsRequest{Identity: &pb.MatchClaimsRequest_Claims{Claims: st}, Link: true})
	if err != nil {
		t.Fatal(err)
	}
	req := fc.req
	if req.Claims == nil || req.Claims.GivenName != "Ana" || req.Claims.FamilyName != "Silva" || req.Claims.Birthdate != "1970-01-02" ||
		req.Claims.EmailVerified == nil || bool(*req.Claims.EmailVerified) || req.Claims.Address == nil || req.Claims.Address.Locality != "Lisboa" ||
		!req.Link || req.IDToken != "" {
		t.Errorf("claims service got %+v (claims %+v)", req, req.Claims)
	}
	if resp.Decision != pb.Decision_DECISION_MATCH || resp.Patient != "Patient/p1" || resp.FhirUser == "" || resp.Grade != pb.Grade_GRADE_CERTAIN ||
		resp.Acr == "" || resp.LinkStatus != "created" || len(resp.Candidates) != 2 || resp.Candidates[1].Grade != pb.Grade_GRADE_POSSIBLE {
		t.Errorf("response = %v", resp)
	}

	if _, err := h.client.MatchClaims(ctxT(t), &pb.MatchClaimsRequest{Identity: &pb.MatchClaimsRequest_IdToken{IdToken: "a.b.c"}}); err != nil {
		t.Fatal(err)
	}
	if fc.req.IDToken != "a.b.c" || fc.req.Claims != nil || fc.req.Link {
		t.Errorf("claims service got %+v", fc.req)
	}
}

func TestMatchClaimsErrors(t *testing.T) {
	fc := &fakeClaims{}
	h := newHarness(t, newFakeEngine(), fc, Options{})
	tok := &pb.MatchClaimsRequest{Identity: &pb.MatchClaimsRequest_IdToken{IdToken: "a.b.c"}}
	badType, _ := structpb.NewStruct(map[string]any{"given_name": []any{"x"}})
	for _, tc := range []struct {
		name  string
		req   *pb.MatchClaimsRequest
		err   error
		want  codes.Code
		field string
	}{
		{"invalid token", tok, fmt.Errorf("%w: kid unknown for issuer https://idp", claims.ErrInvalidToken), codes.Unauthenticated, ""},
		{"bad request", tok, claims.ErrNoDemographics, codes.InvalidArgument, "id_token"},
		{"engine invalid", tok, matcher.ErrInvalid, codes.InvalidArgument, "id_token"},
		{"internal", tok, errors.New("boom"), codes.Internal, ""},
		{"no identity", &pb.MatchClaimsRequest{}, nil, codes.InvalidArgument, "identity"},
		{"empty token", &pb.MatchClaimsRequest{Identity: &pb.MatchClaimsRequest_IdToken{}}, nil, codes.InvalidArgument, "id_token"},
		{"claim of wrong type", &pb.MatchClaimsRequest{Identity: &pb.MatchClaimsRequest_Claims{Claims: badType}}, nil, codes.InvalidArgument, "claims"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc.err = tc.err
			_, err := h.client.MatchClaims(ctxT(t), tc.req)
			wantCode(t, err, tc.want)
			if tc.field != "" && violationsOf(t, err)[tc.field] == "" {
				t.Errorf("no violation on %q: %v", tc.field, err)
			}
			if tc.want == codes.Unauthenticated && status.Convert(err).Message() != "invalid_token" {
				t.Errorf("token failure discloses %q", status.Convert(err).Message())
			}
		})
	}

	// No claims matcher configured.
	h2 := newHarness(t, newFakeEngine(), nil, Options{})
	_, err := h2.client.MatchClaims(ctxT(t), tok)
	wantCode(t, err, codes.Unimplemented)
}

func TestAuthorize(t *testing.T) {
	type seen struct {
		method, token string
		write         bool
	}
	var last seen
	var verdict error
	opts := Options{Authorize: func(ctx context.Context, method string) error {
		tok, _ := BearerToken(ctx)
		last = seen{method, tok, IsWrite(method)}
		return verdict
	}}
	h := newHarness(t, newFakeEngine(), nil, opts)
	withToken := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer tok123")
	for _, tc := range []struct {
		verdict error
		want    codes.Code
	}{
		{nil, codes.NotFound}, // allowed through to the engine
		{fmt.Errorf("scope: %w", authn.ErrForbidden), codes.PermissionDenied},
		{fmt.Errorf("hook: %w", ErrPermissionDenied), codes.PermissionDenied},
		{fmt.Errorf("%w: expired", authn.ErrUnauthenticated), codes.Unauthenticated},
		{errors.New("anything else"), codes.Unauthenticated},
		{status.Error(codes.ResourceExhausted, "rate limited"), codes.ResourceExhausted},
	} {
		verdict = tc.verdict
		_, err := h.client.Get(withToken, &pb.GetRequest{Id: "nobody"})
		wantCode(t, err, tc.want)
		if tc.verdict != nil && strings.Contains(err.Error(), "expired") {
			t.Errorf("reason leaked: %v", err)
		}
	}
	if last != (seen{pb.PatientMatch_Get_FullMethodName, "tok123", false}) {
		t.Errorf("hook saw %+v", last)
	}
	verdict = nil
	if _, err := h.client.Delete(withToken, &pb.DeleteRequest{Id: "x"}); status.Code(err) != codes.NotFound {
		t.Fatal(err)
	}
	if !last.write || last.method != pb.PatientMatch_Delete_FullMethodName {
		t.Errorf("hook saw %+v for Delete", last)
	}
	// Streams are authorized too.
	verdict = ErrPermissionDenied
	stream, err := h.client.MatchStream(withToken)
	if err != nil {
		t.Fatal(err)
	}
	_, err = stream.Recv()
	wantCode(t, err, codes.PermissionDenied)
	// Health checks are not behind the hook.
	verdict = errors.New("no")
	if _, err := healthpb.NewHealthClient(h.conn).Check(ctxT(t), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health check refused: %v", err)
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		md   []string
		want string
		ok   bool
	}{
		{nil, "", false},
		{[]string{"authorization", "Bearer abc"}, "abc", true},
		{[]string{"authorization", "bearer   abc "}, "abc", true},
		{[]string{"authorization", "Basic abc"}, "", false},
		{[]string{"authorization", "Bearer "}, "", false},
	} {
		ctx := context.Background()
		if tc.md != nil {
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(tc.md...))
		}
		got, ok := BearerToken(ctx)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%v: got %q %v, want %q %v", tc.md, got, ok, tc.want, tc.ok)
		}
	}
}

func TestHealth(t *testing.T) {
	h := newHarness(t, newFakeEngine(), nil, Options{})
	hc := healthpb.NewHealthClient(h.conn)
	for _, svc := range []string{"", ServiceName} {
		resp, err := hc.Check(ctxT(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("%q: %v", svc, resp.Status)
		}
	}
	_, err := hc.Check(ctxT(t), &healthpb.HealthCheckRequest{Service: "nope.Service"})
	wantCode(t, err, codes.NotFound)
}

func TestReflection(t *testing.T) {
	h := newHarness(t, newFakeEngine(), nil, Options{})
	stream, err := rpb.NewServerReflectionClient(h.conn).ServerReflectionInfo(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range resp.GetListServicesResponse().GetService() {
		names[s.GetName()] = true
	}
	for _, want := range []string{ServiceName, "grpc.health.v1.Health"} {
		if !names[want] {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
	// grpcurl describes a service from its file descriptor: it must resolve.
	if err := stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: ServiceName}}); err != nil {
		t.Fatal(err)
	}
	resp, err = stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if fds := resp.GetFileDescriptorResponse().GetFileDescriptorProto(); len(fds) == 0 {
		t.Errorf("no file descriptor for %s: %v", ServiceName, resp.GetErrorResponse())
	}
}

func TestCancelledCallStopsEngine(t *testing.T) {
	eng := newFakeEngine()
	entered := make(chan struct{})
	observed := make(chan error, 1)
	eng.matchFn = func(ctx context.Context, _ record.Record, _ matcher.MatchOptions) ([]matcher.Match, error) {
		close(entered)
		select {
		case <-ctx.Done():
			observed <- ctx.Err()
			return nil, ctx.Err()
		case <-time.After(hangGuard):
			observed <- nil
			return nil, nil
		}
	}
	h := newHarness(t, eng, nil, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-entered
		cancel()
	}()
	_, err := h.client.Match(ctx, &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x"})})
	wantCode(t, err, codes.Canceled)
	select {
	case err := <-observed:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("engine observed %v, want context.Canceled", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("engine never observed the cancellation")
	}
}

func TestDeadlineExceeded(t *testing.T) {
	reachingEngine(t, func(t *testing.T, deadline time.Duration) bool {
		eng := newFakeEngine()
		observed := make(chan error, 1)
		eng.matchFn = func(ctx context.Context, _ record.Record, _ matcher.MatchOptions) ([]matcher.Match, error) {
			dl, ok := ctx.Deadline()
			if !ok || time.Until(dl) > deadline {
				observed <- fmt.Errorf("engine context deadline %v (set %v), want the caller's", dl, ok)
				return nil, nil
			}
			<-ctx.Done()
			// The server's own timer or the client's RST_STREAM may end the
			// call first: either way the engine is stopped.
			observed <- ctx.Err()
			return nil, fmt.Errorf("engine: %w", ctx.Err())
		}
		h := newHarness(t, eng, nil, Options{})
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		_, err := h.client.Match(ctx, &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x"})})
		wantCode(t, err, codes.DeadlineExceeded)
		// Once the server has stopped, the call's handler is done: the
		// engine was called or never will be.
		stopCtx, stopCancel := context.WithTimeout(context.Background(), hangGuard)
		defer stopCancel()
		if err := h.stop(stopCtx); err != nil {
			t.Fatalf("stop: %v", err)
		}
		select {
		case err := <-observed:
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				t.Errorf("engine observed %v, want the call's end", err)
			}
			return true
		default:
			return false
		}
	})
}

// TestServerDeadlineStatus: a call whose context ran out on the server is
// DEADLINE_EXCEEDED even when the engine wraps the error.
func TestServerDeadlineStatus(t *testing.T) {
	s := &service{opts: Options{Logger: slog.New(slog.DiscardHandler)}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	err := s.fail(ctx, fmt.Errorf("engine: %w", ctx.Err()), toStatus(errors.New("engine: opaque"), ""))
	wantCode(t, err, codes.DeadlineExceeded)
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	wantCode(t, s.fail(cctx, errors.New("x"), toStatus(errors.New("x"), "")), codes.Canceled)
}

func TestMessageSizeLimit(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, nil, Options{MaxRecvMsgSize: 1024})
	_, err := h.client.Match(ctxT(t), &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: strings.Repeat("x", 2000)})})
	wantCode(t, err, codes.ResourceExhausted)
	if eng.calls.Load() != 0 {
		t.Error("engine called for an oversized message")
	}
	if _, err := h.client.Match(ctxT(t), &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x"})}); err != nil {
		t.Errorf("small message refused: %v", err)
	}
}

func TestPanicIsInternal(t *testing.T) {
	eng := newFakeEngine()
	eng.matchFn = func(context.Context, record.Record, matcher.MatchOptions) ([]matcher.Match, error) {
		panic("bad invariant")
	}
	var logs syncbuf.Buffer
	h := newHarness(t, eng, nil, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: dropTime}))})
	_, err := h.client.Match(ctxT(t), &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x"})})
	wantCode(t, err, codes.Internal)
	// The server lives on.
	if _, err := h.client.Get(ctxT(t), &pb.GetRequest{Id: "x"}); status.Code(err) != codes.NotFound {
		t.Errorf("after panic: %v", err)
	}
}

func TestMetricsAndLogs(t *testing.T) {
	reg := prometheus.NewRegistry()
	var logs syncbuf.Buffer
	h := newHarness(t, newFakeEngine(), nil, Options{Registerer: reg, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{ReplaceAttr: dropTime}))})
	ctx := ctxT(t)
	for range 3 {
		_, _ = h.client.Get(ctx, &pb.GetRequest{Id: "missing"})
	}
	if _, err := h.client.Match(ctx, &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "Zebediah", BirthDate: "1961-04-05", Phone: "555-867-5309"})}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	var histCount uint64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetName() {
			case "patientmatch_grpc_requests_total":
				counts[labels["method"]+" "+labels["code"]] = m.GetCounter().GetValue()
			case "patientmatch_grpc_request_duration_seconds":
				if labels["method"] == pb.PatientMatch_Get_FullMethodName {
					histCount = m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	if got := counts[pb.PatientMatch_Get_FullMethodName+" NotFound"]; got != 3 {
		t.Errorf("Get NotFound count = %v (all: %v)", got, counts)
	}
	if got := counts[pb.PatientMatch_Match_FullMethodName+" OK"]; got != 1 {
		t.Errorf("Match OK count = %v (all: %v)", got, counts)
	}
	if histCount != 3 {
		t.Errorf("Get latency samples = %d, want 3", histCount)
	}
	// Stop first so every log line is written.
	if err := h.stop(ctx); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, pb.PatientMatch_Match_FullMethodName) || !strings.Contains(out, `"code":"NotFound"`) {
		t.Errorf("log lacks method or code:\n%s", out)
	}
	for _, secret := range []string{"ebediah", "1961", "8675309", "867-5309", "missing"} {
		if strings.Contains(strings.ToLower(out), strings.ToLower(secret)) {
			t.Errorf("log holds request data %q:\n%s", secret, out)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		ok   bool
	}{
		{Options{}, true},
		{Options{StreamWorkers: 2, StreamWindow: 2}, true},
		{Options{StreamWorkers: 8, StreamWindow: 4}, false},
		{Options{StreamWindow: 2}, false}, // below the default worker count
		{Options{MaxRecvMsgSize: -1, MaxCount: -1}, false},
	} {
		err := tc.opts.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%+v: Validate = %v", tc.opts, err)
		}
	}
	err := Options{MaxRecvMsgSize: -1, MaxCount: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "MaxRecvMsgSize") || !strings.Contains(err.Error(), "MaxCount") {
		t.Errorf("Validate does not report every problem: %v", err)
	}
	if _, err := New(nil, nil, Options{}); err == nil {
		t.Error("New accepted a nil engine")
	}
}

func TestStopFallsBackWhenCallsLinger(t *testing.T) {
	eng := newFakeEngine()
	entered := make(chan struct{})
	eng.matchFn = func(ctx context.Context, _ record.Record, _ matcher.MatchOptions) ([]matcher.Match, error) {
		close(entered)
		<-ctx.Done() // lingers until the forced stop cancels it
		return nil, ctx.Err()
	}
	h := newHarness(t, eng, nil, Options{})
	client := h.client
	callDone := make(chan error, 1)
	go func() {
		_, err := client.Match(context.Background(), &pb.MatchRequest{Subject: demo(&pb.Demographics{Family: "x"})})
		callDone <- err
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// The call lingers until the forced stop cancels it: a Stop that waited
	// for it would never return.
	stopped := make(chan error, 1)
	go func() { stopped <- h.stop(ctx) }()
	select {
	case err := <-stopped:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Stop = %v, want a deadline error", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("Stop waits for a lingering call")
	}
	if err := <-callDone; status.Code(err) == codes.OK {
		t.Error("lingering call succeeded after a forced stop")
	}
	if err := h.stop(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Stop = %v, want the first one's result", err)
	}
}

// dropTime removes the timestamp from test log lines, so that checks that
// no patient data reached the log cannot trip over the clock's digits.
func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
