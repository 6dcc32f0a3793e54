package audit

import (
	"context"
	"sync"
)

// MaxPatients is the most patients one record lists; a request touching
// more (a large batch, a long MatchStream) is marked Truncated.
const MaxPatients = 1000

// Note collects what one request did, while it runs: the client, once
// authenticated, and the patients the engine returned or changed. The
// recorder that made it writes it as one Entry when the request ends.
type Note struct {
	mu       sync.Mutex
	client   Client
	patients []Patient
	count    int
}

type noteKey struct{}

// WithNote returns ctx carrying a fresh Note.
func WithNote(ctx context.Context) (context.Context, *Note) {
	n := &Note{}
	return context.WithValue(ctx, noteKey{}, n), n
}

// NoteFrom returns the Note of ctx, or nil when the request is not audited.
func NoteFrom(ctx context.Context) *Note {
	n, _ := ctx.Value(noteKey{}).(*Note)
	return n
}

// SetClient records who made the request (the authenticated identity; the
// peer address is kept when c has none).
func (n *Note) SetClient(c Client) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if c.Peer == "" {
		c.Peer = n.client.Peer
	}
	n.client = c
}

// Add records a patient the request returned or changed.
func (n *Note) Add(p Patient) {
	if n == nil || p.ID == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.count++
	if len(n.patients) < MaxPatients {
		n.patients = append(n.patients, p)
	}
}

// Withhold takes back what was noted so far: for a reply that returns
// none of the patients the engine gave it (the claims decision no_match
// hides its near misses), so that the trail lists only what was returned.
func (n *Note) Withhold() {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.patients, n.count = nil, 0
}

// entry turns the note into the fields of an Entry.
func (n *Note) entry(e Entry) Entry {
	n.mu.Lock()
	defer n.mu.Unlock()
	e.Client = n.client
	e.Patients = append([]Patient(nil), n.patients...)
	e.Count = n.count
	e.Truncated = n.count > len(n.patients)
	return e
}
