package identity

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// TestReplayHash replays the identity log of PM_IDENTITY_DATA (a copy of
// a data folder) and prints one hash of everything the state answers:
// every identity with its history, every patient's identity and history,
// every task list and each task and pair lookup. Run on two versions of
// the code it shows that a change of the state's layout changed no
// answer. Reports a hash only; skipped without the folder.
func TestReplayHash(t *testing.T) {
	dir := os.Getenv("PM_IDENTITY_DATA")
	if dir == "" {
		t.Skip("PM_IDENTITY_DATA not set")
	}
	kv := openDataLog(t, dir)
	state, _, err := replay(context.Background(), kv)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("state hash %x", stateHash(t, state))
}

// stateHash hashes every answer state gives (see TestReplayHash).
func stateHash(t *testing.T, s *State) []byte {
	h := sha256.New()
	put := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	for k := range s.idents {
		id := s.identName(uint32(k + 1))
		put(s.Identity(id))
		put(s.IdentityHistory(id))
	}
	for n := range s.patients {
		p := s.pidOf(uint32(n))
		put([]any{p, s.IdentityOf(p), s.PatientHistory(p)})
	}
	for _, st := range statuses {
		for _, g := range []string{"", "possible", "probable", "certain"} {
			ts, total := s.Tasks(st, g, 0, 1<<30)
			put([]any{st, g, total, ts})
			hashTasks(s, ts, put)
		}
	}
	fmt.Fprintf(h, "%d %d %d", s.seq, s.assigned, len(s.never))
	return h.Sum(nil)
}

// hashTasks hashes each task of ts as Task and TaskFor return it.
func hashTasks(s *State, ts []Task, put func(any)) {
	for _, tk := range ts {
		put(s.Task(tk.ID))
		put(s.TaskFor(tk.Left, tk.Right))
	}
}
