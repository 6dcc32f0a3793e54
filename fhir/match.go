package fhir

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// Extension URLs of a $match answer.
const (
	// MatchGradeURL is FHIR's match-grade extension on Bundle.entry.search:
	// certain | probable | possible.
	MatchGradeURL = "http://hl7.org/fhir/StructureDefinition/match-grade"
	// MatchExplanationURL is patientmatch's opt-in explanation extension on
	// Bundle.entry.search. It holds one nested extension per comparison of
	// the scoring model, whose url is the comparison name (e.g.
	// "given_name", "birth_date") and which holds two nested extensions:
	// "level" (valueString, the level reached, e.g. "exact", "jw>=0.92",
	// "missing") and "weight" (valueDecimal, the log2 likelihood ratio that
	// level contributed). When a hazard rule lowered the grade it also
	// holds, after the comparisons, {"url": "cap", "valueCode": rule}: the
	// rule's name (twins, junior, siblings, no_corroboration, conflict,
	// weak_agreement; scoring.Cap), so a reader sees that the grade is
	// held below what the score alone gives. An entry without that part
	// was graded by its score alone. Ask for it with the Parameters
	// parameter "explain" (valueBoolean true) or the query parameter
	// _explain=true.
	MatchExplanationURL = "http://patientmatch.dev/fhir/StructureDefinition/match-explanation"
)

// handleMatch serves POST /fhir/Patient/$match (FHIR R4 Patient/$match,
// IHE PDQm ITI-119).
func (s *Server) handleMatch(w http.ResponseWriter, r *http.Request) {
	req, err := s.readMatchRequest(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	ms, err := s.matches(r, req)
	if err != nil {
		writeError(w, err)
		return
	}
	buf := answerBuffers.Get().(*[]byte)
	*buf = s.appendSearchset((*buf)[:0], r, ms, req.Explain)
	writeJSON(w, http.StatusOK, *buf)
	if cap(*buf) <= maxPooledAnswer {
		answerBuffers.Put(buf)
	}
}

// readMatchRequest reads and decodes a $match body plus the _explain query
// parameter.
func (s *Server) readMatchRequest(w http.ResponseWriter, r *http.Request) (matchRequest, error) {
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		return matchRequest{}, err
	}
	req, err := decodeMatchRequest(body)
	if err != nil {
		return req, err
	}
	if err := checkLimits(req.Patient); err != nil {
		return req, err
	}
	if v := r.URL.Query().Get("_explain"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return req, invalid(fm.IssueTypeInvalid, "query parameter _explain must be true or false")
		}
		req.Explain = req.Explain || on
	}
	return req, nil
}

// match runs req against the engine and builds the searchset Bundle. The
// engine ranks and selects (count, onlyCertainMatches, onlySingleMatch):
// matcher.Select is the one selection rule of every surface.
func (s *Server) match(r *http.Request, req matchRequest) (fm.Bundle, error) {
	ms, err := s.matches(r, req)
	if err != nil {
		return fm.Bundle{}, err
	}
	return s.searchset(r, ms, req.Explain), nil
}

// matches runs req against the engine.
func (s *Server) matches(r *http.Request, req matchRequest) ([]matcher.Match, error) {
	opts := matcher.MatchOptions{Count: req.Count, OnlyCertain: req.OnlyCertain, OnlySingle: req.OnlySingle, Explain: req.Explain}
	ms, err := s.eng.Match(r.Context(), record.FromFHIR(req.Patient), opts)
	if err != nil {
		return nil, engineError(err)
	}
	return ms, nil
}

// answerBuffers holds the buffers $match answers are written into.
var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxPooledAnswer is the largest buffer put back in answerBuffers: an
// answer of 200 explained matches must not stay pinned in the pool.
const maxPooledAnswer = 256 << 10

// appendSearchset appends the JSON of the $match Bundle of ms to b: the
// bytes json.Marshal gives for searchset's fm.Bundle (TestSearchsetBytes),
// written directly. Each stored resource is spliced in as it is: the
// store holds it as encoding/json wrote it (compact, HTML-escaped), which
// is what json.Marshal would make of it again after validating and
// copying every byte of it twice (once for Bundle.MarshalJSON, once for
// its caller).
func (s *Server) appendSearchset(b []byte, r *http.Request, ms []matcher.Match, explain bool) []byte {
	id := s.newUUID()
	ts := s.now().UTC().Format(time.RFC3339)
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"meta":{"lastUpdated":`...)
	b = appendJSONString(b, ts)
	b = append(b, `},"type":"searchset","timestamp":`...)
	b = appendJSONString(b, ts)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(len(ms)), 10)
	if len(ms) > 0 {
		base := s.baseURL(r) + "/fhir/Patient/"
		b = append(b, `,"entry":[`...)
		for i, m := range ms {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"fullUrl":`...)
			b = appendJSONString(b, base+m.ID)
			if len(m.Resource) > 0 {
				b = append(b, `,"resource":`...)
				b = append(b, m.Resource...)
			}
			b = append(b, `,"search":{"extension":[{"url":"`+MatchGradeURL+`","valueCode":`...)
			b = appendJSONString(b, m.Grade.String())
			b = append(b, '}')
			if explain && explained(m) {
				ext, err := json.Marshal(explanationExtension(m))
				if err != nil {
					// An Extension of strings and numbers always encodes.
					panic(fmt.Sprintf("fhir: encoding an explanation: %v", err))
				}
				b = append(b, ',')
				b = append(b, ext...)
			}
			b = append(b, `],"mode":"match","score":`...)
			b = append(b, formatDecimal(m.Probability)...)
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	return append(b, `,"resourceType":"Bundle"}`...)
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// searchset builds the $match Bundle of ms.
func (s *Server) searchset(r *http.Request, ms []matcher.Match, explain bool) fm.Bundle {
	id := s.newUUID()
	ts := s.now().UTC().Format(time.RFC3339)
	total := len(ms)
	b := fm.Bundle{
		Id:        &id,
		Meta:      &fm.Meta{LastUpdated: &ts},
		Type:      fm.BundleTypeSearchset,
		Timestamp: &ts,
		Total:     &total,
		Entry:     make([]fm.BundleEntry, 0, len(ms)),
	}
	for _, m := range ms {
		b.Entry = append(b.Entry, s.matchEntry(r, m, explain))
	}
	return b
}

// matchEntry is the Bundle entry of one match.
func (s *Server) matchEntry(r *http.Request, m matcher.Match, explain bool) fm.BundleEntry {
	url := s.patientURL(r, m.ID)
	mode := fm.SearchEntryModeMatch
	score := json.Number(formatDecimal(m.Probability))
	grade := m.Grade.String()
	ext := []fm.Extension{{Url: MatchGradeURL, ValueCode: &grade}}
	if explain && explained(m) {
		ext = append(ext, explanationExtension(m))
	}
	return fm.BundleEntry{
		FullUrl:  &url,
		Resource: m.Resource,
		Search:   &fm.BundleEntrySearch{Mode: &mode, Score: &score, Extension: ext},
	}
}

// explained reports whether m has anything for the match-explanation
// extension to say: its comparisons, or the cap that lowered its grade.
func explained(m matcher.Match) bool {
	return len(m.Explanation) > 0 || m.Cap != scoring.CapNone
}

// explanationExtension is the match-explanation extension of m: one part
// per comparison, then the cap part when a hazard rule lowered the grade
// (MatchExplanationURL).
func explanationExtension(m matcher.Match) fm.Extension {
	parts := make([]fm.Extension, 0, len(m.Explanation)+1)
	for _, c := range m.Explanation {
		level := c.Level
		weight := json.Number(formatDecimal(c.Weight))
		parts = append(parts, fm.Extension{
			Url: c.Comparison,
			Extension: []fm.Extension{
				{Url: "level", ValueString: &level},
				{Url: "weight", ValueDecimal: &weight},
			},
		})
	}
	if m.Cap != scoring.CapNone {
		rule := m.Cap.String()
		parts = append(parts, fm.Extension{Url: "cap", ValueCode: &rule})
	}
	return fm.Extension{Url: MatchExplanationURL, Extension: parts}
}

// formatDecimal writes f as a FHIR decimal: plain notation, at most 6
// decimals (more is noise in a probability or a log2 weight), no trailing
// zeros.
func formatDecimal(f float64) string {
	switch {
	case math.IsNaN(f):
		f = 0
	case math.IsInf(f, 1):
		f = math.MaxFloat64
	case math.IsInf(f, -1):
		f = -math.MaxFloat64
	}
	s := strconv.FormatFloat(f, 'f', 6, 64)
	// Trim trailing zeros but keep at least one digit after the point.
	i := len(s)
	for i > 0 && s[i-1] == '0' {
		i--
	}
	if i > 0 && s[i-1] == '.' {
		i++
	}
	s = s[:i]
	if s == "-0.0" {
		s = "0.0"
	}
	return s
}
