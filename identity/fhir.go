package identity

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// linkExtension carries who or what made a Person.link, when, and the
// score and grade of the match behind it.
const linkExtension = "https://patientmatch.dev/fhir/StructureDefinition/identity-link"

// personJSON is a FHIR R4 Person, as much of it as an identity fills.
type personJSON struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id"`
	Meta         map[string]any `json:"meta"`
	Active       bool           `json:"active"`
	Link         []personLink   `json:"link,omitempty"`
}

type personLink struct {
	Target    reference   `json:"target"`
	Assurance string      `json:"assurance,omitempty"`
	Extension []extension `json:"extension,omitempty"`
}

type reference struct {
	Reference string `json:"reference"`
}

type extension struct {
	URL           string      `json:"url"`
	ValueString   string      `json:"valueString,omitempty"`
	ValueCode     string      `json:"valueCode,omitempty"`
	ValueDateTime string      `json:"valueDateTime,omitempty"`
	ValueDecimal  *float64    `json:"valueDecimal,omitempty"`
	Extension     []extension `json:"extension,omitempty"`
}

// assurance maps how a patient was linked to Person.link.assurance: a
// steward's decision is level4 (verified), a certain automatic match
// level3, the record an identity was created for level2 (it is that
// record, unverified).
func assurance(m Member) string {
	switch {
	case m.By != ActorAuto && m.By != ActorBatch:
		return "level4"
	case m.Grade == "certain":
		return "level3"
	default:
		return "level2"
	}
}

// PersonResource renders an identity as a FHIR Person: link[].target
// lists its Patients; a merged-away identity is inactive and links to the
// Person it was merged into.
func PersonResource(id Identity) any {
	p := personJSON{
		ResourceType: "Person",
		ID:           id.ID,
		Meta:         map[string]any{"versionId": strconv.FormatUint(id.Version, 10), "lastUpdated": id.Updated.UTC().Format(time.RFC3339Nano)},
		Active:       id.Active(),
	}
	for _, m := range id.Members {
		ext := extension{URL: linkExtension, Extension: []extension{
			{URL: "by", ValueString: m.By},
			{URL: "at", ValueDateTime: m.At.UTC().Format(time.RFC3339Nano)},
		}}
		if m.Grade != "" {
			score := m.Score
			ext.Extension = append(ext.Extension, extension{URL: "score", ValueDecimal: &score}, extension{URL: "grade", ValueCode: m.Grade})
		}
		p.Link = append(p.Link, personLink{Target: reference{"Patient/" + m.Patient}, Assurance: assurance(m), Extension: []extension{ext}})
	}
	if id.ReplacedBy != "" {
		p.Link = append(p.Link, personLink{Target: reference{"Person/" + id.ReplacedBy}, Assurance: "level4"})
	}
	return p
}

// outcome is a FHIR OperationOutcome with one issue.
func outcome(severity, code, diagnostics string) map[string]any {
	return map[string]any{
		"resourceType": "OperationOutcome",
		"issue":        []any{map[string]any{"severity": severity, "code": code, "diagnostics": diagnostics}},
	}
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding the answer failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

const fhirJSON = "application/fhir+json"

// writeFHIRError answers an OperationOutcome with the status.
func writeFHIRError(w http.ResponseWriter, status int, code, format string, a ...any) {
	writeJSON(w, status, fhirJSON, outcome("error", code, fmt.Sprintf(format, a...)))
}

// bundle is a searchset Bundle of resources.
func bundle(base string, resources []any, ids []string, typ string) map[string]any {
	entries := make([]any, len(resources))
	for i, r := range resources {
		entries[i] = map[string]any{"fullUrl": base + "/fhir/" + typ + "/" + ids[i], "resource": r, "search": map[string]any{"mode": "match"}}
	}
	return map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(resources), "entry": entries}
}
