package fhir

import (
	"errors"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/record"
)

// checkWrite applies the rules every write over HTTP and gRPC shares
// (record.CheckForWrite: per-Patient limits, a FHIR birthDate that is a
// real date and not in the future) to a Patient about to be stored.
func (s *Server) checkWrite(p *fm.Patient) *Error {
	return recordError(record.CheckForWrite(p, s.now()))
}

// checkLimits applies the per-Patient limits to a Patient to match.
func checkLimits(p *fm.Patient) *Error {
	return recordError(record.CheckLimits(p))
}

// recordError turns a record.ErrInvalid into a 400 OperationOutcome.
func recordError(err error) *Error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if errors.Is(err, record.ErrInvalid) {
		msg = strings.TrimPrefix(msg, record.ErrInvalid.Error()+": ")
	}
	return invalid(fm.IssueTypeInvalid, "%s", msg)
}
