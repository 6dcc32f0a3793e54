package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/record"
)

func TestHistoryKeepsEveryVersion(t *testing.T) {
	ctx := context.Background()
	s := newMemStore(t, StoreOptions{Now: fixedClock()})
	put := func(given string) {
		t.Helper()
		if _, err := s.Put(ctx, []Entry{entryOf(record.Record{ID: "h1", Family: "smith", Given: given})}); err != nil {
			t.Fatal(err)
		}
	}
	put("ann")
	put("anne")
	if _, err := s.Delete(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	put("annie") // re-created: version 4

	hist, err := s.History(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range hist {
		switch {
		case e.Deleted:
			got = append(got, fmt.Sprintf("%d:deleted", e.VersionID))
		default:
			got = append(got, fmt.Sprintf("%d:%s", e.VersionID, e.Record.Given))
			if !strings.Contains(string(e.Resource), `"`+e.Record.Given+`"`) {
				t.Errorf("version %d resource %s lacks %s", e.VersionID, e.Resource, e.Record.Given)
			}
		}
	}
	if want := []string{"4:annie", "3:deleted", "2:anne", "1:ann"}; !slices.Equal(got, want) {
		t.Fatalf("history %v, want %v", got, want)
	}
	for v, want := range map[uint64]string{1: "ann", 2: "anne", 4: "annie"} {
		e, err := s.GetVersion(ctx, "h1", v)
		if err != nil || e.Deleted || e.Record.Given != want || e.VersionID != v {
			t.Errorf("GetVersion(%d) = %+v, %v; want %s", v, e, err, want)
		}
	}
	if e, err := s.GetVersion(ctx, "h1", 3); err != nil || !e.Deleted {
		t.Errorf("GetVersion(3) = %+v, %v; want the tombstone", e, err)
	}
	for _, v := range []uint64{0, 5} {
		if _, err := s.GetVersion(ctx, "h1", v); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetVersion(%d): %v, want ErrNotFound", v, err)
		}
	}
	if _, err := s.History(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("History(nobody): %v", err)
	}
	// A history entry never shows up as a patient: the scans and Get see
	// only the current version.
	n := 0
	if err := s.ScanRecords(ctx, func(Entry) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("ScanRecords saw %d patients (%v), want 1", n, err)
	}
}

func TestListAfterCursor(t *testing.T) {
	ctx := context.Background()
	s := newMemStore(t, StoreOptions{})
	var es []Entry
	for _, id := range []string{"b", "a", "d", "c", "e"} {
		es = append(es, entryOf(record.Record{ID: id, Family: "x"}))
	}
	if _, err := s.Put(ctx, es); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	list := func(after string, limit int) []string {
		var ids []string
		err := s.List(ctx, after, func(e Entry) (bool, error) {
			if len(e.Resource) == 0 {
				t.Errorf("%s listed without its resource", e.ID)
			}
			ids = append(ids, e.ID)
			return len(ids) < limit, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	for _, c := range []struct {
		after string
		limit int
		want  []string
	}{
		{"", 10, []string{"a", "b", "d", "e"}},
		{"", 2, []string{"a", "b"}},
		{"b", 10, []string{"d", "e"}},
		{"bb", 10, []string{"d", "e"}},
		{"c", 1, []string{"d"}},
		{"e", 10, nil},
	} {
		if got := list(c.after, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("List(%q, %d) = %v, want %v", c.after, c.limit, got, c.want)
		}
	}
}
