package claims

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLinkStore(t *testing.T) {
	ctx := context.Background()
	kv := NewMemKV()
	s := NewLinkStore(kv)
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	links := []Link{
		{Issuer: "https://a", Subject: "1", PatientID: "p1", Created: created, ACR: "loa3", Score: 0.999},
		{Issuer: "https://a", Subject: "2", PatientID: "p2", Created: created},
		{Issuer: "https://b", Subject: "1", PatientID: "p1", Created: created},
		// An issuer that is a prefix of another must not collide.
		{Issuer: "https://a/x", Subject: "1", PatientID: "p3", Created: created},
	}
	for _, l := range links {
		if err := s.Put(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range links {
		got, ok, err := s.Get(ctx, l.Issuer, l.Subject)
		if err != nil || !ok || got != l {
			t.Errorf("Get(%q, %q) = %+v, %v, %v", l.Issuer, l.Subject, got, ok, err)
		}
	}
	if _, ok, err := s.Get(ctx, "https://a", "3"); ok || err != nil {
		t.Errorf("absent link: ok=%v err=%v", ok, err)
	}
	all, err := s.List(ctx, "")
	if err != nil || len(all) != 4 {
		t.Fatalf("List all = %d, %v", len(all), err)
	}
	p1, err := s.List(ctx, "p1")
	if err != nil || len(p1) != 2 || p1[0].Issuer != "https://a" || p1[1].Issuer != "https://b" {
		t.Fatalf("List p1 = %+v, %v", p1, err)
	}
	// Replace, then delete.
	if err := s.Put(ctx, Link{Issuer: "https://a", Subject: "1", PatientID: "p9"}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get(ctx, "https://a", "1"); got.PatientID != "p9" {
		t.Errorf("replaced link = %+v", got)
	}
	if err := s.Delete(ctx, "https://a", "1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "https://a", "1"); !errors.Is(err, ErrLinkNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if all, _ := s.List(ctx, ""); len(all) != 3 {
		t.Errorf("after delete: %d links", len(all))
	}

	for _, bad := range []Link{
		{Issuer: "", Subject: "1", PatientID: "p"},
		{Issuer: "i", Subject: "", PatientID: "p"},
		{Issuer: "i\x00j", Subject: "1", PatientID: "p"},
		{Issuer: "i", Subject: "1\x00", PatientID: "p"},
		{Issuer: "i", Subject: "1"},
	} {
		if err := s.Put(ctx, bad); !errors.Is(err, ErrBadRequest) {
			t.Errorf("Put(%#v) err = %v", bad, err)
		}
	}
}
