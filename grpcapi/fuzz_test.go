package grpcapi

import (
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/patientmatch/patientmatch/api/patientmatch/v1"
)

// FuzzMatchInput feeds arbitrary wire bytes, as a client could send, through
// decoding and validation: never a panic, and a request that passes always
// has something to match on and a count within bounds.
func FuzzMatchInput(f *testing.F) {
	for _, req := range []*pb.MatchRequest{
		{Subject: demo(&pb.Demographics{Family: "O'Brien-Smith", Given: []string{"Séan", "P."}, BirthDate: "19850230", Sex: pb.Sex_SEX_MALE,
			Address:     &pb.Address{Lines: []string{"4/12 Smith St"}, PostalCode: "2000"},
			Identifiers: []*pb.Identifier{{TypeCode: "SS", Value: "000-00-0000"}}}), Count: 3},
		{Subject: demo(&pb.Demographics{NameText: "Smith, John A", Phone: "+1 (555) 123-4567", Email: "J@Example.org"})},
		{Subject: &pb.MatchRequest_PatientJson{PatientJson: `{"resourceType":"Patient","name":[{"family":"Li"}],"birthDate":"1900-01-01"}`}, MinGrade: pb.Grade_GRADE_CERTAIN},
		{Subject: &pb.MatchRequest_PatientJson{PatientJson: `{"resourceType":"Bundle"}`}},
		{},
	} {
		b, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	s := &service{opts: Options{}}
	s.opts.EnsureDefaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		var req pb.MatchRequest
		if err := proto.Unmarshal(data, &req); err != nil {
			return
		}
		in, err := s.matchInput(&req, "")
		if err != nil {
			if len(violationsOf(t, err)) == 0 {
				t.Fatalf("rejected without field violations: %v", err)
			}
			return
		}
		if !in.rec.HasDemographics() {
			t.Fatalf("accepted a request with nothing to match on: %v", &req)
		}
		if in.opts.Count < 0 || in.opts.Count > s.opts.MaxCount {
			t.Fatalf("accepted count %d", in.opts.Count)
		}
	})
}
