package identity

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/audit"
	"github.com/patientmatch/patientmatch/authn"
	"github.com/patientmatch/patientmatch/matcher"
)

// Patients is what the HTTP layer needs of the engine beyond matching:
// the stored records (the steward's side-by-side view, $merge's
// replaced-by links) and the explanation of a pair.
type Patients interface {
	Get(ctx context.Context, id string) (matcher.StoredPatient, error)
	Upsert(ctx context.Context, p *fm.Patient) (matcher.StoredPatient, bool, error)
	ComparePair(ctx context.Context, a, b string) (matcher.PairResult, error)
}

// StewardScopes are the access-token scopes that make a steward under
// --auth jwt: writing Person resources is what a steward does.
var StewardScopes = []string{"system/Person.cud", "system/Person.write", "system/Person.*", "system/*.cud", "system/*.write", "system/*.*"}

// HandlerOptions configure the HTTP handlers. The zero value is usable.
type HandlerOptions struct {
	// RequireStewardScope: review, decisions, $merge and $unmerge need an
	// access token (put in the context by authn.Middleware) carrying one of
	// StewardScopes. Without it (--auth none) they answer loopback clients
	// only.
	RequireStewardScope bool
	// BaseURL is the absolute base for fullUrl values. Default: from the
	// request's Host.
	BaseURL string
	// MaxBodyBytes caps request bodies. Default 1 MiB.
	MaxBodyBytes int64
	// Logger receives failures (never demographics). Default: discard.
	Logger *slog.Logger
}

// Handler serves the identity APIs: Person, the review queue, decisions,
// $merge and $unmerge, and the steward's page.
type Handler struct {
	svc  *Service
	pats Patients
	ops  *operations
	opts HandlerOptions
}

// NewHandler returns the handlers of svc.
func NewHandler(svc *Service, pats Patients, opts HandlerOptions) *Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: svc, pats: pats, ops: &operations{svc: svc, pats: pats}, opts: opts}
}

// Routes lists the handler's ServeMux patterns with their handlers, to be
// mounted on the FHIR server (behind its middleware).
func (h *Handler) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /fhir/Person/{id}":          http.HandlerFunc(h.handlePerson),
		"GET /fhir/Person":               http.HandlerFunc(h.handlePersonSearch),
		"POST /fhir/Patient/$merge":      h.steward(h.handleMerge),
		"POST /fhir/Patient/$unmerge":    h.steward(h.handleUnmerge),
		"GET /review":                    h.steward(h.handleQueue),
		"GET /review/history":            h.steward(h.handleHistory),
		"GET /review/tasks/{task}":       h.steward(h.handleTask),
		"POST /review/{task}/decision":   h.steward(h.handleDecision),
		"GET /review/{$}":                h.steward(h.handlePage),
		"GET /fhir/Person/{id}/_history": http.HandlerFunc(h.handlePersonHistory),
	}
}

// HasStewardScope reports whether scopes hold one of StewardScopes.
func HasStewardScope(scopes []string) bool {
	return slices.ContainsFunc(scopes, func(s string) bool { return slices.Contains(StewardScopes, s) })
}

type actorKey struct{}

// steward admits stewards only: a token with a steward scope under
// --auth jwt, a loopback client under --auth none. The actor
// ("steward:<sub>") goes into the request's context.
func (h *Handler) steward(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub := "local"
		if h.opts.RequireStewardScope {
			c := authn.ClaimsFromContext(r.Context())
			if c == nil {
				h.refuse(w, r, http.StatusUnauthorized, "a steward's access token is needed")
				return
			}
			if !HasStewardScope(c.Scopes()) {
				h.refuse(w, r, http.StatusForbidden, "the access token lacks a steward scope (system/Person.cud)")
				return
			}
			sub = c.Subject
		} else if !loopback(r.RemoteAddr) {
			h.refuse(w, r, http.StatusForbidden, "without --auth jwt the review API answers loopback clients only")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, Steward(sub))))
	})
}

func actor(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Steward("")
}

func loopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if strings.HasPrefix(r.URL.Path, "/fhir/") {
		writeFHIRError(w, status, map[int]string{401: "login", 403: "forbidden"}[status], "%s", msg)
		return
	}
	writeJSON(w, status, "application/json", map[string]string{"error": msg})
}

// errorStatus maps the service's errors to HTTP statuses.
func errorStatus(err error) (int, string) {
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, matcher.ErrNotFound):
		return http.StatusNotFound, "not-found"
	case errors.Is(err, ErrInvalid), errors.Is(err, matcher.ErrInvalid):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, ErrClosed), errors.Is(err, matcher.ErrClosed):
		return http.StatusServiceUnavailable, "transient"
	}
	return http.StatusInternalServerError, "exception"
}

// fail answers err: an OperationOutcome under /fhir, {"error": ...}
// elsewhere. Internal errors are logged, not disclosed.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := errorStatus(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		h.opts.Logger.Error("identity: request failed", "path", r.URL.Path, "err", err)
		msg = "internal error; see the server log"
	}
	if strings.HasPrefix(r.URL.Path, "/fhir/") {
		writeFHIRError(w, status, code, "%s", msg)
		return
	}
	writeJSON(w, status, "application/json", map[string]string{"error": msg})
}

func (h *Handler) base(r *http.Request) string {
	if h.opts.BaseURL != "" {
		return strings.TrimRight(h.opts.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// readJSON reads a JSON body of at most MaxBodyBytes into v. Only JSON
// content types are accepted, which also keeps other sites' HTML forms
// from posting decisions (a cross-site JSON POST needs a CORS preflight
// this server never grants).
func (h *Handler) readJSON(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && mt != fhirJSON) {
		return errors.Join(ErrInvalid, errors.New("the body must be application/json or application/fhir+json"))
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, h.opts.MaxBodyBytes+1))
	if err != nil {
		return errors.Join(ErrInvalid, err)
	}
	if int64(len(b)) > h.opts.MaxBodyBytes {
		return errors.Join(ErrInvalid, errors.New("the body is too large"))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errors.Join(ErrInvalid, errors.New("the body is not valid JSON: "+err.Error()))
	}
	return nil
}

// patientID strips "Patient/" (and a base URL before it) from a reference.
func patientID(ref string) string {
	if i := strings.LastIndex(ref, "Patient/"); i >= 0 {
		return ref[i+len("Patient/"):]
	}
	return ref
}

func (h *Handler) handlePerson(w http.ResponseWriter, r *http.Request) {
	id, err := h.svc.Person(r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, fhirJSON, PersonResource(id))
}

func (h *Handler) handlePersonHistory(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := h.svc.Person(id); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, "application/json", h.svc.PersonHistory(id))
}

// handlePersonSearch answers GET /fhir/Person?patient=Patient/{id} (also
// link=, the R4 search parameter for Person.link.target) and ?_id=.
func (h *Handler) handlePersonSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var (
		id  Identity
		err error
	)
	switch {
	case q.Get("patient") != "" || q.Get("link") != "":
		ref := q.Get("patient")
		if ref == "" {
			ref = q.Get("link")
		}
		id, err = h.svc.PersonOf(patientID(ref))
	case q.Get("_id") != "":
		id, err = h.svc.Person(q.Get("_id"))
	default:
		writeFHIRError(w, http.StatusBadRequest, "required", "search Person by patient=Patient/{id} (or link=, or _id=)")
		return
	}
	if errors.Is(err, ErrNotFound) {
		writeJSON(w, http.StatusOK, fhirJSON, bundle(h.base(r), nil, nil, "Person"))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, fhirJSON, bundle(h.base(r), []any{PersonResource(id)}, []string{id.ID}, "Person"))
}

// taskJSON is a task as the review API shows it.
type taskJSON struct {
	ID        string  `json:"id"`
	Left      string  `json:"left"`
	Right     string  `json:"right"`
	Score     float64 `json:"score"`
	Grade     string  `json:"grade"`
	Status    Status  `json:"status"`
	Created   string  `json:"created"`
	DecidedBy string  `json:"decidedBy,omitempty"`
	DecidedAt string  `json:"decidedAt,omitempty"`
}

func taskView(t Task) taskJSON {
	v := taskJSON{ID: t.ID, Left: "Patient/" + t.Left, Right: "Patient/" + t.Right, Score: t.Score, Grade: t.Grade, Status: t.Status, Created: t.Created.UTC().Format("2006-01-02T15:04:05Z")}
	if !t.DecidedAt.IsZero() {
		v.DecidedBy, v.DecidedAt = t.DecidedBy, t.DecidedAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	return v
}

// queueParams reads status, grade, _count and _offset.
func queueParams(r *http.Request) (status Status, grade string, offset, count int, err error) {
	q := r.URL.Query()
	status = Status(q.Get("status"))
	switch status {
	case "":
		status = StatusOpen
	case StatusOpen, StatusMatched, StatusNoMatch, StatusDeferred:
	default:
		return "", "", 0, 0, errors.Join(ErrInvalid, errors.New("status must be open, matched, no-match or deferred"))
	}
	grade = q.Get("grade")
	if grade != "" && grade != "certain" && grade != "probable" && grade != "possible" {
		return "", "", 0, 0, errors.Join(ErrInvalid, errors.New("grade must be certain, probable or possible"))
	}
	count, offset = 20, 0
	for name, dst := range map[string]*int{"_count": &count, "_offset": &offset} {
		if s := q.Get(name); s != "" {
			n, convErr := strconv.Atoi(s)
			if convErr != nil || n < 0 || n > 1000 {
				return "", "", 0, 0, errors.Join(ErrInvalid, errors.New(name+" must be an integer from 0 to 1000"))
			}
			*dst = n
		}
	}
	return status, grade, offset, count, nil
}

// handleQueue answers GET /review: a JSON list of tasks, best score
// first. X-Total-Count tells how many match; Link rel="next" pages on.
func (h *Handler) handleQueue(w http.ResponseWriter, r *http.Request) {
	status, grade, offset, count, err := queueParams(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ts, total := h.svc.Tasks(status, grade, offset, count)
	out := make([]taskJSON, len(ts))
	for i, t := range ts {
		out[i] = taskView(t)
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	if offset+len(ts) < total {
		q := r.URL.Query()
		q.Set("_offset", strconv.Itoa(offset+len(ts)))
		w.Header().Set("Link", `<`+h.base(r)+`/review?`+q.Encode()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, "application/json", out)
}

// handleTask answers one task with both records and the explanation.
func (h *Handler) handleTask(w http.ResponseWriter, r *http.Request) {
	v, err := h.taskDetail(r.Context(), r.PathValue("task"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, "application/json", v)
}

// personRef is "Person/{id}" with the patients it links.
type personRef struct {
	Person   string   `json:"person"`
	Patients []string `json:"patients"`
}

func refOf(id Identity) personRef {
	p := personRef{Person: "Person/" + id.ID}
	for _, m := range id.Members {
		p.Patients = append(p.Patients, "Patient/"+m.Patient)
	}
	return p
}

// handleDecision answers POST /review/{task}/decision with the decided
// task and the identities of its two patients afterwards.
func (h *Handler) handleDecision(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Decision string `json:"decision"`
		Reason   string `json:"reason"`
	}
	if err := h.readJSON(r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	d, ok := ParseDecision(body.Decision)
	if !ok {
		h.fail(w, r, errors.Join(ErrInvalid, errors.New(`decision must be "match", "no-match" or "defer"`)))
		return
	}
	t, err := h.svc.Decide(r.Context(), r.PathValue("task"), d, actor(r.Context()), body.Reason)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The audit trail (when serve --audit records requests) lists the
	// pair and the decision; the decision itself is in the event log.
	note := audit.NoteFrom(r.Context())
	note.Add(audit.Patient{ID: t.Left, Action: "review-" + string(d)})
	note.Add(audit.Patient{ID: t.Right, Action: "review-" + string(d)})
	out := struct {
		Task  taskJSON  `json:"task"`
		Left  personRef `json:"left"`
		Right personRef `json:"right"`
	}{Task: taskView(t)}
	if id, err := h.svc.PersonOf(t.Left); err == nil {
		out.Left = refOf(id)
	}
	if id, err := h.svc.PersonOf(t.Right); err == nil {
		out.Right = refOf(id)
	}
	writeJSON(w, http.StatusOK, "application/json", out)
}

// handleHistory answers GET /review/history?patient=Patient/{id}: the
// recorded events about the patient, oldest first.
func (h *Handler) handleHistory(w http.ResponseWriter, r *http.Request) {
	p := patientID(r.URL.Query().Get("patient"))
	if p == "" {
		h.fail(w, r, errors.Join(ErrInvalid, errors.New("patient=Patient/{id} is required")))
		return
	}
	if _, err := h.svc.PersonOf(p); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, "application/json", h.svc.History(p))
}
