package jsonwire

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// An OwnedBytes buffer is given back once the Line that encoded it is
// released, once however often the Text appears, and not before.
func TestOwnedBytesReleasedAfterWrite(t *testing.T) {
	for _, size := range []int{10, BigString + 1} { // the default path and the spliced one
		released := 0
		text := OwnedBytes([]byte(strings.Repeat("x", size)), func() { released++ })
		v := struct {
			A Text   `json:"a"`
			B []Text `json:"b"`
		}{text, []Text{text, String("s")}}
		line, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := line.Write(&out); err != nil {
			t.Fatal(err)
		}
		if released != 0 {
			t.Fatalf("size %d: released before Release", size)
		}
		line.Release()
		if released != 1 {
			t.Fatalf("size %d: released %d times, want once", size, released)
		}
		want := `{"a":"` + strings.Repeat("x", size) + `","b":["` + strings.Repeat("x", size) + `","s"]}` + "\n"
		if out.String() != want {
			t.Fatalf("size %d: wrote %.80q", size, out.String())
		}
		// A Line recycled for another message releases nothing again.
		line, _ = Marshal(String("y"))
		line.Release()
		if released != 1 {
			t.Fatalf("size %d: a later Line released the text again", size)
		}
	}
}

// TextFields.Unmarshal fills big and small TextBytes fields alike, and
// Release gives their buffers back and empties them.
func TestTextFields(t *testing.T) {
	type args struct {
		Path    string    `json:"path"`
		Content TextBytes `json:"content"`
		Other   TextBytes `json:"other,omitempty"`
	}
	fs := TextFieldsOf(reflect.TypeFor[args]())
	if fs.Len() != 2 {
		t.Fatalf("%d text fields, want 2", fs.Len())
	}
	big := strings.Repeat("é\"\n", BigString)
	raw := `{"path":"p","content":` + string(AppendQuoted(nil, big)) + `,"other":"small"}`
	var a args
	if err := fs.Unmarshal([]byte(raw), &a); err != nil {
		t.Fatal(err)
	}
	if a.Path != "p" || string(a.Content) != big || string(a.Other) != "small" {
		t.Fatalf("decoded path %q, %d bytes of content, other %q", a.Path, len(a.Content), a.Other)
	}
	fs.Release(&a)
	if a.Content != nil || a.Other != nil {
		t.Fatal("Release left the fields in place")
	}
	if err := fs.Unmarshal([]byte(`{"path":1,"content":`+string(AppendQuoted(nil, big))+`}`), &a); err == nil {
		t.Fatal("a number for path decoded")
	}
	if TextFieldsOf(reflect.TypeFor[int]()).Len() != 0 {
		t.Fatal("text fields in an int")
	}
}
