// Package fhirxml converts FHIR R4 resources between the JSON and the XML
// formats (FHIR R4 xml.html and json.html), so that the FHIR service can
// speak application/fhir+xml without a second set of resource models.
//
// The element order, cardinality and primitive types that XML needs and JSON
// lacks are read by reflection from the samply FHIR R4 models the service
// already uses: their struct fields follow the element order of the FHIR
// StructureDefinitions, slices mark repeating elements, and Go types give
// each primitive's JSON type. Primitive extensions (the "_name" JSON
// properties), element ids, Extension.url and the XHTML narrative are handled
// as the two specifications say.
package fhirxml

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Namespace is the XML namespace of FHIR resources.
const Namespace = "http://hl7.org/fhir"

// xhtmlNamespace is the namespace of Narrative.div.
const xhtmlNamespace = "http://www.w3.org/1999/xhtml"

// kind is how an element is written in each format.
type kind uint8

const (
	kindString   kind = iota // JSON string; XML value attribute
	kindNumber               // JSON number; XML value attribute
	kindBool                 // JSON boolean; XML value attribute
	kindComplex              // JSON object; XML element with children
	kindResource             // JSON resource object; XML <name><Type>…</Type></name>
	kindXHTML                // JSON string of XHTML; XML the xhtml div itself
)

// element is one element of a FHIR type.
type element struct {
	name string
	kind kind
	list bool
	typ  *typeInfo // for kindComplex
}

// typeInfo is the ordered element list of a complex type or resource.
type typeInfo struct {
	name     string
	resource bool
	elems    []element
	byName   map[string]int
}

func (t *typeInfo) lookup(name string) (element, bool) {
	i, ok := t.byName[name]
	if !ok {
		return element{}, false
	}
	return t.elems[i], true
}

// resourceModels are the resource types this package converts: those the
// patientmatch service reads or writes, plus the ones the FHIR specification's
// own Bundle example holds (used by the round-trip tests).
func resourceModels() map[string]reflect.Type {
	return map[string]reflect.Type{
		"Patient":             reflect.TypeFor[fm.Patient](),
		"Bundle":              reflect.TypeFor[fm.Bundle](),
		"Parameters":          reflect.TypeFor[fm.Parameters](),
		"OperationOutcome":    reflect.TypeFor[fm.OperationOutcome](),
		"Organization":        reflect.TypeFor[fm.Organization](),
		"CapabilityStatement": reflect.TypeFor[fm.CapabilityStatement](),
		"Person":              reflect.TypeFor[fm.Person](),
		"Practitioner":        reflect.TypeFor[fm.Practitioner](),
		"RelatedPerson":       reflect.TypeFor[fm.RelatedPerson](),
		"Medication":          reflect.TypeFor[fm.Medication](),
		"MedicationRequest":   reflect.TypeFor[fm.MedicationRequest](),
	}
}

// registry is the metadata of every supported resource type. It is built
// once, on first use, and never changes afterwards.
var registry = sync.OnceValue(func() map[string]*typeInfo {
	b := &builder{seen: make(map[reflect.Type]*typeInfo)}
	out := make(map[string]*typeInfo)
	for name, t := range resourceModels() {
		ti := b.build(t)
		ti.name = name
		ti.resource = true
		addContained(ti)
		out[name] = ti
	}
	return out
})

// builder walks Go model types, sharing the typeInfo of types seen before
// (Extension holds Extension, ParametersParameter holds itself).
type builder struct {
	seen map[reflect.Type]*typeInfo
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	numberType     = reflect.TypeFor[json.Number]()
	marshalerType  = reflect.TypeFor[json.Marshaler]()
)

func (b *builder) build(t reflect.Type) *typeInfo {
	if ti, ok := b.seen[t]; ok {
		return ti
	}
	ti := &typeInfo{name: t.Name(), byName: make(map[string]int)}
	b.seen[t] = ti
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		ti.byName[name] = len(ti.elems)
		ti.elems = append(ti.elems, b.element(name, f.Type))
	}
	if t == reflect.TypeFor[fm.Narrative]() {
		ti.elems[ti.byName["div"]].kind = kindXHTML
	}
	return ti
}

// element describes the field of Go type ft named name.
func (b *builder) element(name string, ft reflect.Type) element {
	e := element{name: name}
	if ft == rawMessageType {
		e.kind = kindResource
		return e
	}
	if ft.Kind() == reflect.Slice && ft != rawMessageType {
		e.list = true
		ft = ft.Elem()
		if ft == rawMessageType {
			e.kind = kindResource
			return e
		}
	}
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	switch {
	case ft == numberType:
		e.kind = kindNumber
	case ft.Kind() == reflect.Struct:
		e.kind = kindComplex
		e.typ = b.build(ft)
	case ft.Kind() == reflect.Bool:
		e.kind = kindBool
	case ft.Kind() == reflect.String:
		e.kind = kindString
	case ft.Implements(marshalerType) || reflect.PointerTo(ft).Implements(marshalerType):
		// samply's code enums are integers that marshal as JSON strings.
		e.kind = kindString
	default:
		e.kind = kindNumber
	}
	return e
}

// addContained adds DomainResource.contained, which the samply models leave
// out, after text (its place in the FHIR element order).
func addContained(ti *typeInfo) {
	i, ok := ti.byName["text"]
	if !ok {
		return
	}
	if _, has := ti.byName["contained"]; has {
		return
	}
	elems := make([]element, 0, len(ti.elems)+1)
	elems = append(elems, ti.elems[:i+1]...)
	elems = append(elems, element{name: "contained", kind: kindResource, list: true})
	elems = append(elems, ti.elems[i+1:]...)
	ti.elems = elems
	ti.byName = make(map[string]int, len(elems))
	for j, e := range elems {
		ti.byName[e.name] = j
	}
}

// isAttribute reports whether the element name of a complex (non-resource)
// type is written as an XML attribute: Element.id and Extension.url.
func isAttribute(ti *typeInfo, name string) bool {
	if ti.resource {
		return false
	}
	return name == "id" || (name == "url" && ti.name == "Extension")
}
