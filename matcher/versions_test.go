package matcher

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

func patientNamed(id, given string) *fm.Patient {
	fam := "Versioned"
	return &fm.Patient{Id: &id, Name: []fm.HumanName{{Family: &fam, Given: []string{given}}}}
}

func TestConditionalWritesAndHistory(t *testing.T) {
	ctx := context.Background()
	e := openMem(t)
	if _, _, err := e.Upsert(ctx, patientNamed("v1", "Ann")); err != nil {
		t.Fatal(err)
	}
	// A stale version is refused and writes nothing.
	if _, _, err := e.UpsertIfVersion(ctx, patientNamed("v1", "Anne"), 7); !errors.Is(err, ErrVersionMismatch) {
		t.Fatalf("stale If-Match: %v", err)
	}
	if sp, _ := e.Get(ctx, "v1"); sp.VersionID != 1 || !strings.Contains(string(sp.Resource), "Ann\"") {
		t.Fatalf("a refused write changed the patient: %+v", sp)
	}
	sp, created, err := e.UpsertIfVersion(ctx, patientNamed("v1", "Anne"), 1)
	if err != nil || created || sp.VersionID != 2 {
		t.Fatalf("If-Match 1: %+v %v %v", sp, created, err)
	}
	if _, _, err := e.UpsertIfVersion(ctx, patientNamed("nobody", "X"), 1); !errors.Is(err, ErrVersionMismatch) {
		t.Fatalf("If-Match on an absent patient: %v", err)
	}
	if err := e.DeleteIfVersion(ctx, "v1", 1); !errors.Is(err, ErrVersionMismatch) {
		t.Fatalf("stale delete: %v", err)
	}
	if err := e.DeleteIfVersion(ctx, "v1", 2); err != nil {
		t.Fatalf("delete at version 2: %v", err)
	}
	hist, err := e.History(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range hist {
		s := "live"
		if v.Deleted {
			s = "deleted"
		}
		got = append(got, s)
	}
	if len(hist) != 3 || hist[0].VersionID != 3 || hist[2].VersionID != 1 || !slices.Equal(got, []string{"deleted", "live", "live"}) {
		t.Fatalf("history: %v %+v", got, hist)
	}
	v1, err := e.Version(ctx, "v1", 1)
	if err != nil || v1.Deleted || !strings.Contains(string(v1.Resource), `"versionId":"1"`) {
		t.Fatalf("version 1: %+v %v", v1, err)
	}
	if _, err := e.Version(ctx, "v1", 9); !errors.Is(err, ErrNotFound) {
		t.Fatalf("version 9: %v", err)
	}
	if _, err := e.History(ctx, "never"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("history of a never-stored id: %v", err)
	}
}

// TestIfVersionIsAtomic: of many writers holding the same version, exactly
// one succeeds.
func TestIfVersionIsAtomic(t *testing.T) {
	ctx := context.Background()
	e := openMem(t)
	if _, _, err := e.Upsert(ctx, patientNamed("race", "A")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := e.UpsertIfVersion(ctx, patientNamed("race", string(rune('B'+i))), 1)
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, ErrVersionMismatch) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d writers succeeded with the same If-Match version, want 1", wins)
	}
}

func TestListInIDOrder(t *testing.T) {
	ctx := context.Background()
	e := openMem(t)
	for _, id := range []string{"c", "a", "b"} {
		if _, _, err := e.Upsert(ctx, patientNamed(id, "X")); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	if err := e.List(ctx, "a", func(sp StoredPatient) (bool, error) { ids = append(ids, sp.ID); return true, nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"b", "c"}) {
		t.Fatalf("List after a: %v", ids)
	}
}
