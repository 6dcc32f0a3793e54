package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/audit"
	"github.com/patientmatch/patientmatch/matcher"
)

// parameters is a FHIR Parameters resource, as much as $merge and
// $unmerge read.
type parameters struct {
	ResourceType string `json:"resourceType"`
	Parameter    []struct {
		Name           string          `json:"name"`
		ValueReference *reference      `json:"valueReference,omitempty"`
		ValueBoolean   *bool           `json:"valueBoolean,omitempty"`
		ValueString    *string         `json:"valueString,omitempty"`
		ValueIdent     json.RawMessage `json:"valueIdentifier,omitempty"`
		Resource       json.RawMessage `json:"resource,omitempty"`
	} `json:"parameter"`
}

// mergeRequest is what $merge was asked.
type mergeRequest struct {
	source, target, reason string
	preview                bool
	result                 json.RawMessage
}

// parseMerge reads the R5 Patient $merge parameters this server
// supports: source-patient, target-patient (references), preview,
// result-patient. Identifier-based selection is refused, saying so.
func parseMerge(p parameters) (mergeRequest, error) {
	var m mergeRequest
	if p.ResourceType != "Parameters" {
		return m, fmt.Errorf("%w: the body must be a Parameters resource", ErrInvalid)
	}
	for _, pp := range p.Parameter {
		switch pp.Name {
		case "source-patient", "target-patient":
			if pp.ValueReference == nil || patientID(pp.ValueReference.Reference) == "" {
				return m, fmt.Errorf("%w: %s needs a valueReference to Patient/{id}", ErrInvalid, pp.Name)
			}
			if pp.Name == "source-patient" {
				m.source = patientID(pp.ValueReference.Reference)
			} else {
				m.target = patientID(pp.ValueReference.Reference)
			}
		case "source-patient-identifier", "target-patient-identifier":
			return m, fmt.Errorf("%w: %s is not supported; name the patients by reference", ErrInvalid, pp.Name)
		case "preview":
			m.preview = pp.ValueBoolean != nil && *pp.ValueBoolean
		case "result-patient":
			m.result = pp.Resource
		case "reason":
			if pp.ValueString != nil {
				m.reason = *pp.ValueString
			}
		default:
			return m, fmt.Errorf("%w: unknown parameter %q", ErrInvalid, pp.Name)
		}
	}
	if m.source == "" || m.target == "" {
		return m, fmt.Errorf("%w: source-patient and target-patient are required", ErrInvalid)
	}
	if m.source == m.target {
		return m, fmt.Errorf("%w: source-patient and target-patient are the same", ErrInvalid)
	}
	return m, nil
}

// operations carries out $merge and $unmerge for HTTP and gRPC alike.
type operations struct {
	svc  *Service
	pats Patients
}

// merge does $merge: the source gets link replaced-by the target and
// becomes inactive, the target gets link replaces the source (or becomes
// result-patient), and the two identities become one, the target's
// surviving. It returns that identity and the stored target.
func (o *operations) merge(ctx context.Context, m mergeRequest, by Actor) (Identity, matcher.StoredPatient, error) {
	src, err := o.patient(ctx, m.source)
	if err != nil {
		return Identity{}, matcher.StoredPatient{}, err
	}
	tgt, err := o.target(ctx, m)
	if err != nil {
		return Identity{}, matcher.StoredPatient{}, err
	}
	addLink(src, fm.LinkTypeReplacedBy, m.target)
	inactive := false
	src.Active = &inactive
	addLink(tgt, fm.LinkTypeReplaces, m.source)
	if _, _, err := o.pats.Upsert(ctx, src); err != nil {
		return Identity{}, matcher.StoredPatient{}, err
	}
	stored, _, err := o.pats.Upsert(ctx, tgt)
	if err != nil {
		return Identity{}, matcher.StoredPatient{}, err
	}
	id, err := o.svc.Merge(ctx, m.source, m.target, by, "$merge "+m.reason)
	if err != nil {
		return Identity{}, matcher.StoredPatient{}, err
	}
	note := audit.NoteFrom(ctx)
	note.Add(audit.Patient{ID: m.source, Action: "merged"})
	note.Add(audit.Patient{ID: m.target, Action: "merged"})
	return id, stored, nil
}

// target is the merge's target patient: result-patient when given (it
// must carry the target's id), else the stored target.
func (o *operations) target(ctx context.Context, m mergeRequest) (*fm.Patient, error) {
	if m.result == nil {
		return o.patient(ctx, m.target)
	}
	if _, err := o.pats.Get(ctx, m.target); err != nil {
		return nil, err
	}
	var res fm.Patient
	if err := json.Unmarshal(m.result, &res); err != nil || res.Id == nil || *res.Id != m.target {
		return nil, fmt.Errorf("%w: result-patient must be a Patient with the target's id", ErrInvalid)
	}
	return &res, nil
}

// handleMerge serves POST /fhir/Patient/$merge (FHIR R5 Patient $merge),
// see operations.merge; preview answers what would happen.
func (h *Handler) handleMerge(w http.ResponseWriter, r *http.Request) {
	var p parameters
	if err := h.readJSON(r, &p); err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := parseMerge(p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if m.preview {
		if _, err := h.ops.patient(r.Context(), m.source); err != nil {
			h.fail(w, r, err)
			return
		}
		tgt, err := h.ops.target(r.Context(), m)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, fhirJSON, opResult(p, "information", fmt.Sprintf("preview: Patient/%s would be replaced by Patient/%s and their identities joined", m.source, m.target), tgt))
		return
	}
	_, stored, err := h.ops.merge(r.Context(), m, actor(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, fhirJSON, opResult(p, "information", fmt.Sprintf("Patient/%s merged into Patient/%s", m.source, m.target), stored.Resource))
}

// opResult is $merge's output Parameters: input, outcome, result.
func opResult(input parameters, severity, msg string, result any) map[string]any {
	return map[string]any{"resourceType": "Parameters", "parameter": []any{
		map[string]any{"name": "input", "resource": input},
		map[string]any{"name": "outcome", "resource": outcome(severity, "informational", msg)},
		map[string]any{"name": "result", "resource": result},
	}}
}

// patient reads a stored patient as a FHIR Patient.
func (o *operations) patient(ctx context.Context, id string) (*fm.Patient, error) {
	sp, err := o.pats.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	var p fm.Patient
	if err := json.Unmarshal(sp.Resource, &p); err != nil {
		return nil, fmt.Errorf("identity: stored Patient/%s: %w", id, err)
	}
	return &p, nil
}

// addLink adds a link of type t to Patient/other unless present.
func addLink(p *fm.Patient, t fm.LinkType, other string) {
	ref := "Patient/" + other
	for _, l := range p.Link {
		if l.Type == t && l.Other.Reference != nil && *l.Other.Reference == ref {
			return
		}
	}
	p.Link = append(p.Link, fm.PatientLink{Other: fm.Reference{Reference: &ref}, Type: t})
}

// dropLinks removes p's links of type t to any of others; it reports
// whether it removed one.
func dropLinks(p *fm.Patient, t fm.LinkType, others map[string]bool) bool {
	n := len(p.Link)
	var keep []fm.PatientLink
	for _, l := range p.Link {
		if l.Type == t && l.Other.Reference != nil && others[patientID(*l.Other.Reference)] {
			continue
		}
		keep = append(keep, l)
	}
	p.Link = keep
	return len(keep) != n
}

// handleUnmerge serves POST /fhir/Patient/$unmerge with a Parameters
// naming the patient (patient or source-patient, a valueReference): the
// patient is split out of its identity (see Service.Unmerge), and the
// replaced-by / replaces links a $merge set between the two sides are
// removed again. The answer lists the restored and the remaining Person.
func (h *Handler) handleUnmerge(w http.ResponseWriter, r *http.Request) {
	var p parameters
	if err := h.readJSON(r, &p); err != nil {
		h.fail(w, r, err)
		return
	}
	var id, reason string
	for _, pp := range p.Parameter {
		switch {
		case (pp.Name == "patient" || pp.Name == "source-patient") && pp.ValueReference != nil:
			id = patientID(pp.ValueReference.Reference)
		case pp.Name == "reason" && pp.ValueString != nil:
			reason = *pp.ValueString
		}
	}
	if p.ResourceType != "Parameters" || id == "" {
		h.fail(w, r, fmt.Errorf("%w: a Parameters with patient (valueReference Patient/{id}) is required", ErrInvalid))
		return
	}
	restored, remaining, err := h.ops.unmerge(r.Context(), id, actor(r.Context()), reason)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, fhirJSON, map[string]any{"resourceType": "Parameters", "parameter": []any{
		map[string]any{"name": "outcome", "resource": outcome("information", "informational", fmt.Sprintf("Patient/%s split out of Person/%s into Person/%s", id, remaining.ID, restored.ID))},
		map[string]any{"name": "restored", "resource": PersonResource(restored)},
		map[string]any{"name": "remaining", "resource": PersonResource(remaining)},
	}})
}

// unmerge splits patient id out of its identity (Service.Unmerge) and
// removes the $merge links between the two sides.
func (o *operations) unmerge(ctx context.Context, id string, by Actor, reason string) (restored, remaining Identity, err error) {
	restored, remaining, err = o.svc.Unmerge(ctx, id, by, "$unmerge "+reason)
	if err != nil {
		return Identity{}, Identity{}, err
	}
	audit.NoteFrom(ctx).Add(audit.Patient{ID: id, Action: "unmerged"})
	if err := o.undoMergeLinks(ctx, restored, remaining); err != nil {
		return Identity{}, Identity{}, err
	}
	return restored, remaining, nil
}

// undoMergeLinks removes the $merge links between the two sides of an
// unmerge, re-activating the patients it had deactivated.
func (o *operations) undoMergeLinks(ctx context.Context, a, b Identity) error {
	side := func(id Identity) map[string]bool {
		m := map[string]bool{}
		for _, x := range id.Members {
			m[x.Patient] = true
		}
		return m
	}
	sa, sb := side(a), side(b)
	for _, pair := range [][2]map[string]bool{{sa, sb}, {sb, sa}} {
		for id := range pair[0] {
			p, err := o.patient(ctx, id)
			if err != nil {
				return err
			}
			replaced := dropLinks(p, fm.LinkTypeReplacedBy, pair[1])
			replaces := dropLinks(p, fm.LinkTypeReplaces, pair[1])
			if !replaced && !replaces {
				continue
			}
			if replaced {
				active := true
				p.Active = &active
			}
			if _, _, err := o.pats.Upsert(ctx, p); err != nil {
				return errors.Join(fmt.Errorf("identity: removing the merge links of Patient/%s", id), err)
			}
		}
	}
	return nil
}
