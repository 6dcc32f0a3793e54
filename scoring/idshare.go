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
// Which values are shared is sharedAmong's judgement of each value's
// carriers, the one IdentifierCarriers keeps for an engine's stored
// patients: it depends on the set of carriers, not on the order of the
// sets or of their records. Each record's Rec is left as it was (its
// identifiers are shown and blocked on as given); only the
// comparison-ready list changes, so Prepare (PrepareInto) undoes it.
func SetAsideSharedIdentifiers(sets ...[]*Prepared) int {
	type group struct {
		first [carrierSlots]*Prepared // the first carriers, in any order
		n     int
	}
	groups := map[record.Identifier]*group{}
	for _, set := range sets {
		for _, p := range set {
			forEachUntyped(p, func(id record.Identifier) {
				k := valueKey(id)
				g := groups[k]
				if g == nil {
					g = &group{}
					groups[k] = g
				}
				if g.n < carrierSlots {
					g.first[g.n] = p
				}
				g.n++
			})
		}
	}
	shared := map[record.Identifier]bool{}
	var cmp Comparison
	for k, g := range groups {
		if sharedAmong(g.n, g.first[:min(g.n, carrierSlots)], &cmp) {
			shared[k] = true
		}
	}
	if len(shared) == 0 {
		return 0
	}
	for _, set := range sets {
		for _, p := range set {
			p.ids = withoutShared(p.ids, func(id record.Identifier) bool {
				return id.Type == record.IDOther && shared[valueKey(id)]
			})
		}
	}
	return len(shared)
}

// carrierSlots is how many carriers of a value sharedAmong compares pairwise
// (at most six comparisons); a value carried by more records is shared
// whoever they are. A family sharing one member number is rarely larger,
// and one person's records rarely so many; beyond it, comparing every pair
// would grow with the square of the carriers (a placeholder value many
// records carry), and comparing only some would make the judgement depend
// on which were compared — on the order records arrived in.
const carrierSlots = 4

// sharedAmong is the judgement of one value: its n carriers are of
// different people when they are more than carrierSlots or any two of
// them (known, all n of them when n <= carrierSlots) are different people.
// It depends on the set of carriers alone, never on their order. Records
// of different people are told by the data, not by a constant
// (differentPeople).
func sharedAmong(n int, known []*Prepared, cmp *Comparison) bool {
	if n > carrierSlots {
		return true
	}
	for i, a := range known {
		for _, b := range known[i+1:] {
			if differentPeople(a, b, cmp) {
				return true
			}
		}
	}
	return false
}

// forEachUntyped calls f once per value of p's identifiers of unknown kind
// (valueKey): a record carrying one value under two systems is one
// carrier of it, not two.
func forEachUntyped(p *Prepared, f func(record.Identifier)) {
	for i, id := range p.ids {
		if id.Type != record.IDOther || carriesEarlier(p.ids[:i], id.Value) {
			continue
		}
		f(id)
	}
}

// carriesEarlier reports whether ids hold an identifier of unknown kind
// with value v.
func carriesEarlier(ids []record.Identifier, v string) bool {
	for _, id := range ids {
		if id.Type == record.IDOther && id.Value == v {
			return true
		}
	}
	return false
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

// IdentifierCarriers is SetAsideSharedIdentifiers's judgement (sharedAmong)
// kept for a population that changes record by record (an engine's stored
// patients, like its name frequencies): which identifiers of unknown kind
// records of different people carry. A query is then compared with them
// without those values (SetAsideFor), as a record of a file is in dedupe.
//
// It holds, per value, how many records carry it and every carrier's key
// (the caller's: the engine's id hashes), found again through lookup: the
// first carrierSlots inline, any more in a side map (such a value is set
// aside whoever carries it, but when carriers go and carrierSlots or fewer
// are left, every one of them is known and the value is judged again from
// them). So the judgement is the same whatever order records were added and
// removed in, and the same as a build from scratch (the engine's at Open)
// gives. Values are told apart by a 64-bit hash (the chance of any
// collision at a million values is about 3·10^-8; one would only set a
// value aside). Only the side map holds pointers, so the garbage collector
// need not mark the per-value table.
//
// It is not safe for concurrent use, but SetAsideFor may run concurrently
// with other SetAsideFor calls (a reader lock).
type IdentifierCarriers struct {
	seed   maphash.Seed
	values map[uint64]carriers
	// more holds, per value, the keys of its carriers beyond the
	// carrierSlots in carriers.keys, in any order.
	more map[uint64][]uint64
	// lookup fills dst with the record of key; false when there is none.
	lookup func(key uint64, dst *Prepared) bool
	// scratch and known are the writers' records for the comparisons.
	scratch [carrierSlots]Prepared
	known   [carrierSlots]*Prepared
	cmp     Comparison
}

// carriers are the records carrying one value.
type carriers struct {
	keys   [carrierSlots]uint64 // keys[:min(n, carrierSlots)], in any order
	n      uint32               // how many records carry the value
	shared bool                 // sharedAmong the carriers
}

// inline is how many of v's carriers are in v.keys.
func (v *carriers) inline() int { return int(min(v.n, carrierSlots)) }

// NewIdentifierCarriers returns an empty table whose carriers' records are
// found through lookup.
func NewIdentifierCarriers(lookup func(key uint64, dst *Prepared) bool) *IdentifierCarriers {
	return &IdentifierCarriers{seed: maphash.MakeSeed(), values: map[uint64]carriers{}, more: map[uint64][]uint64{}, lookup: lookup}
}

func (c *IdentifierCarriers) hash(id record.Identifier) uint64 {
	return maphash.String(c.seed, id.Value) // valueKey: the value alone
}

// Add counts p, the record of key, as a carrier of its identifiers of
// unknown kind. lookup must find p under key from now on. A carrier added
// to a value none of whose carriers differ is compared with each of them:
// sharedAmong the whole set, without comparing the pairs judged before.
func (c *IdentifierCarriers) Add(key uint64, p *Prepared) {
	forEachUntyped(p, func(id record.Identifier) {
		h := c.hash(id)
		v := c.values[h]
		if v.n < carrierSlots {
			if !v.shared {
				v.shared = c.differsFromAny(&v, p, &c.scratch[0], &c.cmp)
			}
			v.keys[v.n] = key
		} else {
			v.shared = true // more carriers than sharedAmong compares
			c.more[h] = append(c.more[h], key)
		}
		v.n++
		c.values[h] = v
	})
}

// differsFromAny reports whether p is a different person from any of v's
// carriers (all known: v.n <= carrierSlots), each looked up into scratch.
func (c *IdentifierCarriers) differsFromAny(v *carriers, p, scratch *Prepared, cmp *Comparison) bool {
	for _, k := range v.keys[:v.inline()] {
		if c.lookup(k, scratch) && differentPeople(scratch, p, cmp) {
			return true
		}
	}
	return false
}

// Remove stops counting p, the record of key, as a carrier; p must be the
// record Add was given for key (an update removes the old record and
// adds the new). lookup may no longer find key. A value set aside is
// judged again from the carriers left once they are few enough to compare.
func (c *IdentifierCarriers) Remove(key uint64, p *Prepared) {
	forEachUntyped(p, func(id record.Identifier) {
		h := c.hash(id)
		v, ok := c.values[h]
		if !ok {
			return
		}
		c.dropKey(h, &v, key)
		if v.n--; v.n == 0 {
			delete(c.values, h)
			return
		}
		if v.shared && v.n <= carrierSlots {
			v.shared = c.judged(&v)
		}
		c.values[h] = v
	})
}

// dropKey removes key from v's carriers (v.n not yet decremented),
// refilling its slot from the side map when the value has more carriers.
func (c *IdentifierCarriers) dropKey(h uint64, v *carriers, key uint64) {
	more := c.more[h]
	defer func() {
		if len(more) == 0 {
			delete(c.more, h)
		} else {
			c.more[h] = more
		}
	}()
	inline := v.inline()
	for i, k := range v.keys[:inline] {
		if k != key {
			continue
		}
		if n := len(more); n > 0 {
			v.keys[i], more = more[n-1], more[:n-1]
		} else {
			v.keys[i] = v.keys[inline-1]
		}
		return
	}
	for i, k := range more {
		if k == key {
			more[i] = more[len(more)-1]
			more = more[:len(more)-1]
			return
		}
	}
}

// judged is sharedAmong v's carriers, all known (v.n <= carrierSlots).
func (c *IdentifierCarriers) judged(v *carriers) bool {
	known := c.known[:0]
	for i, k := range v.keys[:v.inline()] {
		if c.lookup(k, &c.scratch[i]) {
			known = append(known, &c.scratch[i])
		}
	}
	return sharedAmong(int(v.n), known, &c.cmp)
}

// SetAsideFor removes from q's comparison the identifiers of unknown kind
// that the population's records of different people carry, and those
// that q and the population's carriers together would (q counts as one
// more carrier, as a record of the file does in the batch pass: set aside
// when the carriers would then be more than carrierSlots, or q is a
// different person from any of them), and returns how many it removed. q
// is a query, not one of the population: its Rec is left as it was.
func (c *IdentifierCarriers) SetAsideFor(q *Prepared) int {
	var (
		scratch *Prepared
		cmp     Comparison
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
		case !v.shared && v.n < carrierSlots:
			if scratch == nil {
				scratch = new(Prepared)
			}
			if !c.differsFromAny(&v, q, scratch, &cmp) {
				return false
			}
		}
		n++
		return true
	})
	return n
}

// HasUntypedIdentifier reports whether p carries an identifier of unknown
// kind, the only kind SetAsideFor may set aside: a query without one need
// not look at the carriers (nor take the lock that guards them).
func (p *Prepared) HasUntypedIdentifier() bool {
	for _, id := range p.ids {
		if id.Type == record.IDOther {
			return true
		}
	}
	return false
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
