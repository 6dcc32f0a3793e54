package scoring

import (
	"hash/maphash"

	"github.com/patientmatch/patientmatch/record"
)

// SetAsideSharedIdentifiers removes from the comparison every identifier of
// unknown kind (record.IDOther) whose value records of different people
// carry among sets (under any system, or none: valueKey), and returns how
// many values it set aside. Such a value is a family's, not a person's — an insurance payer
// gives one member number to the subscriber, the spouse and the children —
// so two records agreeing on it say "same household", which the address and
// family name already say, not "same person" (MATCHING-NOTES "Identifiers
// differ by kind"). Typed identifiers (MRN, SSN, ...) are left alone: their
// kind says how far they are unique.
//
// Records of different people are told by the data, not by a constant:
// carriers whose sex disagrees, whose birth dates differ by more than a
// keying slip (year_month or further), or whose given names are unrelated
// (level else). Each carrier is compared with the value's first carrier
// only, so the pass is linear in the carriers. Each record's Rec is left as
// it was (its identifiers are shown and blocked on as given); only the
// comparison-ready list changes, so Prepare (PrepareInto) undoes it.
func SetAsideSharedIdentifiers(sets ...[]*Prepared) int {
	type carrier struct {
		first  *Prepared
		shared bool
	}
	seen := map[record.Identifier]*carrier{}
	var cmp Comparison
	for _, set := range sets {
		for _, p := range set {
			for _, id := range p.ids {
				if id.Type != record.IDOther {
					continue
				}
				k := valueKey(id)
				c := seen[k]
				switch {
				case c == nil:
					seen[k] = &carrier{first: p}
				case !c.shared && c.first != p && differentPeople(c.first, p, &cmp):
					c.shared = true
				}
			}
		}
	}
	shared := 0
	for _, c := range seen {
		if c.shared {
			shared++
		}
	}
	if shared == 0 {
		return 0
	}
	for _, set := range sets {
		for _, p := range set {
			p.ids = withoutShared(p.ids, func(id record.Identifier) bool {
				c := seen[valueKey(id)]
				return id.Type == record.IDOther && c != nil && c.shared
			})
		}
	}
	return shared
}

// valueKey is the key carriers of one value are grouped by: the value
// alone, without its system. compareIdentifiers matches a value without a
// system to the same value under any system (a member number whose
// member_system is missing on some rows), so grouping by system too would
// let such a row escape the set-aside and agree with a relative's. A value
// two payers both issued is then set aside for both: that costs weight,
// never a false agreement.
func valueKey(id record.Identifier) record.Identifier {
	return record.Identifier{Type: id.Type, Value: id.Value}
}

// differentPeople reports whether two records cannot be one person: sex
// disagrees, birth dates differ by more than a keying slip, or the given
// names are unrelated.
func differentPeople(a, b *Prepared, cmp *Comparison) bool {
	Compare(a, b, cmp)
	lv := &cmp.Levels
	switch lv[CompBirthDate] {
	case BirthYearMonth, BirthYearNear, BirthElse:
		return true
	}
	return lv[CompSex] == SexDisagree || lv[CompGivenName] == GivenElse
}

// withoutShared returns ids without those drop reports, copying only when
// one is dropped: ids may be the record's own Rec.Identifiers.
func withoutShared(ids []record.Identifier, drop func(record.Identifier) bool) []record.Identifier {
	for i, id := range ids {
		if !drop(id) {
			continue
		}
		kept := make([]record.Identifier, 0, len(ids)-1)
		kept = append(kept, ids[:i]...)
		for _, id := range ids[i+1:] {
			if !drop(id) {
				kept = append(kept, id)
			}
		}
		return kept
	}
	return ids
}

// IdentifierCarriers is SetAsideSharedIdentifiers's judgement kept for a
// population that changes record by record (an engine's stored patients,
// like its name frequencies): which identifiers of unknown kind records of
// different people carry. A query is then compared with them without
// those values (SetAsideFor), as a record of a file is in dedupe.
//
// It holds, per value, how many records carry it and the keys of the
// first carrierSlots of them (the caller's: the engine's id hashes), found
// again through lookup; a carrier is compared with the value's first one
// only, as in the batch pass. Removing a carrier judges the value again
// from the carriers left when all are known; a value with more carriers
// than slots stays set aside once it is (it costs weight, never a false
// agreement) until the caller builds the table again (the engine does at
// Open). Values are told apart by a 64-bit hash (the chance of any collision
// at a million values is about 3·10^-8; one would only set a value
// aside). Nothing in it
// holds a pointer, so the garbage collector need not mark it.
//
// It is not safe for concurrent use, but SetAsideFor may run concurrently
// with other SetAsideFor calls (a reader lock).
type IdentifierCarriers struct {
	seed   maphash.Seed
	values map[uint64]carriers
	// lookup fills dst with the record of key; false when there is none.
	lookup func(key uint64, dst *Prepared) bool
	// a and b are scratch records for the writers' comparisons.
	a, b Prepared
	cmp  Comparison
}

// carrierSlots is how many carriers of a value IdentifierCarriers knows by
// key: a family sharing one member number is rarely larger.
const carrierSlots = 4

// carriers are the records carrying one value.
type carriers struct {
	keys [carrierSlots]uint64 // keys[:known], in arrival order
	// n counts the carriers, known or not: all are known when known == n.
	n      uint32
	known  uint8
	shared bool
}

// NewIdentifierCarriers returns an empty table whose carriers' records are
// found through lookup.
func NewIdentifierCarriers(lookup func(key uint64, dst *Prepared) bool) *IdentifierCarriers {
	return &IdentifierCarriers{seed: maphash.MakeSeed(), values: map[uint64]carriers{}, lookup: lookup}
}

func (c *IdentifierCarriers) hash(id record.Identifier) uint64 {
	return maphash.String(c.seed, id.Value) // valueKey: the value alone
}

// Add counts p, the record of key, as a carrier of its identifiers of
// unknown kind. lookup must find p under key from now on.
func (c *IdentifierCarriers) Add(key uint64, p *Prepared) {
	for _, id := range p.ids {
		if id.Type != record.IDOther {
			continue
		}
		h := c.hash(id)
		v := c.values[h]
		if !v.shared && v.known > 0 && v.keys[0] != key && c.lookup(v.keys[0], &c.a) {
			v.shared = differentPeople(&c.a, p, &c.cmp)
		}
		if v.known < carrierSlots {
			v.keys[v.known] = key
			v.known++
		}
		v.n++
		c.values[h] = v
	}
}

// Remove stops counting p, the record of key, as a carrier; p must be the
// record Add was given for key (an update removes the old record and
// adds the new). lookup may no longer find key.
func (c *IdentifierCarriers) Remove(key uint64, p *Prepared) {
	for _, id := range p.ids {
		if id.Type != record.IDOther {
			continue
		}
		h := c.hash(id)
		v, ok := c.values[h]
		if !ok {
			continue
		}
		if v.n--; v.n == 0 {
			delete(c.values, h)
			continue
		}
		for i := range v.known {
			if v.keys[i] == key {
				copy(v.keys[i:], v.keys[i+1:v.known])
				v.known--
				break
			}
		}
		if v.shared && uint32(v.known) == v.n {
			v.shared = c.judged(&v)
		}
		c.values[h] = v
	}
}

// judged reports whether any known carrier of v is a different person
// from its first.
func (c *IdentifierCarriers) judged(v *carriers) bool {
	if v.known < 2 || !c.lookup(v.keys[0], &c.a) {
		return false
	}
	for _, k := range v.keys[1:v.known] {
		if c.lookup(k, &c.b) && differentPeople(&c.a, &c.b, &c.cmp) {
			return true
		}
	}
	return false
}

// SetAsideFor removes from q's comparison the identifiers of unknown kind
// that the population's records of different people carry, and those
// whose first carrier is a different person from q (the query counts as a
// carrier, as a record of the file does in the batch pass), and returns
// how many it removed. q is a query, not one of the population: its Rec
// is left as it was.
func (c *IdentifierCarriers) SetAsideFor(q *Prepared) int {
	var (
		first *Prepared
		cmp   Comparison
	)
	n := 0
	q.ids = withoutShared(q.ids, func(id record.Identifier) bool {
		if id.Type != record.IDOther {
			return false
		}
		v, ok := c.values[c.hash(id)]
		switch {
		case !ok:
			return false
		case !v.shared:
			if v.known == 0 {
				return false
			}
			if first == nil {
				first = new(Prepared)
			}
			if !c.lookup(v.keys[0], first) || !differentPeople(first, q, &cmp) {
				return false
			}
		}
		n++
		return true
	})
	return n
}

// Carried reports whether any record carries an identifier of unknown
// kind: when none does, a writer need not look up a record's previous
// version to Remove it.
func (c *IdentifierCarriers) Carried() bool { return len(c.values) > 0 }

// Len returns how many values are carried, and how many of them are set
// aside.
func (c *IdentifierCarriers) Len() (values, shared int) {
	for _, v := range c.values {
		if v.shared {
			shared++
		}
	}
	return len(c.values), shared
}
