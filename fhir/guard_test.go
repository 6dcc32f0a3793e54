package fhir

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestUncleanPathIs400 is issue 14 item 12: /fhir/Patient/../../x used to
// answer a bare 307 echoing the path.
func TestUncleanPathIs400(t *testing.T) {
	env := newTestEnv(t, newFakeEngine(), Options{})
	for _, p := range []string{"/fhir/Patient/../../x", "/fhir//Patient/p1", "/fhir/./metadata", "/fhir/Patient/p1/.."} {
		req, _ := http.NewRequest("GET", env.ts.URL+"/", nil)
		req.URL.Path, req.URL.RawPath = p, ""
		req.URL.Opaque = p // keep the client from cleaning it
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("%s: status %d, Location %q; want 400 without a redirect", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// TestEarly413 is issue 14 item 4: a Content-Length beyond the limit is
// answered 413 at once, without waiting for a body that never comes.
func TestEarly413(t *testing.T) {
	env := newTestEnv(t, newFakeEngine(), Options{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: 99999999999\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
}

// TestLocalOnlyRules is issue 14 item 10: without authentication, requests
// a web page could forge are refused.
func TestLocalOnlyRules(t *testing.T) {
	env := newLocalOnlyEnv(t)
	batchDelete := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"DELETE","url":"Patient/p1"}}]}`
	cases := []struct {
		name, method, path, host, ct, origin, body string
		want                                       int
	}{
		{"foreign Host", "GET", "/fhir/Patient/p1", "evil.example", "", "", "", 403},
		{"foreign Host with own port", "GET", "/fhir/Patient/p1", "evil.example:" + portOf(env.ts.URL), "", "", "", 403},
		{"cross-site batch DELETE without Content-Type", "POST", "/fhir", "", "", "http://evil.example", batchDelete, 403},
		{"batch DELETE without Content-Type", "POST", "/fhir", "", "", "", batchDelete, 415},
		{"claims as text/plain", "POST", "/match/claims", "", "text/plain", "", `{"claims":{"family_name":"x"}}`, 415},
		{"form post", "POST", "/fhir/Patient/$match", "", "application/x-www-form-urlencoded", "", patientJSON, 415},
		{"same-origin match", "POST", "/fhir/Patient/$match", "", fhirJSON, env.ts.URL, patientJSON, 200},
		{"plain read", "GET", "/fhir/metadata", "", "", "", "", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, env.ts.URL+tc.path, strings.NewReader(tc.body))
			if tc.host != "" {
				req.Host = tc.host
			}
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := env.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// newLocalOnlyEnv serves a LocalOnly server whose allowed hosts are its own
// loopback address, as serve --auth none sets them up.
func newLocalOnlyEnv(t *testing.T) *testEnv {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(newFakeEngine(), Options{LocalOnly: true, AllowedHosts: LoopbackHosts(lis.Addr().String())})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Listener.Close()
	ts.Listener = lis
	ts.Start()
	t.Cleanup(ts.Close)
	return &testEnv{srv: srv, ts: ts}
}

func portOf(u string) string {
	i := strings.LastIndexByte(u, ':')
	return u[i+1:]
}

// TestInvalidBirthDateRefused is issue 14 item 8 over HTTP: PUT, POST and
// batch entries with a birthDate that is not a FHIR date are 400.
func TestInvalidBirthDateRefused(t *testing.T) {
	env := newTestEnv(t, newFakeEngine(), Options{})
	for _, d := range []string{"yesterday", "99999-01-01", "1980/01/01", "", "1980-02-30", "2099-01-01"} {
		body := fmt.Sprintf(`{"resourceType":"Patient","name":[{"family":"Chalmers"}],"birthDate":%q}`, d)
		if resp, _ := env.do(t, "PUT", "/fhir/Patient/p1", fhirJSON, body); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT birthDate %q: status %d, want 400", d, resp.StatusCode)
		}
		if resp, _ := env.do(t, "POST", "/fhir/Patient", fhirJSON, body); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST birthDate %q: status %d, want 400", d, resp.StatusCode)
		}
		tx := fmt.Sprintf(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":%s,"request":{"method":"PUT","url":"Patient/p2"}}]}`, body)
		if resp, _ := env.do(t, "POST", "/fhir", fhirJSON, tx); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("transaction birthDate %q: status %d, want 400", d, resp.StatusCode)
		}
	}
	if resp, _ := env.do(t, "PUT", "/fhir/Patient/p1", fhirJSON, patientJSON); resp.StatusCode >= 300 {
		t.Errorf("valid patient: status %d", resp.StatusCode)
	}
	// An element whose key is not UTF-8.
	bad := "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"x\"}],\"\xff\xfe\":1}"
	if resp, _ := env.do(t, "PUT", "/fhir/Patient/p3", fhirJSON, bad); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("invalid UTF-8 key: status %d, want 400", resp.StatusCode)
	}
}

// TestPatientLimits is issue 14 item 5 over HTTP.
func TestPatientLimits(t *testing.T) {
	env := newTestEnv(t, newFakeEngine(), Options{})
	var ids []string
	for i := range 101 {
		ids = append(ids, fmt.Sprintf(`{"system":"urn:x","value":"V%05d"}`, i))
	}
	body := `{"resourceType":"Patient","name":[{"family":"Chalmers"}],"identifier":[` + strings.Join(ids, ",") + `]}`
	for _, path := range []string{"/fhir/Patient/p1", "/fhir/Patient/$match"} {
		method := "PUT"
		if strings.Contains(path, "$") {
			method = "POST"
		}
		resp, b := env.do(t, method, path, fhirJSON, body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "at most 100") {
			t.Errorf("%s %s with 101 identifiers: %d %s", method, path, resp.StatusCode, b)
		}
	}
}
