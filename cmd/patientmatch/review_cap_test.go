package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestReviewNamesTheCap: a twin pair in the steward's queue says which
// rule holds it at possible, in the task's JSON and on the review page.
func TestReviewNamesTheCap(t *testing.T) {
	s := startServer(t, serveConfig{data: t.TempDir()})
	s.put(t, e2eLiam.patient())
	s.put(t, e2eNoah.patient())
	task := s.waitTask(t, e2eLiam.id, e2eNoah.id)

	r := s.do(t, http.MethodGet, "/review/tasks/"+task.ID, nil, "", "")
	wantStatus(t, "GET /review/tasks/{task}", r, http.StatusOK)
	var d struct {
		Grade string `json:"grade"`
		Cap   string `json:"cap"`
	}
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatalf("task detail: %v\n%s", err, r.body)
	}
	if d.Grade != "possible" || d.Cap != "twins" {
		t.Errorf("twins' task: grade %q cap %q, want possible held by twins", d.Grade, d.Cap)
	}
	page := s.do(t, http.MethodGet, "/review/?task="+task.ID, nil, "", "")
	wantStatus(t, "GET /review/?task=", page, http.StatusOK)
	if want := `held there by the <span id="cap">twins</span> rule`; !strings.Contains(string(page.body), want) {
		t.Errorf("review page lacks %q", want)
	}
}
