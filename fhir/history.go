package fhir

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/matcher"
)

// Historian is the Engine capability vread and _history need
// (matcher.Engine has it): the versions the store keeps.
type Historian interface {
	// History returns every version of id kept, newest first, deletes
	// included; matcher.ErrNotFound for an id never stored.
	History(ctx context.Context, id string) ([]matcher.PatientVersion, error)
	// Version returns version v of id; matcher.ErrNotFound when not kept.
	Version(ctx context.Context, id string, v uint64) (matcher.PatientVersion, error)
}

// ConditionalWriter is the Engine capability If-Match needs
// (matcher.Engine has it): writes that happen only when the stored version
// is the one expected, checked atomically with the write; otherwise
// matcher.ErrVersionMismatch.
type ConditionalWriter interface {
	UpsertIfVersion(ctx context.Context, p *fm.Patient, version uint64) (matcher.StoredPatient, bool, error)
	DeleteIfVersion(ctx context.Context, id string, version uint64) error
}

// handleVRead serves GET /fhir/Patient/{id}/_history/{vid}: that version
// with its ETag, or 410 Gone when the version is a delete.
func (s *Server) handleVRead(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	vid, err := strconv.ParseUint(r.PathValue("vid"), 10, 64)
	if err != nil || vid == 0 {
		writeError(w, invalid(fm.IssueTypeInvalid, "the version id in the URL must be a positive integer"))
		return
	}
	h, ok := s.eng.(Historian)
	if !ok {
		writeError(w, notFound("this server keeps no history"))
		return
	}
	v, err := h.Version(r.Context(), id, vid)
	if err != nil {
		writeError(w, engineError(err))
		return
	}
	if v.Deleted {
		writeError(w, &Error{Status: http.StatusGone, Code: fm.IssueTypeDeleted,
			Diagnostics: "version " + strconv.FormatUint(vid, 10) + " is the deletion of the patient", Err: ErrNotFound})
		return
	}
	setVersionHeaders(w, v.StoredPatient)
	writeJSON(w, http.StatusOK, v.Resource)
}

// handleHistory serves GET /fhir/Patient/{id}/_history: a history Bundle of
// every version kept, newest first.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	h, ok := s.eng.(Historian)
	if !ok {
		writeError(w, notFound("this server keeps no history"))
		return
	}
	vs, err := h.History(r.Context(), id)
	if err != nil {
		writeError(w, engineError(err))
		return
	}
	writeResource(w, http.StatusOK, s.historyBundle(r, id, vs))
}

// historyBundle is the history Bundle of vs (newest first).
func (s *Server) historyBundle(r *http.Request, id string, vs []matcher.PatientVersion) fm.Bundle {
	bid := s.newUUID()
	ts := s.now().UTC().Format(time.RFC3339)
	total := len(vs)
	self := s.patientURL(r, id) + "/_history"
	b := fm.Bundle{Id: &bid, Meta: &fm.Meta{LastUpdated: &ts}, Type: fm.BundleTypeHistory, Timestamp: &ts, Total: &total,
		Link: []fm.BundleLink{{Relation: "self", Url: self}}, Entry: make([]fm.BundleEntry, 0, len(vs))}
	url := s.patientURL(r, id)
	for i, v := range vs {
		lm := v.LastUpdated.UTC().Format(time.RFC3339Nano)
		et := etag(v.StoredPatient)
		e := fm.BundleEntry{FullUrl: &url,
			Request:  &fm.BundleEntryRequest{Method: fm.HTTPVerbPUT, Url: "Patient/" + id},
			Response: &fm.BundleEntryResponse{Status: "200 OK", Etag: &et, LastModified: &lm}}
		switch {
		case v.Deleted:
			e.Request.Method = fm.HTTPVerbDELETE
			e.Response.Status = "204 No Content"
		default:
			e.Resource = v.Resource
			// The first version, or the first after a delete, created it.
			if i == len(vs)-1 || vs[i+1].Deleted {
				e.Response.Status = "201 Created"
			}
		}
		b.Entry = append(b.Entry, e)
	}
	return b
}

// ifMatch reads an If-Match header: W/"n" or "n" → n; absent → 0.
func ifMatch(r *http.Request) (uint64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		return 0, nil
	}
	t := strings.TrimPrefix(v, "W/")
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		if n, err := strconv.ParseUint(t[1:len(t)-1], 10, 64); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, invalid(fm.IssueTypeInvalid, "If-Match must be a version ETag such as W/\"3\" (as the ETag of a read)")
}

// upsert stores p: conditionally when ifVersion > 0 (If-Match).
func (s *Server) upsert(ctx context.Context, p *fm.Patient, ifVersion uint64) (matcher.StoredPatient, bool, error) {
	if ifVersion == 0 {
		return s.eng.Upsert(ctx, p)
	}
	cw, ok := s.eng.(ConditionalWriter)
	if !ok {
		return matcher.StoredPatient{}, false, badRequest(http.StatusPreconditionFailed, fm.IssueTypeNotSupported,
			"this server cannot check If-Match")
	}
	return cw.UpsertIfVersion(ctx, p, ifVersion)
}

// remove deletes id: conditionally when ifVersion > 0 (If-Match).
func (s *Server) remove(ctx context.Context, id string, ifVersion uint64) error {
	if ifVersion == 0 {
		return s.eng.Delete(ctx, id)
	}
	cw, ok := s.eng.(ConditionalWriter)
	if !ok {
		return badRequest(http.StatusPreconditionFailed, fm.IssueTypeNotSupported, "this server cannot check If-Match")
	}
	err := cw.DeleteIfVersion(ctx, id, ifVersion)
	if errors.Is(err, matcher.ErrNotFound) {
		// FHIR: a version precondition on what is not there fails.
		return badRequest(http.StatusPreconditionFailed, fm.IssueTypeConflict, "If-Match: the patient has no current version")
	}
	return err
}

// setVersionHeaders sets ETag and Last-Modified of a stored version.
func setVersionHeaders(w http.ResponseWriter, sp matcher.StoredPatient) {
	h := w.Header()
	h.Set("ETag", etag(sp))
	if lm := sp.LastUpdated; !lm.IsZero() {
		h.Set("Last-Modified", lm.UTC().Format(http.TimeFormat))
	}
}

// versionDetail is the engine's version-mismatch text without its prefix
// ("v1 is at version 2, not 7"): ids and version numbers only.
func versionDetail(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "version mismatch: "); i >= 0 {
		return msg[i+len("version mismatch: "):]
	}
	return "the stored version differs"
}
