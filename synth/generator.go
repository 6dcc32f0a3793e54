package synth

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// maxHousehold bounds the people of one household (two adults, four
// children, one of them a twin pair); g.people is allocated with this
// capacity so pointers into it stay valid while a household is built.
const maxHousehold = 16

// shuffleWindow is how many records wait in the shuffle buffer. Records leave
// it in random order, so for N up to the window the file order is a uniform
// shuffle, and beyond it an entity's records are spread over about this many
// rows: row order says nothing useful about entities, and memory stays
// bounded (~30 MB) whatever N is.
const shuffleWindow = 1 << 16

// Generator produces one synthetic data set. It is not safe for concurrent
// use; create one per goroutine.
type Generator struct {
	opts   Options
	t      *tables
	window int // shuffle window; shuffleWindow except in tests

	// Per-run state, reset by Each.
	people   []person
	entities int // entities created so far (the last entity id)
	records  uint64
	idKey    uint64
	mrnSeq   uint64
	ssnSeq   uint64
	dlSeq    uint64
	ppSeq    uint64
	// memberSeq counts the insured profile's plans (insure).
	memberSeq uint64
	// emails holds a hash of every address handed out: a mail provider
	// gives each account its own, so two people named Patricia born in
	// 2006 cannot both be patricia2006@gmail.com (families share one
	// by copying it, not through setEmail).
	emails map[uint64]struct{}
	// ring holds earlier people that the registry profile's namesakes copy.
	ring []namesake
	// comms are the world profile's communities (nil in the others), comm
	// the current household's (nil: named from the US tables).
	comms []*community
	comm  *community
}

// New returns a Generator for opts.
func New(opts Options) (*Generator, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	t, err := loadTables()
	if err != nil {
		return nil, err
	}
	g := &Generator{opts: opts, t: t, window: shuffleWindow}
	if opts.Profile.is(ProfileWorld) {
		if g.comms, err = worldCommunities(); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// Stats summarises a run.
type Stats struct {
	Records    int
	Entities   int // people with at least one record written
	Households int
}

// Each generates the data set and calls fn with every record, in output
// (shuffled) order. The Row passed to fn is reused after fn returns. Each
// stops at the first error from fn or ctx.
func (g *Generator) Each(ctx context.Context, fn func(*Row) error) (Stats, error) {
	var st Stats
	r := rand.New(rand.NewPCG(g.opts.Seed, 0x9a7e47a7c4))
	shuf := rand.New(rand.NewPCG(g.opts.Seed, 0x5_4ff1e))
	g.people = make([]person, 0, maxHousehold)
	g.entities, g.records = 0, 0
	g.idKey = splitmix(g.opts.Seed ^ 0x1d)
	g.mrnSeq, g.ssnSeq, g.dlSeq, g.ppSeq, g.memberSeq = 0, 0, 0, 0, 0
	g.emails = map[uint64]struct{}{}
	g.ring = g.ring[:0]

	window := min(g.window, g.opts.N)
	buf := make([]Row, 0, window)
	var out Row
	emit := func(row *Row) error {
		if len(buf) < window {
			buf = append(buf, *row)
			return nil
		}
		i := shuf.IntN(window)
		out, buf[i] = buf[i], *row
		st.Records++
		return fn(&out)
	}
	lastEntity := 0
	var row Row
	for hh := 1; int(g.records) < g.opts.N; hh++ {
		if hh%256 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		st.Households++
		g.household(r, hh)
		g.namesakes(r)
		g.insure(r)
		for i := range g.people {
			p := &g.people[i]
			extra := 0
			if r.Float64() < g.opts.DupRate {
				extra = g.extraRecords(r)
			}
			for k := 0; k <= extra && int(g.records) < g.opts.N; k++ {
				g.render(r, p, k > 0, &row)
				if p.entity != lastEntity {
					st.Entities++
					lastEntity = p.entity
				}
				if err := emit(&row); err != nil {
					return st, err
				}
			}
		}
	}
	// Drain the window in random order.
	shuf.Shuffle(len(buf), func(i, j int) { buf[i], buf[j] = buf[j], buf[i] })
	for i := range buf {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		st.Records++
		if err := fn(&buf[i]); err != nil {
			return st, err
		}
	}
	return st, nil
}

// nextID returns an opaque record id: "p" and eight base-36 digits of a keyed
// permutation of the record counter, so ids are unique, fixed-width and say
// nothing about generation order.
func (g *Generator) nextID() string {
	g.records++
	x := permute(g.records, 40, g.idKey)
	s := strconv.FormatUint(x, 36)
	const pad = "00000000"
	return "p" + pad[:8-len(s)] + s
}

// permute is a keyed bijection on [0, 2^bits): xor-shift and odd-multiplier
// rounds, each invertible modulo 2^bits.
func permute(x uint64, bits uint, key uint64) uint64 {
	mask := uint64(1)<<bits - 1
	x &= mask
	for i := range 3 {
		x = (x + key>>(i*8)) & mask
		x = (x * 0x9e3779b97f4a7c15) & mask
		x ^= x >> (bits/2 + 1)
	}
	return x
}

// permuteBelow is a keyed bijection on [0, n), by cycle-walking permute.
func permuteBelow(x, n uint64, key uint64) uint64 {
	bits := uint(1)
	for uint64(1)<<bits < n {
		bits++
	}
	for x = permute(x, bits, key); x >= n; x = permute(x, bits, key) {
	}
	return x
}

// mrn returns a fresh, unique medical record number (9 digits), as the
// profile issues them (mrnFor).
func (g *Generator) mrn() string { return g.mrnFor() }

// ssn returns a fresh, unique SSN-shaped 9-digit string: area 001–899 except
// 666, group 01–99, serial 0001–9999.
func (g *Generator) ssn() string {
	g.ssnSeq++
	const groups, serials = 99, 9999
	x := permuteBelow(g.ssnSeq, 898*groups*serials, g.idKey^0x55)
	area := 1 + x/(groups*serials)
	if area >= 666 {
		area++
	}
	x %= groups * serials
	return fmt.Sprintf("%03d%02d%04d", area, 1+x/serials, 1+x%serials)
}

func (g *Generator) driversLicense(r *rand.Rand) string {
	g.dlSeq++
	return fmt.Sprintf("%c%08d", 'A'+r.IntN(26), permuteBelow(g.dlSeq, 100_000_000, g.idKey^0xd1))
}

func (g *Generator) passport() string {
	g.ppSeq++
	return fmt.Sprintf("%09d", permuteBelow(g.ppSeq, 900_000_000, g.idKey^0x9a)+100_000_000)
}
