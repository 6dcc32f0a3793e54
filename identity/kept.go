package identity

import (
	"cmp"
	"slices"
	"strings"
)

// linkReasonPrefix starts the reason of a certain auto-link: the
// linker writes it followed by the matched patient's id.
const linkReasonPrefix = "certain match to Patient/"

// keptLink is a kept link event as the state holds it. Certain links to
// an existing identity are most of the events kept for history (160,000
// at 1M patients), and as Events in a map each cost ~330 B: here the
// strings are the state's own copies or numbers.
type keptLink struct {
	seq     uint64
	at      int64
	score   float64
	patient uint32 // patient number
	// reasonPatient is the number+1 of the patient the reason names
	// (linkReasonPrefix + its id), or 0 when the reason is reason.
	reasonPatient    uint32
	by, grade        uint32 // State.names
	identity, reason string
}

// keepLink keeps e compactly when it is a plain link event, reporting
// whether it did.
func (s *State) keepLink(e Event) bool {
	if e.Kind != KindLink || e.Patient == "" || e.From != "" || len(e.Patients) > 0 || e.Task != "" ||
		e.Left != "" || e.Right != "" || e.Decision != "" || e.Identity == "" {
		return false
	}
	if n := len(s.keptLinks); n > 0 && e.Seq <= s.keptLinks[n-1].seq {
		return false // out of order: the map keeps it
	}
	k := keptLink{seq: e.Seq, at: unixNano(e.At), score: e.Score, patient: s.patientNum(e.Patient),
		by: s.name(e.By), grade: s.name(e.Grade), identity: e.Identity, reason: e.Reason}
	if n, ok := s.identIndexOf(e.Identity); ok {
		k.identity = s.identName(n + 1)
	}
	if q, ok := strings.CutPrefix(e.Reason, linkReasonPrefix); ok {
		if n, ok := s.patientIndexOf(q); ok {
			k.reasonPatient, k.reason = n+1, ""
		}
	}
	s.keptLinks = append(s.keptLinks, k)
	return true
}

// keptEvent returns the kept event with seq.
func (s *State) keptEvent(seq uint64) (Event, bool) {
	if e, ok := s.kept[seq]; ok {
		return e, true
	}
	i, ok := slices.BinarySearchFunc(s.keptLinks, seq, func(k keptLink, seq uint64) int { return cmp.Compare(k.seq, seq) })
	if !ok {
		return Event{}, false
	}
	k := &s.keptLinks[i]
	e := Event{Seq: k.seq, At: fromUnixNano(k.at), By: s.names[k.by], Kind: KindLink, Patient: s.pidOf(k.patient),
		Identity: k.identity, Score: k.score, Grade: s.names[k.grade], Reason: k.reason}
	if k.reasonPatient != 0 {
		e.Reason = linkReasonPrefix + s.pidOf(k.reasonPatient-1)
	}
	return e, true
}

// trim gives back the spare capacity of the state's big slices (append
// leaves up to a quarter of a large slice unused): called after a
// replay, when they stop growing fast.
func (s *State) trim() {
	s.tasks = slices.Clip(slices.Clone(s.tasks))
	s.patients = slices.Clip(slices.Clone(s.patients))
	s.pids.refs = slices.Clip(slices.Clone(s.pids.refs))
	s.keptLinks = slices.Clip(slices.Clone(s.keptLinks))
	s.idents = slices.Clip(slices.Clone(s.idents))
	s.identIDs.refs = slices.Clip(slices.Clone(s.identIDs.refs))
	s.memberPool = slices.Clip(slices.Clone(s.memberPool))
	s.histories.nodes = slices.Clip(slices.Clone(s.histories.nodes))
}
