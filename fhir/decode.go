package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/internal/elide"
	"github.com/patientmatch/patientmatch/record"
)

// maxCount bounds the count parameter: asking for more is not an error (FHIR
// lets a server return fewer), the answer is just capped here.
const maxCount = 200

// readBody checks the request's media type and reads its body, at most limit
// bytes. FHIR XML bodies are converted to JSON here, so every decoder reads
// JSON. A missing Content-Type is taken as JSON, or XML when the body starts
// with "<"; any other type than FHIR JSON or XML is 415, a longer body 413.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	isXML := false
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, badRequest(http.StatusUnsupportedMediaType, fm.IssueTypeNotSupported,
				"Content-Type %q cannot be parsed; send application/fhir+json", ct)
		}
		switch mt {
		case "application/fhir+json", "application/json", "application/json+fhir":
		default:
			if isXML = isXMLMedia(mt); !isXML {
				return nil, badRequest(http.StatusUnsupportedMediaType, fm.IssueTypeNotSupported,
					"Content-Type %s is not supported; send application/fhir+json or application/fhir+xml", mt)
			}
		}
	}
	body, err := readAll(http.MaxBytesReader(w, r.Body, limit), r.ContentLength, limit)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, badRequest(http.StatusRequestEntityTooLarge, fm.IssueTypeTooLong,
				"request body is larger than %d bytes", mbe.Limit)
		}
		return nil, invalid(fm.IssueTypeStructure, "request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid(fm.IssueTypeRequired, "request body is empty; send a FHIR resource as JSON")
	}
	if !utf8.Valid(body) {
		// encoding/json would turn invalid bytes into U+FFFD and store the
		// result; FHIR requires UTF-8, so refuse instead.
		return nil, invalid(fm.IssueTypeStructure, "request body is not valid UTF-8")
	}
	if isXML || (r.Header.Get("Content-Type") == "" && looksLikeXML(body)) {
		return xmlRequestBody(body)
	}
	return body, nil
}

// readAll is io.ReadAll with its first buffer sized from the request's
// Content-Length (when it is declared and within limit): one allocation
// instead of io.ReadAll's doubling from 512 bytes, whose discarded steps
// are garbage on every request. The length is only a hint; a body longer
// or shorter than declared is read the same way io.ReadAll would.
func readAll(r io.Reader, declared, limit int64) ([]byte, error) {
	size := 512
	if declared > 0 && declared <= limit {
		size = int(declared) + 1 // room to see EOF without growing
	}
	b := make([]byte, 0, size)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// resourceType returns the resourceType of a JSON resource, failing with a
// structure error when data is not a JSON object and with a required error
// when the resourceType is absent.
func resourceType(data []byte) (string, error) {
	var head struct {
		ResourceType *string `json:"resourceType"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return "", invalid(fm.IssueTypeStructure, "malformed JSON: %s", jsonErrorText(err))
	}
	if head.ResourceType == nil || *head.ResourceType == "" {
		return "", invalid(fm.IssueTypeRequired, "resourceType is missing; a FHIR resource must name its type")
	}
	return *head.ResourceType, nil
}

// jsonErrorText describes a JSON decoding error without quoting the input:
// syntax errors give their offset, type errors the field path.
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte offset %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q must be a JSON %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return fmt.Sprintf("expected a JSON %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	default:
		// samply's code types reject unknown codes with messages naming
		// the code type; those hold no patient data beyond a code.
		return err.Error()
	}
}

// jsonKind names a Go kind as a JSON type.
func jsonKind(k string) string {
	switch {
	case k == "struct" || k == "map":
		return "object"
	case k == "slice" || k == "array":
		return "array"
	case k == "bool":
		return "boolean"
	case strings.HasPrefix(k, "int") || strings.HasPrefix(k, "uint") || strings.HasPrefix(k, "float"):
		return "number"
	default:
		return k
	}
}

// decodePatient decodes a Patient resource with record.DecodePatient (the
// one Patient decoder) and shapes its error as an OperationOutcome issue.
func decodePatient(data []byte) (*fm.Patient, error) {
	p, err := record.DecodePatient(data)
	if err == nil {
		return p, nil
	}
	var pe *record.PatientError
	if !errors.As(err, &pe) {
		return nil, invalid(fm.IssueTypeStructure, "Patient could not be decoded")
	}
	var se *json.SyntaxError
	switch {
	case pe.Problem == record.NoResourceType:
		return nil, invalid(fm.IssueTypeRequired, "resourceType is missing; a FHIR resource must name its type")
	case pe.Problem == record.OtherResource:
		return nil, invalid(fm.IssueTypeInvalid, "resourceType is %q; expected Patient", elide.Text(pe.Found, 64))
	case pe.Problem == record.EmptyInput:
		return nil, invalid(fm.IssueTypeStructure, "malformed JSON: empty input; send a FHIR Patient JSON object")
	case pe.Problem == record.NotObject:
		return nil, invalid(fm.IssueTypeStructure, "malformed JSON: expected a JSON object, not %s", pe.Found)
	case errors.As(pe.Err, &se):
		return nil, invalid(fm.IssueTypeStructure, "malformed JSON: %s", jsonErrorText(pe.Err))
	}
	return nil, invalid(fm.IssueTypeStructure, "Patient does not follow the FHIR R4 JSON format: %s", jsonErrorText(pe.Err))
}

// matchRequest is a decoded $match or $idi-match request.
type matchRequest struct {
	Patient *fm.Patient
	// OnlyCertain, OnlySingle and Count are the IHE PDQm ITI-119 parameters
	// onlyCertainMatches, onlySingleMatch and count (0 when absent).
	OnlyCertain bool
	OnlySingle  bool
	Count       int
	// Explain asks for the match-explanation extension on each entry.
	Explain bool
}

// setParam reads parameter[i] of a $match Parameters into req.
func (req *matchRequest) setParam(i int, p *fm.ParametersParameter) error {
	name := p.Name
	switch name {
	case "resource", "IDIPatient", "patient":
		if len(p.Resource) == 0 || bytes.Equal(bytes.TrimSpace(p.Resource), []byte("null")) {
			return invalid(fm.IssueTypeRequired, "parameter %q (parameter[%d]) has no resource; put the Patient in parameter.resource", name, i)
		}
		pat, err := decodePatient(p.Resource)
		if err != nil {
			var fe *Error
			if errors.As(err, &fe) {
				fe.Diagnostics = fmt.Sprintf("parameter %q: %s", name, fe.Diagnostics)
			}
			return err
		}
		req.Patient = pat
	case "onlyCertainMatches", "onlySingleMatch", "explain":
		if p.ValueBoolean == nil {
			return invalid(fm.IssueTypeInvalid, "parameter %q needs a valueBoolean", name)
		}
		switch name {
		case "onlyCertainMatches":
			req.OnlyCertain = *p.ValueBoolean
		case "onlySingleMatch":
			req.OnlySingle = *p.ValueBoolean
		default:
			req.Explain = *p.ValueBoolean
		}
	case "count":
		var n *int
		switch {
		case p.ValueInteger != nil:
			n = p.ValueInteger
		case p.ValuePositiveInt != nil:
			n = p.ValuePositiveInt
		case p.ValueUnsignedInt != nil:
			n = p.ValueUnsignedInt
		}
		if n == nil {
			return invalid(fm.IssueTypeInvalid, "parameter \"count\" must be a positive integer (valueInteger or valuePositiveInt)")
		}
		if *n < 1 {
			return invalid(fm.IssueTypeInvalid, "parameter \"count\" must be a positive integer, got %d", *n)
		}
		req.Count = min(*n, maxCount)
	default:
		return badRequest(http.StatusBadRequest, fm.IssueTypeNotSupported,
			"unknown parameter %q; supported: %s", elide.Text(name, 64), matchParams)
	}
	return nil
}

// matchParams are the Parameters names a $match request may carry. An
// unknown name is rejected rather than ignored: a misspelt
// onlyCertainMatches silently ignored would hand out uncertain matches to a
// caller who asked for certain ones.
const matchParams = "resource, IDIPatient, patient, onlyCertainMatches, onlySingleMatch, count, explain"

// decodeMatchRequest decodes the body of POST Patient/$match: a Parameters
// resource or a bare Patient. Every error is an *Error wrapping ErrBadRequest.
func decodeMatchRequest(data []byte) (matchRequest, error) {
	var req matchRequest
	rt, err := resourceType(data)
	if err != nil {
		return req, err
	}
	switch rt {
	case "Patient":
		p, err := decodePatient(data)
		if err != nil {
			return req, err
		}
		req.Patient = p
		return req, nil
	case "Parameters":
	default:
		return req, invalid(fm.IssueTypeInvalid, "resourceType is %q; expected Parameters or Patient", elide.Text(rt, 64))
	}
	params, err := fm.UnmarshalParameters(data)
	if err != nil {
		return req, invalid(fm.IssueTypeStructure, "Parameters does not follow the FHIR R4 JSON format: %s", jsonErrorText(err))
	}
	seen := make(map[string]bool, len(params.Parameter))
	for i, p := range params.Parameter {
		key := p.Name
		if key == "resource" || key == "IDIPatient" || key == "patient" {
			key = "resource"
		}
		if seen[key] {
			return req, invalid(fm.IssueTypeInvalid, "parameter %q is given more than once; send one", elide.Text(p.Name, 64))
		}
		seen[key] = true
		if err := req.setParam(i, &p); err != nil {
			return req, err
		}
	}
	if req.Patient == nil {
		return req, invalid(fm.IssueTypeRequired, "Parameters has no \"resource\" parameter; put the Patient to match in parameter[name=resource].resource")
	}
	return req, nil
}
