package identity

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/patientmatch/patientmatch/api/patientmatch/v1"
	"github.com/patientmatch/patientmatch/audit"
	"github.com/patientmatch/patientmatch/scoring"
)

// GRPCOptions configure the gRPC service.
type GRPCOptions struct {
	// Steward admits a call and names its actor. Default: every call is
	// a local steward's (serve listens on loopback only under --auth none).
	Steward func(ctx context.Context) (Actor, error)
}

// grpcService implements pb.IdentitiesServer.
type grpcService struct {
	pb.UnimplementedIdentitiesServer
	ops  *operations
	opts GRPCOptions
}

// RegisterGRPC registers the Identities service on gs.
func RegisterGRPC(gs *grpc.Server, svc *Service, pats Patients, opts GRPCOptions) {
	if opts.Steward == nil {
		opts.Steward = func(context.Context) (Actor, error) { return Steward(""), nil }
	}
	pb.RegisterIdentitiesServer(gs, &grpcService{ops: &operations{svc: svc, pats: pats}, opts: opts})
}

// grpcError maps the service's errors to gRPC status codes.
func grpcError(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch st, _ := errorStatus(err); st {
	case 400:
		code = codes.InvalidArgument
	case 404:
		code = codes.NotFound
	case 409:
		code = codes.FailedPrecondition
	case 503:
		code = codes.Unavailable
	}
	if code == codes.Internal {
		return status.Error(code, "internal error; see the server log")
	}
	return status.Error(code, err.Error())
}

func (g *grpcService) steward(ctx context.Context) (Actor, error) {
	a, err := g.opts.Steward(ctx)
	if err != nil {
		if _, ok := status.FromError(err); ok {
			return "", err
		}
		return "", status.Error(codes.PermissionDenied, "a steward scope is needed")
	}
	return a, nil
}

func personPB(id Identity) *pb.Person {
	p := &pb.Person{Id: id.ID, Active: id.Active(), ReplacedBy: id.ReplacedBy, Version: id.Version}
	for _, m := range id.Members {
		g, _ := scoring.ParseGrade(m.Grade)
		p.Links = append(p.Links, &pb.PersonLink{PatientId: m.Patient, By: m.By, At: m.At.UTC().Format(time.RFC3339Nano), Score: m.Score, Grade: pb.Grade(g)})
	}
	return p
}

func taskPB(t Task) *pb.ReviewTask {
	g, _ := scoring.ParseGrade(t.Grade)
	return &pb.ReviewTask{Id: t.ID, LeftPatientId: t.Left, RightPatientId: t.Right, Score: t.Score, Grade: pb.Grade(g), Status: string(t.Status), DecidedBy: t.DecidedBy}
}

func (g *grpcService) GetPerson(ctx context.Context, req *pb.GetPersonRequest) (*pb.Person, error) {
	if _, err := g.steward(ctx); err != nil {
		return nil, err
	}
	var (
		id  Identity
		err error
	)
	switch k := req.GetKey().(type) {
	case *pb.GetPersonRequest_PersonId:
		id, err = g.ops.svc.Person(k.PersonId)
	case *pb.GetPersonRequest_PatientId:
		id, err = g.ops.svc.PersonOf(k.PatientId)
	default:
		err = errors.Join(ErrInvalid, errors.New("person_id or patient_id is required"))
	}
	if err != nil {
		return nil, grpcError(err)
	}
	return personPB(id), nil
}

func (g *grpcService) ListTasks(ctx context.Context, req *pb.ListTasksRequest) (*pb.ListTasksResponse, error) {
	if _, err := g.steward(ctx); err != nil {
		return nil, err
	}
	st := Status(req.GetStatus())
	switch st {
	case "":
		st = StatusOpen
	case StatusOpen, StatusMatched, StatusNoMatch, StatusDeferred:
	default:
		return nil, status.Error(codes.InvalidArgument, "status must be open, matched, no-match or deferred")
	}
	count := int(req.GetCount())
	if count == 0 {
		count = 20
	}
	if count < 0 || count > 1000 || req.GetOffset() < 0 {
		return nil, status.Error(codes.InvalidArgument, "count must be 0 to 1000 and offset not negative")
	}
	grade := ""
	if req.GetGrade() != pb.Grade_GRADE_UNSPECIFIED {
		grade = scoring.Grade(req.GetGrade()).String()
	}
	ts, total := g.ops.svc.Tasks(st, grade, int(req.GetOffset()), count)
	out := &pb.ListTasksResponse{Total: int32(total)}
	for _, t := range ts {
		out.Tasks = append(out.Tasks, taskPB(t))
	}
	return out, nil
}

func (g *grpcService) Decide(ctx context.Context, req *pb.DecideRequest) (*pb.DecideResponse, error) {
	by, err := g.steward(ctx)
	if err != nil {
		return nil, err
	}
	d := map[pb.ReviewDecision]Decision{pb.ReviewDecision_REVIEW_DECISION_MATCH: DecisionMatch, pb.ReviewDecision_REVIEW_DECISION_NO_MATCH: DecisionNoMatch, pb.ReviewDecision_REVIEW_DECISION_DEFER: DecisionDefer}[req.GetDecision()]
	if d == "" {
		return nil, status.Error(codes.InvalidArgument, "decision must be MATCH, NO_MATCH or DEFER")
	}
	t, err := g.ops.svc.Decide(ctx, req.GetTaskId(), d, by, req.GetReason())
	if err != nil {
		return nil, grpcError(err)
	}
	note := audit.NoteFrom(ctx)
	note.Add(audit.Patient{ID: t.Left, Action: "review-" + string(d)})
	note.Add(audit.Patient{ID: t.Right, Action: "review-" + string(d)})
	out := &pb.DecideResponse{Task: taskPB(t)}
	if id, err := g.ops.svc.PersonOf(t.Left); err == nil {
		out.Left = personPB(id)
	}
	if id, err := g.ops.svc.PersonOf(t.Right); err == nil {
		out.Right = personPB(id)
	}
	return out, nil
}

func (g *grpcService) Merge(ctx context.Context, req *pb.MergeRequest) (*pb.MergeResponse, error) {
	by, err := g.steward(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetSourcePatientId() == "" || req.GetTargetPatientId() == "" || req.GetSourcePatientId() == req.GetTargetPatientId() {
		return nil, status.Error(codes.InvalidArgument, "source_patient_id and target_patient_id are required and must differ")
	}
	id, _, err := g.ops.merge(ctx, mergeRequest{source: req.GetSourcePatientId(), target: req.GetTargetPatientId(), reason: req.GetReason()}, by)
	if err != nil {
		return nil, grpcError(err)
	}
	return &pb.MergeResponse{Person: personPB(id)}, nil
}

func (g *grpcService) Unmerge(ctx context.Context, req *pb.UnmergeRequest) (*pb.UnmergeResponse, error) {
	by, err := g.steward(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetPatientId() == "" {
		return nil, status.Error(codes.InvalidArgument, "patient_id is required")
	}
	restored, remaining, err := g.ops.unmerge(ctx, req.GetPatientId(), by, req.GetReason())
	if err != nil {
		return nil, grpcError(err)
	}
	return &pb.UnmergeResponse{Restored: personPB(restored), Remaining: personPB(remaining)}, nil
}
