package identity

import (
	"context"
	"fmt"
	"slices"
)

// Decide records a steward's decision on a task and carries it out:
// match merges the two identities, no-match leaves a never-link (and
// splits the pair if they share an identity), defer takes the task out of
// the open queue. A task may be decided again: that is how a decision is
// reversed. The decision is durable, with everything before it, when
// Decide returns.
func (s *Service) Decide(ctx context.Context, taskID string, d Decision, by Actor, reason string) (Task, error) {
	if _, ok := ParseDecision(string(d)); !ok {
		return Task{}, fmt.Errorf("%w: decision %q is not match, no-match or defer", ErrInvalid, d)
	}
	if err := s.Sync(ctx); err != nil {
		return Task{}, err
	}
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return Task{}, ErrClosed
	}
	st := s.mu.st
	t := st.Task(taskID)
	if t == nil {
		s.mu.Unlock()
		return Task{}, fmt.Errorf("%w: task %q", ErrNotFound, taskID)
	}
	if st.IdentityOf(t.Left) == "" || st.IdentityOf(t.Right) == "" {
		s.mu.Unlock()
		return Task{}, fmt.Errorf("%w: a patient of task %s was deleted", ErrConflict, taskID)
	}
	es := []Event{{By: by, Kind: KindDecide, Task: t.ID, Left: t.Left, Right: t.Right, Decision: d, Score: t.Score, Grade: t.Grade, Reason: reason}}
	switch d {
	case DecisionMatch:
		es = append(es, s.mergePlanLocked(t.Left, t.Right, by, reason, true)...)
	case DecisionNoMatch:
		if st.IdentityOf(t.Left) == st.IdentityOf(t.Right) {
			es = append(es, s.unmergePlanLocked(t.Right, t.Left, by, reason)...)
		} else if !st.Never(t.Left, t.Right) {
			es = append(es, Event{By: by, Kind: KindNever, Left: t.Left, Right: t.Right, Task: t.ID, Reason: reason})
		}
	}
	s.commitLocked(es)
	out := *st.Task(taskID)
	s.mu.Unlock()
	return out, s.log.flush(ctx)
}

// mergePlanLocked returns the events that put the patients a and b in one
// identity. With bySize the larger identity survives (ties: a's);
// otherwise a's does ($merge: the target survives). Never-links between
// the two identities' members are lifted: the steward said they match.
func (s *Service) mergePlanLocked(a, b string, by Actor, reason string, bySize bool) []Event {
	st := s.mu.st
	ia, ib := st.IdentityOf(a), st.IdentityOf(b)
	var es []Event
	for _, m := range st.memberIDs(ia) {
		for _, q := range st.neverOf[m] {
			if st.IdentityOf(q) == ib || (ia == ib && st.IdentityOf(q) == ia) {
				es = append(es, Event{By: by, Kind: KindUnnever, Left: m, Right: q, Reason: reason})
			}
		}
	}
	if ia == ib {
		return es
	}
	into, from := ia, ib
	if bySize && st.size(ib) > st.size(ia) {
		into, from = ib, ia
	}
	return append(es, Event{By: by, Kind: KindMerge, From: from, Identity: into, Patients: st.memberIDs(from), Left: a, Right: b, Reason: reason})
}

// Merge puts the patients source and target in one identity, target's
// surviving ($merge). Durable when it returns.
func (s *Service) Merge(ctx context.Context, source, target string, by Actor, reason string) (Identity, error) {
	if err := s.Sync(ctx); err != nil {
		return Identity{}, err
	}
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return Identity{}, ErrClosed
	}
	st := s.mu.st
	for _, p := range []string{source, target} {
		if st.IdentityOf(p) == "" {
			s.mu.Unlock()
			return Identity{}, fmt.Errorf("%w: Patient/%s has no identity", ErrNotFound, p)
		}
	}
	if source == target {
		s.mu.Unlock()
		return Identity{}, fmt.Errorf("%w: source and target are the same patient", ErrInvalid)
	}
	s.commitLocked(s.mergePlanLocked(target, source, by, reason, false))
	out := sortedCopy(st.Identity(st.IdentityOf(target)))
	s.mu.Unlock()
	return out, s.log.flush(ctx)
}

// Unmerge splits patient p out of its identity, undoing what put it
// there: when a merge brought it in, every patient that came with that
// merge and is still there goes back to the identity they had before,
// under its old id; otherwise p alone goes back to its former identity,
// or to a new one. Never-links between the two sides keep automatic
// linking from joining them again. It returns the restored identity and
// the one left behind. Durable when it returns.
func (s *Service) Unmerge(ctx context.Context, p string, by Actor, reason string) (restored, remaining Identity, err error) {
	if err := s.Sync(ctx); err != nil {
		return Identity{}, Identity{}, err
	}
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return Identity{}, Identity{}, ErrClosed
	}
	st := s.mu.st
	cur := st.IdentityOf(p)
	switch {
	case cur == "":
		s.mu.Unlock()
		return Identity{}, Identity{}, fmt.Errorf("%w: Patient/%s has no identity", ErrNotFound, p)
	case st.size(cur) < 2:
		s.mu.Unlock()
		return Identity{}, Identity{}, fmt.Errorf("%w: Patient/%s is alone in Person/%s; nothing to unmerge", ErrConflict, p, cur)
	}
	s.commitLocked(s.unmergePlanLocked(p, "", by, reason))
	restored = sortedCopy(st.Identity(st.IdentityOf(p)))
	remaining = sortedCopy(st.Identity(cur))
	s.mu.Unlock()
	return restored, remaining, s.log.flush(ctx)
}

// unmergePlanLocked returns the events of Unmerge; apart, when set, is a
// patient that must stay behind (a no-match decision on a joined pair).
func (s *Service) unmergePlanLocked(p, apart string, by Actor, reason string) []Event {
	st := s.mu.st
	cur := st.IdentityOf(p)
	ps := st.patient(p)
	group := []string{p}
	if via, ok := st.keptEvent(ps.via); ok && (via.Kind == KindMerge || via.Kind == KindUnmerge) && via.Identity == cur {
		group = group[:0]
		for _, q := range via.Patients {
			if st.IdentityOf(q) == cur && q != apart {
				group = append(group, q)
			}
		}
		if !slices.Contains(group, p) {
			group = append(group, p)
		}
	}
	if len(group) == st.size(cur) {
		group = []string{p}
	}
	to := st.identName(ps.prev)
	if prev := st.ident(to); to == "" || prev == nil || prev.size > 0 {
		to = s.opts.NewID()
	}
	es := []Event{{By: by, Kind: KindUnmerge, From: cur, Identity: to, Patients: group, Patient: p, Reason: reason}}
	for _, m := range st.memberIDs(cur) {
		if slices.Contains(group, m) {
			continue
		}
		for _, g := range group {
			if !st.Never(g, m) {
				es = append(es, Event{By: by, Kind: KindNever, Left: m, Right: g, Reason: "unmerge"})
			}
		}
	}
	return es
}

// Person returns the identity with id.
func (s *Service) Person(id string) (Identity, error) {
	if err := s.synced(); err != nil {
		return Identity{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := s.mu.st.Identity(id)
	if i == nil {
		return Identity{}, fmt.Errorf("%w: Person/%s", ErrNotFound, id)
	}
	return sortedCopy(i), nil
}

// PersonOf returns the identity of patient p.
func (s *Service) PersonOf(p string) (Identity, error) {
	if err := s.synced(); err != nil {
		return Identity{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	id := s.mu.st.IdentityOf(p)
	if id == "" {
		return Identity{}, fmt.Errorf("%w: Patient/%s has no identity", ErrNotFound, p)
	}
	return sortedCopy(s.mu.st.Identity(id)), nil
}

// Tasks returns one page of tasks with status (and grade, unless ""), best
// score first, and how many there are in all.
func (s *Service) Tasks(status Status, grade string, offset, n int) ([]Task, int) {
	_ = s.synced() // a failed replay shows the empty state
	s.mu.Lock()    // sorting the open queue writes its cache
	defer s.mu.Unlock()
	return s.mu.st.Tasks(status, grade, offset, n)
}

// Task returns the task with id.
func (s *Service) Task(id string) (Task, error) {
	if err := s.synced(); err != nil {
		return Task{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.mu.st.Task(id)
	if t == nil {
		return Task{}, fmt.Errorf("%w: task %q", ErrNotFound, id)
	}
	return *t, nil
}

// History returns the recorded events about patient p, oldest first:
// links other than its first, tasks, decisions, merges, unmerges and
// never-links.
func (s *Service) History(p string) []Event {
	_ = s.synced() // a failed replay shows the empty state
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mu.st.PatientHistory(p)
}

// PersonHistory returns the recorded events about identity id.
func (s *Service) PersonHistory(id string) []Event {
	_ = s.synced() // a failed replay shows the empty state
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mu.st.IdentityHistory(id)
}
