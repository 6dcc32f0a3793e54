package identity

import (
	"hash/maphash"
	"slices"
	"time"
)

// pair is an unordered pair of patient ids, a < b.
type pair struct{ a, b string }

func pairOf(x, y string) pair {
	if y < x {
		x, y = y, x
	}
	return pair{x, y}
}

// ident is an identity as the state holds it: Identity with times as
// Unix nanoseconds and members as compact records. A million patients
// mean a million of these; the exported Identity is built when asked for.
// It holds no pointer, so the garbage collector does not scan the slice
// of them: its id is in State.identIDs under its number, and its members
// are a chain through State.memberPool (members.go).
type ident struct {
	created, updated int64
	version          uint64
	// size is how many members, head the number+1 of the first (in
	// State.memberPool; 0 when none).
	size, head uint32
	// replacedBy is the number+1 of the identity this one was merged
	// into (State.replacedOther holds an id no identity has).
	replacedBy uint32
	// history lists the kept events about the identity (State.histories).
	history seqList
}

// member is Member as the state holds it: the patient as its number
// (State.pids), actor and grade as indexes into State.names, next the
// number+1 of the identity's next member in State.memberPool (0 ends
// it); 32 bytes and no pointer, so a million members are not scanned by
// the GC.
type member struct {
	at                       int64
	score                    float64
	patient, by, grade, next uint32
}

// unixNano and fromUnixNano convert times for ident and member (the zero
// time is 0).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// patientState is what the state knows of one assigned patient.
type patientState struct {
	// identity is the number+1 of the patient's identity (State.idents;
	// 0: not assigned), prev that of the identity it was in before the
	// event via moved it into identity (0 when via created it there):
	// what an unmerge restores.
	identity, prev uint32
	via            uint64
	// history lists the events about the patient that are kept in memory
	// (all but its first link to a new identity, which Member describes),
	// but for the tasks about it: those are its tasks (allHead) opened
	// while it was assigned, the ones numbered from historySince on. It
	// is a list of State.histories, so that patientState holds no pointer
	// and the GC does not scan the million of them.
	history seqList
	// openHead and allHead are the number+1 of the patient's newest open
	// task and newest task (tasks.go).
	openHead, allHead uint32
}

// State is the replay of the event log: identities, memberships, tasks
// and never-links. It is not safe for concurrent use; Service guards it.
type State struct {
	seq uint64
	// idents holds the identities by number, iindex finds them by id
	// (numindex.go).
	idents   []ident
	iindex   numIndex
	identIDs strTable
	// memberPool holds the members of all identities (members.go),
	// freeMember the number+1 of the first of the chain of freed ones;
	// replacedOther the id an identity was merged into when no identity
	// has it (ident.replacedBy), by identity number.
	memberPool    []member
	freeMember    uint32
	replacedOther map[uint32]string
	// histories holds the history lists of patients (patientState) and
	// identities (ident; otherHistory those of ids no identity has yet).
	histories    seqLists
	otherHistory map[string]seqList
	// patients holds every patient the state has seen, by number (pindex);
	// identity "" is a patient not assigned (deleted, or named only by a
	// task), and assigned counts the others.
	patients []patientState
	assigned int
	never    map[pair]bool
	// neverOf lists each patient's never-link partners (auto-linking must
	// skip a whole identity holding one).
	neverOf map[string][]string
	// tasks holds every task by number (tasks.go), in the order opened;
	// tindex (packed ids, numindex.go) and taskByOther find them,
	// taskAtOdd those whose opening event came out of sequence order;
	// historySince holds, for a patient named by tasks before it was last
	// assigned, the number of the first task its history shows.
	tasks        []taskRec
	tindex       numIndex
	taskByOther  map[string]uint32
	otherTaskIDs []string
	historySince map[uint32]uint32
	taskAtOdd    map[uint64]uint32
	// pindex numbers the patients (pids is the inverse: one copy of each
	// id for the state, in a table of few objects); seed hashes the keys
	// of pindex and tindex.
	pindex numIndex
	pids   strTable
	seed   maphash.Seed
	// open holds the open tasks' numbers in queue order (taskOrder), all
	// of them under "" and each grade's under its name, kept sorted as
	// tasks come and go, so a page costs its own length, not the queue's.
	// While openDirty (a replay) they are only appended to, and sorted
	// once when first read.
	open      map[string][]uint32
	openDirty bool
	// liveOpen counts, per queue, the open tasks that still ask a
	// question (live), for the queue's total. Counted once when first
	// asked for, then kept up to date as tasks open and close and
	// patients move (a page must not cost a walk of the queue).
	liveOpen      map[string]int
	liveOpenValid bool
	// kept holds the events kept in memory for history, by sequence,
	// except the events that opened tasks: taskAt finds those tasks, which
	// rebuild them.
	kept map[uint64]Event
	// keptLinks holds the kept plain link events, by sequence (kept.go).
	keptLinks []keptLink
	// interned holds one copy of each actor, grade and kind string, so
	// the replay of a million events does not keep a million copies of
	// "auto"; names numbers them for members (nameOf is the inverse).
	interned map[string]string
	names    []string
	nameOf   map[string]uint32
}

// NewState returns an empty state.
func NewState() *State {
	return &State{
		taskByOther:  map[string]uint32{},
		historySince: map[uint32]uint32{},
		taskAtOdd:    map[uint64]uint32{},
		seed:         maphash.MakeSeed(),
		never:        map[pair]bool{},
		neverOf:      map[string][]string{},
		kept:         map[uint64]Event{},
		interned:     map[string]string{},
		names:        []string{""},
		nameOf:       map[string]uint32{"": 0},
		open:         map[string][]uint32{},
		openDirty:    true,
	}
}

// Seq is the sequence number of the last applied event.
func (s *State) Seq() uint64 { return s.seq }

// IdentityOf returns the identity of patient p ("" when unassigned).
func (s *State) IdentityOf(p string) string {
	if n, ok := s.patientIndexOf(p); ok {
		return s.identName(s.patients[n].identity)
	}
	return ""
}

// identName is the id of the identity numbered k-1 ("" for k = 0).
func (s *State) identName(k uint32) string {
	if k == 0 {
		return ""
	}
	return s.identIDs.get(k - 1)
}

// ident returns the identity with id, or nil; the pointer is good until
// the next identity is created.
func (s *State) ident(id string) *ident {
	if k, ok := s.identIndexOf(id); ok {
		return &s.idents[k]
	}
	return nil
}

// patient returns what the state knows of p (the zero patientState when
// nothing).
func (s *State) patient(p string) patientState {
	if n, ok := s.patientIndexOf(p); ok {
		return s.patients[n]
	}
	return patientState{}
}

// Identity returns a copy of the identity with id, or nil.
func (s *State) Identity(id string) *Identity {
	k, ok := s.identIndexOf(id)
	if !ok {
		return nil
	}
	i := &s.idents[k]
	ms := s.members(i)
	out := &Identity{ID: id, Members: make([]Member, len(ms)), Created: fromUnixNano(i.created),
		Updated: fromUnixNano(i.updated), ReplacedBy: s.replacedBy(k), Version: i.version}
	for k, m := range ms {
		out.Members[k] = Member{Patient: s.pidOf(m.patient), By: s.names[m.by], At: fromUnixNano(m.at), Score: m.score, Grade: s.names[m.grade]}
	}
	return out
}

// size is how many members identity id has (0 when there is none).
func (s *State) size(id string) int {
	if i := s.ident(id); i != nil {
		return int(i.size)
	}
	return 0
}

// memberIDs lists the patients of identity id.
func (s *State) memberIDs(id string) []string {
	k, ok := s.identIndexOf(id)
	if !ok {
		return nil
	}
	i := &s.idents[k]
	ms := s.members(i)
	out := make([]string, len(ms))
	for k, m := range ms {
		out[k] = s.pidOf(m.patient)
	}
	return out
}

// name returns the number of v in names, adding it when new.
func (s *State) name(v string) uint32 {
	if k, ok := s.nameOf[v]; ok {
		return k
	}
	k := uint32(len(s.names))
	s.names = append(s.names, v)
	s.nameOf[v] = k
	return k
}

// Never reports whether a and b carry a never-link.
func (s *State) Never(a, b string) bool { return s.never[pairOf(a, b)] }

// neverIdentity reports whether p has a never-link with a member of
// identity id.
func (s *State) neverIdentity(p, id string) bool {
	for _, q := range s.neverOf[p] {
		if s.IdentityOf(q) == id {
			return true
		}
	}
	return false
}

// Apply applies e. Events come from the service, which checked them
// against the state; Apply tolerates what a replay of a log written by an
// older version might hold (a patient already gone, say) by skipping it.
func (s *State) Apply(e Event) {
	s.seq = max(s.seq, e.Seq)
	e.By, e.Grade, e.Kind = s.intern(e.By), s.intern(e.Grade), s.intern(e.Kind)
	keep := true
	switch e.Kind {
	case KindLink:
		keep = s.applyLink(e)
	case KindUnlink:
		s.move(e, e.Patient, "")
	case KindTask:
		s.openTask(e)
		keep = false
	case KindDecide:
		s.decideTask(e)
	case KindMerge:
		if s.ident(e.From) == nil {
			return
		}
		for _, p := range s.memberIDs(e.From) {
			s.move(e, p, e.Identity)
		}
		k, _ := s.identIndexOf(e.From)
		s.setReplacedBy(k, e.Identity) // after the moves: they may create e.Identity
		s.touch(&s.idents[k], e)
	case KindUnmerge:
		for _, p := range e.Patients {
			s.move(e, p, e.Identity)
		}
		s.touch(s.ident(e.From), e)
	case KindNever:
		k := pairOf(e.Left, e.Right)
		if !s.never[k] {
			s.never[k] = true
			s.neverOf[k.a] = append(s.neverOf[k.a], k.b)
			s.neverOf[k.b] = append(s.neverOf[k.b], k.a)
		}
	case KindUnnever:
		k := pairOf(e.Left, e.Right)
		delete(s.never, k)
		s.neverOf[k.a] = slices.DeleteFunc(s.neverOf[k.a], func(q string) bool { return q == k.b })
		s.neverOf[k.b] = slices.DeleteFunc(s.neverOf[k.b], func(q string) bool { return q == k.a })
	}
	if keep {
		s.keep(e)
	}
}

// applyLink applies a link event; it reports whether the event is worth
// keeping for history (a first link to a new identity is not: Member
// holds all of it).
func (s *State) applyLink(e Event) bool {
	assigned := s.IdentityOf(e.Patient) != ""
	exists := s.ident(e.Identity) != nil
	s.move(e, e.Patient, e.Identity)
	return assigned || exists
}

// move puts patient p into identity to (out of every identity when to is
// ""), recording e as the reason, and recounts the live open tasks of p.
func (s *State) move(e Event, p, to string) {
	if !s.liveOpenValid {
		s.moveMember(e, p, to)
		return
	}
	ts := s.openOf(p)
	if len(ts) == 0 {
		s.moveMember(e, p, to)
		return
	}
	for _, t := range ts {
		s.countLive(t, -1)
	}
	s.moveMember(e, p, to)
	for _, t := range ts {
		s.countLive(t, 1)
	}
}

// countLive adds d to the live counts of task n's queues if it is live.
func (s *State) countLive(n uint32, d int) {
	if s.liveOpenValid && s.live(n) {
		s.liveOpen[""] += d
		s.liveOpen[s.names[s.tasks[n].grade]] += d
	}
}

// moveMember is move without the task counts.
func (s *State) moveMember(e Event, p, to string) {
	n := s.patientNum(p)
	p = s.pidOf(n)
	ps := &s.patients[n]
	from, k, exists := ps.identity, uint32(0), to == ""
	if !exists {
		k, exists = s.identIndexOf(to)
		k++
	}
	if exists && from == k {
		return
	}
	if from != 0 {
		old := &s.idents[from-1]
		s.removeMember(old, n)
		s.touch(old, e)
	}
	if to == "" {
		s.histories.drop(&ps.history)
		ps.identity, ps.prev, ps.via = 0, 0, 0
		s.assigned--
		return
	}
	if from == 0 {
		s.assigned++
		if ps.allHead != 0 {
			s.historySince[n] = uint32(len(s.tasks))
		}
	}
	if !exists {
		k = uint32(len(s.idents)) + 1
		s.idents = append(s.idents, ident{created: unixNano(e.At), history: s.otherHistory[to]})
		delete(s.otherHistory, to) // what was said of the id before it had an identity
		s.identIDs.add(to)
		s.addIdentIndex(k - 1)
	}
	id := &s.idents[k-1]
	ps.identity, ps.prev, ps.via = k, from, e.Seq
	s.setReplacedBy(k-1, "")
	m := member{patient: n, by: s.name(e.By), at: unixNano(e.At)}
	if e.Kind == KindLink {
		m.score, m.grade = e.Score, s.name(e.Grade)
	}
	s.insertMember(id, m, p)
	s.touch(id, e)
}

func (s *State) touch(id *ident, e Event) {
	if id == nil {
		return
	}
	id.updated = unixNano(e.At)
	id.version++
}

// intern returns the state's copy of v (one of few distinct values).
func (s *State) intern(v string) string {
	if v == "" {
		return ""
	}
	if c, ok := s.interned[v]; ok {
		return c
	}
	s.interned[v] = v
	return v
}

// keep records e for history.
func (s *State) keep(e Event) {
	if !s.keepLink(e) {
		s.kept[e.Seq] = s.canonical(e)
	}
	s.refer(e)
}

// refer lists e in the histories of its patients and identities.
func (s *State) refer(e Event) {
	for _, p := range eventPatients(e) {
		if n, ok := s.patientIndexOf(p); ok && s.patients[n].identity != 0 {
			s.histories.add(&s.patients[n].history, e.Seq)
		}
	}
	for _, id := range []string{e.Identity, e.From} {
		if id != "" {
			s.addIdentityHistory(id, e.Seq)
		}
	}
}

// eventPatients lists the patients an event is about.
func eventPatients(e Event) []string {
	var out []string
	for _, p := range append([]string{e.Patient, e.Left, e.Right}, e.Patients...) {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func statusOf(d Decision) Status {
	switch d {
	case DecisionMatch:
		return StatusMatched
	case DecisionNoMatch:
		return StatusNoMatch
	default:
		return StatusDeferred
	}
}

// live reports whether task n still asks a question: both patients
// assigned, and in different identities.
func (s *State) live(n uint32) bool {
	t := &s.tasks[n]
	a, b := s.patients[t.left].identity, s.patients[t.right].identity
	return a != 0 && b != 0 && a != b
}

// Tasks returns the tasks with status, best score first (id breaks ties),
// whose grade is grade ("" for any): one page (from offset, at most n) and
// the total. An open task whose pair has since been joined (or deleted)
// by other means asks nothing: it is neither shown nor counted. The
// total of open tasks is counted once after each change, so paging costs
// the page.
func (s *State) Tasks(status Status, grade string, offset, n int) ([]Task, int) {
	if status != StatusOpen {
		var src []uint32
		st := statusNum(status)
		for k := range s.tasks {
			if t := &s.tasks[k]; t.status == st && (grade == "" || s.names[t.grade] == grade) {
				src = append(src, uint32(k))
			}
		}
		s.sortTasks(src)
		var out []Task
		for i := offset; i < len(src) && len(out) < n; i++ {
			out = append(out, s.task(src[i]))
		}
		return out, len(src)
	}
	if s.openDirty {
		for k, list := range s.open {
			list = slices.DeleteFunc(list, func(n uint32) bool { return s.tasks[n].status != statusOpen })
			s.sortTasks(list)
			s.open[k] = slices.Clip(list)
		}
		s.openDirty = false
	}
	var out []Task
	skipped := 0
	for _, k := range s.open[grade] {
		if len(out) == n {
			break
		}
		if !s.live(k) {
			continue
		}
		if skipped < offset {
			skipped++
			continue
		}
		out = append(out, s.task(k))
	}
	return out, s.liveOpenCount(grade)
}

// liveOpenCount is how many open tasks of queue grade are live.
func (s *State) liveOpenCount(grade string) int {
	if !s.liveOpenValid {
		s.liveOpen = map[string]int{}
		for _, k := range s.open[""] {
			if s.live(k) {
				s.liveOpen[""]++
				s.liveOpen[s.names[s.tasks[k].grade]]++
			}
		}
		s.liveOpenValid = true
	}
	return s.liveOpen[grade]
}

// PatientHistory returns the kept events about patient p, oldest first.
func (s *State) PatientHistory(p string) []Event {
	n, ok := s.patientIndexOf(p)
	if !ok || s.patients[n].identity == 0 {
		return nil
	}
	kept, tasks := s.histories.list(s.patients[n].history), s.tasksSince(n, s.historySince[n])
	out := make([]Event, 0, len(kept)+len(tasks))
	for len(kept) > 0 || len(tasks) > 0 {
		if len(tasks) == 0 || len(kept) > 0 && kept[0] < s.tasks[tasks[0]].seq {
			e, _ := s.keptEvent(kept[0])
			out, kept = append(out, e), kept[1:]
			continue
		}
		out, tasks = append(out, s.openingEvent(tasks[0])), tasks[1:]
	}
	return out
}

// IdentityHistory returns the kept events about identity id, oldest first.
func (s *State) IdentityHistory(id string) []Event {
	if k, ok := s.identIndexOf(id); ok {
		return s.events(s.histories.list(s.idents[k].history))
	}
	return s.events(s.histories.list(s.otherHistory[id]))
}

// addIdentityHistory appends seq to the history of identity id.
func (s *State) addIdentityHistory(id string, seq uint64) {
	if k, ok := s.identIndexOf(id); ok {
		s.histories.add(&s.idents[k].history, seq)
		return
	}
	if s.otherHistory == nil {
		s.otherHistory = map[string]seqList{}
	}
	l := s.otherHistory[id]
	s.histories.add(&l, seq)
	s.otherHistory[id] = l
}

func (s *State) events(seqs []uint64) []Event {
	out := make([]Event, 0, len(seqs))
	for _, q := range seqs {
		if n, ok := s.taskAt(q); ok {
			out = append(out, s.openingEvent(n))
			continue
		}
		e, _ := s.keptEvent(q)
		out = append(out, e)
	}
	return out
}
