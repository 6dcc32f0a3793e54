package matcher

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"

	"github.com/patientmatch/patientmatch/scoring"
)

// table holds the prepared form of every live patient, so that scoring a
// candidate never touches the disk, packed (scoring.Prepared.AppendPacked)
// into large byte slabs and found through a map of id hashes: nothing in
// it holds a pointer, so the garbage collector neither scans nor marks a
// million patients in every cycle. A map of *scoring.Prepared took ~1.2 KB
// and ~40 pointers a patient; marking it took a core for a second or more
// per GC cycle and held up the answers in flight (bench/README, "Hot
// path"). Unpacking a candidate costs well under a microsecond.
//
// Slabs are append-only: a record's bytes never change once written (an
// update appends a new copy), so a Prepared unpacked from them stays valid
// after the table changes. The bytes of replaced and deleted records are
// reclaimed by compact, once they outweigh the live ones.
//
// It is not safe for concurrent use: Engine.mu guards it.
type table struct {
	seed  maphash.Seed
	slabs [][]byte
	// refs maps the hash of an id to its record (ref); ids whose hash
	// another id already holds are in collided, by id.
	refs     map[uint64]ref
	collided map[string]ref
	live     int64 // bytes of live records
	dead     int64 // bytes of replaced or deleted records
	// slabSize is the capacity of a new slab (tests make it small).
	slabSize int
	// testHash, when set, replaces the id hash (tests force collisions).
	testHash func(string) uint64
}

// ref locates a packed record: slab index and offset of its length prefix.
type ref uint64

func makeRef(slab, off int) ref   { return ref(uint64(slab)<<32 | uint64(off)) }
func (r ref) at() (slab, off int) { return int(r >> 32), int(uint32(r)) }

func (t *table) hash(id string) uint64 {
	if t.testHash != nil {
		return t.testHash(id)
	}
	return maphash.String(t.seed, id)
}

// defaultSlabSize is the capacity of a slab: large enough that a million
// patients take a few hundred allocations, small enough that growing the
// table never holds much unused memory.
const defaultSlabSize = 16 << 20

func newTable(n int) *table {
	return &table{seed: maphash.MakeSeed(), refs: make(map[uint64]ref, n), slabSize: defaultSlabSize}
}

// bytes returns the packed record at r.
func (t *table) bytes(r ref) []byte {
	s, off := r.at()
	b := t.slabs[s][off:]
	n, k := binary.Uvarint(b)
	return b[k : k+int(n)]
}

// find returns the ref of id.
func (t *table) find(id string) (ref, bool) {
	r, ok := t.refs[t.hash(id)]
	if ok {
		if got, err := scoring.PackedID(t.bytes(r)); err == nil && got == id {
			return r, true
		}
	}
	if len(t.collided) > 0 {
		r, ok = t.collided[id]
		return r, ok
	}
	return 0, false
}

// noRef is the ref of an absent id in findAll's answer.
const noRef = ^ref(0)

// findAll sets refs[i] to the ref of ids[i], noRef when absent. It works
// in two passes over the batch, the map probes first and then the check
// of each record's id, so that the cache misses of one candidate overlap
// those of the next instead of being paid one after another: at a
// million patients the map and the slabs are far larger than the caches,
// and each probe and each first touch of a record is a trip to memory.
func (t *table) findAll(ids []string, refs []ref) {
	for i, id := range ids {
		r, ok := t.refs[t.hash(id)]
		if !ok {
			r = noRef
		}
		refs[i] = r
	}
	for i, id := range ids {
		if r := refs[i]; r != noRef {
			if got, err := scoring.PackedID(t.bytes(r)); err == nil && got == id {
				continue
			}
		}
		refs[i] = noRef
		if r, ok := t.collided[id]; ok {
			refs[i] = r
		}
	}
}

// unpack unpacks the record at r into p (see get).
func (t *table) unpack(r ref, p *scoring.Prepared) error {
	if err := scoring.UnpackPrepared(p, t.bytes(r)); err != nil {
		return fmt.Errorf("matcher: table record at %x: %w", uint64(r), err)
	}
	return nil
}

// unpackHash unpacks into p the record whose id hashes to h, the key
// IdentifierCarriers knows it by (an id whose hash collided with
// another's, a chance of about 3·10^-8 at a million patients, is taken
// for the one holding the hash: only a set-aside's judgement can be off). It
// reports false when there is none.
func (t *table) unpackHash(h uint64, p *scoring.Prepared) bool {
	r, ok := t.refs[h]
	return ok && scoring.UnpackPrepared(p, t.bytes(r)) == nil
}

// has reports whether id is in the table.
func (t *table) has(id string) bool {
	_, ok := t.find(id)
	return ok
}

// get unpacks the record of id into p (see scoring.UnpackPrepared: p's
// strings alias the table's slabs, and p's slices are reused).
func (t *table) get(id string, p *scoring.Prepared) (bool, error) {
	r, ok := t.find(id)
	if !ok {
		return false, nil
	}
	if err := scoring.UnpackPrepared(p, t.bytes(r)); err != nil {
		return false, fmt.Errorf("matcher: table record of %q: %w", id, err)
	}
	return true, nil
}

// put stores p under id, replacing any previous record. The packed
// record carries its id (find checks it), so p.Rec.ID is taken to be id.
func (t *table) put(id string, p *scoring.Prepared, buf []byte) []byte {
	if p.Rec.ID != id {
		q := *p
		q.Rec.ID = id
		p = &q
	}
	buf = p.AppendPacked(buf[:0])
	t.putPacked(id, buf)
	return buf
}

// append copies the packed record b into a slab and returns its ref.
func (t *table) append(b []byte) ref {
	need := binary.MaxVarintLen64 + len(b)
	last := len(t.slabs) - 1
	if last < 0 || cap(t.slabs[last])-len(t.slabs[last]) < need {
		t.slabs = append(t.slabs, make([]byte, 0, max(t.slabSize, need)))
		last++
	}
	s := t.slabs[last]
	off := len(s)
	s = binary.AppendUvarint(s, uint64(len(b)))
	t.slabs[last] = append(s, b...)
	t.live += int64(len(b))
	return makeRef(last, off)
}

// putPacked stores the packed record b of id.
func (t *table) putPacked(id string, b []byte) {
	t.remove(id)
	r := t.append(b)
	h := t.hash(id)
	if _, taken := t.refs[h]; taken {
		if t.collided == nil {
			t.collided = map[string]ref{}
		}
		t.collided[id] = r
	} else {
		t.refs[h] = r
	}
	t.maybeCompact()
}

// remove forgets id; its bytes count as dead until compact.
func (t *table) remove(id string) {
	h := t.hash(id)
	if r, ok := t.refs[h]; ok {
		if got, err := scoring.PackedID(t.bytes(r)); err == nil && got == id {
			t.kill(r)
			delete(t.refs, h)
			// An id whose hash collided with this one can have the place.
			for cid, cr := range t.collided {
				if t.hash(cid) == h {
					t.refs[h] = cr
					delete(t.collided, cid)
					break
				}
			}
			return
		}
	}
	if r, ok := t.collided[id]; ok {
		t.kill(r)
		delete(t.collided, id)
	}
}

func (t *table) kill(r ref) {
	n := int64(len(t.bytes(r)))
	t.live -= n
	t.dead += n
}

// len is the number of records.
func (t *table) len() int { return len(t.refs) + len(t.collided) }

// each calls fn with the packed bytes of every record.
func (t *table) each(fn func(b []byte)) {
	for _, r := range t.refs {
		fn(t.bytes(r))
	}
	for _, r := range t.collided {
		fn(t.bytes(r))
	}
}

// maybeCompact copies the live records into new slabs once dead bytes
// outweigh the live ones (and a slab's worth): updates and deletes cannot
// grow the table without bound.
func (t *table) maybeCompact() {
	if t.dead < int64(t.slabSize) || t.dead < t.live {
		return
	}
	old := t.slabs
	oldRef := func(r ref) []byte {
		s, off := r.at()
		b := old[s][off:]
		n, k := binary.Uvarint(b)
		return b[k : k+int(n)]
	}
	t.slabs, t.live, t.dead = nil, 0, 0
	for h, r := range t.refs {
		t.refs[h] = t.append(oldRef(r))
	}
	for id, r := range t.collided {
		t.collided[id] = t.append(oldRef(r))
	}
}
