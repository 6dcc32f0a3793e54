package fhir

import (
	"net/http"
	"strconv"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/internal/elide"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
)

// handleRead serves GET /fhir/Patient/{id}.
func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	sp, err := s.eng.Get(r.Context(), id)
	if err != nil {
		writeError(w, engineError(err))
		return
	}
	w.Header().Set("ETag", etag(sp))
	writeJSON(w, http.StatusOK, sp.Resource)
}

// handleUpdate serves PUT /fhir/Patient/{id}: update, or create with a
// client-chosen id (FHIR "update as create").
func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	p, err := s.readPatient(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	if p.Id == nil || *p.Id == "" {
		p.Id = &id
	} else if *p.Id != id {
		writeError(w, invalid(fm.IssueTypeInvalid, "Patient.id does not equal the id in the URL; send the same id or none"))
		return
	}
	ifVersion, err := ifMatch(r)
	if err != nil {
		writeError(w, err)
		return
	}
	s.store(w, r, p, ifVersion)
}

// handleCreate serves POST /fhir/Patient: create with a server-assigned id.
// An id in the body is ignored, as FHIR's create interaction says.
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	p, err := s.readPatient(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	id := s.newUUID()
	p.Id = &id
	s.store(w, r, p, 0)
}

// store upserts p and answers 201 (created) or 200 (updated) with ETag,
// Location and the stored resource. ifVersion > 0 makes the write
// conditional (If-Match): 412 when the stored version differs.
func (s *Server) store(w http.ResponseWriter, r *http.Request, p *fm.Patient, ifVersion uint64) {
	sp, created, err := s.upsert(r.Context(), p, ifVersion)
	if err != nil {
		writeError(w, engineError(err))
		return
	}
	h := w.Header()
	h.Set("ETag", etag(sp))
	h.Set("Location", s.historyURL(r, sp))
	if lm := sp.LastUpdated; !lm.IsZero() {
		h.Set("Last-Modified", lm.UTC().Format(http.TimeFormat))
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, sp.Resource)
}

// handleDelete serves DELETE /fhir/Patient/{id}. FHIR R4 (http.html#delete)
// lets a server answer 200/204 to a delete of a resource that does not
// exist, or 404; patientmatch answers 204 for an existing patient and 404
// for an absent or already deleted one, so a client learns when its id was
// wrong.
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	ifVersion, err := ifMatch(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.remove(r.Context(), id, ifVersion); err != nil {
		writeError(w, engineError(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// readPatient reads a Patient request body.
func (s *Server) readPatient(w http.ResponseWriter, r *http.Request) (*fm.Patient, error) {
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	p, err := decodePatient(body)
	if err != nil {
		return nil, err
	}
	if p.Id != nil && *p.Id != "" && !record.ValidID(*p.Id) {
		return nil, invalid(fm.IssueTypeInvalid, "Patient.id is not a valid FHIR id (1-64 of A-Z a-z 0-9 - .)")
	}
	if err := s.checkWrite(p); err != nil {
		return nil, err
	}
	return p, nil
}

// pathID returns the {id} of the route, checked against FHIR's id syntax.
// An id starting with "$" names an operation this server does not have.
func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if strings.HasPrefix(id, "$") {
		return "", notFound("operation %s is not supported on Patient; see GET /fhir/metadata", elide.Text(id, 64))
	}
	if !record.ValidID(id) {
		return "", invalid(fm.IssueTypeInvalid, "the id in the URL is not a valid FHIR id (1-64 of A-Z a-z 0-9 - .)")
	}
	return id, nil
}

// handlePatientPost answers POST /fhir/Patient/{id}: 404 for an unknown
// operation ($foo), 405 otherwise (instances are PUT, not POSTed).
func (s *Server) handlePatientPost(w http.ResponseWriter, r *http.Request) {
	if _, err := pathID(r); err != nil && strings.HasPrefix(r.PathValue("id"), "$") {
		writeError(w, err)
		return
	}
	writeError(w, methodNotAllowed(r.Method, "GET, HEAD, PUT, DELETE"))
}

// etag is the weak ETag of a stored version.
func etag(sp matcher.StoredPatient) string {
	return `W/"` + strconv.FormatUint(sp.VersionID, 10) + `"`
}

// historyURL is the absolute version-specific URL of sp.
func (s *Server) historyURL(r *http.Request, sp matcher.StoredPatient) string {
	return s.patientURL(r, sp.ID) + "/_history/" + strconv.FormatUint(sp.VersionID, 10)
}
