package fhir

import (
	"fmt"
	"net/http"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Profiles of the HL7 Interoperable Digital Identity and Patient Matching IG
// (STU2) that an $idi-match input may assert in meta.profile.
const (
	ProfileIDIPatient   = "http://hl7.org/fhir/us/identity-matching/StructureDefinition/IDI-Patient"
	ProfileIDIPatientL0 = "http://hl7.org/fhir/us/identity-matching/StructureDefinition/IDI-Patient-L0"
	ProfileIDIPatientL1 = "http://hl7.org/fhir/us/identity-matching/StructureDefinition/IDI-Patient-L1"
	// ProfileIDIMatchBundle is the profile of an $idi-match answer.
	ProfileIDIMatchBundle = "http://hl7.org/fhir/us/identity-matching/StructureDefinition/IDI-Match-Bundle"
)

// idiLevel is an asserted IDI-Patient profile, weakest first.
type idiLevel int

const (
	idiBase idiLevel = iota
	idiL0
	idiL1
)

func (l idiLevel) String() string {
	switch l {
	case idiL0:
		return "IDI-Patient-L0"
	case idiL1:
		return "IDI-Patient-L1"
	default:
		return "IDI-Patient"
	}
}

// minWeight is the input weight the level needs (the IG's idi-L0 and idi-L1
// invariants); the base profile has no minimum.
func (l idiLevel) minWeight() int {
	switch l {
	case idiL0:
		return 9
	case idiL1:
		return 10
	default:
		return 0
	}
}

// assertedLevel is the strictest IDI profile p asserts in meta.profile (a
// canonical's "|version" suffix is ignored). Without one, the base
// IDI-Patient profile is assumed.
func assertedLevel(p *fm.Patient) idiLevel {
	lvl := idiBase
	if p.Meta == nil {
		return lvl
	}
	for _, prof := range p.Meta.Profile {
		prof, _, _ = strings.Cut(prof, "|")
		switch prof {
		case ProfileIDIPatientL1:
			lvl = max(lvl, idiL1)
		case ProfileIDIPatientL0:
			lvl = max(lvl, idiL0)
		}
	}
	return lvl
}

// inputWeight is the IG's "Patient Weighted Elements" score of an input.
type inputWeight struct {
	// Documents: passport, driver's licence or state ID numbers, 5 each,
	// at most 10.
	Documents int
	// Other: address, email, phone, other identifier, photo: 4 for one kind,
	// 5 for two or more kinds.
	Other      int
	otherKinds int
	// Name: 3 for a first and a last name.
	Name int
	// BirthDate: 2.
	BirthDate int
}

// Total is the input weight.
func (w inputWeight) Total() int { return w.Documents + w.Other + w.Name + w.BirthDate }

// missing lists what the caller could add to raise the weight.
func (w inputWeight) missing() []string {
	var m []string
	if w.Documents < 10 {
		m = append(m, "a passport, driver's license or state ID number (identifier.type PPN or DL, or text \"state id\"; +5 each, at most +10)")
	}
	switch w.otherKinds {
	case 0:
		m = append(m, "an address (line, city and state, or postal code), email, phone, other identifier (insurance member id, MRN) or photo (+4 for one, +5 for two or more)")
	case 1:
		m = append(m, "a second kind of address, email, phone, other identifier or photo (+1)")
	}
	if w.Name == 0 {
		m = append(m, "a first and last name (+3)")
	}
	if w.BirthDate == 0 {
		m = append(m, "a birth date (+2)")
	}
	return m
}

// weigh computes the input weight of p. Like the IG's own invariant it
// trusts identifier type codes as given.
func weigh(p *fm.Patient) inputWeight {
	var w inputWeight
	var address, email, phone, otherID, photo bool
	for _, id := range p.Identifier {
		if id.Value == nil || strings.TrimSpace(*id.Value) == "" {
			continue
		}
		if identityDocument(id) {
			w.Documents += 5
		} else {
			otherID = true
		}
	}
	w.Documents = min(w.Documents, 10)
	for _, a := range p.Address {
		hasLine := false
		for _, l := range a.Line {
			hasLine = hasLine || strings.TrimSpace(l) != ""
		}
		if (hasLine && nonEmpty(a.City) && nonEmpty(a.State)) || nonEmpty(a.PostalCode) {
			address = true
		}
	}
	for _, t := range p.Telecom {
		if t.System == nil || !nonEmpty(t.Value) {
			continue
		}
		switch t.System.Code() {
		case "email":
			email = true
		case "phone", "sms":
			phone = true
		}
	}
	photo = len(p.Photo) > 0
	for _, b := range []bool{address, email, phone, otherID, photo} {
		if b {
			w.otherKinds++
		}
	}
	switch {
	case w.otherKinds == 1:
		w.Other = 4
	case w.otherKinds >= 2:
		w.Other = 5
	}
	for _, n := range p.Name {
		given := false
		for _, g := range n.Given {
			given = given || strings.TrimSpace(g) != ""
		}
		if given && nonEmpty(n.Family) {
			w.Name = 3
		}
	}
	if nonEmpty(p.BirthDate) {
		w.BirthDate = 2
	}
	return w
}

// identityDocument reports whether id is a passport, driver's licence or
// state ID number.
func identityDocument(id fm.Identifier) bool {
	if id.Type == nil {
		return false
	}
	for _, c := range id.Type.Coding {
		if c.Code == nil {
			continue
		}
		switch strings.ToUpper(*c.Code) {
		case "PPN", "DL":
			return true
		}
	}
	if id.Type.Text != nil {
		t := strings.ToLower(*id.Type.Text)
		for _, k := range []string{"passport", "driver", "state id", "state identification"} {
			if strings.Contains(t, k) {
				return true
			}
		}
	}
	return false
}

func nonEmpty(s *string) bool { return s != nil && strings.TrimSpace(*s) != "" }

// checkIDIInput enforces the asserted profile: idi-1 (some identifying data
// is present) and idi-2 (every name has a given or family part) for all
// levels, and the minimum input weight for L0 and L1.
func checkIDIInput(p *fm.Patient) error {
	lvl := assertedLevel(p)
	for i, n := range p.Name {
		if !nonEmpty(n.Family) && len(n.Given) == 0 {
			return invalid(fm.IssueTypeRequired, "%s: Patient.name[%d] has neither given nor family name (idi-2)", lvl, i)
		}
	}
	w := weigh(p)
	hasName := false
	for _, n := range p.Name {
		hasName = hasName || (nonEmpty(n.Family) && len(n.Given) > 0)
	}
	addr := false
	for _, a := range p.Address {
		addr = addr || len(a.Line) > 0 || nonEmpty(a.City) || nonEmpty(a.PostalCode)
	}
	if len(p.Identifier) == 0 && len(p.Telecom) == 0 && !hasName && !addr && !nonEmpty(p.BirthDate) {
		return invalid(fm.IssueTypeRequired, "%s: the Patient needs an identifier, telecom, given and family name, address or birth date (idi-1)", lvl)
	}
	if need := lvl.minWeight(); w.Total() < need {
		return invalid(fm.IssueTypeBusinessRule,
			"%s needs an input weight of at least %d; this Patient reaches %d (identity documents %d, address/telecom/other identifiers/photo %d, name %d, birth date %d). Would add weight: %s",
			lvl, need, w.Total(), w.Documents, w.Other, w.Name, w.BirthDate, strings.Join(w.missing(), "; "))
	}
	return nil
}

// handleIDIMatch serves POST /fhir/Patient/$idi-match, the HL7 Identity
// Matching IG's operation: the input is checked against the IDI-Patient
// profile it asserts, and the answer is an IDI match bundle (a $match
// searchset plus a Bundle identifier and an entry for the responding
// Organization, search mode include).
func (s *Server) handleIDIMatch(w http.ResponseWriter, r *http.Request) {
	req, err := s.readMatchRequest(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := checkIDIInput(req.Patient); err != nil {
		writeError(w, err)
		return
	}
	b, err := s.match(r, req)
	if err != nil {
		writeError(w, err)
		return
	}
	ident := "urn:uuid:" + s.newUUID()
	system := "urn:ietf:rfc:3986"
	b.Identifier = &fm.Identifier{System: &system, Value: &ident}
	b.Meta.Profile = []string{ProfileIDIMatchBundle}
	orgID := "responder"
	active := true
	name := s.opts.Organization
	org, err := fm.Organization{Id: &orgID, Active: &active, Name: &name}.MarshalJSON()
	if err != nil {
		writeError(w, engineError(fmt.Errorf("encoding Organization: %w", err)))
		return
	}
	url := s.baseURL(r) + "/fhir/Organization/" + orgID
	mode := fm.SearchEntryModeInclude
	b.Entry = append(b.Entry, fm.BundleEntry{FullUrl: &url, Resource: org, Search: &fm.BundleEntrySearch{Mode: &mode}})
	writeResource(w, http.StatusOK, b)
}
