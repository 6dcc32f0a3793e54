package scoring

import "github.com/patientmatch/patientmatch/record"

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
