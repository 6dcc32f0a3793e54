package fhirxml

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// XMLToJSON converts one FHIR XML resource to FHIR JSON. The JSON object
// starts with resourceType and lists elements in FHIR order. Comments and
// the XML declaration are dropped; a DOCTYPE or any other directive is
// refused (FHIR XML has none, and refusing them rules out entity tricks).
func XMLToJSON(data []byte) ([]byte, error) {
	root, err := parseXML(data)
	if err != nil {
		return nil, err
	}
	if root.name.Space != Namespace {
		return nil, invalidf("the root element must be in the namespace %s", Namespace)
	}
	obj, err := resourceJSON(root, 0)
	if err != nil {
		return nil, err
	}
	return marshal(obj)
}

// marshal encodes v as compact JSON without escaping <, > and & (the XHTML
// narrative stays readable).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// node is an XML element: its attributes and children, or for the XHTML
// narrative its verbatim source.
type node struct {
	name     xml.Name
	attrs    []xml.Attr
	children []*node
	raw      string // the XHTML div, verbatim
	text     bool   // non-space character data appeared directly inside
}

// parseXML reads data into a tree of nodes.
func parseXML(data []byte) (*node, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var stack []*node
	var root *node
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, invalidf("malformed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name, attrs: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, invalidf("more than one root element")
				}
				root = n
			} else {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			}
			if t.Name.Space == xhtmlNamespace && t.Name.Local == "div" {
				if err := dec.Skip(); err != nil {
					return nil, invalidf("malformed XHTML narrative: %v", err)
				}
				n.raw = string(data[start:dec.InputOffset()])
				if err := checkXHTML(n.raw); err != nil {
					return nil, err
				}
				continue
			}
			if len(stack) >= 2*maxDepth {
				return nil, invalidf("elements nested deeper than %d levels", 2*maxDepth)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(bytes.TrimSpace(t)) == 0 {
				continue
			}
			if len(stack) == 0 {
				return nil, invalidf("text outside the root element")
			}
			stack[len(stack)-1].text = true
		case xml.Directive:
			return nil, invalidf("XML directives (DOCTYPE, ENTITY) are not allowed")
		}
	}
	if root == nil {
		return nil, invalidf("no root element")
	}
	return root, nil
}

// object is a JSON object that keeps its members in order.
type object []member

type member struct {
	key string
	val any
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		v, err := marshal(m.val)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// resourceJSON converts the resource element n.
func resourceJSON(n *node, depth int) (object, error) {
	if depth > maxDepth {
		return nil, invalidf("resources nested deeper than %d levels", maxDepth)
	}
	ti, ok := registry()[n.name.Local]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, n.name.Local)
	}
	if len(n.attrs) > 0 {
		for _, a := range n.attrs {
			if !isNamespaceDecl(a) {
				return nil, invalidf("%s must have no attributes, found %q", ti.name, a.Name.Local)
			}
		}
	}
	obj := object{{key: "resourceType", val: ti.name}}
	return childrenJSON(ti, n, obj, depth)
}

func isNamespaceDecl(a xml.Attr) bool {
	return a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns")
}

// childrenJSON appends the child elements of n (of type ti) to obj, in FHIR
// order, checking the order, the cardinality and the names.
func childrenJSON(ti *typeInfo, n *node, obj object, depth int) (object, error) {
	if n.text {
		return nil, invalidf("%s has text content; FHIR XML puts values in value attributes", ti.name)
	}
	last := -1
	for i := 0; i < len(n.children); {
		c := n.children[i]
		if c.name.Space != Namespace && c.raw == "" {
			return nil, invalidf("element %q in %s is not in the FHIR namespace", c.name.Local, ti.name)
		}
		idx, ok := ti.byName[c.name.Local]
		if !ok || isAttribute(ti, c.name.Local) {
			return nil, invalidf("%s has no element %q", ti.name, c.name.Local)
		}
		if idx <= last {
			return nil, invalidf("element %q in %s is out of order or repeated", c.name.Local, ti.name)
		}
		last = idx
		e := ti.elems[idx]
		j := i + 1
		for j < len(n.children) && n.children[j].name.Local == c.name.Local {
			j++
		}
		if !e.list && j-i > 1 {
			return nil, invalidf("%s.%s may appear only once", ti.name, e.name)
		}
		var err error
		if obj, err = appendElement(obj, ti, e, n.children[i:j], depth); err != nil {
			return nil, err
		}
		i = j
	}
	return obj, nil
}

// appendElement converts the occurrences ns of element e.
func appendElement(obj object, ti *typeInfo, e element, ns []*node, depth int) (object, error) {
	vals := make([]any, len(ns))
	exts := make([]any, len(ns))
	anyVal, anyExt := false, false
	for k, c := range ns {
		v, ext, err := occurrenceJSON(ti, e, c, depth)
		if err != nil {
			return nil, err
		}
		vals[k], exts[k] = v, ext
		anyVal = anyVal || v != nil
		anyExt = anyExt || ext != nil
	}
	put := func(key string, xs []any) {
		if e.list {
			obj = append(obj, member{key, xs})
		} else {
			obj = append(obj, member{key, xs[0]})
		}
	}
	if anyVal {
		put(e.name, vals)
	}
	if anyExt {
		put("_"+e.name, exts)
	}
	return obj, nil
}

// occurrenceJSON converts one occurrence: its JSON value and, for a
// primitive with an id or extensions, the "_name" object.
func occurrenceJSON(ti *typeInfo, e element, c *node, depth int) (any, any, error) {
	switch e.kind {
	case kindXHTML:
		if c.raw == "" {
			return nil, nil, invalidf("%s.div must be an XHTML div element", ti.name)
		}
		return c.raw, nil, nil
	case kindResource:
		if len(c.attrs) > 0 || len(c.children) != 1 || c.text {
			return nil, nil, invalidf("%s.%s must hold exactly one resource element", ti.name, e.name)
		}
		r, err := resourceJSON(c.children[0], depth+1)
		return r, nil, err
	case kindComplex:
		v, err := complexJSON(e.typ, c, depth+1)
		return v, nil, err
	}
	return primitiveJSON(ti, e, c, depth)
}

// complexJSON converts a datatype or backbone element.
func complexJSON(ti *typeInfo, n *node, depth int) (object, error) {
	if depth > maxDepth {
		return nil, invalidf("elements nested deeper than %d levels", maxDepth)
	}
	obj := object{}
	for _, a := range n.attrs {
		switch {
		case isNamespaceDecl(a):
		case a.Name.Space == "" && isAttribute(ti, a.Name.Local):
			obj = append(obj, member{a.Name.Local, a.Value})
		default:
			return nil, invalidf("%s has no attribute %q", ti.name, a.Name.Local)
		}
	}
	return childrenJSON(ti, n, obj, depth)
}

// primitiveJSON converts <name value="…" id="…"><extension/></name>.
func primitiveJSON(ti *typeInfo, e element, c *node, depth int) (any, any, error) {
	var val any
	ext := object{}
	for _, a := range c.attrs {
		switch {
		case isNamespaceDecl(a):
		case a.Name.Space == "" && a.Name.Local == "value":
			v, err := typedValue(e.kind, a.Value)
			if err != nil {
				return nil, nil, invalidf("%s.%s: %v", ti.name, e.name, err)
			}
			val = v
		case a.Name.Space == "" && a.Name.Local == "id":
			ext = append(ext, member{"id", a.Value})
		default:
			return nil, nil, invalidf("%s.%s has no attribute %q", ti.name, e.name, a.Name.Local)
		}
	}
	if len(c.children) > 0 {
		holder := &typeInfo{name: ti.name + "." + e.name, byName: map[string]int{"extension": 0}, elems: []element{extensionElement()}}
		exts, err := childrenJSON(holder, c, nil, depth+1)
		if err != nil {
			return nil, nil, err
		}
		ext = append(ext, exts...)
	} else if c.text {
		return nil, nil, invalidf("%s.%s has text content; put the value in its value attribute", ti.name, e.name)
	}
	if val == nil && len(ext) == 0 {
		return nil, nil, invalidf("%s.%s has neither a value nor extensions", ti.name, e.name)
	}
	if len(ext) == 0 {
		return val, nil, nil
	}
	return val, ext, nil
}

// typedValue converts a value attribute to its JSON type.
func typedValue(k kind, s string) (any, error) {
	switch k {
	case kindBool:
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("value must be true or false")
	case kindNumber:
		s = strings.TrimSpace(s)
		if _, err := strconv.ParseFloat(s, 64); err != nil || !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("value must be a number")
		}
		return json.Number(s), nil
	}
	if s == "" {
		return nil, fmt.Errorf("value must not be empty")
	}
	return s, nil
}
