package cluster

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// linksBucket holds the OIDC identity links (/match/claims "link": true),
// cluster-wide: a link made through one node answers on every node.
const linksBucket = "patientmatch_links"

// Links is a key-value store on a replicated JetStream KV bucket with the
// shape of the claims package's KV. Keys are stored hex-encoded (KV keys
// allow few characters); hex keeps prefixes, so Scan filters by the
// encoded prefix.
type Links struct {
	kv jetstream.KeyValue
}

// Links returns the cluster's identity-link store.
func (n *Node) Links(ctx context.Context) (*Links, error) {
	n.linksOnce.Do(func() {
		reps := n.streamReplicas()
		kv, err := n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: linksBucket, Replicas: reps, Storage: jetstream.FileStorage})
		if err != nil {
			n.linksErr = fmt.Errorf("cluster: bucket %s: %w", linksBucket, err)
			return
		}
		n.links = &Links{kv: kv}
	})
	return n.links, n.linksErr
}

// Get returns the value of key, or (nil, nil) when absent.
func (l *Links) Get(ctx context.Context, key []byte) ([]byte, error) {
	e, err := l.kv.Get(ctx, hex.EncodeToString(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: links: %w", err)
	}
	return e.Value(), nil
}

// Set stores value under key.
func (l *Links) Set(ctx context.Context, key, value []byte) error {
	if _, err := l.kv.Put(ctx, hex.EncodeToString(key), value); err != nil {
		return fmt.Errorf("cluster: links: %w", err)
	}
	return nil
}

// Delete removes key; an absent key is no error.
func (l *Links) Delete(ctx context.Context, key []byte) error {
	err := l.kv.Delete(ctx, hex.EncodeToString(key))
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("cluster: links: %w", err)
	}
	return nil
}

// Scan calls fn for every key with the prefix, in key order.
func (l *Links) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	keys, err := l.kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster: links: %w", err)
	}
	hp := hex.EncodeToString(prefix)
	var match []string
	for _, k := range keys {
		if strings.HasPrefix(k, hp) {
			match = append(match, k)
		}
	}
	slices.Sort(match)
	for _, k := range match {
		key, err := hex.DecodeString(k)
		if err != nil {
			continue // not a key of ours
		}
		e, err := l.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted since listed
		}
		if err != nil {
			return fmt.Errorf("cluster: links: %w", err)
		}
		if err := fn(key, e.Value()); err != nil {
			return err
		}
	}
	return nil
}
