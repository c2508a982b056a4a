// Package freelist keeps a few large byte buffers for reuse.
//
// On the VMs sbx-mcp is measured on, a freshly allocated megabyte costs
// more than most work done in it: page faults, and the runtime's scavenger
// handing freed memory back to the kernel (madvise, TLB shootdowns). A
// List, unlike a sync.Pool, survives garbage collections, which large
// messages make frequent.
package freelist

// List holds at most a fixed number of buffers of at most a fixed
// capacity. It is safe for concurrent use.
type List struct {
	c   chan []byte
	max int
}

// New returns a List of at most n buffers of capacity at most max.
func New(n, max int) *List {
	return &List{c: make(chan []byte, n), max: max}
}

// Get returns an empty buffer: a kept one, or nil when there is none.
func (l *List) Get() []byte {
	select {
	case b := <-l.c:
		return b[:0]
	default:
		return nil
	}
}

// Put keeps b for a later Get unless it is nil, too big, or the list is
// full. Nothing may use b afterwards.
func (l *List) Put(b []byte) {
	if b == nil || cap(b) > l.max {
		return
	}
	select {
	case l.c <- b[:0]:
	default:
	}
}
