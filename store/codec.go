package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/patientmatch/patientmatch/record"
)

// The record codec is a hand-written binary encoding of record.Record:
// a format byte, then every field in declaration order, strings as uvarint
// length + bytes, small integers as varints, slices as uvarint (count+1)
// so that nil and empty stay distinct. It round-trips exactly and decodes
// with one string allocation for all the text of a record (the strings
// are slices of it), which makes the engine's start-up scan fast. gob
// would also round-trip but spends most of its time on reflection and
// type descriptors for a type this small.

const recordFormat = 1

// errCorrupt reports a value that does not decode.
var errCorrupt = errors.New("store: corrupt record encoding")

// appendRecord appends the encoding of r to b.
func appendRecord(b []byte, r *record.Record) []byte {
	b = append(b, recordFormat)
	b = appendString(b, r.ID)
	b = appendString(b, r.Family)
	b = appendStrings(b, r.FamilyParts)
	b = appendString(b, r.Given)
	b = appendString(b, r.Middle)
	b = appendString(b, r.Suffix)
	d := &r.BirthDate
	b = binary.AppendVarint(b, int64(d.Year))
	b = binary.AppendVarint(b, int64(d.Month))
	b = binary.AppendVarint(b, int64(d.Day))
	b = appendBool(b, d.Valid)
	b = appendString(b, d.Text)
	b = append(b, byte(r.Sex))
	a := &r.Address
	for _, s := range [...]string{a.Number, a.Street, a.StreetType, a.Unit, a.City, a.State, a.PostalCode, a.Country} {
		b = appendString(b, s)
	}
	b = appendString(b, r.Phone)
	b = appendString(b, r.Email)
	if r.Identifiers == nil {
		b = binary.AppendUvarint(b, 0)
	} else {
		b = binary.AppendUvarint(b, uint64(len(r.Identifiers))+1)
		for _, id := range r.Identifiers {
			b = append(b, byte(id.Type))
			b = appendString(b, id.System)
			b = appendString(b, id.Value)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return binary.AppendUvarint(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(ss))+1)
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// recordDecoder reads an encoding made by appendRecord. text is the whole
// buffer converted to a string once; every decoded string is a slice of it.
type recordDecoder struct {
	text string
	pos  int
	err  error
}

// decodeRecord decodes b into r. r shares no memory with b.
func decodeRecord(b []byte, r *record.Record) error {
	if len(b) == 0 || b[0] != recordFormat {
		return fmt.Errorf("%w: unknown format", errCorrupt)
	}
	d := recordDecoder{text: string(b), pos: 1}
	*r = record.Record{}
	r.ID = d.str()
	r.Family = d.str()
	r.FamilyParts = d.strs()
	r.Given = d.str()
	r.Middle = d.str()
	r.Suffix = d.str()
	r.BirthDate.Year = d.int()
	r.BirthDate.Month = d.int()
	r.BirthDate.Day = d.int()
	r.BirthDate.Valid = d.byte() == 1
	r.BirthDate.Text = d.str()
	r.Sex = record.Sex(d.byte())
	a := &r.Address
	for _, p := range [...]*string{&a.Number, &a.Street, &a.StreetType, &a.Unit, &a.City, &a.State, &a.PostalCode, &a.Country} {
		*p = d.str()
	}
	r.Phone = d.str()
	r.Email = d.str()
	if n := d.count(); n > 0 {
		r.Identifiers = make([]record.Identifier, n-1)
		for i := range r.Identifiers {
			id := &r.Identifiers[i]
			id.Type = record.IdentifierType(d.byte())
			id.System = d.str()
			id.Value = d.str()
		}
	}
	if d.err == nil && d.pos != len(d.text) {
		d.err = fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.text)-d.pos)
	}
	return d.err
}

func (d *recordDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s at byte %d", errCorrupt, what, d.pos)
	}
	d.pos = len(d.text)
}

func (d *recordDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	var shift uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.pos >= len(d.text) {
			break
		}
		c := d.text[d.pos]
		d.pos++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			return v | uint64(c)<<shift
		}
		v |= uint64(c&0x7f) << shift
		shift += 7
	}
	d.fail("varint")
	return 0
}

func (d *recordDecoder) int() int {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return int(x)
}

func (d *recordDecoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.pos >= len(d.text) {
		d.fail("byte")
		return 0
	}
	c := d.text[d.pos]
	d.pos++
	return c
}

func (d *recordDecoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.text)-d.pos) {
		d.fail("string length")
		return ""
	}
	s := d.text[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return s
}

// count reads a slice length stored as count+1 (0 = nil), bounded by the
// bytes left so corrupt input cannot make it allocate much.
func (d *recordDecoder) count() int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.text)-d.pos)+1 {
		d.fail("count")
		return 0
	}
	return int(n)
}

func (d *recordDecoder) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]string, n-1)
	for i := range out {
		out[i] = d.str()
	}
	return out
}
