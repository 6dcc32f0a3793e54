// Package fhir is patientmatch's FHIR R4 HTTP service: Patient/$match (with
// IHE PDQm ITI-119's onlyCertainMatches, onlySingleMatch and count),
// Patient/$idi-match (HL7 Interoperable Digital Identity and Patient
// Matching IG), Patient read/create/update/delete, batch and transaction
// Bundles, the CapabilityStatement, health, readiness and Prometheus
// metrics.
//
// The package owns the wire format only: it decodes and checks requests,
// maps them onto the small Engine interface it declares, and turns results
// and errors into FHIR resources. Every failure is an OperationOutcome with
// a 4xx status for bad input (never a 5xx, never a panic) and 5xx only for
// engine failures; diagnostics say what to fix without echoing patient data,
// and logs and metrics carry route patterns, never raw paths, ids or bodies.
//
// See README.md for the endpoints, the match-explanation extension and the
// error codes.
package fhir
