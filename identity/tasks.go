package identity

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
)

// The review queue is the bulk of the state: with tasks opened for
// possible pairs a million patients give ~800,000 of them. The state
// therefore keeps tasks as fixed-size, pointer-free records in one slice
// (the garbage collector does not scan it), patients as dense numbers
// into one string table, task ids as packed bytes, and the queues and
// each patient's open tasks as task numbers; a Task is built when asked
// for.

// taskRec is a Task as the state holds it. Its number is its index in
// State.tasks, which is in the order tasks were opened.
type taskRec struct {
	seq       uint64 // the opening event's
	created   int64  // Unix nanoseconds (0: zero time)
	decidedAt int64
	score     float64
	// id is the task id packed by packTaskID, or, with idOther, the
	// index of the id in State.otherTaskIDs (ids of another shape).
	id      taskKey
	idOther bool
	status  uint8 // index into statuses
	// left and right are patient numbers (State.pids).
	left, right uint32
	// by (the opening actor), decidedBy and grade index State.names.
	by, decidedBy, grade uint32
	// nextL and nextR link the open tasks of left and of right: the
	// number+1 of the patient's next open task (0 ends the list), so a
	// patient's open tasks cost no map and no slice of their own; allL
	// and allR link all tasks of each the same way (newest first), for
	// TaskFor and for histories.
	nextL, nextR, allL, allR uint32
}

// taskKey is a task id of 16 characters of randomID's alphabet, 5 bits
// each, packed so that byte order is the ids' string order.
type taskKey [10]byte

// statuses numbers Status for taskRec.
var statuses = [...]Status{StatusOpen, StatusMatched, StatusNoMatch, StatusDeferred}

const statusOpen = 0

func statusNum(st Status) uint8 {
	return uint8(max(0, slices.Index(statuses[:], st)))
}

// taskIDDigits is randomID's alphabet in byte order: a character's index
// here is its 5-bit value, so packed ids sort as their strings do.
const taskIDDigits = "234567abcdefghijklmnopqrstuvwxyz"

// packTaskID packs id when it has randomID's shape.
func packTaskID(id string) (taskKey, bool) {
	var k taskKey
	if len(id) != 16 {
		return k, false
	}
	var acc uint64
	bits, j := 0, 0
	for i := 0; i < len(id); i++ {
		d := strings.IndexByte(taskIDDigits, id[i])
		if d < 0 {
			return k, false
		}
		acc = acc<<5 | uint64(d)
		if bits += 5; bits >= 8 {
			bits -= 8
			k[j] = byte(acc >> bits)
			j++
		}
	}
	return k, true
}

// unpackTaskID is the inverse of packTaskID.
func unpackTaskID(k taskKey) string {
	var out [16]byte
	var acc uint64
	bits, j := 0, 0
	for _, b := range k {
		acc = acc<<8 | uint64(b)
		for bits += 8; bits >= 5; j++ {
			bits -= 5
			out[j] = taskIDDigits[acc>>bits&31]
		}
	}
	return string(out[:])
}

// patientNum returns p's number, giving it one when new.
func (s *State) patientNum(p string) uint32 {
	if n, ok := s.patientIndexOf(p); ok {
		return n
	}
	n := s.pids.add(p)
	s.addPatientIndex(n)
	s.patients = append(s.patients, patientState{})
	return n
}

// taskID returns the id of task t.
func (s *State) taskID(t *taskRec) string {
	if t.idOther {
		return s.otherTaskIDs[uint32(t.id[0])|uint32(t.id[1])<<8|uint32(t.id[2])<<16|uint32(t.id[3])<<24]
	}
	return unpackTaskID(t.id)
}

// taskNum returns the number of the task with id.
func (s *State) taskNum(id string) (uint32, bool) {
	if k, ok := packTaskID(id); ok {
		return s.taskIndexOf(k)
	}
	n, ok := s.taskByOther[id]
	return n, ok
}

// task builds the Task of number n.
func (s *State) task(n uint32) Task {
	t := &s.tasks[n]
	out := Task{ID: s.taskID(t), Left: s.pidOf(t.left), Right: s.pidOf(t.right), Score: t.score,
		Grade: s.names[t.grade], Status: statuses[t.status], Created: fromUnixNano(t.created)}
	if t.status != statusOpen {
		out.DecidedBy, out.DecidedAt = s.names[t.decidedBy], fromUnixNano(t.decidedAt)
	}
	return out
}

// openingEvent is the event that opened task n.
func (s *State) openingEvent(n uint32) Event {
	t := &s.tasks[n]
	return Event{Seq: t.seq, At: fromUnixNano(t.created), By: s.names[t.by], Kind: KindTask, Task: s.taskID(t),
		Left: s.pidOf(t.left), Right: s.pidOf(t.right), Score: t.score, Grade: s.names[t.grade]}
}

// taskAt returns the number of the task opened by the event with seq.
func (s *State) taskAt(seq uint64) (uint32, bool) {
	if n, ok := s.taskAtOdd[seq]; ok {
		return n, true
	}
	i, ok := slices.BinarySearchFunc(s.tasks, seq, func(t taskRec, seq uint64) int { return cmp.Compare(t.seq, seq) })
	return uint32(i), ok
}

// Task returns the task with id, or nil.
func (s *State) Task(id string) *Task {
	if n, ok := s.taskNum(id); ok {
		t := s.task(n)
		return &t
	}
	return nil
}

// TaskFor returns the task about the pair a, b, or nil.
func (s *State) TaskFor(a, b string) *Task {
	na, ok := s.patientIndexOf(a)
	if !ok {
		return nil
	}
	nb, ok := s.patientIndexOf(b)
	if !ok {
		return nil
	}
	for k := s.patients[na].allHead; k != 0; k = *s.nextAll(k-1, na) {
		if t := &s.tasks[k-1]; t.left == nb && t.right == na || t.left == na && t.right == nb {
			out := s.task(k - 1)
			return &out
		}
	}
	return nil
}

// nextAll is the link from task n to the next (older) task of patient p.
func (s *State) nextAll(n, p uint32) *uint32 {
	if t := &s.tasks[n]; t.left == p {
		return &t.allL
	}
	return &s.tasks[n].allR
}

// tasksSince lists patient p's tasks numbered from since on, oldest
// first.
func (s *State) tasksSince(p, since uint32) []uint32 {
	var out []uint32
	for k := s.patients[p].allHead; k != 0 && k-1 >= since; k = *s.nextAll(k-1, p) {
		out = append(out, k-1)
	}
	slices.Reverse(out)
	return out
}

// openTask applies a task event.
func (s *State) openTask(e Event) {
	n := uint32(len(s.tasks))
	t := taskRec{seq: e.Seq, created: unixNano(e.At), score: e.Score, status: statusOpen,
		left: s.patientNum(e.Left), right: s.patientNum(e.Right), by: s.name(e.By), grade: s.name(e.Grade)}
	if k, ok := packTaskID(e.Task); ok {
		t.id = k
		s.addTaskIndex(k, n)
	} else {
		o := uint32(len(s.otherTaskIDs))
		s.otherTaskIDs = append(s.otherTaskIDs, e.Task)
		t.id, t.idOther = taskKey{byte(o), byte(o >> 8), byte(o >> 16), byte(o >> 24)}, true
		s.taskByOther[e.Task] = n
	}
	if len(s.tasks) > 0 && e.Seq <= s.tasks[len(s.tasks)-1].seq {
		s.taskAtOdd[e.Seq] = n // out of order: binary search would miss it
	}
	t.nextL, s.patients[t.left].openHead = s.patients[t.left].openHead, n+1
	t.allL, s.patients[t.left].allHead = s.patients[t.left].allHead, n+1
	if t.right != t.left {
		t.nextR, s.patients[t.right].openHead = s.patients[t.right].openHead, n+1
		t.allR, s.patients[t.right].allHead = s.patients[t.right].allHead, n+1
	}
	s.tasks = append(s.tasks, t)
	s.insertOpen(n)
	s.countLive(n, 1)
}

// decideTask applies a decide event.
func (s *State) decideTask(e Event) {
	n, ok := s.taskNum(e.Task)
	if !ok {
		return
	}
	t := &s.tasks[n]
	if t.status == statusOpen {
		s.removeOpen(n)
		s.unlinkOpen(t.left, n)
		if t.right != t.left {
			s.unlinkOpen(t.right, n)
		}
		s.countLive(n, -1)
	}
	t.status = statusNum(statusOf(e.Decision))
	t.decidedBy, t.decidedAt = s.name(e.By), unixNano(e.At)
}

// unlinkOpen takes task n out of patient p's list of open tasks.
func (s *State) unlinkOpen(p, n uint32) {
	slot := &s.patients[p].openHead
	for *slot != 0 {
		j := *slot - 1
		next := s.nextOpen(j, p)
		if j == n {
			*slot, *next = *next, 0
			return
		}
		slot = next
	}
}

// nextOpen is the link from task n to the next open task of patient p.
func (s *State) nextOpen(n, p uint32) *uint32 {
	if t := &s.tasks[n]; t.left == p {
		return &t.nextL
	}
	return &s.tasks[n].nextR
}

// openOf lists the open tasks of patient p.
func (s *State) openOf(p string) []uint32 {
	np, ok := s.patientIndexOf(p)
	if !ok {
		return nil
	}
	var out []uint32
	for k := s.patients[np].openHead; k != 0; k = *s.nextOpen(k-1, np) {
		out = append(out, k-1)
	}
	return out
}

// taskOrder is the queue's order: best score first, then id.
func (s *State) taskOrder(a, b uint32) int {
	ta, tb := &s.tasks[a], &s.tasks[b]
	if c := cmp.Compare(tb.score, ta.score); c != 0 {
		return c
	}
	if !ta.idOther && !tb.idOther {
		return bytes.Compare(ta.id[:], tb.id[:])
	}
	return strings.Compare(s.taskID(ta), s.taskID(tb))
}

func (s *State) sortTasks(ns []uint32) { slices.SortFunc(ns, s.taskOrder) }

// insertOpen adds a new open task to the queue in order (a memmove, not
// a sort, so the next page costs no more than the last).
func (s *State) insertOpen(n uint32) {
	for _, k := range []string{"", s.names[s.tasks[n].grade]} {
		if s.openDirty {
			s.open[k] = append(s.open[k], n)
			continue
		}
		i, _ := slices.BinarySearchFunc(s.open[k], n, s.taskOrder)
		s.open[k] = slices.Insert(s.open[k], i, n)
	}
}

// removeOpen takes a task that stops being open out of the queue.
func (s *State) removeOpen(n uint32) {
	if s.openDirty {
		return // the sort drops it
	}
	for _, k := range []string{"", s.names[s.tasks[n].grade]} {
		if i, ok := slices.BinarySearchFunc(s.open[k], n, s.taskOrder); ok {
			s.open[k] = slices.Delete(s.open[k], i, i+1)
		}
	}
}

// pidOf is the id of patient number n.
func (s *State) pidOf(n uint32) string { return s.pids.get(n) }
