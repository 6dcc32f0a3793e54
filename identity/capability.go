package identity

import fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

// Capabilities returns what the Handler's FHIR routes add to the server's
// CapabilityStatement: the Person resource (read, search by patient, link
// or _id, instance history) and the $merge and $unmerge operations on
// Patient. The FHIR server lists them when the identity service is
// mounted, so a client learns from /fhir/metadata that they exist.
func Capabilities() (person fm.CapabilityStatementRestResource, patientOps []fm.CapabilityStatementRestResourceOperation) {
	str := func(v string) *string { return &v }
	def := func(name string) *string { return str("http://hl7.org/fhir/SearchParameter/" + name) }
	person = fm.CapabilityStatementRestResource{
		Type:          fm.ResourceTypePerson,
		Profile:       str("http://hl7.org/fhir/StructureDefinition/Person"),
		Documentation: str("One identity per person: link[].target lists its Patients. Maintained by real-time linking and data stewards' decisions (GET /review)."),
		SearchParam: []fm.CapabilityStatementRestResourceSearchParam{
			{Name: "patient", Definition: def("Person-patient"), Type: fm.SearchParamTypeReference, Documentation: str("Patient/{id}: the identity that patient belongs to")},
			{Name: "link", Definition: def("Person-link"), Type: fm.SearchParamTypeReference, Documentation: str("as patient")},
			{Name: "_id", Definition: def("Resource-id"), Type: fm.SearchParamTypeToken},
		},
	}
	for _, c := range []fm.TypeRestfulInteraction{
		fm.TypeRestfulInteractionRead,
		fm.TypeRestfulInteractionSearchType,
		fm.TypeRestfulInteractionHistoryInstance,
	} {
		person.Interaction = append(person.Interaction, fm.CapabilityStatementRestResourceInteraction{Code: c})
	}
	patientOps = []fm.CapabilityStatementRestResourceOperation{
		{
			Name:          "merge",
			Definition:    "http://hl7.org/fhir/OperationDefinition/Patient-merge",
			Documentation: str("FHIR R5 Patient $merge (source-patient, target-patient, preview): joins the two identities; needs a steward scope. The merged-away Patient carries link replaced-by."),
		},
		{
			Name:          "unmerge",
			Definition:    "urn:patientmatch:operation:Patient-unmerge",
			Documentation: str("Splits a patient back out of its identity, restoring the identities as they were; needs a steward scope."),
		},
	}
	return person, patientOps
}
