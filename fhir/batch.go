package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/internal/elide"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
)

// inBundle is the part of a batch or transaction Bundle the server reads.
// It is decoded with its own types rather than fm.Bundle so that a missing
// type is told apart from "document" (samply's zero value).
type inBundle struct {
	ResourceType string    `json:"resourceType"`
	Type         string    `json:"type"`
	Entry        []inEntry `json:"entry"`
}

type inEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  *struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
}

// bundleOp is one checked entry of a batch or transaction.
type bundleOp struct {
	method  string // POST, PUT or DELETE
	id      string // target id (server-assigned for POST)
	patient *fm.Patient
}

// handleBundle serves POST /fhir: a batch (entries processed independently,
// each with its own status) or a transaction (all or nothing, through
// Engine.UpsertBatch). Entries are Patients: POST with url "Patient", PUT
// with url "Patient/{id}", and — in a batch only — DELETE with url
// "Patient/{id}". A transaction with a DELETE is refused with not-supported
// because the engine cannot delete and upsert in one atomic step.
func (s *Server) handleBundle(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		writeError(w, err)
		return
	}
	rt, err := resourceType(body)
	if err != nil {
		writeError(w, err)
		return
	}
	if rt != "Bundle" {
		writeError(w, invalid(fm.IssueTypeInvalid, "resourceType is %q; POST /fhir takes a batch or transaction Bundle", elide.Text(rt, 64)))
		return
	}
	var b inBundle
	if err := json.Unmarshal(body, &b); err != nil {
		writeError(w, invalid(fm.IssueTypeStructure, "Bundle does not follow the FHIR R4 JSON format: %s", jsonErrorText(err)))
		return
	}
	switch b.Type {
	case "batch":
		writeResource(w, http.StatusOK, s.batch(r, b.Entry))
	case "transaction":
		resp, err := s.transaction(r, b.Entry)
		if err != nil {
			writeError(w, err)
			return
		}
		writeResource(w, http.StatusOK, resp)
	case "":
		writeError(w, invalid(fm.IssueTypeRequired, "Bundle.type is missing; send batch or transaction"))
	default:
		writeError(w, invalid(fm.IssueTypeNotSupported, "Bundle.type %q is not supported here; send batch or transaction", elide.Text(b.Type, 64)))
	}
}

// parseEntry checks entry i. allowDelete is false for transactions.
func (s *Server) parseEntry(i int, e inEntry, allowDelete bool) (bundleOp, *Error) {
	fail := func(code fm.IssueType, format string, a ...any) (bundleOp, *Error) {
		err := invalid(code, format, a...)
		err.Diagnostics = fmt.Sprintf("entry[%d]: %s", i, err.Diagnostics)
		return bundleOp{}, err
	}
	if e.Request == nil || e.Request.Method == "" || e.Request.URL == "" {
		return fail(fm.IssueTypeRequired, "request.method and request.url are required")
	}
	method, url := strings.ToUpper(e.Request.Method), strings.TrimPrefix(e.Request.URL, "/")
	if strings.ContainsAny(url, "?#") {
		return fail(fm.IssueTypeNotSupported, "conditional requests (a query in request.url) are not supported")
	}
	typ, id, _ := strings.Cut(url, "/")
	if typ != "Patient" {
		return fail(fm.IssueTypeNotSupported, "request.url must address Patient (Patient or Patient/{id})")
	}
	op := bundleOp{method: method}
	switch method {
	case "POST":
		if id != "" {
			return fail(fm.IssueTypeInvalid, "POST takes request.url \"Patient\"; use PUT to store under an id")
		}
		op.id = s.newUUID()
	case "PUT", "DELETE":
		if method == "DELETE" && !allowDelete {
			return fail(fm.IssueTypeNotSupported, "DELETE is not supported in a transaction (it cannot be made atomic with the upserts); send it in a batch")
		}
		if !record.ValidID(id) {
			return fail(fm.IssueTypeInvalid, "request.url must be Patient/{id} with a valid FHIR id")
		}
		op.id = id
	default:
		return fail(fm.IssueTypeNotSupported, "request.method %q is not supported; use POST, PUT or DELETE", elide.Text(method, 16))
	}
	if method == "DELETE" {
		return op, nil
	}
	if len(e.Resource) == 0 {
		return fail(fm.IssueTypeRequired, "%s needs a Patient in entry.resource", method)
	}
	p, err := decodePatient(e.Resource)
	if err != nil {
		var fe *Error
		if errors.As(err, &fe) {
			fe.Diagnostics = fmt.Sprintf("entry[%d]: %s", i, fe.Diagnostics)
			return bundleOp{}, fe
		}
		return fail(fm.IssueTypeStructure, "resource could not be decoded")
	}
	if err := s.checkWrite(p); err != nil {
		err.Diagnostics = fmt.Sprintf("entry[%d]: %s", i, err.Diagnostics)
		return bundleOp{}, err
	}
	switch {
	case method == "POST":
		// FHIR create: a body id is ignored, the server assigns one.
	case p.Id != nil && *p.Id != "" && *p.Id != op.id:
		return fail(fm.IssueTypeInvalid, "Patient.id does not equal the id in request.url")
	}
	p.Id = &op.id
	op.patient = p
	return op, nil
}

// batch processes entries one by one; a failing entry does not stop the others.
func (s *Server) batch(r *http.Request, entries []inEntry) fm.Bundle {
	out := s.responseBundle(fm.BundleTypeBatchResponse, len(entries))
	for i, e := range entries {
		op, perr := s.parseEntry(i, e, true)
		if perr != nil {
			out.Entry = append(out.Entry, errorEntry(perr))
			continue
		}
		var resp *fm.BundleEntryResponse
		switch op.method {
		case "DELETE":
			if err := s.eng.Delete(r.Context(), op.id); err != nil {
				out.Entry = append(out.Entry, errorEntry(engineError(err)))
				continue
			}
			resp = &fm.BundleEntryResponse{Status: statusText(http.StatusNoContent)}
		default:
			sp, created, err := s.eng.Upsert(r.Context(), op.patient)
			if err != nil {
				out.Entry = append(out.Entry, errorEntry(engineError(err)))
				continue
			}
			resp = s.storedResponse(r, sp, created || op.method == "POST")
		}
		out.Entry = append(out.Entry, fm.BundleEntry{Response: resp})
	}
	return out
}

// transaction checks every entry, then stores all Patients in one
// Engine.UpsertBatch: either all are stored or none is.
func (s *Server) transaction(r *http.Request, entries []inEntry) (fm.Bundle, error) {
	ops := make([]bundleOp, 0, len(entries))
	ps := make([]*fm.Patient, 0, len(entries))
	seen := make(map[string]int, len(entries))
	for i, e := range entries {
		op, err := s.parseEntry(i, e, false)
		if err != nil {
			return fm.Bundle{}, err
		}
		if j, dup := seen[op.id]; dup {
			return fm.Bundle{}, invalid(fm.IssueTypeInvalid, "entry[%d] and entry[%d] address the same Patient; a transaction may touch a resource once", j, i)
		}
		seen[op.id] = i
		ops = append(ops, op)
		ps = append(ps, op.patient)
	}
	out := s.responseBundle(fm.BundleTypeTransactionResponse, len(ops))
	if len(ps) == 0 {
		return out, nil
	}
	sps, err := s.eng.UpsertBatch(r.Context(), ps)
	if err != nil {
		return fm.Bundle{}, engineError(err)
	}
	if len(sps) != len(ops) {
		return fm.Bundle{}, engineError(fmt.Errorf("engine stored %d patients for %d entries", len(sps), len(ops)))
	}
	for i, sp := range sps {
		// UpsertBatch does not say which ids were new: version 1 is.
		created := ops[i].method == "POST" || sp.VersionID == 1
		out.Entry = append(out.Entry, fm.BundleEntry{Response: s.storedResponse(r, sp, created)})
	}
	return out, nil
}

// responseBundle starts a batch-response or transaction-response Bundle.
func (s *Server) responseBundle(t fm.BundleType, n int) fm.Bundle {
	id := s.newUUID()
	ts := s.now().UTC().Format(time.RFC3339)
	return fm.Bundle{Id: &id, Type: t, Timestamp: &ts, Entry: make([]fm.BundleEntry, 0, n)}
}

// storedResponse is the entry.response of a stored patient.
func (s *Server) storedResponse(r *http.Request, sp matcher.StoredPatient, created bool) *fm.BundleEntryResponse {
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	loc, tag := s.historyURL(r, sp), etag(sp)
	resp := &fm.BundleEntryResponse{Status: statusText(status), Location: &loc, Etag: &tag}
	if !sp.LastUpdated.IsZero() {
		lm := sp.LastUpdated.UTC().Format(time.RFC3339Nano)
		resp.LastModified = &lm
	}
	return resp
}

// errorEntry is a failed batch entry: its status and an OperationOutcome.
func errorEntry(e *Error) fm.BundleEntry {
	oo, _ := json.Marshal(e.outcome())
	return fm.BundleEntry{Response: &fm.BundleEntryResponse{Status: statusText(e.Status), Outcome: oo}}
}

// statusText is an entry.response.status: the code, then its reason phrase.
func statusText(code int) string { return strconv.Itoa(code) + " " + http.StatusText(code) }
