package grpcapi

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/patientmatch/patientmatch/api/patientmatch/v1"
	"github.com/patientmatch/patientmatch/claims"
	"github.com/patientmatch/patientmatch/record"
)

// service implements pb.PatientMatchServer. Handlers return errors that are
// gRPC statuses; the observe interceptor logs the causes of server faults.
type service struct {
	pb.UnimplementedPatientMatchServer

	eng    Engine
	claims ClaimsMatcher
	opts   Options
}

// fail turns err into the status error the caller gets. A context error of
// the call wins over whatever the engine made of it, so a cancelled or
// timed-out call is reported as such. Server faults are logged with their
// cause here, where it is still known.
func (s *service) fail(ctx context.Context, err error, st *status.Status) error {
	if ctx.Err() != nil {
		st = toStatus(ctx.Err(), "")
	}
	if serverFault(st.Code()) {
		s.opts.Logger.LogAttrs(ctx, slog.LevelError, "grpcapi: call failed", slog.String("code", st.Code().String()), slog.Any("error", err))
	}
	return st.Err()
}

// Match ranks stored patients against the request's subject.
func (s *service) Match(ctx context.Context, req *pb.MatchRequest) (*pb.MatchResponse, error) {
	resp, err := s.match(ctx, req, "")
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// match is one Match, shared by the unary call and MatchStream; prefix is
// prepended to field paths of errors.
func (s *service) match(ctx context.Context, req *pb.MatchRequest, prefix string) (*pb.MatchResponse, error) {
	in, err := s.matchInput(req, prefix)
	if err != nil {
		return nil, s.fail(ctx, err, toStatus(err, ""))
	}
	ms, err := s.eng.Match(ctx, in.rec, in.opts)
	if err != nil {
		return nil, s.fail(ctx, err, toStatus(err, in.field))
	}
	return matchesToProto(ms, in.opts.Explain), nil
}

// MatchClaims decides which patient an OIDC identity is.
func (s *service) MatchClaims(ctx context.Context, req *pb.MatchClaimsRequest) (*pb.MatchClaimsResponse, error) {
	if s.claims == nil {
		return nil, status.Error(codes.Unimplemented, "MatchClaims is not configured on this server")
	}
	creq, field, err := claimsRequest(req)
	if err != nil {
		return nil, s.fail(ctx, err, toStatus(err, field))
	}
	resp, err := s.claims.MatchClaims(ctx, creq)
	if err != nil {
		return nil, s.fail(ctx, err, claimsStatus(err, field))
	}
	return claimsResponseToProto(resp), nil
}

func claimsResponseToProto(r claims.Response) *pb.MatchClaimsResponse {
	out := &pb.MatchClaimsResponse{
		Decision:   decisionToProto(r.Decision),
		Patient:    r.Patient,
		FhirUser:   r.FHIRUser,
		Score:      r.Score,
		Grade:      gradeCodeToProto(r.Grade),
		Acr:        r.ACR,
		LinkStatus: string(r.LinkStatus),
		Candidates: make([]*pb.ClaimsCandidate, len(r.Candidates)),
	}
	for i, c := range r.Candidates {
		out.Candidates[i] = &pb.ClaimsCandidate{Patient: c.Patient, Score: c.Score, Grade: gradeCodeToProto(c.Grade)}
	}
	return out
}

func decisionToProto(d claims.Decision) pb.Decision {
	switch d {
	case claims.DecisionMatch:
		return pb.Decision_DECISION_MATCH
	case claims.DecisionAmbiguous:
		return pb.Decision_DECISION_AMBIGUOUS
	case claims.DecisionNoMatch:
		return pb.Decision_DECISION_NO_MATCH
	case claims.DecisionLinked:
		return pb.Decision_DECISION_LINKED
	}
	return pb.Decision_DECISION_UNSPECIFIED
}

// Upsert stores a FHIR Patient under its id.
func (s *service) Upsert(ctx context.Context, req *pb.UpsertRequest) (*pb.UpsertResponse, error) {
	var v violations
	p := decodePatient(req.GetPatientJson(), "patient_json", &v)
	if p != nil {
		id := ""
		if p.Id != nil {
			id = *p.Id
		}
		checkID(id, "patient_json.id", &v)
		if err := record.CheckForWrite(p, time.Now()); err != nil {
			v.add("patient_json", "%s", strings.TrimPrefix(err.Error(), record.ErrInvalid.Error()+": "))
		}
	}
	if err := v.err(); err != nil {
		return nil, s.fail(ctx, err, toStatus(err, ""))
	}
	sp, created, err := s.eng.Upsert(ctx, p)
	if err != nil {
		return nil, s.fail(ctx, err, toStatus(err, "patient_json"))
	}
	return &pb.UpsertResponse{Patient: storedToProto(sp), Created: created}, nil
}

// Get returns a stored patient.
func (s *service) Get(ctx context.Context, req *pb.GetRequest) (*pb.GetResponse, error) {
	var v violations
	checkID(req.GetId(), "id", &v)
	if err := v.err(); err != nil {
		return nil, s.fail(ctx, err, toStatus(err, ""))
	}
	sp, err := s.eng.Get(ctx, req.GetId())
	if err != nil {
		return nil, s.fail(ctx, err, toStatus(err, "id"))
	}
	return &pb.GetResponse{Patient: storedToProto(sp)}, nil
}

// Delete removes a stored patient.
func (s *service) Delete(ctx context.Context, req *pb.DeleteRequest) (*pb.DeleteResponse, error) {
	var v violations
	checkID(req.GetId(), "id", &v)
	if err := v.err(); err != nil {
		return nil, s.fail(ctx, err, toStatus(err, ""))
	}
	if err := s.eng.Delete(ctx, req.GetId()); err != nil {
		return nil, s.fail(ctx, err, toStatus(err, "id"))
	}
	return &pb.DeleteResponse{}, nil
}

// itemError is the ItemError of a failed stream request: the status a
// unary Match would have returned, field violations included.
func itemError(err error) *pb.ItemError {
	st := status.Convert(err)
	ie := &pb.ItemError{Code: int32(st.Code()), Message: st.Message()}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				ie.FieldViolations = append(ie.FieldViolations, &pb.FieldViolation{Field: fv.GetField(), Description: fv.GetDescription()})
			}
		}
	}
	return ie
}
