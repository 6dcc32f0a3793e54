package identity

import "unsafe"

// strTable holds many strings (a million patient ids, a million identity
// ids) in a few large pointer-free chunks, each string found by its
// number. As one Go string each they were a million small heap objects
// for the garbage collector to find and mark on every cycle, and a
// million pointers in the slices holding them; here they are a handful
// of objects and a slice of numbers.
//
// A string get returns points into a chunk: chunks are never written
// below their length and never moved, so it stays valid and unchanged
// for as long as it is held, like any Go string.
type strTable struct {
	chunks [][]byte
	refs   []strRef
}

// strRef locates string number i of a strTable.
type strRef struct{ chunk, off, n uint32 }

// strChunk is the size of a chunk: big enough that chunks are few, small
// enough that the unused tail of the last one does not matter.
const strChunk = 1 << 20

// add stores v as the next string and returns its number.
func (t *strTable) add(v string) uint32 {
	c := len(t.chunks) - 1
	if c < 0 || cap(t.chunks[c])-len(t.chunks[c]) < len(v) {
		t.chunks = append(t.chunks, make([]byte, 0, max(strChunk, len(v))))
		c++
	}
	off := len(t.chunks[c])
	t.chunks[c] = append(t.chunks[c], v...)
	t.refs = append(t.refs, strRef{chunk: uint32(c), off: uint32(off), n: uint32(len(v))})
	return uint32(len(t.refs) - 1)
}

// get returns string number i.
func (t *strTable) get(i uint32) string {
	r := t.refs[i]
	if r.n == 0 {
		return ""
	}
	return unsafe.String(&t.chunks[r.chunk][r.off], r.n)
}
