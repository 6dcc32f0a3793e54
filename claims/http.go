package claims

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/patientmatch/patientmatch/matcher"
)

// HandlerOptions configure NewHandler. The zero value is usable.
type HandlerOptions struct {
	// Logger receives server errors. Default slog.Default().
	Logger *slog.Logger
}

// NewHandler serves, under the server's /match prefix:
//
//	POST   /match/claims                 MatchClaims
//	GET    /match/links[?patient=ID]     list links
//	DELETE /match/links?iss=...&sub=...  remove a link (204, or 404)
//
// Bodies are JSON. An invalid ID token is 401 {"error":"invalid_token"}
// and nothing else; bad requests are 400 {"error":"invalid_request",
// "error_description": ...}; a wrong method is 405 with Allow. Access control
// (--auth jwt) is the authn middleware's job, in front of this handler.
func NewHandler(svc *Service, opts HandlerOptions) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &handler{svc: svc, log: opts.Logger}
	return h
}

type handler struct {
	svc *Service
	log *slog.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/match/claims":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		h.matchClaims(w, r)
	case "/match/links":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h.listLinks(w, r)
		case http.MethodDelete:
			h.deleteLink(w, r)
		default:
			methodNotAllowed(w, "GET, HEAD, DELETE")
		}
	default:
		writeJSON(w, http.StatusNotFound, errorBody{Error: "not_found"})
	}
}

type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method_not_allowed"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func (h *handler) matchClaims(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "invalid_request", Description: "body unreadable or larger than 1 MiB"})
		return
	}
	req, err := ParseClaimsRequest(data)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "invalid_request", Description: err.Error()})
		return
	}
	resp, err := h.svc.MatchClaims(r.Context(), req)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, resp)
	case errors.Is(err, ErrInvalidToken):
		// Nothing about why, nor about patients, to the caller; the reason
		// (signature, issuer, expiry, audience, algorithm) goes to the log
		// for the operator. Verification errors name claims, never
		// demographics.
		h.log.WarnContext(r.Context(), "claims: ID token rejected", "reason", err.Error())
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "invalid_token"})
	case errors.Is(err, ErrBadRequest):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "invalid_request", Description: err.Error()})
	case errors.Is(err, matcher.ErrInvalid):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "invalid_request", Description: "the claims cannot be matched"})
	default:
		h.log.ErrorContext(r.Context(), "claims: match failed", "error", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "server_error"})
	}
}

// linkJSON is a link as the links endpoints show it.
type linkJSON struct {
	Issuer   string    `json:"iss"`
	Subject  string    `json:"sub"`
	Patient  string    `json:"patient"` // "Patient/ID"
	FHIRUser string    `json:"fhirUser"`
	Created  time.Time `json:"created"`
	ACR      string    `json:"acr,omitempty"`
	Score    float64   `json:"score,omitempty"`
}

// Paging of GET /match/links: _count links per page (default
// DefaultLinksPage, at most MaxLinksPage), _offset skips that many.
const (
	DefaultLinksPage = 100
	MaxLinksPage     = 1000
)

func (h *handler) listLinks(w http.ResponseWriter, r *http.Request) {
	if h.svc.opts.Links == nil {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "not_found", Description: "identity links are disabled"})
		return
	}
	q := r.URL.Query()
	count, offset, err := pageParams(q)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "invalid_request", Description: err.Error()})
		return
	}
	patient := q.Get("patient")
	links, more, err := h.svc.opts.Links.ListPage(r.Context(), patient, offset, count)
	if err != nil {
		h.log.ErrorContext(r.Context(), "claims: list links failed", "error", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "server_error"})
		return
	}
	out := struct {
		Links []linkJSON `json:"links"`
		Next  string     `json:"next,omitempty"`
	}{Links: make([]linkJSON, 0, len(links))}
	for _, l := range links {
		out.Links = append(out.Links, linkJSON{
			Issuer: l.Issuer, Subject: l.Subject, Patient: "Patient/" + l.PatientID,
			FHIRUser: h.svc.fhirUser(l.PatientID), Created: l.Created, ACR: l.ACR, Score: l.Score,
		})
	}
	if more {
		next := url.Values{"_offset": {strconv.Itoa(offset + count)}, "_count": {strconv.Itoa(count)}}
		if patient != "" {
			next.Set("patient", patient)
		}
		out.Next = h.svc.opts.BaseURL + "/match/links?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

// pageParams reads _count and _offset.
func pageParams(q url.Values) (count, offset int, err error) {
	count = DefaultLinksPage
	if v := q.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, errors.New("_count must be a positive integer")
		}
		count = min(n, MaxLinksPage)
	}
	if v := q.Get("_offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, errors.New("_offset must be a non-negative integer")
		}
		offset = n
	}
	return count, offset, nil
}

func (h *handler) deleteLink(w http.ResponseWriter, r *http.Request) {
	if h.svc.opts.Links == nil {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "not_found", Description: "identity links are disabled"})
		return
	}
	q := r.URL.Query()
	iss, sub := q.Get("iss"), q.Get("sub")
	if iss == "" || sub == "" {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "invalid_request", Description: "iss and sub query parameters are required"})
		return
	}
	err := h.svc.opts.Links.Delete(r.Context(), iss, sub)
	switch {
	case err == nil:
		h.log.InfoContext(r.Context(), "claims: link deleted", "iss", iss, "sub", sub)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, ErrLinkNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{Error: "not_found"})
	case errors.Is(err, ErrBadRequest):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "invalid_request", Description: err.Error()})
	default:
		h.log.ErrorContext(r.Context(), "claims: delete link failed", "error", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "server_error"})
	}
}
