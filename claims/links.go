package claims

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// KV is the small key-value store links live in. The server adapts the
// engine's store to it so links survive restarts; tests use internal/memkv.
type KV interface {
	// Get returns the value of key, or (nil, nil) when it is absent.
	Get(ctx context.Context, key []byte) ([]byte, error)
	Set(ctx context.Context, key, value []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key []byte) error
	// Scan calls fn for every key with the prefix, in key order, until fn
	// returns an error (which Scan returns). fn must not keep key or value.
	Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error
}

// Link records that the user (Issuer, Subject) is the patient PatientID, as
// decided by a certain, unambiguous match.
type Link struct {
	Issuer    string    `json:"iss"`
	Subject   string    `json:"sub"`
	PatientID string    `json:"patient"`
	Created   time.Time `json:"created"`
	// ACR is the authentication context of the token that created the link.
	ACR string `json:"acr,omitempty"`
	// Score is the match probability that justified the link.
	Score float64 `json:"score,omitempty"`
}

// linkPrefix starts every link key: link/<iss>\x00<sub>. NUL cannot occur in
// a valid issuer or subject (they are rejected), so keys are unambiguous.
const linkPrefix = "link/"

// ErrLinkNotFound: no link for the (iss, sub).
var ErrLinkNotFound = errors.New("claims: link not found")

// LinkStore keeps (iss, sub) → patient links in a KV.
type LinkStore struct {
	kv KV
}

// NewLinkStore returns a LinkStore on kv.
func NewLinkStore(kv KV) *LinkStore { return &LinkStore{kv: kv} }

func linkKey(iss, sub string) ([]byte, error) {
	if iss == "" || sub == "" {
		return nil, fmt.Errorf("%w: link needs an issuer and a subject", ErrBadRequest)
	}
	if strings.IndexByte(iss, 0) >= 0 || strings.IndexByte(sub, 0) >= 0 {
		return nil, fmt.Errorf("%w: issuer or subject contains NUL", ErrBadRequest)
	}
	return []byte(linkPrefix + iss + "\x00" + sub), nil
}

// Get returns the link of (iss, sub); ok is false when there is none.
func (s *LinkStore) Get(ctx context.Context, iss, sub string) (l Link, ok bool, err error) {
	key, err := linkKey(iss, sub)
	if err != nil {
		return Link{}, false, err
	}
	v, err := s.kv.Get(ctx, key)
	if err != nil {
		return Link{}, false, fmt.Errorf("claims: read link: %w", err)
	}
	if v == nil {
		return Link{}, false, nil
	}
	if err := json.Unmarshal(v, &l); err != nil {
		return Link{}, false, fmt.Errorf("claims: decode link: %w", err)
	}
	return l, true, nil
}

// Put stores l, replacing any link of the same (iss, sub).
func (s *LinkStore) Put(ctx context.Context, l Link) error {
	key, err := linkKey(l.Issuer, l.Subject)
	if err != nil {
		return err
	}
	if l.PatientID == "" {
		return fmt.Errorf("%w: link needs a patient id", ErrBadRequest)
	}
	v, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("claims: encode link: %w", err)
	}
	if err := s.kv.Set(ctx, key, v); err != nil {
		return fmt.Errorf("claims: write link: %w", err)
	}
	return nil
}

// Delete removes the link of (iss, sub); ErrLinkNotFound when there is none.
func (s *LinkStore) Delete(ctx context.Context, iss, sub string) error {
	key, err := linkKey(iss, sub)
	if err != nil {
		return err
	}
	v, err := s.kv.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("claims: read link: %w", err)
	}
	if v == nil {
		return ErrLinkNotFound
	}
	if err := s.kv.Delete(ctx, key); err != nil {
		return fmt.Errorf("claims: delete link: %w", err)
	}
	return nil
}

// List returns the links, all or (patientID non-empty) those to one
// patient, in key order. It scans every link: fine for thousands, slow for
// millions (a reverse index would need atomic multi-key writes KV lacks).
func (s *LinkStore) List(ctx context.Context, patientID string) ([]Link, error) {
	var out []Link
	err := s.kv.Scan(ctx, []byte(linkPrefix), func(_, v []byte) error {
		var l Link
		if err := json.Unmarshal(v, &l); err != nil {
			return fmt.Errorf("claims: decode link: %w", err)
		}
		if patientID == "" || l.PatientID == patientID {
			out = append(out, l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claims: list links: %w", err)
	}
	return out, nil
}

// errPageFull stops a Scan once a page and one more link are collected.
var errPageFull = errors.New("claims: page full")

// ListPage returns at most count links (of patientID, or all when empty)
// after skipping offset of them, in key order, and whether more follow. It
// stops scanning once the page is full, so a page costs offset+count
// decodes however many links are stored.
func (s *LinkStore) ListPage(ctx context.Context, patientID string, offset, count int) ([]Link, bool, error) {
	var out []Link
	skipped, more := 0, false
	err := s.kv.Scan(ctx, []byte(linkPrefix), func(_, v []byte) error {
		var l Link
		if err := json.Unmarshal(v, &l); err != nil {
			return fmt.Errorf("claims: decode link: %w", err)
		}
		if patientID != "" && l.PatientID != patientID {
			return nil
		}
		if skipped < offset {
			skipped++
			return nil
		}
		if len(out) == count {
			more = true
			return errPageFull
		}
		out = append(out, l)
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		return nil, false, fmt.Errorf("claims: list links: %w", err)
	}
	return out, more, nil
}
