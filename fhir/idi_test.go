package fhir

import (
	"net/http"
	"strings"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
)

// idiPatient builds an input Patient asserting profile with the given parts.
func idiPatient(profile string, parts ...string) string {
	s := `{"resourceType":"Patient"`
	if profile != "" {
		s += `,"meta":{"profile":["` + profile + `"]}`
	}
	for _, p := range parts {
		s += "," + p
	}
	return s + "}"
}

const (
	idiName     = `"name":[{"family":"Chalmers","given":["Peter"]}]`
	idiBirth    = `"birthDate":"1974-12-25"`
	idiAddress  = `"address":[{"line":["1 Main St"],"city":"Springfield","state":"IL"}]`
	idiZipOnly  = `"address":[{"postalCode":"62701"}]`
	idiPhone    = `"telecom":[{"system":"phone","value":"555-0100"}]`
	idiPhoneEm  = `"telecom":[{"system":"phone","value":"555-0100"},{"system":"email","value":"p@example.org"}]`
	idiDL       = `"identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"DL"}]},"value":"D123"}]`
	idiDLPPN    = `"identifier":[{"type":{"coding":[{"code":"DL"}]},"value":"D123"},{"type":{"coding":[{"code":"PPN"}]},"value":"P9"},{"type":{"text":"State ID"},"value":"S1"}]`
	idiMRN      = `"identifier":[{"type":{"coding":[{"code":"MR"}]},"value":"M1"}]`
	idiPhoto    = `"photo":[{"contentType":"image/png","url":"http://example.org/p.png"}]`
	idiNameOnly = `"name":[{"family":"Chalmers"}]`
)

func TestWeigh(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
		want  int
	}{
		{"nothing", nil, 0},
		{"name", []string{idiName}, 3},
		{"family only", []string{idiNameOnly}, 0},
		{"name and birth", []string{idiName, idiBirth}, 5},
		{"address", []string{idiAddress}, 4},
		{"zip only", []string{idiZipOnly}, 4},
		{"incomplete address", []string{`"address":[{"line":["1 Main"],"city":"X"}]`}, 0},
		{"address and phone", []string{idiAddress, idiPhone}, 5},
		{"address phone email photo", []string{idiAddress, idiPhoneEm, idiPhoto}, 5},
		{"driver's license", []string{idiDL}, 5},
		{"three documents capped", []string{idiDLPPN}, 10},
		{"mrn is other identifier", []string{idiMRN}, 4},
		{"L0 example", []string{idiName, idiBirth, idiAddress}, 9},
		{"L1 example", []string{idiName, idiBirth, idiDL}, 10},
		{"everything", []string{idiName, idiBirth, idiDLPPN, idiAddress, idiPhoneEm}, 20},
	}
	for _, tc := range tests {
		p, err := decodePatient([]byte(idiPatient("", tc.parts...)))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := weigh(p).Total(); got != tc.want {
			t.Errorf("%s: weight %d, want %d (%+v)", tc.name, got, tc.want, weigh(p))
		}
	}
}

func TestIDIMatch(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		status     int
		code       string
		diagnostic []string
	}{
		{"L0 reached", idiPatient(ProfileIDIPatientL0, idiName, idiBirth, idiAddress), 200, "", nil},
		{"L0 short", idiPatient(ProfileIDIPatientL0, idiName, idiBirth), 400, "business-rule",
			[]string{"IDI-Patient-L0", "at least 9", "reaches 5", "passport", "address"}},
		{"L1 short of one", idiPatient(ProfileIDIPatientL1, idiName, idiBirth, idiAddress), 400, "business-rule",
			[]string{"IDI-Patient-L1", "at least 10", "reaches 9", "driver", "second kind"}},
		{"L1 reached", idiPatient(ProfileIDIPatientL1, idiName, idiBirth, idiDL), 200, "", nil},
		{"L1 versioned canonical", idiPatient(ProfileIDIPatientL1+"|2.0.0", idiName, idiBirth), 400, "business-rule", []string{"reaches 5"}},
		{"strictest of two profiles", `{"resourceType":"Patient","meta":{"profile":["` + ProfileIDIPatientL0 + `","` + ProfileIDIPatientL1 + `"]},` + idiName + `,` + idiBirth + `,` + idiAddress + `}`, 400, "business-rule", []string{"L1"}},
		{"base with birth date", idiPatient(ProfileIDIPatient, idiBirth), 200, "", nil},
		{"no profile is base", idiPatient("", idiPhone), 200, "", nil},
		{"base without data", idiPatient(ProfileIDIPatient, `"gender":"male"`), 400, "required", []string{"idi-1"}},
		{"empty name", idiPatient(ProfileIDIPatient, idiBirth, `"name":[{"text":"P"}]`), 400, "required", []string{"idi-2"}},
		{"in Parameters as patient", params(`{"name":"patient","resource":` + idiPatient(ProfileIDIPatientL0, idiName, idiBirth, idiAddress) + `}`), 200, "", nil},
		{"bad body", `{`, 400, "structure", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := newFakeEngine()
			eng.matches = []matcher.Match{mkMatch("a", 0.99, scoring.GradeCertain), mkMatch("b", 0.5, scoring.GradePossible)}
			env := newTestEnv(t, eng, Options{Organization: "Example MPI"})
			resp, body := env.do(t, "POST", "/fhir/Patient/$idi-match", fhirJSON, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				oo := decodeOutcome(t, body)
				if oo.Issue[0].Code.Code() != tc.code {
					t.Errorf("code %s, want %s", oo.Issue[0].Code.Code(), tc.code)
				}
				for _, d := range tc.diagnostic {
					if !strings.Contains(*oo.Issue[0].Diagnostics, d) {
						t.Errorf("diagnostics %q lack %q", *oo.Issue[0].Diagnostics, d)
					}
				}
				if eng.calls != 0 {
					t.Error("engine was asked to match an input below the profile")
				}
				return
			}
			b := decodeBundle(t, body)
			if b.Type != fm.BundleTypeSearchset || b.Identifier == nil || b.Identifier.Value == nil ||
				!strings.HasPrefix(*b.Identifier.Value, "urn:uuid:") {
				t.Errorf("bundle header %+v identifier %+v", b.Type, b.Identifier)
			}
			if b.Meta == nil || len(b.Meta.Profile) != 1 || b.Meta.Profile[0] != ProfileIDIMatchBundle {
				t.Errorf("meta %+v", b.Meta)
			}
			if b.Total == nil || *b.Total != 2 || len(b.Entry) != 3 {
				t.Fatalf("total %v entries %d", b.Total, len(b.Entry))
			}
			for _, e := range b.Entry[:2] {
				if *e.Search.Mode != fm.SearchEntryModeMatch || gradeOf(e) == "" {
					t.Errorf("match entry %+v", e.Search)
				}
			}
			org := b.Entry[2]
			if org.Search == nil || *org.Search.Mode != fm.SearchEntryModeInclude || org.FullUrl == nil ||
				!strings.HasPrefix(*org.FullUrl, env.ts.URL+"/fhir/Organization/") {
				t.Errorf("organization entry %+v", org)
			}
			o, err := fm.UnmarshalOrganization(org.Resource)
			if err != nil || o.Name == nil || *o.Name != "Example MPI" || !strings.Contains(string(org.Resource), `"resourceType":"Organization"`) {
				t.Errorf("organization %s", org.Resource)
			}
		})
	}
}

func TestIDIMatchOnlyCertain(t *testing.T) {
	eng := newFakeEngine()
	eng.matches = []matcher.Match{mkMatch("a", 0.99, scoring.GradeCertain), mkMatch("b", 0.5, scoring.GradePossible)}
	env := newTestEnv(t, eng, Options{})
	body := params(`{"name":"IDIPatient","resource":`+idiPatient(ProfileIDIPatientL0, idiName, idiBirth, idiAddress)+`}`,
		`{"name":"onlyCertainMatches","valueBoolean":true}`)
	resp, rb := env.do(t, "POST", "/fhir/Patient/$idi-match", fhirJSON, body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, rb)
	}
	b := decodeBundle(t, rb)
	if *b.Total != 1 || len(b.Entry) != 2 || gradeOf(b.Entry[0]) != "certain" {
		t.Errorf("total %d entries %d", *b.Total, len(b.Entry))
	}
}
