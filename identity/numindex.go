package identity

import "hash/maphash"

// numIndex finds a number (a patient's, a task's) by the key it is known
// by, in an open-addressing table of 4-byte slots: a Go map from a
// string to a uint32 costs ~40 bytes an entry, this 8 to 16, and the
// keys stay where they already are (State.pids, State.tasks). Entries
// are never removed. The caller hashes and compares keys (hashOf, eq),
// so one table type serves both key kinds without closures on the
// lookup path.
type numIndex struct {
	slots []uint32 // number+1; 0 is an empty slot
	n     int
}

// start is the first slot to probe for hash h.
func (x *numIndex) start(h uint64) uint64 { return h & uint64(len(x.slots)-1) }

// next is the slot after i.
func (x *numIndex) next(i uint64) uint64 { return (i + 1) & uint64(len(x.slots)-1) }

// full reports whether adding one more entry needs a bigger table (the
// load stays at most one half, so a probe sequence stays short).
func (x *numIndex) full() bool { return (x.n+1)*2 > len(x.slots) }

// growIfFull doubles the table when one more entry would fill it past
// half, placing every entry again by hashOf(number). Only adds grow, so
// the closure stays off the lookup path.
func (x *numIndex) growIfFull(hashOf func(v uint32) uint64) {
	if !x.full() {
		return
	}
	old := x.slots
	x.slots = make([]uint32, max(1024, 2*len(old)))
	for _, w := range old {
		if w != 0 {
			x.put(hashOf(w-1), w-1)
		}
	}
}

// put stores v at the first empty slot from hash h's.
func (x *numIndex) put(h uint64, v uint32) {
	i := x.start(h)
	for x.slots[i] != 0 {
		i = x.next(i)
	}
	x.slots[i] = v + 1
}

// patientIndexOf finds the number of patient p.
func (s *State) patientIndexOf(p string) (uint32, bool) {
	x := &s.pindex
	if len(x.slots) == 0 {
		return 0, false
	}
	for i := x.start(maphash.String(s.seed, p)); x.slots[i] != 0; i = x.next(i) {
		if v := x.slots[i] - 1; s.pidOf(v) == p {
			return v, true
		}
	}
	return 0, false
}

// addPatientIndex indexes patient number v (its id is in State.pids).
func (s *State) addPatientIndex(v uint32) {
	x := &s.pindex
	x.growIfFull(func(w uint32) uint64 { return maphash.String(s.seed, s.pidOf(w)) })
	x.put(maphash.String(s.seed, s.pidOf(v)), v)
	x.n++
}

// identIndexOf finds the number of the identity with id.
func (s *State) identIndexOf(id string) (uint32, bool) {
	x := &s.iindex
	if len(x.slots) == 0 {
		return 0, false
	}
	for i := x.start(maphash.String(s.seed, id)); x.slots[i] != 0; i = x.next(i) {
		if v := x.slots[i] - 1; s.identIDs.get(v) == id {
			return v, true
		}
	}
	return 0, false
}

// addIdentIndex indexes identity number v (its id is in State.idents).
func (s *State) addIdentIndex(v uint32) {
	x := &s.iindex
	x.growIfFull(func(w uint32) uint64 { return maphash.String(s.seed, s.identIDs.get(w)) })
	x.put(maphash.String(s.seed, s.identIDs.get(v)), v)
	x.n++
}

// taskIndexOf finds the task whose packed id is k.
func (s *State) taskIndexOf(k taskKey) (uint32, bool) {
	x := &s.tindex
	if len(x.slots) == 0 {
		return 0, false
	}
	for i := x.start(maphash.Bytes(s.seed, k[:])); x.slots[i] != 0; i = x.next(i) {
		if v := x.slots[i] - 1; !s.tasks[v].idOther && s.tasks[v].id == k {
			return v, true
		}
	}
	return 0, false
}

// addTaskIndex indexes task number v under packed id k (v may be the
// number of a task not yet in State.tasks; its id is k).
func (s *State) addTaskIndex(k taskKey, v uint32) {
	x := &s.tindex
	for i := x.start(maphash.Bytes(s.seed, k[:])); len(x.slots) > 0 && x.slots[i] != 0; i = x.next(i) {
		if w := x.slots[i] - 1; !s.tasks[w].idOther && s.tasks[w].id == k {
			x.slots[i] = v + 1 // a repeated id: the newer task, as a map would
			return
		}
	}
	x.growIfFull(func(w uint32) uint64 { return maphash.Bytes(s.seed, s.tasks[w].id[:]) })
	x.put(maphash.Bytes(s.seed, k[:]), v)
	x.n++
}
