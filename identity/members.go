package identity

// The members of every identity are chains through one pointer-free
// slice, State.memberPool, sorted by patient id: a slice per identity
// (or per identity of two or more) was a heap object each, ~700,000 at
// 1M patients, for the garbage collector to mark on every cycle.
// Identities are small (most have one member, few more than a handful),
// so walking a chain costs what searching and shifting a slice did.

// members returns a copy of the members of i, sorted by patient id.
func (s *State) members(i *ident) []member {
	out := make([]member, 0, i.size)
	for n := i.head; n != 0; n = s.memberPool[n-1].next {
		out = append(out, s.memberPool[n-1])
	}
	return out
}

// removeMember takes patient number p out of i's members, if there.
func (s *State) removeMember(i *ident, p uint32) {
	for at := &i.head; *at != 0; at = &s.memberPool[*at-1].next {
		if n := *at; s.memberPool[n-1].patient == p {
			*at = s.memberPool[n-1].next
			s.memberPool[n-1] = member{next: s.freeMember}
			s.freeMember = n
			i.size--
			return
		}
	}
}

// insertMember adds m (patient id p) to i's members, before the first
// member whose id is not less than p.
func (s *State) insertMember(i *ident, m member, p string) {
	n := s.freeMember
	if n != 0 {
		s.freeMember = s.memberPool[n-1].next
	} else {
		s.memberPool = append(s.memberPool, member{})
		n = uint32(len(s.memberPool))
	}
	at := &i.head
	for *at != 0 && s.pidOf(s.memberPool[*at-1].patient) < p {
		at = &s.memberPool[*at-1].next
	}
	m.next = *at
	s.memberPool[n-1] = m
	*at = n
	i.size++
}

// otherReplacement in ident.replacedBy says that State.replacedOther
// holds the id (an identity number+1 cannot reach it).
const otherReplacement = ^uint32(0)

// replacedBy is the id of the identity number k was merged into (""
// when none).
func (s *State) replacedBy(k uint32) string {
	switch r := s.idents[k].replacedBy; r {
	case 0:
		return ""
	case otherReplacement:
		return s.replacedOther[k]
	default:
		return s.identName(r)
	}
}

// setReplacedBy records that identity number k was merged into the one
// with id to ("": it is in use again).
func (s *State) setReplacedBy(k uint32, to string) {
	i := &s.idents[k]
	if i.replacedBy == otherReplacement {
		delete(s.replacedOther, k)
	}
	i.replacedBy = 0
	if to == "" {
		return
	}
	if n, ok := s.identIndexOf(to); ok {
		i.replacedBy = n + 1
		return
	}
	if s.replacedOther == nil {
		s.replacedOther = map[uint32]string{}
	}
	i.replacedBy, s.replacedOther[k] = otherReplacement, to
}

// canonical returns e with its patient and identity ids replaced by the
// state's copies (in its string tables) where it has them, so that a
// kept event does not hold strings of its own decoded from the log.
func (s *State) canonical(e Event) Event {
	e.Patient, e.Left, e.Right = s.canonicalPatient(e.Patient), s.canonicalPatient(e.Left), s.canonicalPatient(e.Right)
	if len(e.Patients) > 0 {
		ps := make([]string, len(e.Patients)) // the caller's may be being logged
		for k, p := range e.Patients {
			ps[k] = s.canonicalPatient(p)
		}
		e.Patients = ps
	}
	e.Identity, e.From = s.canonicalIdent(e.Identity), s.canonicalIdent(e.From)
	return e
}

// canonicalPatient returns the state's copy of patient id p, or p.
func (s *State) canonicalPatient(p string) string {
	if n, ok := s.patientIndexOf(p); ok {
		return s.pidOf(n)
	}
	return p
}

// canonicalIdent returns the state's copy of identity id, or id.
func (s *State) canonicalIdent(id string) string {
	if k, ok := s.identIndexOf(id); ok {
		return s.identName(k + 1)
	}
	return id
}
