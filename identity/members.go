package identity

// members returns the members of i, sorted by patient id; the slice is
// the state's (good until the next change of i).
func (s *State) members(i *ident) []member {
	switch {
	case i.size == 0:
		return nil
	case i.group == 0:
		return i.solo[:]
	default:
		return s.groups[i.group-1]
	}
}

// setMembers makes ms the members of i: a single member is kept in i
// itself, and only identities with more have a slice of their own (a
// slot of State.groups, freed when they shrink back), so a million
// mostly single-member identities are not a million heap objects.
func (s *State) setMembers(i *ident, ms []member) {
	i.size = uint32(len(ms))
	if len(ms) <= 1 {
		var one member
		if len(ms) == 1 {
			one = ms[0]
		}
		if i.group != 0 {
			s.groups[i.group-1] = nil
			s.freeGroups = append(s.freeGroups, i.group)
			i.group = 0
		}
		i.solo[0] = one
		return
	}
	if i.group == 0 {
		if n := len(s.freeGroups); n > 0 {
			i.group, s.freeGroups = s.freeGroups[n-1], s.freeGroups[:n-1]
		} else {
			s.groups = append(s.groups, nil)
			i.group = uint32(len(s.groups))
		}
	}
	s.groups[i.group-1] = ms
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
