package fhirxml

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ErrInvalid wraps every conversion error caused by the input (malformed
// JSON or XML, an unknown element, a value of the wrong type).
var ErrInvalid = errors.New("fhirxml: invalid resource")

// ErrUnsupported wraps conversions of resource types this package does not
// know.
var ErrUnsupported = errors.New("fhirxml: unsupported resource type")

// maxDepth bounds element nesting in both directions, so hostile input
// cannot exhaust the stack.
const maxDepth = 64

func invalidf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// JSONToXML converts one FHIR JSON resource to FHIR XML (UTF-8, no XML
// declaration, default namespace http://hl7.org/fhir).
func JSONToXML(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalidf("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalidf("trailing data after the JSON resource")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, invalidf("a resource must be a JSON object")
	}
	w := &xmlWriter{}
	if err := w.resource(obj, true, 0); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

// xmlWriter writes FHIR XML; it escapes text itself rather than using
// xml.Encoder, whose namespace handling cannot embed the XHTML narrative.
type xmlWriter struct {
	buf bytes.Buffer
}

func (w *xmlWriter) resource(obj map[string]any, root bool, depth int) error {
	if depth > maxDepth {
		return invalidf("resources nested deeper than %d levels", maxDepth)
	}
	rt, _ := obj["resourceType"].(string)
	if rt == "" {
		return invalidf("resourceType is missing")
	}
	ti, ok := registry()[rt]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnsupported, rt)
	}
	w.buf.WriteString("<" + rt)
	if root {
		w.buf.WriteString(` xmlns="` + Namespace + `"`)
	}
	w.buf.WriteString(">")
	if err := w.children(ti, obj, depth); err != nil {
		return err
	}
	w.buf.WriteString("</" + rt + ">")
	return nil
}

// children writes the elements of obj (of type ti) in FHIR order, after
// checking obj has no property the type does not define.
func (w *xmlWriter) children(ti *typeInfo, obj map[string]any, depth int) error {
	if err := checkProperties(ti, obj); err != nil {
		return err
	}
	for _, e := range ti.elems {
		if isAttribute(ti, e.name) {
			continue
		}
		v, ext := obj[e.name], obj["_"+e.name]
		if v == nil && ext == nil {
			continue
		}
		if err := w.element(ti, e, v, ext, depth); err != nil {
			return err
		}
	}
	return nil
}

// checkProperties rejects properties of obj that ti does not define.
func checkProperties(ti *typeInfo, obj map[string]any) error {
	for _, k := range sortedKeys(obj) {
		if k == "resourceType" && ti.resource {
			continue
		}
		name := strings.TrimPrefix(k, "_")
		e, ok := ti.lookup(name)
		if !ok {
			return invalidf("%s has no element %q", ti.name, k)
		}
		if name != k && e.kind > kindBool {
			return invalidf("%s.%s is not a primitive and cannot have %q", ti.name, name, k)
		}
	}
	return nil
}

func (w *xmlWriter) element(ti *typeInfo, e element, v, ext any, depth int) error {
	if !e.list {
		return w.one(ti, e, v, ext, depth)
	}
	vs, ok1 := asList(v)
	exts, ok2 := asList(ext)
	if !ok1 || !ok2 {
		return invalidf("%s.%s must be a JSON array", ti.name, e.name)
	}
	if len(vs) > 0 && len(exts) > 0 && len(vs) != len(exts) {
		return invalidf("%s.%s and _%s differ in length", ti.name, e.name, e.name)
	}
	for i := range max(len(vs), len(exts)) {
		var vi, ei any
		if i < len(vs) {
			vi = vs[i]
		}
		if i < len(exts) {
			ei = exts[i]
		}
		if vi == nil && ei == nil {
			return invalidf("%s.%s[%d] is null", ti.name, e.name, i)
		}
		if err := w.one(ti, e, vi, ei, depth); err != nil {
			return err
		}
	}
	return nil
}

func asList(v any) ([]any, bool) {
	if v == nil {
		return nil, true
	}
	l, ok := v.([]any)
	return l, ok
}

// one writes a single occurrence of e.
func (w *xmlWriter) one(ti *typeInfo, e element, v, ext any, depth int) error {
	switch e.kind {
	case kindComplex:
		obj, ok := v.(map[string]any)
		if !ok {
			return invalidf("%s.%s must be a JSON object", ti.name, e.name)
		}
		return w.complex(e.name, e.typ, obj, depth+1)
	case kindResource:
		obj, ok := v.(map[string]any)
		if !ok {
			return invalidf("%s.%s must be a resource object", ti.name, e.name)
		}
		w.buf.WriteString("<" + e.name + ">")
		if err := w.resource(obj, false, depth+1); err != nil {
			return err
		}
		w.buf.WriteString("</" + e.name + ">")
		return nil
	case kindXHTML:
		s, ok := v.(string)
		if !ok {
			return invalidf("%s.%s must be a string of XHTML", ti.name, e.name)
		}
		if err := checkXHTML(s); err != nil {
			return err
		}
		w.buf.WriteString(s)
		return nil
	}
	return w.primitive(ti, e, v, ext, depth)
}

// primitive writes <name value="…" id="…"><extension…/></name>.
func (w *xmlWriter) primitive(ti *typeInfo, e element, v, ext any, depth int) error {
	w.buf.WriteString("<" + e.name)
	if v != nil {
		s, err := primitiveText(e.kind, v)
		if err != nil {
			return invalidf("%s.%s: %v", ti.name, e.name, err)
		}
		w.attr("value", s)
	}
	var extObj map[string]any
	if ext != nil {
		var ok bool
		if extObj, ok = ext.(map[string]any); !ok {
			return invalidf("%s._%s must be a JSON object", ti.name, e.name)
		}
		for k := range extObj {
			if k != "id" && k != "extension" {
				return invalidf("%s._%s may hold only id and extension, not %q", ti.name, e.name, k)
			}
		}
		if id, ok := extObj["id"]; ok {
			s, isStr := id.(string)
			if !isStr {
				return invalidf("%s._%s.id must be a string", ti.name, e.name)
			}
			w.attr("id", s)
		}
	}
	if extObj == nil || extObj["extension"] == nil {
		w.buf.WriteString("/>")
		return nil
	}
	w.buf.WriteString(">")
	if err := w.element(&typeInfo{name: e.name}, extensionElement(), extObj["extension"], nil, depth+1); err != nil {
		return err
	}
	w.buf.WriteString("</" + e.name + ">")
	return nil
}

// complex writes a datatype or backbone element: id (and Extension.url) as
// attributes, the rest as children.
func (w *xmlWriter) complex(name string, ti *typeInfo, obj map[string]any, depth int) error {
	if depth > maxDepth {
		return invalidf("elements nested deeper than %d levels", maxDepth)
	}
	w.buf.WriteString("<" + name)
	for _, a := range []string{"id", "url"} {
		if !isAttribute(ti, a) {
			continue
		}
		v, ok := obj[a]
		if !ok {
			continue
		}
		s, isStr := v.(string)
		if !isStr {
			return invalidf("%s.%s must be a string", ti.name, a)
		}
		w.attr(a, s)
	}
	w.buf.WriteString(">")
	if err := w.children(ti, obj, depth); err != nil {
		return err
	}
	w.buf.WriteString("</" + name + ">")
	return nil
}

func (w *xmlWriter) attr(name, value string) {
	w.buf.WriteString(" " + name + `="`)
	_ = xml.EscapeText(&w.buf, []byte(value))
	w.buf.WriteString(`"`)
}

// primitiveText is the XML value attribute of a JSON primitive of kind k.
func primitiveText(k kind, v any) (string, error) {
	switch k {
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return "", errors.New("must be a JSON boolean")
		}
		if b {
			return "true", nil
		}
		return "false", nil
	case kindNumber:
		n, ok := v.(json.Number)
		if !ok {
			return "", errors.New("must be a JSON number")
		}
		return n.String(), nil
	default:
		s, ok := v.(string)
		if !ok {
			return "", errors.New("must be a JSON string")
		}
		if s == "" {
			return "", errors.New("must not be an empty string")
		}
		return s, nil
	}
}

// checkXHTML checks that s is one well-formed XHTML div element with no
// processing instructions or directives, so it can be embedded verbatim.
func checkXHTML(s string) error {
	dec := xml.NewDecoder(strings.NewReader(s))
	dec.Strict = true
	depth, roots := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return invalidf("Narrative.div is not well-formed XHTML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if t.Name.Local != "div" || t.Name.Space != xhtmlNamespace {
					return invalidf("Narrative.div must be an XHTML div element")
				}
			}
			depth++
			if depth > maxDepth {
				return invalidf("Narrative.div is nested deeper than %d levels", maxDepth)
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return invalidf("Narrative.div has text outside its div element")
			}
		case xml.ProcInst, xml.Directive:
			return invalidf("Narrative.div must not hold processing instructions or directives")
		}
	}
	if roots != 1 {
		return invalidf("Narrative.div must be exactly one div element")
	}
	return nil
}

// extensionElement is the element "extension" (a list of Extension), as a
// primitive's extensions are written.
func extensionElement() element {
	e, _ := registry()["Patient"].lookup("extension")
	return e
}

// sortedKeys keeps error messages deterministic.
func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
