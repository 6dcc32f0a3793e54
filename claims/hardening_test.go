package claims

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestNoMatchListsNoCandidates is issue 14 item 12: a no_match answer used
// to list the near misses' ids and scores.
func TestNoMatchListsNoCandidates(t *testing.T) {
	env := newSvcEnv(t, newFakeMatcher(m("p1", possible, 10), m("p2", possible, 9)), nil)
	resp, err := env.svc.MatchClaims(context.Background(), Request{Claims: anaClaims()})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Decision != DecisionNoMatch {
		t.Fatalf("decision %q", resp.Decision)
	}
	if len(resp.Candidates) != 0 || resp.Score != 0 || resp.Grade != "" {
		t.Errorf("no_match discloses candidates: %+v", resp)
	}
	data, _ := json.Marshal(resp)
	if strings.Contains(string(data), "p1") || !strings.Contains(string(data), `"candidates":[]`) {
		t.Errorf("body %s", data)
	}
}

// TestLinksPaging is issue 14 item 12: GET /match/links pages.
func TestLinksPaging(t *testing.T) {
	env := newSvcEnv(t, newFakeMatcher(), nil)
	for i := range 25 {
		l := Link{Issuer: "https://idp.example", Subject: fmt.Sprintf("u%02d", i), PatientID: fmt.Sprintf("p%d", i%3), Created: time.Unix(0, 0)}
		if err := env.links.Put(context.Background(), l); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(NewHandler(env.svc, HandlerOptions{Logger: env.svc.opts.Logger}))
	defer srv.Close()
	type page struct {
		Links []linkJSON `json:"links"`
		Next  string     `json:"next"`
	}
	get := func(q string) page {
		status, _, data := do(t, "GET", srv.URL+"/match/links"+q, "")
		if status != 200 {
			t.Fatalf("GET %s: %d %s", q, status, data)
		}
		var p page
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	seen := map[string]bool{}
	q := "?_count=10"
	for pages := 0; ; pages++ {
		p := get(q)
		if len(p.Links) > 10 || pages > 5 {
			t.Fatalf("page of %d links", len(p.Links))
		}
		for _, l := range p.Links {
			if seen[l.Subject] {
				t.Fatalf("link %s on two pages", l.Subject)
			}
			seen[l.Subject] = true
		}
		if p.Next == "" {
			break
		}
		q = p.Next[strings.Index(p.Next, "?"):]
	}
	if len(seen) != 25 {
		t.Errorf("paged through %d links, want 25", len(seen))
	}
	if p := get(""); len(p.Links) != 25 || p.Next != "" {
		t.Errorf("default page: %d links, next %q", len(p.Links), p.Next)
	}
	if p := get("?patient=p1&_count=100"); len(p.Links) != 8 {
		t.Errorf("patient filter: %d links, want 8", len(p.Links))
	}
	for _, bad := range []string{"?_count=0", "?_count=x", "?_offset=-1"} {
		if status, _, _ := do(t, "GET", srv.URL+"/match/links"+bad, ""); status != 400 {
			t.Errorf("%s: status %d, want 400", bad, status)
		}
	}
}
