package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/matcher"
)

// Lister is the Engine capability a search needs (matcher.Engine has it):
// the stored live patients in id order, starting after a cursor. A search
// is a filter over stored patients, not a $match: it never scores.
type Lister interface {
	// List calls fn with every live patient whose id sorts after `after`
	// ("" for the first), in id order, until fn returns false or an error.
	List(ctx context.Context, after string, fn func(matcher.StoredPatient) (bool, error)) error
}

// SearchObserver is an optional Engine capability: told the ids of the
// patients each search page returns (the audit trail notes them as read).
type SearchObserver interface {
	Searched(ctx context.Context, ids []string)
}

// handleSearch serves GET /fhir/Patient?… and POST /fhir/Patient/_search
// (IHE PDQm ITI-78): a searchset Bundle of the stored patients that meet
// every criterion, in id order, _count per page, with self and next links.
//
// Cost: _id reads the named patients directly. Every other search walks
// the store in id order and stops as soon as a page (plus one, to know
// whether there is a next page) is full, so a common name answers after
// reading a few pages' worth of patients, while a value that matches
// nobody reads every stored patient once.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	q, err := searchValues(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		writeError(w, err)
		return
	}
	sq, err := parseSearch(q, preferLenient(r))
	if err != nil {
		writeError(w, err)
		return
	}
	hits, more, err := s.search(r.Context(), sq)
	if err != nil {
		writeError(w, engineError(err))
		return
	}
	if o, ok := s.eng.(SearchObserver); ok {
		ids := make([]string, len(hits))
		for i, h := range hits {
			ids[i] = h.ID
		}
		o.Searched(r.Context(), ids)
	}
	writeResource(w, http.StatusOK, s.searchBundle(r, sq, hits, more))
}

// searchValues are the parameters of a search: the URL query, plus a
// form-encoded body for POST _search.
func searchValues(w http.ResponseWriter, r *http.Request, limit int64) (url.Values, error) {
	q := r.URL.Query()
	if r.Method != http.MethodPost {
		return q, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, badRequest(http.StatusUnsupportedMediaType, fm.IssueTypeNotSupported,
			"POST _search takes application/x-www-form-urlencoded parameters")
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		return nil, invalid(fm.IssueTypeStructure, "the form body could not be read")
	}
	for k, vs := range r.PostForm {
		q[k] = append(q[k], vs...)
	}
	return q, nil
}

// preferLenient reports whether the client sent Prefer: handling=lenient.
func preferLenient(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		if strings.Contains(strings.ReplaceAll(v, " ", ""), "handling=lenient") {
			return true
		}
	}
	return false
}

// search returns up to sq.count patients meeting sq, after sq.after, and
// whether more exist.
func (s *Server) search(ctx context.Context, sq searchQuery) ([]matcher.StoredPatient, bool, error) {
	var hits []matcher.StoredPatient
	more := false
	visit := func(sp matcher.StoredPatient) (bool, error) {
		p, err := decodeSearchPatient(sp)
		if err != nil {
			return false, err
		}
		if !sq.matches(p) {
			return true, nil
		}
		if len(hits) == sq.count {
			more = true
			return false, nil
		}
		hits = append(hits, sp)
		return true, nil
	}
	if sq.ids != nil {
		return hits, more, s.visitIDs(ctx, sq, visit)
	}
	l, ok := s.eng.(Lister)
	if !ok {
		return nil, false, &Error{Status: http.StatusNotImplemented, Code: fm.IssueTypeNotSupported,
			Diagnostics: "this engine cannot list patients; search by _id only", Err: ErrBadRequest}
	}
	return hits, more, l.List(ctx, sq.after, visit)
}

// visitIDs visits the patients an _id parameter names, in id order.
func (s *Server) visitIDs(ctx context.Context, sq searchQuery, visit func(matcher.StoredPatient) (bool, error)) error {
	ids := slices.Clone(sq.ids)
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if id <= sq.after {
			continue
		}
		sp, err := s.eng.Get(ctx, id)
		if errors.Is(err, matcher.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if more, err := visit(sp); err != nil || !more {
			return err
		}
	}
	return nil
}

// matches reports whether p meets every criterion of sq.
func (sq searchQuery) matches(p *searchPatient) bool {
	for _, c := range sq.criteria {
		if !slices.ContainsFunc(c.alts, func(f func(*searchPatient) bool) bool { return f(p) }) {
			return false
		}
	}
	return true
}

// searchPatient is the part of a stored Patient that search reads.
type searchPatient struct {
	ID        string
	Gender    string
	BirthDate string
	families  []string
	givens    []string
	postals   []string
	// identifiers and telecoms as system and value.
	identifiers []systemValue
	telecoms    []systemValue
}

type systemValue struct{ system, value string }

// decodeSearchPatient reads the searchable fields of a stored Patient.
func decodeSearchPatient(sp matcher.StoredPatient) (*searchPatient, error) {
	var raw struct {
		Name []struct {
			Family string   `json:"family"`
			Given  []string `json:"given"`
		} `json:"name"`
		Gender     string `json:"gender"`
		BirthDate  string `json:"birthDate"`
		Identifier []struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"identifier"`
		Telecom []struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"telecom"`
		Address []struct {
			PostalCode string `json:"postalCode"`
		} `json:"address"`
	}
	if err := json.Unmarshal(sp.Resource, &raw); err != nil {
		return nil, err
	}
	p := &searchPatient{ID: sp.ID, Gender: raw.Gender, BirthDate: raw.BirthDate}
	for _, n := range raw.Name {
		if n.Family != "" {
			p.families = append(p.families, n.Family)
		}
		p.givens = append(p.givens, n.Given...)
	}
	for _, a := range raw.Address {
		if a.PostalCode != "" {
			p.postals = append(p.postals, a.PostalCode)
		}
	}
	for _, id := range raw.Identifier {
		p.identifiers = append(p.identifiers, systemValue{id.System, id.Value})
	}
	for _, t := range raw.Telecom {
		p.telecoms = append(p.telecoms, systemValue{t.System, t.Value})
	}
	return p, nil
}

// searchBundle is the searchset Bundle of a page of hits.
func (s *Server) searchBundle(r *http.Request, sq searchQuery, hits []matcher.StoredPatient, more bool) fm.Bundle {
	id := s.newUUID()
	ts := s.now().UTC().Format(time.RFC3339)
	b := fm.Bundle{
		Id:        &id,
		Meta:      &fm.Meta{LastUpdated: &ts},
		Type:      fm.BundleTypeSearchset,
		Timestamp: &ts,
		Entry:     make([]fm.BundleEntry, 0, len(hits)),
	}
	if sq.after == "" && !more {
		// The whole result is on this page, so its size is known.
		total := len(hits)
		b.Total = &total
	}
	b.Link = append(b.Link, fm.BundleLink{Relation: "self", Url: s.searchURL(r, sq, sq.after)})
	if more {
		b.Link = append(b.Link, fm.BundleLink{Relation: "next", Url: s.searchURL(r, sq, hits[len(hits)-1].ID)})
	}
	mode := fm.SearchEntryModeMatch
	for _, sp := range hits {
		url := s.patientURL(r, sp.ID)
		b.Entry = append(b.Entry, fm.BundleEntry{FullUrl: &url, Resource: sp.Resource, Search: &fm.BundleEntrySearch{Mode: &mode}})
	}
	return b
}

// searchURL is the link to the page of sq after the cursor.
func (s *Server) searchURL(r *http.Request, sq searchQuery, after string) string {
	q := url.Values{}
	for k, vs := range sq.canonical {
		q[k] = vs
	}
	q.Set("_count", strconv.Itoa(sq.count))
	if f := r.URL.Query().Get("_format"); f != "" {
		q.Set("_format", f)
	}
	if after != "" {
		q.Set("_cursor", after)
	}
	return s.baseURL(r) + "/fhir/Patient?" + q.Encode()
}
