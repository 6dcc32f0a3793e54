package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestStoreResources checks Resources against Get: the same resources,
// nil for absent and deleted patients, in the order asked.
func TestStoreResources(t *testing.T) {
	s := newMemStore(t, StoreOptions{})
	ctx := context.Background()
	var batch []Entry
	for i := range 5 {
		r := fullRecord()
		r.ID = fmt.Sprintf("p%d", i)
		batch = append(batch, entryOf(r))
	}
	if _, err := s.Put(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	ids := []string{"p4", "absent", "p0", "p2", "p1", "p4"}
	got, err := s.Resources(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("%d resources for %d ids", len(got), len(ids))
	}
	for i, id := range ids {
		e, err := s.Get(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			if got[i] != nil {
				t.Errorf("%s: %s, want nil (not stored)", id, got[i])
			}
		case err != nil:
			t.Fatal(err)
		case !bytes.Equal(got[i], e.Resource):
			t.Errorf("%s: %s, want %s", id, got[i], e.Resource)
		}
	}
	// Appending to one resource does not overwrite the next.
	_ = append(got[0], "xxxxxxxx"...)
	if e, _ := s.Get(ctx, "p0"); !bytes.Equal(got[2], e.Resource) {
		t.Errorf("resources share their tails: %s", got[2])
	}
	if _, err := s.Resources(ctx, nil); err != nil {
		t.Errorf("no ids: %v", err)
	}
}
