package claims

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func do(t *testing.T, method, u string, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, data
}

func TestHandler(t *testing.T) {
	fm := newFakeMatcher(m("p1", certain, 42), m("p2", possible, 3))
	env := newSvcEnv(t, fm, nil)
	srv := httptest.NewServer(NewHandler(env.svc, HandlerOptions{Logger: env.svc.opts.Logger}))
	defer srv.Close()

	// Claims-only match.
	body, _ := json.Marshal(map[string]any{"claims": ana})
	status, hdr, data := do(t, "POST", srv.URL+"/match/claims", string(body))
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d %s: %s", status, hdr.Get("Content-Type"), data)
	}
	var resp map[string]any
	if err := json.Unmarshal(data, &resp); err != nil {
		t.Fatal(err)
	}
	if resp["decision"] != "match" || resp["patient"] != "Patient/p1" || resp["fhirUser"] != "https://mpi.example.org/fhir/Patient/p1" ||
		resp["grade"] != "certain" || resp["acr"] != "urn:example:loa:3" {
		t.Errorf("response = %s", data)
	}
	if c, _ := resp["candidates"].([]any); len(c) != 2 {
		t.Errorf("candidates = %v", resp["candidates"])
	}

	// Token with link, then linked.
	tok := env.kit.idToken(t, env.kit.key, "sub-9", ana)
	status, _, data = do(t, "POST", srv.URL+"/match/claims", `{"id_token":"`+tok+`","link":true}`)
	if status != 200 || !bytes.Contains(data, []byte(`"link_status":"created"`)) {
		t.Fatalf("link: %d %s", status, data)
	}
	bare := env.kit.idToken(t, env.kit.key, "sub-9", nil)
	status, _, data = do(t, "POST", srv.URL+"/match/claims", `{"id_token":"`+bare+`"}`)
	if status != 200 || !bytes.Contains(data, []byte(`"decision":"linked"`)) {
		t.Fatalf("linked: %d %s", status, data)
	}

	// Invalid token: 401 and nothing else.
	bad := env.kit.idToken(t, env.kit.other, "sub-9", ana)
	status, _, data = do(t, "POST", srv.URL+"/match/claims", `{"id_token":"`+bad+`"}`)
	if status != 401 || strings.TrimSpace(string(data)) != `{"error":"invalid_token"}` {
		t.Errorf("invalid token: %d %s", status, data)
	}
	// The reason is in the server log (as the README says), the
	// demographics are not.
	if logs := env.log.String(); !strings.Contains(logs, `"msg":"claims: ID token rejected"`) || !strings.Contains(logs, `"reason":"claims: invalid token: `) ||
		strings.Contains(logs, "Quigley") {
		t.Errorf("log of a rejected token: %s", logs)
	}

	// Errors.
	for _, tt := range []struct {
		method, path, body string
		status             int
		errCode            string
	}{
		{"POST", "/match/claims", `{"claims":`, 400, "invalid_request"},
		{"POST", "/match/claims", `{"claims":{},"id_token":"x"}`, 400, "invalid_request"},
		{"POST", "/match/claims", `{"claims":{"email":"a@b.c","email_verified":false}}`, 400, "invalid_request"},
		{"POST", "/match/claims", `{"id_token":"x"}`, 401, "invalid_token"},
		{"POST", "/match/claims", strings.Repeat(" ", maxRequestBytes+1) + `{}`, 400, "invalid_request"},
		{"GET", "/match/claims", "", 405, "method_not_allowed"},
		{"PUT", "/match/links", "", 405, "method_not_allowed"},
		{"DELETE", "/match/links?iss=" + url.QueryEscape(testIssuer), "", 400, "invalid_request"},
		{"DELETE", "/match/links?iss=x&sub=y", "", 404, "not_found"},
		{"GET", "/match/other", "", 404, "not_found"},
	} {
		status, hdr, data := do(t, tt.method, srv.URL+tt.path, tt.body)
		var e map[string]string
		if err := json.Unmarshal(data, &e); err != nil || status != tt.status || e["error"] != tt.errCode {
			t.Errorf("%s %s: %d %s, want %d %s", tt.method, tt.path, status, data, tt.status, tt.errCode)
		}
		if status == 405 && hdr.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tt.method, tt.path)
		}
	}

	// Links: list, filter, delete.
	if err := env.links.Put(context.Background(), Link{Issuer: "https://other", Subject: "s", PatientID: "p7"}); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Links []struct{ Iss, Sub, Patient, FHIRUser string } `json:"links"`
	}
	status, _, data = do(t, "GET", srv.URL+"/match/links", "")
	if err := json.Unmarshal(data, &list); err != nil || status != 200 || len(list.Links) != 2 {
		t.Fatalf("list: %d %s", status, data)
	}
	status, _, data = do(t, "GET", srv.URL+"/match/links?patient=p1", "")
	if err := json.Unmarshal(data, &list); err != nil || status != 200 || len(list.Links) != 1 ||
		list.Links[0].Iss != testIssuer || list.Links[0].Sub != "sub-9" || list.Links[0].Patient != "Patient/p1" {
		t.Fatalf("list p1: %d %s", status, data)
	}
	status, _, _ = do(t, "DELETE", srv.URL+"/match/links?iss="+url.QueryEscape(testIssuer)+"&sub=sub-9", "")
	if status != 204 {
		t.Fatalf("delete: %d", status)
	}
	status, _, data = do(t, "GET", srv.URL+"/match/links?patient=p1", "")
	if status != 200 || !bytes.Contains(data, []byte(`"links":[]`)) {
		t.Fatalf("after delete: %d %s", status, data)
	}
	assertNoDemographics(t, env.log.String())
}
