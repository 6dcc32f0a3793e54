package fhirxml

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/spec/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// xmlTree is a canonical form of an XML document for comparison: elements
// with sorted attributes (namespace declarations left out) and non-space
// text, comments and the declaration dropped.
type xmlTree struct {
	Name     string
	Attrs    []string
	Text     string
	Children []*xmlTree
}

func canonicalXML(t *testing.T, data []byte) *xmlTree {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xmlTree
	var root *xmlTree
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("canonicalXML: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &xmlTree{Name: tk.Name.Space + " " + tk.Name.Local}
			for _, a := range tk.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				n.Attrs = append(n.Attrs, a.Name.Local+"="+a.Value)
			}
			if len(stack) == 0 {
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if s := strings.TrimSpace(string(tk)); s != "" {
				stack[len(stack)-1].Text += s
			}
		}
	}
	return root
}

func canonicalJSON(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("canonicalJSON: %v\n%s", err, data)
	}
	return v
}

// TestSpecExamplesRoundTripXML: the spec's XML examples go to JSON and back
// to the same XML (comments and whitespace aside).
func TestSpecExamplesRoundTripXML(t *testing.T) {
	for _, name := range []string{"patient-example.xml", "bundle-example.xml"} {
		t.Run(name, func(t *testing.T) {
			in := readFile(t, name)
			js, err := XMLToJSON(in)
			if err != nil {
				t.Fatalf("XMLToJSON: %v", err)
			}
			out, err := JSONToXML(js)
			if err != nil {
				t.Fatalf("JSONToXML: %v\n%s", err, js)
			}
			if a, b := canonicalXML(t, in), canonicalXML(t, out); !reflect.DeepEqual(a, b) {
				t.Fatalf("round trip changed the document:\nin:  %s\nout: %s", in, out)
			}
		})
	}
}

// TestSpecExamplesRoundTripJSON: the spec's JSON Bundle example (and the
// Patient example in JSON form) go to XML and back to the same JSON.
func TestSpecExamplesRoundTripJSON(t *testing.T) {
	patientJSON, err := XMLToJSON(readFile(t, "patient-example.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{
		"bundle-example.json":  readFile(t, "bundle-example.json"),
		"patient-example.json": patientJSON,
	} {
		t.Run(name, func(t *testing.T) {
			x, err := JSONToXML(in)
			if err != nil {
				t.Fatalf("JSONToXML: %v", err)
			}
			out, err := XMLToJSON(x)
			if err != nil {
				t.Fatalf("XMLToJSON: %v\n%s", err, x)
			}
			if a, b := canonicalJSON(t, in), canonicalJSON(t, out); !reflect.DeepEqual(a, b) {
				t.Fatalf("round trip changed the resource:\nin:  %s\nout: %s", in, out)
			}
		})
	}
}

// TestPatientExampleJSONForm checks the JSON form of the spec's Patient
// example against what json.html says: arrays for repeating elements, typed
// primitives, primitive extensions under "_name".
func TestPatientExampleJSONForm(t *testing.T) {
	js, err := XMLToJSON(readFile(t, "patient-example.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	if m["resourceType"] != "Patient" || m["active"] != true || m["deceasedBoolean"] != false {
		t.Errorf("resourceType/active/deceasedBoolean wrong: %v %v %v", m["resourceType"], m["active"], m["deceasedBoolean"])
	}
	bd, _ := m["_birthDate"].(map[string]any)
	ext, _ := bd["extension"].([]any)
	if len(ext) != 1 || ext[0].(map[string]any)["url"] != "http://hl7.org/fhir/StructureDefinition/patient-birthTime" {
		t.Errorf("_birthDate extension lost: %v", m["_birthDate"])
	}
	tel := m["telecom"].([]any)
	if rank := tel[1].(map[string]any)["rank"]; rank != 1.0 {
		t.Errorf("telecom[1].rank = %#v, want the number 1", rank)
	}
	p, err := fm.UnmarshalPatient(js)
	if err != nil {
		t.Fatalf("samply cannot read the JSON: %v", err)
	}
	if p.Name[0].Family == nil || *p.Name[0].Family != "Chalmers" || len(p.Name[0].Given) != 2 ||
		p.Contact[0].Name.Family == nil || *p.Contact[0].Name.Family != "du Marché" ||
		p.Gender == nil || *p.Gender != fm.AdministrativeGenderMale {
		t.Errorf("decoded Patient differs from the example: %s", js)
	}
	if !strings.HasPrefix(js2str(js), `{"resourceType":"Patient","id":"example","meta":`) {
		t.Errorf("JSON not in FHIR element order: %.80s", js)
	}
}

func js2str(b []byte) string { return string(b) }

// TestBundleExampleAcrossFormats compares the XML Bundle example converted
// to JSON with the JSON Bundle example, leaving out meta and narratives, in
// which the two published builds differ.
func TestBundleExampleAcrossFormats(t *testing.T) {
	js, err := XMLToJSON(readFile(t, "bundle-example.xml"))
	if err != nil {
		t.Fatal(err)
	}
	strip := func(v any) any {
		m := v.(map[string]any)
		delete(m, "meta")
		for _, e := range m["entry"].([]any) {
			delete(e.(map[string]any)["resource"].(map[string]any), "text")
		}
		return m
	}
	got := strip(canonicalJSON(t, js))
	want := strip(canonicalJSON(t, readFile(t, "bundle-example.json")))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("XML example as JSON differs from the JSON example:\ngot:  %v\nwant: %v", got, want)
	}
}

func TestJSONToXMLShape(t *testing.T) {
	in := `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient",
	  "name":[{"family":"O'Brien & Sons","given":["Ann",null],"_given":[null,{"extension":[{"url":"http://x","valueBoolean":true}]}]}],
	  "birthDate":"1980-03-16"}},{"name":"count","valueInteger":3}]}`
	out, err := JSONToXML([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="resource"/><resource><Patient>` +
		`<name><family value="O&#39;Brien &amp; Sons"/><given value="Ann"/><given><extension url="http://x"><valueBoolean value="true"/></extension></given></name>` +
		`<birthDate value="1980-03-16"/></Patient></resource></parameter>` +
		`<parameter><name value="count"/><valueInteger value="3"/></parameter></Parameters>`
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	back, err := XMLToJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := canonicalJSON(t, []byte(in)), canonicalJSON(t, back); !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip: %s", back)
	}
}

func TestBadInput(t *testing.T) {
	xmlCases := map[string]string{
		"not xml":          `{"resourceType":"Patient"}`,
		"wrong namespace":  `<Patient xmlns="urn:x"><id value="a"/></Patient>`,
		"unknown element":  `<Patient xmlns="http://hl7.org/fhir"><shoeSize value="9"/></Patient>`,
		"out of order":     `<Patient xmlns="http://hl7.org/fhir"><birthDate value="1980"/><gender value="male"/></Patient>`,
		"repeated single":  `<Patient xmlns="http://hl7.org/fhir"><gender value="male"/><gender value="female"/></Patient>`,
		"bad boolean":      `<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>`,
		"text content":     `<Patient xmlns="http://hl7.org/fhir"><gender>male</gender></Patient>`,
		"doctype":          `<!DOCTYPE x [<!ENTITY e "boom">]><Patient xmlns="http://hl7.org/fhir"/>`,
		"unsupported type": `<Observation xmlns="http://hl7.org/fhir"/>`,
		"empty value":      `<Patient xmlns="http://hl7.org/fhir"><gender/></Patient>`,
	}
	for name, in := range xmlCases {
		if _, err := XMLToJSON([]byte(in)); err == nil {
			t.Errorf("XMLToJSON(%s) accepted %s", name, in)
		} else if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
			t.Errorf("XMLToJSON(%s): error %v wraps neither sentinel", name, err)
		}
	}
	jsonCases := map[string]string{
		"unknown element":   `{"resourceType":"Patient","shoeSize":9}`,
		"wrong type":        `{"resourceType":"Patient","active":"yes"}`,
		"not a list":        `{"resourceType":"Patient","name":{"family":"x"}}`,
		"bad narrative":     `{"resourceType":"Patient","text":{"status":"generated","div":"<div><?pi x?></div>"}}`,
		"script narrative":  `{"resourceType":"Patient","text":{"status":"generated","div":"</div><x>"}}`,
		"no resourceType":   `{"id":"x"}`,
		"_ on complex":      `{"resourceType":"Patient","_name":[{}]}`,
		"trailing data":     `{"resourceType":"Patient"} {}`,
		"unsupported type":  `{"resourceType":"Observation"}`,
		"empty string":      `{"resourceType":"Patient","gender":""}`,
		"null list element": `{"resourceType":"Patient","name":[null]}`,
	}
	for name, in := range jsonCases {
		if _, err := JSONToXML([]byte(in)); err == nil {
			t.Errorf("JSONToXML(%s) accepted %s", name, in)
		}
	}
}

func TestDeepNestingRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<Parameters xmlns="http://hl7.org/fhir">`)
	for range 200 {
		b.WriteString(`<parameter><name value="x"/><part>`)
	}
	if _, err := XMLToJSON([]byte(b.String())); err == nil {
		t.Fatal("deeply nested XML accepted")
	}
}

func FuzzXMLToJSON(f *testing.F) {
	for _, name := range []string{"patient-example.xml", "bundle-example.xml"} {
		b, err := os.ReadFile("testdata/spec/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<Patient xmlns="http://hl7.org/fhir"><birthDate value="1980"><extension url="u"/></birthDate></Patient>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		js, err := XMLToJSON(data)
		if err != nil {
			return
		}
		// Whatever XML is accepted must give JSON that converts back.
		if _, err := JSONToXML(js); err != nil {
			t.Fatalf("accepted XML gave JSON that does not convert back: %v\n%s", err, js)
		}
	})
}

func FuzzJSONToXML(f *testing.F) {
	f.Add(readFileF(f, "bundle-example.json"))
	f.Add([]byte(`{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"id":"x"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := JSONToXML(data)
		if err != nil {
			return
		}
		if _, err := XMLToJSON(x); err != nil {
			t.Fatalf("accepted JSON gave XML that does not convert back: %v\n%s", err, x)
		}
	})
}

func readFileF(f *testing.F, name string) []byte {
	b, err := os.ReadFile("testdata/spec/" + name)
	if err != nil {
		f.Fatal(err)
	}
	return b
}
