package memkv

import (
	"context"
	"errors"
	"testing"
)

func TestScanOrderAndPrefix(t *testing.T) {
	ctx := context.Background()
	kv := New()
	for _, k := range []string{"b/2", "a/1", "b/1", "b", "c"} {
		if err := kv.Set(ctx, []byte(k), []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := kv.Scan(ctx, []byte("b/"), func(k, v []byte) error {
		if string(v) != "v"+string(k) {
			t.Errorf("value of %s = %s", k, v)
		}
		got = append(got, string(k))
		return nil
	})
	if err != nil || len(got) != 2 || got[0] != "b/1" || got[1] != "b/2" {
		t.Errorf("Scan = %v, %v", got, err)
	}
	stop := errors.New("stop")
	n := 0
	if err := kv.Scan(ctx, nil, func(_, _ []byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("Scan stop: %v after %d", err, n)
	}
	if v, err := kv.Get(ctx, []byte("zzz")); v != nil || err != nil {
		t.Errorf("Get absent = %v, %v", v, err)
	}
	// Values are copies.
	v, _ := kv.Get(ctx, []byte("c"))
	v[0] = 'X'
	if v2, _ := kv.Get(ctx, []byte("c")); string(v2) != "vc" {
		t.Errorf("Get returned shared memory: %s", v2)
	}
	if err := kv.Delete(ctx, []byte("c")); err != nil {
		t.Fatal(err)
	}
	if v, _ := kv.Get(ctx, []byte("c")); v != nil {
		t.Errorf("Get after Delete = %s", v)
	}
}

func TestFailSets(t *testing.T) {
	ctx := context.Background()
	kv := New()
	kv.FailSets = 1
	if err := kv.Set(ctx, []byte("a"), []byte("1")); !errors.Is(err, ErrInjected) {
		t.Fatalf("first Set: %v, want ErrInjected", err)
	}
	if err := kv.Set(ctx, []byte("a"), []byte("1")); err != nil {
		t.Fatalf("second Set: %v", err)
	}
}
