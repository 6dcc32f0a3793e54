package scoring

import (
	"encoding/binary"
	"errors"
	"math"
	"unsafe"

	"github.com/patientmatch/patientmatch/record"
)

// The packed form of a Prepared is a byte string holding every field, with
// no pointers: the engine keeps a million of them in a few large byte
// slabs the garbage collector never has to scan (a table of *Prepared
// values was ~1.2 KB and ~40 pointers a patient, and marking it took a
// core for a second or more in every GC cycle; bench/README, "Hot path").
// Unpacking is cheap — strings alias the packed bytes, nothing is
// recomputed — so the engine unpacks each candidate as it scores it.
//
// Layout: GivenTF and FamilyTF as 8-byte little-endian floats (first, so
// that SetPackedTermFrequencies can rewrite them in place), Rec.ID, then
// every other field in declaration order. A string is a uvarint tag: 0 for
// "", len<<1 for a new string whose bytes follow, i<<1|1 for the i-th new
// string of this record again (given is mostly Rec.Given, email Rec.Email,
// and so on). Slices carry their length plus one, 0 for nil, so that an
// unpacked Prepared is deeply equal to the packed one.

// errPacked reports a packed Prepared that does not decode.
var errPacked = errors.New("scoring: corrupt packed record")

// maxPackedRefs bounds the strings a record can refer back to.
const maxPackedRefs = 64

// packer appends one packed record.
type packer struct {
	b    []byte
	seen [maxPackedRefs]string
	n    int
}

func (w *packer) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *packer) int(v int)        { w.b = binary.AppendVarint(w.b, int64(v)) }

func (w *packer) str(s string) {
	if s == "" {
		w.uvarint(0)
		return
	}
	for i, t := range w.seen[:w.n] {
		if t == s {
			w.uvarint(uint64(i)<<1 | 1)
			return
		}
	}
	w.uvarint(uint64(len(s)) << 1)
	w.b = append(w.b, s...)
	if w.n < maxPackedRefs {
		w.seen[w.n] = s
		w.n++
	}
}

func (w *packer) strs(ss []string) {
	if ss == nil {
		w.uvarint(0)
		return
	}
	w.uvarint(uint64(len(ss)) + 1)
	for _, s := range ss {
		w.str(s)
	}
}

func (w *packer) date(d record.Date) {
	w.int(d.Year)
	w.int(d.Month)
	w.int(d.Day)
	w.str(d.Text)
}

func (w *packer) ids(ids []record.Identifier) {
	if ids == nil {
		w.uvarint(0)
		return
	}
	w.uvarint(uint64(len(ids)) + 1)
	for _, id := range ids {
		w.b = append(w.b, byte(id.Type))
		w.str(id.System)
		w.str(id.Value)
	}
}

// Flag bits of the packed form's flags byte.
const (
	packedBirthValid = 1 << iota
	packedRecBirthValid
	packedGivenStandIn
	packedFamilyStandIn
	packedSecondNone
)

// AppendPacked appends the packed form of p to b (see UnpackPrepared).
func (p *Prepared) AppendPacked(b []byte) []byte {
	w := packer{b: b}
	w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(p.GivenTF))
	w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(p.FamilyTF))
	r := &p.Rec
	w.str(r.ID)
	var flags byte
	if p.birth.Valid {
		flags |= packedBirthValid
	}
	if r.BirthDate.Valid {
		flags |= packedRecBirthValid
	}
	if p.givenStandIn {
		flags |= packedGivenStandIn
	}
	if p.familyStandIn {
		flags |= packedFamilyStandIn
	}
	if p.secondNone {
		flags |= packedSecondNone
	}
	w.b = append(w.b, flags, byte(r.Sex))
	w.str(r.Family)
	w.strs(r.FamilyParts)
	w.str(r.Given)
	w.str(r.Middle)
	w.str(r.Suffix)
	w.date(r.BirthDate)
	a := &r.Address
	for _, s := range [...]string{a.Number, a.Street, a.StreetType, a.Unit, a.City, a.State, a.PostalCode, a.Country, r.Phone, r.Email} {
		w.str(s)
	}
	w.ids(r.Identifiers)
	for _, s := range [...]string{p.GivenDM1, p.GivenDM2, p.GivenNYSIIS, p.FamilyDM1, p.FamilyDM2, p.FamilyNYSIIS, p.GivenSoundex, p.FamilySoundex, p.given, p.family} {
		w.str(s)
	}
	w.strs(p.familyParts)
	for _, g := range p.givenNick {
		w.uvarint(uint64(g))
	}
	for _, g := range p.familyNick {
		w.uvarint(uint64(g))
	}
	w.date(p.birth)
	for _, s := range [...]string{p.birthDigits, p.number, p.street, p.city, p.postal, p.phone, p.phone7, p.email} {
		w.str(s)
	}
	w.ids(p.ids)
	w.str(p.middle1)
	w.str(p.second)
	return w.b
}

// unpacker reads one packed record; the first error sticks.
type unpacker struct {
	b    []byte
	seen [maxPackedRefs]string
	n    int
	err  bool
}

func (r *unpacker) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = true
		r.b = nil
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *unpacker) int() int {
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.err = true
		r.b = nil
		return 0
	}
	r.b = r.b[k:]
	return int(v)
}

func (r *unpacker) byte() byte {
	if len(r.b) == 0 {
		r.err = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *unpacker) str() string {
	tag := r.uvarint()
	switch {
	case tag == 0:
		return ""
	case tag&1 == 1:
		i := tag >> 1
		if i >= uint64(r.n) {
			r.err = true
			return ""
		}
		return r.seen[i]
	}
	n := tag >> 1
	if n > uint64(len(r.b)) {
		r.err = true
		r.b = nil
		return ""
	}
	s := unsafeString(r.b[:n])
	r.b = r.b[n:]
	if r.n < maxPackedRefs {
		r.seen[r.n] = s
		r.n++
	}
	return s
}

// count reads a slice length (plus one, 0 for nil); ok is false for nil.
func (r *unpacker) count() (n int, ok bool) {
	c := r.uvarint()
	if c == 0 {
		return 0, false
	}
	if c-1 > uint64(len(r.b)) { // every element takes at least a byte
		r.err = true
		r.b = nil
		return 0, false
	}
	return int(c - 1), true
}

// strs reads a string slice into dst's storage.
func (r *unpacker) strs(dst []string) []string {
	n, ok := r.count()
	if !ok {
		return nil
	}
	dst = dst[:0]
	if dst == nil || cap(dst) < n {
		dst = make([]string, 0, n)
	}
	for range n {
		dst = append(dst, r.str())
	}
	return dst
}

func (r *unpacker) date(valid bool) record.Date {
	return record.Date{Year: r.int(), Month: r.int(), Day: r.int(), Valid: valid, Text: r.str()}
}

func (r *unpacker) ids(dst []record.Identifier) []record.Identifier {
	n, ok := r.count()
	if !ok {
		return nil
	}
	dst = dst[:0]
	if dst == nil || cap(dst) < n {
		dst = make([]record.Identifier, 0, n)
	}
	for range n {
		t := record.IdentifierType(r.byte())
		dst = append(dst, record.Identifier{Type: t, System: r.str(), Value: r.str()})
	}
	return dst
}

// UnpackPrepared sets p to the Prepared packed in b by AppendPacked. Its
// strings alias b, which must not change while p is in use; the storage
// of p's slices is reused, so p must not share it with a Prepared still in
// use (pass a zero Prepared for one that outlives the next call).
func UnpackPrepared(p *Prepared, b []byte) error {
	if len(b) < 16 {
		return errPacked
	}
	r := unpacker{b: b[16:]}
	fp, ids, pfp, pids := p.Rec.FamilyParts, p.Rec.Identifiers, p.familyParts, p.ids
	*p = Prepared{
		GivenTF:  math.Float64frombits(binary.LittleEndian.Uint64(b)),
		FamilyTF: math.Float64frombits(binary.LittleEndian.Uint64(b[8:])),
	}
	rec := &p.Rec
	rec.ID = r.str()
	flags := r.byte()
	rec.Sex = record.Sex(r.byte())
	rec.Family = r.str()
	rec.FamilyParts = r.strs(fp)
	rec.Given = r.str()
	rec.Middle = r.str()
	rec.Suffix = r.str()
	rec.BirthDate = r.date(flags&packedRecBirthValid != 0)
	a := &rec.Address
	for _, s := range [...]*string{&a.Number, &a.Street, &a.StreetType, &a.Unit, &a.City, &a.State, &a.PostalCode, &a.Country, &rec.Phone, &rec.Email} {
		*s = r.str()
	}
	rec.Identifiers = r.ids(ids)
	for _, s := range [...]*string{&p.GivenDM1, &p.GivenDM2, &p.GivenNYSIIS, &p.FamilyDM1, &p.FamilyDM2, &p.FamilyNYSIIS, &p.GivenSoundex, &p.FamilySoundex, &p.given, &p.family} {
		*s = r.str()
	}
	p.familyParts = r.strs(pfp)
	for i := range p.givenNick {
		p.givenNick[i] = uint16(r.uvarint())
	}
	for i := range p.familyNick {
		p.familyNick[i] = uint16(r.uvarint())
	}
	p.birth = r.date(flags&packedBirthValid != 0)
	for _, s := range [...]*string{&p.birthDigits, &p.number, &p.street, &p.city, &p.postal, &p.phone, &p.phone7, &p.email} {
		*s = r.str()
	}
	p.ids = r.ids(pids)
	p.middle1 = r.str()
	p.second = r.str()
	p.secondNone = flags&packedSecondNone != 0
	p.givenStandIn = flags&packedGivenStandIn != 0
	p.familyStandIn = flags&packedFamilyStandIn != 0
	if r.err || len(r.b) != 0 {
		return errPacked
	}
	return nil
}

// PackedID is the Rec.ID of a packed Prepared, read without unpacking the
// rest (it aliases b).
func PackedID(b []byte) (string, error) {
	if len(b) < 16 {
		return "", errPacked
	}
	r := unpacker{b: b[16:]}
	id := r.str()
	if r.err {
		return "", errPacked
	}
	return id, nil
}

// SetPackedTermFrequencies rewrites GivenTF and FamilyTF of a packed
// Prepared in place.
func SetPackedTermFrequencies(b []byte, given, family float64) {
	binary.LittleEndian.PutUint64(b, math.Float64bits(given))
	binary.LittleEndian.PutUint64(b[8:], math.Float64bits(family))
}

// TermFrequenciesOf returns the GivenTF and FamilyTF that PrepareInto
// would set on p, a record prepared without term frequencies.
func (s *Scorer) TermFrequenciesOf(p *Prepared) (given, family float64) {
	if s.terms == nil {
		return 0, 0
	}
	return s.terms.GivenFrequency(p.given), s.terms.FamilyFrequency(p.family)
}

// unsafeString is b as a string, without a copy; b must not change after.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
