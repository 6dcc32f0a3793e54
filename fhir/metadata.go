package fhir

import (
	"net/http"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// handleMetadata serves GET /fhir/metadata: the CapabilityStatement of what
// this server does.
func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) {
	writeResource(w, http.StatusOK, s.capabilityStatement(r))
}

func (s *Server) capabilityStatement(r *http.Request) fm.CapabilityStatement {
	str := func(v string) *string { return &v }
	t := true
	base := s.baseURL(r) + "/fhir"
	// versioned-update: If-Match is honoured (412 on a mismatch).
	versioning := fm.ResourceVersionPolicyVersionedUpdate
	interactions := []fm.TypeRestfulInteraction{
		fm.TypeRestfulInteractionRead,
		fm.TypeRestfulInteractionVread,
		fm.TypeRestfulInteractionUpdate,
		fm.TypeRestfulInteractionDelete,
		fm.TypeRestfulInteractionCreate,
		fm.TypeRestfulInteractionSearchType,
		fm.TypeRestfulInteractionHistoryInstance,
	}
	patient := fm.CapabilityStatementRestResource{
		Type:         fm.ResourceTypePatient,
		Profile:      str("http://hl7.org/fhir/StructureDefinition/Patient"),
		Versioning:   &versioning,
		UpdateCreate: &t,
		ReadHistory:  &t,
		SearchParam:  patientSearchParams(),
		SupportedProfile: []string{
			ProfileIDIPatient, ProfileIDIPatientL0, ProfileIDIPatientL1,
		},
		Operation: []fm.CapabilityStatementRestResourceOperation{
			{
				Name:          "match",
				Definition:    "http://hl7.org/fhir/OperationDefinition/Patient-match",
				Documentation: str("FHIR R4 Patient/$match and IHE PDQm ITI-119: onlyCertainMatches, onlySingleMatch, count; explain (valueBoolean) or ?_explain=true adds " + MatchExplanationURL + " (each comparison's level and weight, and the cap that lowered the grade, if any)."),
			},
			{
				Name:          "idi-match",
				Definition:    "http://hl7.org/fhir/us/identity-matching/OperationDefinition/IDI-match",
				Documentation: str("HL7 Identity Matching IG: checks the asserted IDI-Patient, -L0 (weight >= 9) or -L1 (weight >= 10) profile."),
			},
		},
	}
	patient.Operation = append(patient.Operation, s.extra.PatientOperations...)
	for _, c := range interactions {
		patient.Interaction = append(patient.Interaction, fm.CapabilityStatementRestResourceInteraction{Code: c})
	}
	return fm.CapabilityStatement{
		Status:    fm.PublicationStatusActive,
		Date:      s.now().UTC().Format(time.RFC3339),
		Publisher: str("patientmatch"),
		Kind:      fm.CapabilityStatementKindInstance,
		Software:  &fm.CapabilityStatementSoftware{Name: "patientmatch", Version: str(s.opts.Version)},
		Implementation: &fm.CapabilityStatementImplementation{
			Description: "patientmatch patient identity matching engine",
			Url:         &base,
		},
		FhirVersion: fm.FHIRVersion4_0_1,
		Format:      []string{"application/fhir+json", "json", "application/fhir+xml", "xml"},
		Rest: []fm.CapabilityStatementRest{{
			Mode:     fm.RestfulCapabilityModeServer,
			Resource: append([]fm.CapabilityStatementRestResource{patient}, s.extra.Resources...),
			Interaction: []fm.CapabilityStatementRestInteraction{
				{Code: fm.SystemRestfulInteractionBatch},
				{Code: fm.SystemRestfulInteractionTransaction},
			},
		}},
	}
}

// patientSearchParams are the Patient search parameters served (IHE PDQm
// ITI-78), for the CapabilityStatement.
func patientSearchParams() []fm.CapabilityStatementRestResourceSearchParam {
	def := func(name string) *string { d := "http://hl7.org/fhir/SearchParameter/" + name; return &d }
	doc := func(s string) *string { return &s }
	return []fm.CapabilityStatementRestResourceSearchParam{
		{Name: "_id", Definition: def("Resource-id"), Type: fm.SearchParamTypeToken},
		{Name: "identifier", Definition: def("Patient-identifier"), Type: fm.SearchParamTypeToken, Documentation: doc("system|value, |value, system| or value")},
		{Name: "family", Definition: def("individual-family"), Type: fm.SearchParamTypeString, Documentation: doc("starts-with, ignoring case, accents and punctuation; :exact, :contains")},
		{Name: "given", Definition: def("individual-given"), Type: fm.SearchParamTypeString, Documentation: doc("as family, on every given name")},
		{Name: "birthdate", Definition: def("individual-birthdate"), Type: fm.SearchParamTypeDate, Documentation: doc("YYYY, YYYY-MM or YYYY-MM-DD with eq, ne, gt, lt, ge, le, sa, eb")},
		{Name: "gender", Definition: def("individual-gender"), Type: fm.SearchParamTypeToken},
		{Name: "address-postalcode", Definition: def("individual-address-postalcode"), Type: fm.SearchParamTypeString},
		{Name: "telecom", Definition: def("individual-telecom"), Type: fm.SearchParamTypeToken, Documentation: doc("[system|]value; phone numbers compared as the matcher normalizes them")},
		{Name: "_count", Type: fm.SearchParamTypeNumber, Documentation: doc("page size, default 20, at most 200; Bundle.link next pages on")},
	}
}
