package freelist

import "testing"

func TestList(t *testing.T) {
	l := New(2, 100)
	if b := l.Get(); b != nil {
		t.Fatalf("empty list gave %v", b)
	}
	a := make([]byte, 5, 50)
	l.Put(a)
	l.Put(make([]byte, 0, 101)) // too big: dropped
	l.Put(nil)                  // dropped
	b := l.Get()
	if len(b) != 0 || cap(b) != 50 || &b[:1][0] != &a[:1][0] {
		t.Fatalf("Get = len %d cap %d, want the buffer put, emptied", len(b), cap(b))
	}
	if b := l.Get(); b != nil {
		t.Fatalf("dropped buffers came back: cap %d", cap(b))
	}
	for range 3 {
		l.Put(make([]byte, 0, 10))
	}
	n := 0
	for l.Get() != nil {
		n++
	}
	if n != 2 {
		t.Fatalf("kept %d buffers, want at most 2", n)
	}
}
