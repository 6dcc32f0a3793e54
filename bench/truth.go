package bench

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrTruth is wrapped by every error reading a truth file.
var ErrTruth = errors.New("bench: invalid truth file")

// Truth is the ground truth of a labelled dataset: which entity (person)
// each record id belongs to. Two records are the same person when their
// entities are equal. It is read only by the accuracy harness, never by
// matching code, so that nothing in the engine can peek at the answer.
type Truth struct {
	entity map[string]string
}

// ReadTruth reads a truth CSV: a header naming the columns id and entity
// (in any order, other columns ignored), then one row per record. An id
// listed twice with two different entities is an error: the truth would be
// ambiguous.
func ReadTruth(r io.Reader) (*Truth, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty file", ErrTruth)
		}
		return nil, fmt.Errorf("%w: header: %w", ErrTruth, err)
	}
	idCol, entCol := -1, -1
	for i, h := range head {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "id":
			idCol = i
		case "entity":
			entCol = i
		}
	}
	if idCol < 0 || entCol < 0 {
		return nil, fmt.Errorf("%w: header %q needs columns id and entity", ErrTruth, strings.Join(head, ","))
	}
	t := &Truth{entity: map[string]string{}}
	for line := 2; ; line++ {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTruth, err)
		}
		if idCol >= len(row) || entCol >= len(row) {
			return nil, fmt.Errorf("%w: line %d: %d fields", ErrTruth, line, len(row))
		}
		id, ent := strings.TrimSpace(row[idCol]), strings.TrimSpace(row[entCol])
		if id == "" || ent == "" {
			return nil, fmt.Errorf("%w: line %d: empty id or entity", ErrTruth, line)
		}
		if old, ok := t.entity[id]; ok && old != ent {
			return nil, fmt.Errorf("%w: line %d: id %q has entities %q and %q", ErrTruth, line, id, old, ent)
		}
		t.entity[id] = ent
	}
	return t, nil
}

// NewTruth builds a Truth from a map of record id to entity (tests, callers
// with their own source).
func NewTruth(entity map[string]string) *Truth {
	t := &Truth{entity: make(map[string]string, len(entity))}
	for k, v := range entity {
		t.entity[k] = v
	}
	return t
}

// Len is the number of labelled records.
func (t *Truth) Len() int { return len(t.entity) }

// Label turns the record ids of one or more sides (one for dedupe, left and
// right for linkage) into dense entity numbers, shared across sides. A
// record absent from the truth is its own entity (a person seen once); the
// number of such records is returned so the caller can warn.
func (t *Truth) Label(sides ...[]string) (labels [][]int32, unlabelled int) {
	dict := map[string]int32{}
	next := int32(0)
	labels = make([][]int32, len(sides))
	for s, ids := range sides {
		l := make([]int32, len(ids))
		for i, id := range ids {
			ent, ok := t.entity[id]
			if !ok {
				unlabelled++
				l[i] = next
				next++
				continue
			}
			n, ok := dict[ent]
			if !ok {
				n = next
				next++
				dict[ent] = n
			}
			l[i] = n
		}
		labels[s] = l
	}
	return labels, unlabelled
}

// Entity returns the entity of the record id, and whether the truth knows
// the id.
func (t *Truth) Entity(id string) (string, bool) {
	e, ok := t.entity[id]
	return e, ok
}
