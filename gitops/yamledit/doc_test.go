package yamledit

import (
	"bytes"
	"errors"
	"testing"
)

// TestDocSet edits a file three times through Doc, each time from the Doc
// the previous edit returned, and checks each result against Set on the
// bytes, and that a Doc is what parsing its bytes gives.
func TestDocSet(t *testing.T) {
	t.Parallel()
	src := []byte("# fleet\nc1:\n  version: \"1.28\" # pinned\nc2: {version: '1.28', fleet: gpu}\n---\nc3:\n  version: 1.28\n")
	expect := func(s string) *string { return &s }
	steps := []struct {
		name    string
		edits   []Edit
		changed bool
	}{
		{"one cluster", []Edit{{Path: Path{"c1", "version"}, Value: "1.29", Expect: expect("1.28"), Quote: true, Document: -1}}, true},
		{"two at once, one in the second document", []Edit{
			{Path: Path{"c2", "version"}, Value: "1.29", Expect: expect("1.28"), Quote: true, Document: -1},
			{Path: Path{"c3", "version"}, Value: "1.29", Expect: expect("1.28"), Quote: true, Document: 1},
		}, true},
		{"already there", []Edit{{Path: Path{"c1", "version"}, Value: "1.29", Expect: expect("1.28"), Quote: true, Document: -1}}, false},
		{"the first again", []Edit{{Path: Path{"c1", "version"}, Value: "1.30", Expect: expect("1.29"), Quote: true, Document: -1}}, true},
	}
	d, err := Parse("f.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	cur := src
	for _, st := range steps {
		want, err := Set("f.yaml", cur, st.edits...)
		if err != nil {
			t.Fatalf("%s: Set: %v", st.name, err)
		}
		res, next, err := d.Set(st.edits...)
		if err != nil {
			t.Fatalf("%s: Doc.Set: %v", st.name, err)
		}
		if !bytes.Equal(res.Bytes, want.Bytes) || !bytes.Equal(next.Bytes(), want.Bytes) {
			t.Fatalf("%s: Doc.Set gave %q (its Doc %q), Set %q", st.name, res.Bytes, next.Bytes(), want.Bytes)
		}
		if res.Changed() != st.changed || (next == d) == st.changed {
			t.Fatalf("%s: changed %t, same Doc %t; want changed %t", st.name, res.Changed(), next == d, st.changed)
		}
		fresh, err := parse("f.yaml", next.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		c := &comparer{file: "f.yaml", line: func(l int) int { return l }, comments: true}
		if err := c.documents(fresh.docs, next.s.docs); err != nil {
			t.Fatalf("%s: the Doc differs from a parse of its bytes: %v", st.name, err)
		}
		d, cur = next, next.Bytes()
	}
	if want := "# fleet\nc1:\n  version: \"1.30\" # pinned\nc2: {version: '1.29', fleet: gpu}\n---\nc3:\n  version: \"1.29\"\n"; string(cur) != want {
		t.Fatalf("got %q, want %q", cur, want)
	}
}

func TestDocSetRefusal(t *testing.T) {
	t.Parallel()
	d, err := Parse("f.yaml", []byte("c1:\n  version: \"1.28\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	old := "1.27"
	_, next, err := d.Set(Edit{Path: Path{"c1", "version"}, Value: "1.29", Expect: &old, Document: -1})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindStale || e.Line != 2 || next != nil {
		t.Fatalf("got %v (Doc %v), want a stale refusal at line 2 and no Doc", err, next)
	}
	if _, err := Parse("f.yaml", []byte("a: [\n")); err == nil {
		t.Fatal("Parse of broken YAML: no error")
	}
}
