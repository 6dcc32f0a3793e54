package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/matcher"
)

// Sentinel errors of the package, classified with errors.Is. Every error this
// package returns for a request is an *Error that wraps one of them.
var (
	// ErrBadRequest: the request cannot be served as sent (malformed JSON,
	// wrong resource type, missing or bad parameter, unsupported media type,
	// body too large). It always maps to a 4xx status.
	ErrBadRequest = errors.New("fhir: bad request")
	// ErrNotFound: no such patient, route or operation.
	ErrNotFound = errors.New("fhir: not found")
	// ErrUnavailable: the engine is closed or not ready.
	ErrUnavailable = errors.New("fhir: service unavailable")
	// ErrInternal: an engine failure that is not the caller's fault.
	ErrInternal = errors.New("fhir: internal error")
)

// Error is a request failure on its way to becoming an OperationOutcome:
// the HTTP status, the FHIR issue type and a diagnostic that tells the caller
// what to fix. Diagnostics never echo patient data back.
type Error struct {
	Status      int
	Code        fm.IssueType
	Diagnostics string
	// Allow lists the methods of a 405 answer, for the Allow header.
	Allow string
	// Err is the sentinel (ErrBadRequest, ErrNotFound, ...) plus any cause.
	Err error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%v: %s (%d %s)", e.Err, e.Diagnostics, e.Status, e.Code.Code())
}

func (e *Error) Unwrap() error { return e.Err }

// badRequest returns a 400 (or other 4xx status) input error.
func badRequest(status int, code fm.IssueType, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Diagnostics: fmt.Sprintf(format, a...), Err: ErrBadRequest}
}

// invalid is the common case of badRequest: 400 with the given issue type.
func invalid(code fm.IssueType, format string, a ...any) *Error {
	return badRequest(http.StatusBadRequest, code, format, a...)
}

// notFound returns a 404 error.
func notFound(format string, a ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: fm.IssueTypeNotFound, Diagnostics: fmt.Sprintf(format, a...), Err: ErrNotFound}
}

// methodNotAllowed returns a 405 error listing the allowed methods.
func methodNotAllowed(method, allow string) *Error {
	return &Error{
		Status:      http.StatusMethodNotAllowed,
		Code:        fm.IssueTypeNotSupported,
		Diagnostics: fmt.Sprintf("method %s is not supported here; allowed: %s", method, allow),
		Allow:       allow,
		Err:         ErrBadRequest,
	}
}

// engineError classifies an error of the engine: matcher.ErrNotFound → 404,
// matcher.ErrInvalid → 400 (its wrapped detail is the engine's own text, which
// names fields, never values), matcher.ErrClosed → 503, anything else → 500
// with a generic diagnostic (the cause goes to the log only).
func engineError(err error) *Error {
	var fe *Error
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.Is(err, matcher.ErrVersionMismatch):
		return &Error{Status: http.StatusPreconditionFailed, Code: fm.IssueTypeConflict, Diagnostics: "If-Match: " + versionDetail(err), Err: fmt.Errorf("%w: %w", ErrBadRequest, err)}
	case errors.Is(err, matcher.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: fm.IssueTypeNotFound, Diagnostics: "patient not found", Err: fmt.Errorf("%w: %w", ErrNotFound, err)}
	case errors.Is(err, matcher.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: fm.IssueTypeInvalid, Diagnostics: err.Error(), Err: fmt.Errorf("%w: %w", ErrBadRequest, err)}
	case errors.Is(err, matcher.ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Code: fm.IssueTypeTransient, Diagnostics: "the matching engine is not available; retry later", Err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
	default:
		return &Error{Status: http.StatusInternalServerError, Code: fm.IssueTypeException, Diagnostics: "internal error; see the server log", Err: fmt.Errorf("%w: %w", ErrInternal, err)}
	}
}

// outcome builds the OperationOutcome resource of e.
func (e *Error) outcome() fm.OperationOutcome {
	sev := fm.IssueSeverityError
	if e.Status >= 500 {
		sev = fm.IssueSeverityFatal
	}
	d := e.Diagnostics
	return fm.OperationOutcome{Issue: []fm.OperationOutcomeIssue{{Severity: sev, Code: e.Code, Diagnostics: &d}}}
}

// writeError writes err as an OperationOutcome with its status.
func writeError(w http.ResponseWriter, err error) {
	var fe *Error
	if !errors.As(err, &fe) {
		fe = engineError(err)
	}
	if fe.Allow != "" {
		w.Header().Set("Allow", fe.Allow)
	}
	writeResource(w, fe.Status, fe.outcome())
}

// contentType is the media type of every response of the FHIR API.
const contentType = "application/fhir+json; charset=utf-8"

// writeResource writes v (a FHIR resource) as JSON with status.
func writeResource(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a broken invariant (an unmarshalable model) can get here.
		status = http.StatusInternalServerError
		d := "internal error: response could not be encoded"
		b, _ = json.Marshal(fm.OperationOutcome{Issue: []fm.OperationOutcomeIssue{{Severity: fm.IssueSeverityFatal, Code: fm.IssueTypeException, Diagnostics: &d}}})
	}
	writeJSON(w, status, b)
}

// writeJSON writes already-encoded FHIR JSON with status, converted to the
// format negotiated for w (see withFormat).
func writeJSON(w http.ResponseWriter, status int, b []byte) {
	body, ct, err := responseBody(w, b)
	if err != nil {
		// Only a resource type the XML codec lacks can get here.
		status, ct = http.StatusInternalServerError, contentType
		d := "internal error: the response could not be converted to XML"
		body, _ = json.Marshal(fm.OperationOutcome{Issue: []fm.OperationOutcomeIssue{{Severity: fm.IssueSeverityFatal, Code: fm.IssueTypeException, Diagnostics: &d}}})
	}
	b = body
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
