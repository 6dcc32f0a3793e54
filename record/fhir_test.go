package record

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

func TestDecodePatient(t *testing.T) {
	tests := []struct {
		name, in string
		wantErr  string // substring; "" for success
	}{
		{"patient", `{"resourceType":"Patient","id":"a1","name":[{"family":"Smith"}]}`, ""},
		{"surrounding space", " \n{\"resourceType\":\"Patient\"}\n", ""},
		{"other resource", `{"resourceType":"Observation","id":"o1","status":"final"}`, `resourceType is "Observation"`},
		{"other resource with unknown fields", `{"resourceType":"Bundle","entry":[{"resource":{}}],"type":"batch"}`, `resourceType is "Bundle"`},
		{"missing resourceType", `{"id":"a1"}`, "missing resourceType"},
		{"empty resourceType", `{"resourceType":"","id":"a1"}`, "missing resourceType"},
		{"array", `[{"resourceType":"Patient"}]`, "found an array"},
		{"string", `"Patient"`, "found a string"},
		{"null", `null`, "found null"},
		{"number", `12`, "found a number"},
		{"not json", `resourceType: Patient`, "not JSON"},
		{"empty", ``, "empty input"},
		{"truncated", `{"resourceType":"Patient","id":"a`, "Patient JSON"},
		{"bad gender", `{"resourceType":"Patient","gender":"M"}`, "AdministrativeGender"},
		{"wrong field type", `{"resourceType":"Patient","name":"Smith"}`, "Patient JSON"},
		{"wrong field type named as Patient's", `{"resourceType":"Patient","name":"Smith"}`, "Patient.name"},
		{"trailing data", `{"resourceType":"Patient"} {}`, "Patient JSON"},
		{"resourceType not a string", `{"resourceType":7}`, "Patient JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := DecodePatient([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil || p == nil {
					t.Fatalf("DecodePatient: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("DecodePatient(%s) succeeded, want error %q", tt.in, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

// DecodePatient's errors carry their problem, for surfaces that classify
// them (the FHIR API's issue types).
func TestDecodePatientProblem(t *testing.T) {
	for in, want := range map[string]PatientProblem{
		``:                                      EmptyInput,
		`[]`:                                    NotObject,
		`{"id":"a1"}`:                           NoResourceType,
		`{"resourceType":"Person"}`:             OtherResource,
		`{"resourceType":"Patient","name":"x"}`: Malformed,
		`{"resourceType":"Patient"`:             Malformed,
	} {
		_, err := DecodePatient([]byte(in))
		var pe *PatientError
		if !errors.As(err, &pe) || pe.Problem != want {
			t.Errorf("%s: error %#v, want problem %d", in, err, want)
		}
	}
}

// The resourceType must survive a decode/marshal round trip (samply writes
// it on Marshal), and the content must be unchanged.
func TestDecodePatientRoundTrip(t *testing.T) {
	in := `{"resourceType":"Patient","id":"p1","name":[{"use":"official","family":"Smith","given":["John","A"]}],"gender":"male","birthDate":"1985-02-30","telecom":[{"system":"phone","value":"555-0100","use":"home"}]}`
	p, err := DecodePatient([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	if err := json.Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip changed the patient:\n in: %s\nout: %s", in, out)
	}
}

func TestFromFHIRChoices(t *testing.T) {
	in := `{"resourceType":"Patient","id":"p1",
	 "name":[{"use":"maiden","family":"Jones","given":["Alice"]},
	         {"use":"nickname","given":["Ally"]},
	         {"use":"official","family":"Smith","given":["Alice","May"],"prefix":["Mrs"],"suffix":["PhD"]}],
	 "gender":"female","birthDate":"1970-05-06",
	 "telecom":[{"system":"phone","value":"(212) 555-0199","use":"work"},
	            {"system":"phone","value":"212-555-0142","use":"home"},
	            {"system":"email","value":"old@mail.com","use":"old"},
	            {"system":"email","value":"Alice@Mail.com"}],
	 "address":[{"use":"work","line":["1 Corporate Plz"],"city":"Albany"},
	            {"use":"home","line":["12 Elm St","Apt 3"],"city":"Troy","state":"NY","postalCode":"12180"}],
	 "identifier":[
	   {"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"urn:oid:1.2.3","value":"mr-778899"},
	   {"system":"http://hl7.org/fhir/sid/us-ssn","value":"219-09-9999"},
	   {"use":"old","system":"http://hl7.org/fhir/sid/us-ssn","value":"219-09-9998"},
	   {"type":{"text":"passport"},"value":"X7654321"},
	   {"system":"urn:nothing"}]}`
	p, err := DecodePatient([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got := FromFHIR(p)
	want := Record{
		ID: "p1", Family: "smith", Given: "alice", Middle: "may",
		BirthDate: Date{Year: 1970, Month: 5, Day: 6, Valid: true, Text: "1970-05-06"},
		Sex:       SexFemale,
		Address:   Address{Number: "12", Street: "elm", StreetType: "st", Unit: "3", City: "troy", State: "ny", PostalCode: "12180"},
		Phone:     "+12125550142",
		Email:     "alice@mail.com",
		Identifiers: []Identifier{
			{Type: IDMRN, System: "urn:oid:1.2.3", Value: "MR778899"},
			{Type: IDSSN, Value: "219099999"},
			{Type: IDPassport, Value: "X7654321"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FromFHIR:\n got %+v\nwant %+v", got, want)
	}
	if r := FromFHIR(nil); !reflect.DeepEqual(r, Record{}) {
		t.Errorf("FromFHIR(nil) = %+v", r)
	}
}

func TestFromFHIRNameFallbacks(t *testing.T) {
	use := func(u fhir.NameUse) *fhir.NameUse { return &u }
	s := func(v string) *string { return &v }
	tests := []struct {
		name   string
		names  []fhir.HumanName
		family string
	}{
		{"usual when no official", []fhir.HumanName{{Use: use(fhir.NameUseOld), Family: s("Old")}, {Use: use(fhir.NameUseUsual), Family: s("Usual")}}, "usual"},
		{"first not old", []fhir.HumanName{{Use: use(fhir.NameUseOld), Family: s("Old")}, {Family: s("Plain")}}, "plain"},
		{"old when nothing else", []fhir.HumanName{{Use: use(fhir.NameUseOld), Family: s("Old")}}, "old"},
		{"text only", []fhir.HumanName{{Text: s("Smith, Ann")}}, "smith"},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		if got := FromFHIR(&fhir.Patient{Name: tt.names}).Family; got != tt.family {
			t.Errorf("%s: family %q, want %q", tt.name, got, tt.family)
		}
	}
}

func TestPatientFromColumns(t *testing.T) {
	cols := map[string]string{
		"id": "p9", "family": "O'Brien-Smith", "given": "Mary Ann", "middle": "Louise B",
		"suffix": "Jr.", "birth_date": "1985-02-30", "sex": "F",
		"address_line": "4/12 Dolling Cres", "city": "Clifden", "state": "NSW", "postal_code": "3121", "country": "AU",
		"phone": "(803) 878-0820", "email": "Mary@Mail.com",
		"ssn": "219-09-9999", "national_id": "AB123456C", "mrn": "000123", "drivers_license": "D1234567", "passport": "X1234567",
		"unknown_col": "ignored",
	}
	p, err := PatientFromColumns(cols)
	if err != nil {
		t.Fatal(err)
	}
	// Original spelling is kept in the Patient.
	if *p.Id != "p9" || *p.Name[0].Family != "O'Brien-Smith" || !reflect.DeepEqual(p.Name[0].Given, []string{"Mary Ann", "Louise", "B"}) ||
		p.Name[0].Suffix[0] != "Jr." || *p.BirthDate != "1985-02-30" || *p.Gender != fhir.AdministrativeGenderFemale ||
		p.Address[0].Line[0] != "4/12 Dolling Cres" || *p.Address[0].Country != "AU" {
		t.Fatalf("patient lost the original spelling: %+v", p)
	}
	wantIDs := map[string][2]string{ // type code → system, value
		"SS": {SystemSSN, "219-09-9999"}, "NI": {"", "AB123456C"}, "MR": {SystemMRN, "000123"},
		"DL": {"", "D1234567"}, "PPN": {"", "X1234567"},
	}
	if len(p.Identifier) != len(wantIDs) {
		t.Fatalf("%d identifiers, want %d", len(p.Identifier), len(wantIDs))
	}
	for _, id := range p.Identifier {
		c := id.Type.Coding[0]
		w, ok := wantIDs[*c.Code]
		if !ok || *c.System != SystemV2IdentifierType || deref(id.System) != w[0] || *id.Value != w[1] {
			t.Errorf("identifier %s: system %q value %q", *c.Code, deref(id.System), *id.Value)
		}
	}
	// And through FromFHIR, the one path to a Record.
	r := FromFHIR(p)
	if r.Family != "obrien smith" || r.Given != "mary" || r.Middle != "ann louise b" || r.Suffix != "jr" ||
		r.BirthDate.Valid || r.BirthDate.Day != 30 || r.Sex != SexFemale || r.Address.Unit != "4" || r.Address.Number != "12" ||
		r.Phone != "+18038780820" || r.Email != "mary@mail.com" || len(r.Identifiers) != 5 {
		t.Errorf("FromFHIR(PatientFromColumns) = %+v", r)
	}

	p, err = PatientFromColumns(map[string]string{"id": "x", "mrn": "A-1234", "mrn_system": "urn:oid:9.9"})
	if err != nil || deref(p.Identifier[0].System) != "urn:oid:9.9" {
		t.Errorf("mrn_system not used: %v %+v", err, p)
	}
	if p.Name != nil || p.Address != nil || p.Telecom != nil {
		t.Errorf("empty columns produced elements: %+v", p)
	}

	// An insurance member number: type MB with its payer, a kind the
	// matcher does not classify.
	p, err = PatientFromColumns(map[string]string{"id": "x", "member_id": "W123-01", "member_system": "urn:payer:7"})
	if err != nil || len(p.Identifier) != 1 || deref(p.Identifier[0].System) != "urn:payer:7" ||
		*p.Identifier[0].Type.Coding[0].Code != "MB" {
		t.Fatalf("member_id: %v %+v", err, p)
	}
	if ids := FromFHIR(p).Identifiers; len(ids) != 1 || ids[0] != (Identifier{Type: IDOther, System: "urn:payer:7", Value: "W12301"}) {
		t.Errorf("member_id read as %+v, want an identifier of unknown kind with its payer", ids)
	}

	if p, err := PatientFromColumns(map[string]string{"id": "x", "sex": "k"}); err != nil || p.Gender != nil {
		t.Errorf("corrupt sex: %v, gender %v; want kept record without gender", err, p.Gender)
	}

	for _, bad := range []map[string]string{
		{"family": "Smith"},
		{"id": "  "},
	} {
		if _, err := PatientFromColumns(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("PatientFromColumns(%v) error %v, want ErrInvalid", bad, err)
		}
	}
}
