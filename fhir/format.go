package fhir

import (
	"bytes"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/fhir/fhirxml"
	"github.com/patientmatch/patientmatch/internal/elide"
)

// format is a FHIR wire format (FHIR R4 http.html#mime-type).
type format uint8

const (
	formatJSON format = iota
	formatXML
)

// Media types of the two formats.
const (
	mediaJSON = "application/fhir+json"
	mediaXML  = "application/fhir+xml"
	// contentTypeXML is the Content-Type of XML responses.
	contentTypeXML = "application/fhir+xml; charset=utf-8"
)

// mediaFormat maps the media types (and _format shorthands) the server
// understands to their format.
func mediaFormat(mt string) (format, bool) {
	switch strings.ToLower(mt) {
	case "json", mediaJSON, "application/json", "application/json+fhir":
		return formatJSON, true
	case "xml", mediaXML, "application/xml", "text/xml", "application/xml+fhir":
		return formatXML, true
	}
	return 0, false
}

// responseFormat chooses the format of the answer to r: the _format query
// parameter when present, else the Accept header (by q-value; */*,
// application/* and an absent header mean JSON). Nothing acceptable is a
// 406 error.
func responseFormat(r *http.Request) (format, *Error) {
	if f := r.URL.Query().Get("_format"); f != "" {
		mt, _, err := mime.ParseMediaType(f)
		if err != nil {
			mt = f
		}
		if f, ok := mediaFormat(mt); ok {
			return f, nil
		}
		return formatJSON, notAcceptable("_format %q is not served; use json or xml", elide.Text(f, 64))
	}
	accept := r.Header.Values("Accept")
	if len(accept) == 0 {
		return formatJSON, nil
	}
	best, bestQ, found := formatJSON, -1.0, false
	for _, h := range accept {
		for _, part := range strings.Split(h, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			f, q, ok := acceptRange(part)
			if !ok || q <= 0 {
				continue
			}
			if q > bestQ {
				best, bestQ, found = f, q, true
			}
		}
	}
	if !found {
		return formatJSON, notAcceptable("Accept %q names no format served here; accept application/fhir+json or application/fhir+xml", elide.Text(strings.Join(accept, ", "), 120))
	}
	return best, nil
}

// acceptRange reads one media range of an Accept header.
func acceptRange(part string) (format, float64, bool) {
	mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
	if err != nil {
		return 0, 0, false
	}
	q := 1.0
	if v, ok := params["q"]; ok {
		if q, err = strconv.ParseFloat(v, 64); err != nil {
			return 0, 0, false
		}
	}
	switch mt {
	case "*/*", "application/*":
		// A wildcard is worth a little less than the same q named exactly,
		// so "application/fhir+xml, */*" picks XML.
		return formatJSON, q - 0.0001, true
	}
	f, ok := mediaFormat(mt)
	return f, q, ok
}

func notAcceptable(format string, a ...any) *Error {
	return badRequest(http.StatusNotAcceptable, fm.IssueTypeNotSupported, format, a...)
}

// formatWriter carries the negotiated response format to writeResource.
type formatWriter struct {
	http.ResponseWriter
	format format
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *formatWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withFormat negotiates the response format of a /fhir request and wraps w
// with it; ok is false when a 406 was written instead.
func withFormat(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, bool) {
	if r.URL.Path != "/fhir" && !strings.HasPrefix(r.URL.Path, "/fhir/") {
		return w, true
	}
	f, err := responseFormat(r)
	if err != nil {
		writeError(w, err)
		return w, false
	}
	return &formatWriter{ResponseWriter: w, format: f}, true
}

// responseBody turns the JSON body b into the format negotiated for w, and
// returns it with its Content-Type.
func responseBody(w http.ResponseWriter, b []byte) ([]byte, string, error) {
	fw, ok := w.(*formatWriter)
	if !ok || fw.format == formatJSON {
		return b, contentType, nil
	}
	x, err := fhirxml.JSONToXML(b)
	if err != nil {
		return nil, "", err
	}
	return x, contentTypeXML, nil
}

// isXMLMedia reports whether a request Content-Type media type is FHIR XML.
func isXMLMedia(mt string) bool {
	f, ok := mediaFormat(mt)
	return ok && f == formatXML && mt != "xml"
}

// xmlRequestBody converts an XML request body to the JSON the decoders read.
func xmlRequestBody(body []byte) ([]byte, error) {
	js, err := fhirxml.XMLToJSON(body)
	switch {
	case err == nil:
		return js, nil
	case errors.Is(err, fhirxml.ErrUnsupported):
		return nil, invalid(fm.IssueTypeNotSupported, "%s", strings.TrimPrefix(err.Error(), "fhirxml: "))
	default:
		return nil, invalid(fm.IssueTypeStructure, "%s", strings.TrimPrefix(err.Error(), "fhirxml: "))
	}
}

// looksLikeXML reports whether a body sent without Content-Type is XML.
func looksLikeXML(body []byte) bool {
	return bytes.HasPrefix(bytes.TrimSpace(body), []byte("<"))
}
