package scoring

import (
	"unicode/utf8"

	"github.com/patientmatch/patientmatch/record"
)

// Grade caps: hard rules for the patterns where a Fellegi–Sunter score is
// known to mislead (MATCHING-NOTES.md). Households share address, phone and
// family name; twins also share a birth date; a junior shares his father's
// whole name. A model with strong name, date and household weights can give
// such pairs a posterior near 1, so the grade is capped whatever the
// probability. Caps only ever lower a grade.
//
// The rules, in the order they are checked:
//
//   - CapSiblings: given name and birth date both disagree (given level
//     jw>=0.80 or else, or a name joined with a slip: Comparison.JoinedAlike;
//     birth date year_month or worse), or the given names agree only
//     through a diminutive of several names with the birth dates in
//     different months and nothing saying which name it is
//     (ambiguousSiblings: Alberto and "Beto", his brother Roberto), or the given name
//     disagrees in a shared household and family with the birth date
//     missing on a side and no identifier agreeing → possible at most,
//     probable if an identifier agrees (exact or one off). Siblings,
//     spouses, parent and child share a household and a family name, never
//     an identifier. One off lifts the cap only when sex does not
//     disagree as well. Only hand-keyed numbers reach one off: an MRN one off
//     is the next registration in its system (a family registering
//     together), no evidence at all (compareIdentifiers).
//   - CapTwins: birth date agrees (exact, transposed or one digit) and the
//     family name agrees at some level (or is missing), but the given names
//     differ, and no identifier agrees (exact or one off) →
//     possible at most when the given names are unalike (level else),
//     probable at most when they are somewhat alike (jw>=0.80: a twin
//     pair, or a badly mistyped name). Twins share birth date, household
//     and family name. Given names that agree only through a diminutive
//     of several names (Jerry: Gerald, Jeremy, Jerome), or only as two
//     diminutives of one name (Willie, Liam: twoDiminutives), with the same
//     birth date and family name → probable at most unless an identifier
//     agrees exactly, the middle names agree in full (middleAgrees), or
//     the pair's sex says which name the diminutive is (Charlie beside
//     Charles, both male, where Charlotte is a woman's name:
//     TermFrequencies.sexResolves):
//     such a diminutive is a given name of its own, and may be a twin's
//     (Bob is only ever Robert, and stays certain).
//   - CapJunior: suffixes conflict (jr vs sr), or the birth dates disagree
//     (level else) with birth years a generation apart (minParentGap, 12,
//     or more) → possible at most, probable if an identifier agrees. Birth
//     years ten or more apart that are one digit off (1955 vs 1985, same
//     day and month: more likely a typo), or ten or eleven apart (too
//     close for a parent) → probable at most. A suffix on one side only
//     with a birth date that is not exact → probable at most. Neither of
//     these two holds a pair whose birth dates are one keying error apart
//     (one digit, transposed) and whose identifiers agree exactly. Juniors
//     share name and household, never an identifier; the suffix is often
//     not recorded.
//   - CapCorroboration: nothing but name and birth date agrees — no
//     identifier agreement (exact or one off) and no address, phone or email
//     agreement → probable at most. A namesake elsewhere, or the same person
//     who moved; a reviewer must decide (the HL7 Identity Matching IG scores
//     name + birth date alone as 0.6).
//   - CapConflict: identifiers of the same type disagree, or sex disagrees →
//     probable at most.
//   - CapWeakAgreement: certain needs the given name exact, a nickname or
//     swapped, the family name at least jw>=0.92 — or changed, with given
//     name, birth date (not 1 January) and sex the same and the contact
//     shared (marriedName) — and the birth date exact, transposed or one digit
//     off — or, with the same given name and the household shared, off in
//     the day alone (daySlip) — unless an identifier agrees exactly →
//     probable at most.
//   - Typos of established names (typoCorroborated): a given or family
//     name alike to the other record's (phonetic, jw>=0.92, jw>=0.80) in a
//     spelling the population's name frequencies call a keying error (one
//     spelling carried by nobody else, the other by others:
//     typoOfEstablished; for a family name at phonetic and jw>=0.92 also
//     one carried by no more than the model's share of misspelt names
//     times the other's, and two spellings nobody else carries; for a
//     given name at phonetic and jw>=0.92 that share only when the middle
//     names agree in full, since such a spelling may be a twin's name of
//     its own (Ashlee, Ashley): Scorer.nameTypos), with
//     the other name exact or such a typo too, the birth date exact,
//     transposed or one digit off in year or month (typoDateAgrees),
//     address or contact agreeing and no sex or identifier conflict, is
//     lifted from CapWeakAgreement and CapTwins. A name joined with a
//     slip (Comparison.JoinedAlike) is never such a typo.
//     Twins share all of that but carry two established names (Kristin,
//     Kristen), so they stay capped; without name frequencies nothing is
//     lifted.

// Cap names the hazard rule that lowered a grade.
type Cap uint8

// Caps; the rules are described at the top of this file.
const (
	CapNone Cap = iota
	CapSiblings
	CapTwins
	CapJunior
	CapCorroboration
	CapConflict
	CapWeakAgreement
)

// String returns the rule's name.
func (c Cap) String() string {
	switch c {
	case CapSiblings:
		return "siblings"
	case CapTwins:
		return "twins"
	case CapJunior:
		return "junior"
	case CapCorroboration:
		return "no_corroboration"
	case CapConflict:
		return "conflict"
	case CapWeakAgreement:
		return "weak_agreement"
	}
	return "none"
}

// applyCaps lowers g by the hazard rules and reports the first rule that
// set the final grade. ev says which names' spellings look like a keying
// error of an established name (typoOfEstablished). The rules run in the
// order of the list at the top of this file: relatives' shapes first
// (familyCaps), then missing or conflicting evidence (evidenceCaps).
func applyCaps(cmp *Comparison, g Grade, ev nameTypos) (Grade, Cap) {
	if g == GradeNone {
		return g, CapNone
	}
	c := capCheck{out: g, f: capFactsOf(cmp, ev)}
	c.familyCaps(cmp)
	c.evidenceCaps(cmp)
	return c.out, c.why
}

// RelativesCap reports the strictest relatives rule (siblings, twins,
// junior; the first of equals) that holds the pair below certain, whatever
// its score. Result.Cap names
// only the rule that lowered the grade: a twins-shaped pair whose score
// was already at probable, or one held first by another rule, shows
// another cap or none. Evidence from outside the pair — a third record
// certain with both (batch.Promote) — may supply what the score lacks,
// but not override a shape of two relatives, so such callers need every
// rule that reads the pair as relatives. cmp is the comparison of a and b.
func (s *Scorer) RelativesCap(cmp *Comparison, a, b *Prepared) Cap {
	c := capCheck{out: GradeCertain, f: capFactsOf(cmp, s.nameTypos(cmp, a, b))}
	c.familyCaps(cmp)
	return c.why
}

// GivenNamesDiffer reports whether a pair's given names are two names:
// not one (exact, nickname, swapped), nor one keyed wrong — an alike
// spelling (phonetic, jw>=0.92, jw>=0.80) that the population's name
// frequencies call a keying error of an established name, as the caps
// read it (typoOfEstablished). Twins carry two established names
// (Kristin, Kristen); one person's slip leaves a spelling nobody, or next
// to nobody, else carries. Without name frequencies every alike spelling
// is two names. A name missing on a side is no difference. cmp is the
// comparison of a and b.
func (s *Scorer) GivenNamesDiffer(cmp *Comparison, a, b *Prepared) bool {
	switch g := cmp.Levels[CompGivenName]; {
	case g == GivenElse:
		return true
	case g >= GivenPhonetic && g <= GivenJW80:
		return !s.nameTypos(cmp, a, b).given
	}
	return false
}

// capFacts are the readings of a comparison the caps share.
type capFacts struct {
	given, fam, birth, id uint8
	givenDiffers          bool
	birthAgrees           bool
	birthDiffers          bool
	familyAgrees          bool // at some level, or missing
	sharesHouse           bool // full address or contact agrees
	// mayShareHouse: the address or contact agrees, an e-mail slip
	// (Comparison.EmailSlip) counted — for the rules that lower a grade
	// when a household is shared, where a slip must not weigh less than
	// the same e-mail exactly; sharesHouse, which lifts caps, leaves the
	// slip out.
	mayShareHouse     bool
	idExact, idAgrees bool
	typos             bool // typoCorroborated
	// middle: an ambiguous diminutive with the middle names agreeing in
	// full (nameTypos.middle).
	middle bool
	// daySlip: the birth dates differ in the day alone, as one person's
	// keyed wrong (daySlip).
	daySlip bool
	// diminutives: two diminutives of one name (twoDiminutives);
	// ambiguous: a diminutive of several names (nameTypos.ambiguous).
	diminutives, ambiguous bool
	// family is the most the relatives' caps allow: possible, probable
	// when an identifier agrees (relatives never share one). A
	// hand-keyed number one digit off is weak agreement: it lifts them
	// only when sex does not disagree too (sex, given name and birth date
	// all different outweigh any household agreement).
	family Grade
}

func capFactsOf(cmp *Comparison, ev nameTypos) capFacts {
	lv := &cmp.Levels
	f := capFacts{given: lv[CompGivenName], fam: lv[CompFamilyName], birth: lv[CompBirthDate], id: lv[CompIdentifier]}
	// A name joined with a slip ("zhi wei", "zhiwen") is as often two
	// siblings' names sharing a generation syllable as one name keyed
	// wrong (Comparison.JoinedAlike): the relatives' rules read it as
	// given names that differ.
	f.givenDiffers = f.given == GivenJW80 || f.given == GivenElse || cmp.JoinedAlike
	f.birthAgrees = f.birth == BirthExact || f.birth == BirthTransposed || f.birth == BirthOneDigit
	f.birthDiffers = f.birth == BirthYearMonth || f.birth == BirthYearNear || f.birth == BirthElse
	// Twins share a family name; with the family names unrelated too
	// (different, or only crossed into the other field) the pair is not
	// twin-shaped, and the score alone decides.
	f.familyAgrees = f.fam != FamilyElse && f.fam != FamilyCrossed
	f.sharesHouse = cmp.SharesHousehold()
	f.mayShareHouse = lv[CompHousehold] <= HouseContact // the slip counted: never below sharesHouse
	// An identifier of unknown kind may be a whole family's (an
	// insurance member number): agreeing on it lifts nothing.
	f.idExact = f.id == IDExact && !cmp.UntypedIDOnly
	f.idAgrees = f.idExact || f.id == IDOneOff
	f.typos = typoCorroborated(cmp, ev)
	f.middle = ev.middle
	f.diminutives = ev.diminutives
	f.ambiguous = ev.ambiguous
	f.daySlip = daySlip(cmp, &f, ev)
	f.family = GradePossible
	if f.idExact || (f.id == IDOneOff && lv[CompSex] != SexDisagree) {
		f.family = GradeProbable
	}
	return f
}

// ambiguousSiblings reports given names that agree only through a
// diminutive of several names (Beto: Alberto, Roberto, Humberto; Jerry:
// Gerald, Jeremy, Jerome) beside birth dates in different months: the
// shape of two brothers, Alberto and "Beto" (Roberto), as much as of one
// person — a nickname says nothing about which name it stands for, and
// siblings are born months apart. A middle name agreeing in full on a
// rare one (middleTells) or an identifier agreeing exactly says which;
// and birth dates of one year and month (year_month) are one person's day
// keyed wrong, since no siblings but twins are born in one month.
func ambiguousSiblings(f *capFacts) bool {
	return f.given == GivenNickname && f.ambiguous && !f.middle && !f.idExact &&
		(f.birth == BirthYearNear || f.birth == BirthElse)
}

// capCheck is the grade as the rules lower it, and the rule that set it.
type capCheck struct {
	out Grade
	why Cap
	f   capFacts
}

// limit lowers the grade to max, naming c, when it is above it.
func (c *capCheck) limit(max Grade, why Cap) {
	if c.out > max {
		c.out, c.why = max, why
	}
}

// familyCaps are the rules for relatives' shapes: siblings, twins, juniors.
func (c *capCheck) familyCaps(cmp *Comparison) {
	f := &c.f
	if (f.givenDiffers || ambiguousSiblings(f)) && f.birthDiffers {
		c.limit(f.family, CapSiblings)
	}
	// A different given name in a shared household and family, with the
	// birth date unknown on a side and no identifier agreeing, is the
	// siblings' signature with the one field that could tell them apart
	// missing: nothing but household agreement says "same person", and no
	// pile of it may outweigh a different given name (MATCHING-NOTES). An
	// agreeing identifier is evidence relatives never share: the score
	// decides then.
	if f.givenDiffers && f.birth == BirthMissing && f.familyAgrees && f.mayShareHouse && !f.idAgrees {
		c.limit(GradePossible, CapSiblings)
	}
	if f.givenDiffers && f.birthAgrees && f.familyAgrees && !f.idAgrees && !f.typos {
		if f.given == GivenElse {
			c.limit(GradePossible, CapTwins)
		} else {
			c.limit(GradeProbable, CapTwins)
		}
	}
	// A diminutive of several names (Jerry: Gerald, Jeremy, Jerome) is a
	// given name of its own too, and may be a twin's — unless the pair's
	// sex says which name it is (Charlie beside Charles, both male:
	// sexResolves). So are two diminutives of one name (Willie, Liam:
	// twins may each be given one). With the twins' signature either is
	// not enough for certain without an identifier, or a middle name
	// agreeing in full that the population gives rarely (middleTells):
	// twins are often given middle names of their own, but not always.
	if f.given == GivenNickname && (f.ambiguous || f.diminutives) && f.birthAgrees && f.familyAgrees && !f.idExact && !f.middle {
		c.limit(GradeProbable, CapTwins)
	}
	farApart := cmp.YearsApart >= 10
	generations := cmp.YearsApart >= minParentGap
	if cmp.Suffix == SuffixConflict || (generations && f.birth == BirthElse) {
		c.limit(f.family, CapJunior)
	}
	// A birth date one keying error away (one digit, or day and month
	// swapped) is the junior's shape only by the decades or the suffix it
	// leaves; an identifier agreeing exactly, which a junior and his
	// father never share, says the date was mistyped. Dates different in
	// day or month too (else) are not one keying error and stay held.
	dateTypo := f.birth == BirthOneDigit || f.birth == BirthTransposed
	if ((farApart && (f.birth != BirthElse || !generations)) || (cmp.Suffix == SuffixOneSided && f.birth != BirthExact)) &&
		!(f.idExact && dateTypo) {
		c.limit(GradeProbable, CapJunior)
	}
}

// evidenceCaps are the rules for evidence that is missing or conflicts:
// no corroboration, a conflict, agreement too weak for certain.
func (c *capCheck) evidenceCaps(cmp *Comparison) {
	f := &c.f
	if !f.idAgrees && !f.sharesHouse {
		c.limit(GradeProbable, CapCorroboration)
	}
	if cmp.Conflicts() {
		c.limit(GradeProbable, CapConflict)
	}
	if !f.idExact {
		strongGiven := f.given == GivenExact || f.given == GivenNickname || f.given == GivenSwapped
		strongFamily := f.fam <= FamilyJW92 || marriedName(cmp, f)
		if (!strongGiven || !strongFamily || !(f.birthAgrees || f.daySlip)) && !f.typos {
			c.limit(GradeProbable, CapWeakAgreement)
		}
	}
}

// marriedName reports a family name changed (level else) with the given
// name, birth date and sex the same, the contact (phone or e-mail, with or
// without the address) still shared and no identifier conflicting: the
// shape of a name taken at marriage. No relative has it — twins and
// siblings differ in given name or birth date, a parent in birth date —
// and a namesake elsewhere shares no contact, so the family name alone
// does not hold such a pair below certain.
//
// The address alone is not enough: a married name changes with the
// address while phone and e-mail stay (MATCHING-NOTES.md), and an address
// is shared by strangers too — a shelter, a care home, a hostel. Nor is a
// birth date of 1 January (Comparison.JanuaryFirst): it is the date
// recorded for many immigrants whose birthday is unknown, so two women
// Maria born "1 January 1990" agree on it by convention, not by fact.
func marriedName(cmp *Comparison, f *capFacts) bool {
	house := cmp.capsHousehold()
	contact := house == HouseContact || house == HouseAddressContact
	return f.fam == FamilyElse && f.given == GivenExact && f.birth == BirthExact && !cmp.JanuaryFirst &&
		cmp.Levels[CompSex] == SexAgree && contact && f.id != IDDisagree && !cmp.IDConflict
}

// daySlip reports birth dates of the same year and month that differ in
// the day beyond one keying error (year_month: 14 and 27), on records with
// the same given name that share the address or the contact. No relative
// has that shape: twins, the only relatives born in one month, are given
// names of their own, and a namesake elsewhere shares no household. It is
// one person's day keyed wrong, and does not hold the pair below certain
// (CapWeakAgreement) — unless either date is 1 January (the date recorded
// for an unknown birthday, Comparison.JanuaryFirst), or the middle names
// disagree: twins mixed up in one record (both recorded as Robert, one
// Robert Peter, one Robert Jason) are told apart by them
// (middleDiffers).
func daySlip(cmp *Comparison, f *capFacts, ev nameTypos) bool {
	return f.birth == BirthYearMonth && f.given == GivenExact && f.sharesHouse && !cmp.JanuaryFirst && !ev.middleDiffers
}

// middleDiffers reports whether both records carry a middle name and the
// first ones disagree: different names, or an initial that is not the
// other's first letter. A stand-in or "nmn" counts as none.
func middleDiffers(a, b *Prepared) bool {
	fa, fb := a.middle1, b.middle1
	if noMiddle(fa) || noMiddle(fb) || fa == fb {
		return false
	}
	if utf8.RuneCountInString(fa) == 1 || utf8.RuneCountInString(fb) == 1 {
		ra, _ := utf8.DecodeRuneInString(fa)
		rb, _ := utf8.DecodeRuneInString(fb)
		return ra != rb
	}
	return true
}

// noMiddle reports a first middle name that says nothing: empty, "nmn"
// (noMiddleName) or a stand-in.
func noMiddle(m string) bool {
	return m == "" || m == noMiddleName || record.IsPlaceholderName(m)
}

// minParentGap is the fewest years between the births of a parent and a
// child the junior rule reads as a generation: no one is a father at ten or
// eleven. Birth years ten or eleven apart with the dates otherwise
// different are a decade keyed wrong (1985 for 1975) beside another slip,
// not a junior and his father, and are held at probable, not possible.
const minParentGap = 12

// nameTypos says, for the given and the family name, whether the two
// records' spellings look like a keying error of an established name
// (typoOfEstablished), from the population's name frequencies; and what
// else about the names the caps read beside a pair's own levels.
//
// middle is set for a pair whose given names agree only through an
// ambiguous diminutive when their middle names agree in full on a rare
// one (middleTells); middleDiffers for a pair with the same given name and
// birth dates different in the day alone when their middle names
// disagree (daySlip); diminutives when the given names agree as
// nicknames with neither the formal name (twoDiminutives); ambiguous
// when they agree through a diminutive of several names
// (Comparison.AmbiguousNickname) that the pair's sex does not resolve
// (TermFrequencies.sexResolves).
type nameTypos struct{ given, family, middle, middleDiffers, diminutives, ambiguous bool }

// nameTypos reads the name frequencies of a pair for the caps. A family
// name is shared by a household — twins, siblings and parents carry one
// spelling between them — so two alike spellings of it that no other
// record carries (unshared) are one person's name keyed two ways too: a
// relative would have made one of them established. Given names get no
// such rule: twins may carry two rare alike names.
//
// A rarer family-name spelling carried by several records counts as a
// slip (the slip share of typoOfEstablished) only at the levels where the
// two spellings are one name misspelt — phonetic, jw>=0.92 — not at
// jw>=0.80, which two names of their own reach as often: that one
// spelling is rarer than the other says nothing there, and only a
// spelling nobody else carries counts. A given name gets no slip share at
// any level unless the middle names agree in full: a rarer spelling
// others carry too is as often a name of its own (Ashlee beside Ashley,
// Jazmine beside Jasmine, Micheal beside Michael, each a few per cent of
// the common one's carriers), and twins with such names share birth date,
// household and family name, so the counts cannot tell them apart. What
// can is what is the person's own and not the household's: an identifier
// agreeing exactly (which lifts the caps without this rule), or the same
// middle name spelt out on both records when the population gives it
// rarely (middleTells) — twins are often given middle names of their own,
// but a common one (Thi, Marie, Lee) may be both twins'. So at phonetic and jw>=0.92 a given name gets
// the slip share, the model's share of misspelt given names, beside
// middle names that agree; otherwise, and at jw>=0.80 (Robert, Roger),
// only a spelling nobody else carries counts. A family-name slip leaves the
// given names agreeing exactly, which twins never do.
func (s *Scorer) nameTypos(cmp *Comparison, a, b *Prepared) nameTypos {
	// Only the alike levels read the frequencies (typoCorroborated): the
	// scorer's hot path skips them for every other pair.
	var ev nameTypos
	lv := &cmp.Levels
	switch g := lv[CompGivenName]; {
	case cmp.JoinedAlike:
		// Never a slip of an established name: "zhi" is common and
		// "zhiwen" unique, yet twins Zhi Wei and Zhiwen are two people.
	case g >= GivenPhonetic && g <= GivenJW80:
		slip := 0.0
		if (g == GivenPhonetic || g == GivenJW92) && s.middleTells(a, b) {
			slip = s.givenSlip
		}
		ev.given = s.terms.typoOfEstablished(a.GivenTF, b.GivenTF, slip, a.givenCarriers, b.givenCarriers)
	case g == GivenNickname:
		ev.diminutives = twoDiminutives(a, b)
		ev.ambiguous = cmp.AmbiguousNickname && !s.terms.sexResolves(a, b, s.model.Comparisons[CompSex].Levels[SexDisagree].M)
		if ev.ambiguous || ev.diminutives {
			ev.middle = s.middleTells(a, b)
		}
	case g == GivenExact && lv[CompBirthDate] == BirthYearMonth:
		ev.middleDiffers = middleDiffers(a, b)
	}
	if f := lv[CompFamilyName]; f >= FamilyPhonetic && f <= FamilyJW80 {
		slip := 0.0
		if f == FamilyPhonetic || f == FamilyJW92 {
			slip = s.familySlip
		}
		ev.family = s.terms.typoOfEstablished(a.FamilyTF, b.FamilyTF, slip, a.familyCarriers, b.familyCarriers) ||
			s.terms.unshared(a.FamilyTF, b.FamilyTF, a.familyCarriers, b.familyCarriers)
	}
	return ev
}

// twoDiminutives reports whether two given names that agree as nicknames
// do so only as two diminutives of a third name (Willie and Liam, both of
// William), neither being the formal name of a group they share. Bob is
// only ever Robert, so Bob beside Robert is one person's two names; Willie
// beside Liam may be twins each given a form of William.
func twoDiminutives(a, b *Prepared) bool {
	t := defaultNicknames()
	for _, x := range a.givenNick {
		if x == 0 {
			break
		}
		for _, y := range b.givenNick {
			if y == 0 {
				break
			}
			if x == y && (t.formal[x-1] == a.given || t.formal[x-1] == b.given) {
				return false
			}
		}
	}
	return true
}

// middleAgrees reports whether two records carry the same middle names,
// spelt out in full (not an initial, not a stand-in such as "nmn", no
// middle name). Beside given names that are alike it may tell one
// person's slip (William, Wiliam) from twins' two names (Ashley, Ashlee)
// when no identifier does — if it is a rare one (middleTells). An initial
// agrees by chance too often to say so.
func middleAgrees(a, b *Prepared) bool {
	ma, mb := a.Rec.Middle, b.Rec.Middle
	if ma != mb {
		return false
	}
	_, ok := spelledMiddle(a)
	return ok
}

// middleTells reports whether a and b agree on a middle name
// (middleAgrees) that tells one person from twins: one the population
// gives at most as often as the rarer of the two given names
// (TermFrequencies.rareMiddle). Many twins are not given
// middle names of their own — a family name as middle name, Vietnamese
// Thi and Van, Marie, Ann, Lee — and such a name, carried by a few per
// cent of the records with one, is as likely a twin's as the rarer given
// name it would override (Ashlee, a fraction of a per cent): the shared
// middle name must be at least as rare as the evidence it outweighs. The
// bar comes from the same table as the names, not from a constant.
func (s *Scorer) middleTells(a, b *Prepared) bool {
	if !middleAgrees(a, b) {
		return false
	}
	m, _ := spelledMiddle(a)
	return s.terms.rareMiddle(m, a, b)
}

// noMiddleName is what US registries record when a person has none
// ("NMN", no middle name): two records agreeing on it agree on nothing.
const noMiddleName = "nmn"

// typoCorroborated reports whether a pair whose only differences are
// keying errors in the names agrees on everything else a household shares:
// each name exact, or alike (phonetic, jw>=0.92, jw>=0.80) with a spelling
// the name frequencies call a typo of an established name; birth date
// exact or one slip away but for the day (typoDateAgrees); the household's
// address or contact (or both) agree; sex and
// identifiers do not conflict. Twins share all of that but carry two
// established given names (Kristin, Kristen), so they do not pass: the
// name frequencies guard against twins, the household only against a
// stranger born the same day with an alike name. Address or contact
// rather than both, because twins share both: demanding both would not
// stop a twin, and it holds back the duplicate who moved or changed phone.
func typoCorroborated(cmp *Comparison, ev nameTypos) bool {
	lv := &cmp.Levels
	alike := func(l uint8, exact, lo, hi uint8, typo bool) (ok, typoed bool) {
		if l == exact {
			return true, false
		}
		return typo && l >= lo && l <= hi, true
	}
	givenOK, givenTypo := alike(lv[CompGivenName], GivenExact, GivenPhonetic, GivenJW80, ev.given)
	familyOK, familyTypo := alike(lv[CompFamilyName], FamilyExact, FamilyPhonetic, FamilyJW80, ev.family)
	return givenOK && familyOK && (givenTypo || familyTypo) && typoDateAgrees(cmp) &&
		cmp.capsHousehold() <= HouseContact && lv[CompSex] != SexDisagree && lv[CompIdentifier] != IDDisagree && !cmp.IDConflict
}

// typoDateAgrees reports whether the birth dates of a pair whose names
// carry a slip agree as one person's would: exactly, with day and month
// swapped, or one digit off in the year or the month. Twins share a birth
// date, or — born either side of midnight — differ in the day alone, so
// a date one digit off in the day stays a reviewer's pair.
func typoDateAgrees(cmp *Comparison) bool {
	switch cmp.Levels[CompBirthDate] {
	case BirthExact, BirthTransposed:
		return true
	case BirthOneDigit:
		return cmp.MonthOrYearDiffers
	}
	return false
}
