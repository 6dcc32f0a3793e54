package fhir

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
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
	// level contributed). Ask for it with the Parameters parameter "explain"
	// (valueBoolean true) or the query parameter _explain=true.
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
	b, err := s.match(r, req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeResource(w, http.StatusOK, b)
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
	opts := matcher.MatchOptions{Count: req.Count, OnlyCertain: req.OnlyCertain, OnlySingle: req.OnlySingle, Explain: req.Explain}
	ms, err := s.eng.Match(r.Context(), record.FromFHIR(req.Patient), opts)
	if err != nil {
		return fm.Bundle{}, engineError(err)
	}
	return s.searchset(r, ms, req.Explain), nil
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
	if explain && len(m.Explanation) > 0 {
		ext = append(ext, explanationExtension(m))
	}
	return fm.BundleEntry{
		FullUrl:  &url,
		Resource: m.Resource,
		Search:   &fm.BundleEntrySearch{Mode: &mode, Score: &score, Extension: ext},
	}
}

// explanationExtension is the match-explanation extension of m.
func explanationExtension(m matcher.Match) fm.Extension {
	parts := make([]fm.Extension, 0, len(m.Explanation))
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
