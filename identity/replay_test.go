package identity

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/patientmatch/patientmatch/scoring"
)

// slowKV is a KV whose Scan (the replay) waits for gate, then fails with
// err when set.
type slowKV struct {
	KV
	gate chan struct{}
	err  error
}

func (k slowKV) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	select {
	case <-k.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	if k.err != nil {
		return k.err
	}
	return k.KV.Scan(ctx, prefix, fn)
}

// TestOpenReplaysInBackground: Open returns before the log is replayed; a
// write observed meanwhile waits in the queue, and reads wait for the
// replay, then see the logged state and the write linked to it.
func TestOpenReplaysInBackground(t *testing.T) {
	eng := newFakeEngine()
	eng.grade("a", "b", scoring.GradeCertain)
	kv := NewMemKV()
	s := openService(t, kv, eng)
	eng.write(t, "a")
	ia := must(s.PersonOf("a")).ID
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	slow := slowKV{KV: kv, gate: make(chan struct{})}
	s2, err := Open(context.Background(), slow, eng, Options{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	eng.obs = s2
	eng.write(t, "b") // observed while the log is still unread
	got := make(chan string, 1)
	go func() { got <- must(s2.PersonOf("b")).ID }()
	select {
	case id := <-got:
		t.Fatalf("PersonOf answered %q before the replay", id)
	case <-time.After(50 * time.Millisecond):
	}
	close(slow.gate)
	if id := <-got; id != ia {
		t.Fatalf("b is in Person/%s after the replay, want a's Person/%s", id, ia)
	}
}

// TestReplayFailureFailsTheService: a log that cannot be read makes the
// service's methods fail, links nothing, and Close still succeeds.
func TestReplayFailureFailsTheService(t *testing.T) {
	eng := newFakeEngine()
	broken := errors.New("disk on fire")
	gate := make(chan struct{})
	close(gate)
	s, err := Open(context.Background(), slowKV{KV: NewMemKV(), gate: gate, err: broken}, eng, Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng.obs = s
	eng.write(t, "a")
	if _, err := s.PersonOf("a"); !errors.Is(err, broken) {
		t.Fatalf("PersonOf: %v, want the replay's error", err)
	}
	if _, err := s.CatchUp(context.Background(), false, ActorAuto, nil); !errors.Is(err, broken) {
		t.Fatalf("CatchUp: %v, want the replay's error", err)
	}
	if _, err := s.Decide(context.Background(), "t1", DecisionMatch, Steward("x"), ""); !errors.Is(err, broken) {
		t.Fatalf("Decide: %v, want the replay's error", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// TestWatermarkPersistsWithoutEvents: writes that change no identity (an
// update of a linked patient) still count as processed after a restart,
// so the catch-up does not match them again.
func TestWatermarkPersistsWithoutEvents(t *testing.T) {
	eng := newFakeEngine()
	kv := NewMemKV()
	s := openService(t, kv, eng)
	eng.write(t, "a")
	eng.write(t, "a") // an update: no event
	eng.write(t, "a")
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	eng.obs = nil
	s2, err := Open(context.Background(), kv, eng, Options{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	sum, err := s2.CatchUp(context.Background(), false, ActorAuto, nil)
	if err != nil || sum.Processed != 0 {
		t.Fatalf("catch-up after a clean restart: %+v, %v; want nothing processed", sum, err)
	}
}
