package grpcapi

import (
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unsafe"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/patientmatch/patientmatch/api/patientmatch/v1"
	"github.com/patientmatch/patientmatch/claims"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// datePattern is the birth-date forms Demographics accepts: YYYY-MM-DD,
// YYYY-MM, YYYY and YYYYMMDD. Day/month ambiguous forms (01/02/1985) are
// refused rather than guessed. A well-formed date that is not on the
// calendar (1985-02-30) is accepted: corrupt data must still be compared.
var datePattern = regexp.MustCompile(`^(\d{4}(-\d{2}(-\d{2})?)?|\d{8})$`)

// matchInput is a validated MatchRequest, ready for Engine.Match.
type matchInput struct {
	rec  record.Record
	opts matcher.MatchOptions
	// field is the request field the subject came from, for errors the
	// engine reports about it.
	field string
}

// matchInput validates req and builds the record and options to match
// with. prefix is prepended to field paths ("" for unary Match, "match."
// inside MatchStream).
func (s *service) matchInput(req *pb.MatchRequest, prefix string) (matchInput, error) {
	var v violations
	var in matchInput
	switch subj := req.GetSubject().(type) {
	case *pb.MatchRequest_Demographics:
		in.field = prefix + "demographics"
		raw := demographicsRaw(subj.Demographics, prefix+"demographics", &v)
		if err := record.CheckRawLimits(raw); err != nil {
			v.add(in.field, "%s", strings.TrimPrefix(err.Error(), record.ErrInvalid.Error()+": "))
			break
		}
		in.rec = record.Normalize("", raw)
	case *pb.MatchRequest_PatientJson:
		in.field = prefix + "patient_json"
		if p := decodePatient(subj.PatientJson, in.field, &v); p != nil {
			if err := record.CheckLimits(p); err != nil {
				v.add(in.field, "%s", strings.TrimPrefix(err.Error(), record.ErrInvalid.Error()+": "))
				break
			}
			in.rec = record.FromFHIR(p)
		}
	default:
		v.add(prefix+"subject", "one of demographics or patient_json is required")
	}
	if len(v) == 0 && in.field != "" && !in.rec.HasDemographics() {
		v.add(in.field, "nothing to match on: give at least a name, birth date, address, phone, email or identifier")
	}
	switch c := req.GetCount(); {
	case c < 0:
		v.add(prefix+"count", "must not be negative")
	case int(c) > s.opts.MaxCount:
		v.add(prefix+"count", "must be at most %d", s.opts.MaxCount)
	}
	g, ok := gradeFromProto(req.GetMinGrade())
	if !ok {
		v.add(prefix+"min_grade", "unknown grade %d", int32(req.GetMinGrade()))
	}
	in.opts = matcher.MatchOptions{
		Count:       int(req.GetCount()),
		OnlyCertain: req.GetOnlyCertain(),
		MinGrade:    g,
		Explain:     req.GetExplain(),
	}
	return in, v.err()
}

// demographicsRaw turns Demographics into the record package's raw input,
// the one normalization path every producer shares. Bad fields are added
// to v under path.
func demographicsRaw(d *pb.Demographics, path string, v *violations) record.Raw {
	raw := record.Raw{
		Family:    d.GetFamily(),
		Given:     d.GetGiven(),
		Prefix:    d.GetPrefix(),
		Suffix:    d.GetSuffix(),
		Text:      d.GetNameText(),
		BirthDate: strings.TrimSpace(d.GetBirthDate()),
		Phone:     d.GetPhone(),
		Email:     d.GetEmail(),
	}
	if raw.BirthDate != "" && !datePattern.MatchString(raw.BirthDate) {
		v.add(path+".birth_date", "want YYYY-MM-DD, YYYY-MM, YYYY or YYYYMMDD")
	}
	switch d.GetSex() {
	case pb.Sex_SEX_UNSPECIFIED:
	case pb.Sex_SEX_MALE:
		raw.Sex = "male"
	case pb.Sex_SEX_FEMALE:
		raw.Sex = "female"
	case pb.Sex_SEX_OTHER:
		raw.Sex = "other"
	case pb.Sex_SEX_UNKNOWN:
		raw.Sex = "unknown"
	default:
		v.add(path+".sex", "unknown sex %d", int32(d.GetSex()))
	}
	if a := d.GetAddress(); a != nil {
		raw.AddressLines = a.GetLines()
		raw.City = a.GetCity()
		raw.State = a.GetState()
		raw.PostalCode = a.GetPostalCode()
		raw.Country = a.GetCountry()
		raw.AddressText = a.GetText()
	}
	for i, id := range d.GetIdentifiers() {
		if strings.TrimSpace(id.GetValue()) == "" {
			v.add(indexPath(path+".identifiers", i)+".value", "is required")
			continue
		}
		raw.Identifiers = append(raw.Identifiers, record.RawIdentifier{
			System:   id.GetSystem(),
			TypeCode: id.GetTypeCode(),
			Value:    id.GetValue(),
		})
	}
	return raw
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// decodePatient decodes FHIR Patient JSON, adding a violation under field
// when it is missing or not a Patient.
func decodePatient(js, field string, v *violations) *fm.Patient {
	if strings.TrimSpace(js) == "" {
		v.add(field, "is required")
		return nil
	}
	// DecodePatient only reads its input and keeps none of it, so the
	// request's string is lent to it instead of copied.
	p, err := record.DecodePatient(unsafe.Slice(unsafe.StringData(js), len(js)))
	if err != nil {
		v.add(field, "%s", err.Error())
		return nil
	}
	return p
}

// checkID adds a violation unless id is a FHIR id (record.ValidID).
func checkID(id, field string, v *violations) {
	switch {
	case id == "":
		v.add(field, "is required")
	case !record.ValidID(id):
		v.add(field, "must be 1-64 letters, digits, '-' or '.'")
	}
}

func gradeToProto(g scoring.Grade) pb.Grade {
	switch g {
	case scoring.GradePossible:
		return pb.Grade_GRADE_POSSIBLE
	case scoring.GradeProbable:
		return pb.Grade_GRADE_PROBABLE
	case scoring.GradeCertain:
		return pb.Grade_GRADE_CERTAIN
	}
	return pb.Grade_GRADE_UNSPECIFIED
}

func gradeFromProto(g pb.Grade) (scoring.Grade, bool) {
	switch g {
	case pb.Grade_GRADE_UNSPECIFIED:
		return scoring.GradeNone, true
	case pb.Grade_GRADE_POSSIBLE:
		return scoring.GradePossible, true
	case pb.Grade_GRADE_PROBABLE:
		return scoring.GradeProbable, true
	case pb.Grade_GRADE_CERTAIN:
		return scoring.GradeCertain, true
	}
	return scoring.GradeNone, false
}

// gradeCodeToProto maps a FHIR match-grade code ("certain"...) to Grade.
func gradeCodeToProto(code string) pb.Grade {
	g, _ := scoring.ParseGrade(code)
	return gradeToProto(g)
}

// matchesToProto is the answer of ms. With explain each match also carries
// its comparisons and the name of the hazard rule that lowered its grade,
// if one did (Match.cap), as the FHIR explanation extension does.
func matchesToProto(ms []matcher.Match, explain bool) *pb.MatchResponse {
	out := &pb.MatchResponse{Matches: make([]*pb.Match, len(ms))}
	for i, m := range ms {
		pm := &pb.Match{
			Id:           m.ID,
			ResourceJson: lendString(m.Resource),
			Probability:  m.Probability,
			Weight:       m.Weight,
			Grade:        gradeToProto(m.Grade),
		}
		if explain && m.Cap != scoring.CapNone {
			pm.Cap = m.Cap.String()
		}
		if len(m.Explanation) > 0 {
			pm.Explanation = make([]*pb.Comparison, len(m.Explanation))
			for j, c := range m.Explanation {
				pm.Explanation[j] = &pb.Comparison{
					Comparison: c.Comparison,
					Level:      c.Level,
					LevelIndex: int32(c.LevelIndex),
					Weight:     c.Weight,
				}
			}
		}
		out.Matches[i] = pm
	}
	return out
}

// lendString is b as a string without a copy, for a resource the answer
// owns and nothing writes again (see Engine.Match): the copy would be
// garbage on every call, the size of every matched patient.
func lendString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func storedToProto(sp matcher.StoredPatient) *pb.StoredPatient {
	out := &pb.StoredPatient{
		Id:           sp.ID,
		ResourceJson: string(sp.Resource),
		VersionId:    sp.VersionID,
	}
	if !sp.LastUpdated.IsZero() {
		out.LastUpdated = timestamppb.New(sp.LastUpdated)
	}
	return out
}

// claimsRequest builds the claims package's request from the gRPC one, so
// that gRPC and HTTP share one decoding of OIDC claims (string booleans,
// address as a string or an object). It returns the request field that
// errors are about.
func claimsRequest(req *pb.MatchClaimsRequest) (claims.Request, string, error) {
	out := claims.Request{Link: req.GetLink()}
	switch id := req.GetIdentity().(type) {
	case *pb.MatchClaimsRequest_Claims:
		if id.Claims == nil {
			return out, "claims", badRequest("claims", "is required")
		}
		js, err := protojson.Marshal(id.Claims)
		if err != nil {
			return out, "claims", badRequest("claims", "cannot be encoded as JSON")
		}
		var c claims.OIDCClaims
		if err := json.Unmarshal(js, &c); err != nil {
			return out, "claims", badRequest("claims", "%s", claimsJSONError(err))
		}
		out.Claims = &c
		return out, "claims", nil
	case *pb.MatchClaimsRequest_IdToken:
		if strings.TrimSpace(id.IdToken) == "" {
			return out, "id_token", badRequest("id_token", "is required")
		}
		out.IDToken = id.IdToken
		return out, "id_token", nil
	}
	return out, "identity", badRequest("identity", "one of claims or id_token is required")
}

// claimsJSONError describes a claim of the wrong JSON type, naming the claim
// but never its value.
func claimsJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return "claim " + te.Field + ": want " + te.Type.String() + ", got JSON " + te.Value
	}
	return "a claim has the wrong type"
}
