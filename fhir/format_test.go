package fhir

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/fhir/fhirxml"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
)

// doH sends one request with the given headers.
func (e *testEnv) doH(t *testing.T, method, path string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

const patientXML = `<Patient xmlns="http://hl7.org/fhir"><name><family value="Chalmers"/><given value="Peter"/></name><gender value="male"/><birthDate value="1974-12-25"/></Patient>`

func TestResponseFormatNegotiation(t *testing.T) {
	cases := []struct {
		name, path, accept string
		status             int
		ct                 string
	}{
		{"no Accept", "/fhir/metadata", "", 200, "application/fhir+json"},
		{"Accept fhir+xml", "/fhir/metadata", "application/fhir+xml", 200, "application/fhir+xml"},
		{"Accept xml", "/fhir/metadata", "application/xml", 200, "application/fhir+xml"},
		{"Accept json", "/fhir/metadata", "application/json", 200, "application/fhir+json"},
		{"q-values", "/fhir/metadata", "application/fhir+json;q=0.5, application/fhir+xml;q=0.9", 200, "application/fhir+xml"},
		{"xml over wildcard", "/fhir/metadata", "*/*, application/fhir+xml", 200, "application/fhir+xml"},
		{"wildcard", "/fhir/metadata", "*/*", 200, "application/fhir+json"},
		{"browser", "/fhir/metadata", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 200, "application/fhir+xml"},
		{"_format xml wins over Accept", "/fhir/metadata?_format=xml", "application/fhir+json", 200, "application/fhir+xml"},
		{"_format json", "/fhir/metadata?_format=json", "application/fhir+xml", 200, "application/fhir+json"},
		{"_format mime", "/fhir/metadata?_format=application/fhir%2Bxml", "", 200, "application/fhir+xml"},
		{"unserved Accept", "/fhir/metadata", "text/html", 406, "application/fhir+json"},
		{"q=0 only", "/fhir/metadata", "application/fhir+json;q=0", 406, "application/fhir+json"},
		{"unserved _format", "/fhir/metadata?_format=turtle", "", 406, "application/fhir+json"},
		{"404 in XML", "/fhir/Patient/nobody", "application/fhir+xml", 404, "application/fhir+xml"},
		{"healthz not negotiated", "/healthz", "application/fhir+xml", 200, "text/plain"},
	}
	env := newTestEnv(t, newFakeEngine(), Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			if c.accept != "" {
				hdr["Accept"] = c.accept
			}
			resp, body := env.doH(t, "GET", c.path, hdr, "")
			if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ct) {
				t.Fatalf("status %d, Content-Type %q; want %d, %s: %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), c.status, c.ct, body)
			}
			if strings.Contains(c.ct, "xml") {
				if _, err := fhirxml.XMLToJSON([]byte(body)); err != nil {
					t.Fatalf("XML answer does not parse as FHIR XML: %v\n%s", err, body)
				}
			}
		})
	}
}

func TestXMLRequests(t *testing.T) {
	eng := newFakeEngine()
	eng.matches = []matcher.Match{mkMatch("p1", 0.99, scoring.GradeCertain)}
	env := newTestEnv(t, eng, Options{})
	xmlHdr := map[string]string{"Content-Type": "application/fhir+xml", "Accept": "application/fhir+xml"}

	resp, body := env.doH(t, "PUT", "/fhir/Patient/x1", xmlHdr, patientXML)
	if resp.StatusCode != 201 || !strings.Contains(body, `<family value="Chalmers"/>`) || !strings.HasPrefix(body, "<Patient") {
		t.Fatalf("PUT XML: %d %s", resp.StatusCode, body)
	}
	resp, body = env.doH(t, "GET", "/fhir/Patient/x1", nil, "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"family":"Chalmers"`) {
		t.Fatalf("GET as JSON after an XML PUT: %d %s", resp.StatusCode, body)
	}

	params := `<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="resource"/><resource>` +
		strings.Replace(patientXML, ` xmlns="http://hl7.org/fhir"`, "", 1) +
		`</resource></parameter><parameter><name value="count"/><valueInteger value="1"/></parameter></Parameters>`
	resp, body = env.doH(t, "POST", "/fhir/Patient/$match", xmlHdr, params)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, `<Bundle xmlns="http://hl7.org/fhir">`) ||
		!strings.Contains(body, `<valueCode value="certain"/>`) || !strings.Contains(body, `<score value="0.99"/>`) {
		t.Fatalf("$match in XML: %d %s", resp.StatusCode, body)
	}
	if eng.lastOpts.Count != 1 || eng.lastRec.Family == "" {
		t.Fatalf("XML Parameters not decoded: count %d, family %q", eng.lastOpts.Count, eng.lastRec.Family)
	}

	resp, body = env.doH(t, "POST", "/fhir/Patient/$match", xmlHdr, `<Patient xmlns="http://hl7.org/fhir"><shoeSize value="9"/></Patient>`)
	if resp.StatusCode != 400 || !strings.HasPrefix(body, "<OperationOutcome") || !strings.Contains(body, "shoeSize") {
		t.Fatalf("bad XML: %d %s", resp.StatusCode, body)
	}
	resp, body = env.doH(t, "POST", "/fhir/Patient", map[string]string{}, patientXML)
	if resp.StatusCode != 201 || !strings.Contains(body, `"Chalmers"`) {
		t.Fatalf("XML without Content-Type: %d %s", resp.StatusCode, body)
	}
}
