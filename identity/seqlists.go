package identity

// seqLists holds many short lists of event sequence numbers (the kept
// history of each patient and each identity) as chains through one
// pointer-free slice. A slice or a map entry per list was a heap object
// each (~150,000 at 1M patients) for the garbage collector to mark on
// every cycle; here there is one, and a list is two numbers.
type seqLists struct {
	nodes []seqNode
	// free is the number+1 of the first node of the chain of freed
	// nodes, reused before the slice grows.
	free uint32
}

// seqNode is one entry of a list; next is the number+1 of the following
// node (0 ends the list).
type seqNode struct {
	seq  uint64
	next uint32
}

// seqList is a list of a seqLists: the number+1 of its first and last
// nodes (0 when empty).
type seqList struct{ head, tail uint32 }

// add appends seq to l.
func (s *seqLists) add(l *seqList, seq uint64) {
	n := s.free
	if n != 0 {
		s.free = s.nodes[n-1].next
		s.nodes[n-1] = seqNode{seq: seq}
	} else {
		s.nodes = append(s.nodes, seqNode{seq: seq})
		n = uint32(len(s.nodes))
	}
	if l.tail == 0 {
		l.head = n
	} else {
		s.nodes[l.tail-1].next = n
	}
	l.tail = n
}

// list returns the entries of l in the order they were added (nil when
// none).
func (s *seqLists) list(l seqList) []uint64 {
	var out []uint64
	for n := l.head; n != 0; n = s.nodes[n-1].next {
		out = append(out, s.nodes[n-1].seq)
	}
	return out
}

// drop empties l, freeing its nodes for reuse.
func (s *seqLists) drop(l *seqList) {
	if l.head == 0 {
		return
	}
	s.nodes[l.tail-1].next = s.free
	s.free = l.head
	*l = seqList{}
}
