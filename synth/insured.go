package synth

import (
	"fmt"
	"math/rand/v2"
)

// Rates of the insured profile, rough figures for a US registry.
const (
	// uninsuredShare is the share of households without a plan on record.
	uninsuredShare = 0.15
	// payers is how many insurers cover the profile's households; the odd
	// ones give each person of a family the subscriber's number with a
	// person suffix ("-01", "-02"), the even ones the number alone.
	payers = 6
	// memberCaptured is the share of records that carry the member number
	// of a person who has one.
	memberCaptured = 0.75
)

// insure, in the insured profile, gives the household's people the member
// number of one plan (most households), as its payer numbers them: the
// subscriber's number for everyone, or that number and a person suffix.
// A whole family sharing one value is what makes such a number unlike an
// MRN: its agreement says "same household", not "same person".
func (g *Generator) insure(r *rand.Rand) {
	if !g.opts.Profile.is(ProfileInsured) || len(g.people) == 0 || r.Float64() < uninsuredShare {
		return
	}
	payer := 1 + r.IntN(payers)
	g.memberSeq++
	subscriber := fmt.Sprintf("%c%09d", 'A'+byte(payer), permuteBelow(g.memberSeq, 1_000_000_000, g.idKey^0x4d))
	system := fmt.Sprintf("urn:patientmatch:payer:%d", payer)
	for i := range g.people {
		p := &g.people[i]
		p.member, p.memberSystem = subscriber, system
		if payer%2 == 1 {
			p.member = fmt.Sprintf("%s-%02d", subscriber, i+1)
		}
	}
}

// captureMember leaves the member number off a share of records: not every
// visit records the insurance card.
func captureMember(r *rand.Rand, v *view) {
	if v.member != "" && r.Float64() >= memberCaptured {
		v.member = ""
	}
}
