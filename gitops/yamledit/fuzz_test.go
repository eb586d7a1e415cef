package yamledit

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzSet checks the editor's promise on any input: an edit is either refused
// with an *Error, or only the target scalar's bytes change and the file reads
// back as before except at the edited path.
func FuzzSet(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	for _, dir := range dirs {
		input, op := readCase(f, dir)
		for _, e := range op.Set {
			f.Add(input, e.Path, e.Value, e.Quote)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte, path, value string, quote bool) {
		p, err := ParsePath(path)
		if err != nil {
			return
		}
		before := bytes.Clone(src)
		res, err := Set("fuzz.yaml", src, Edit{Path: p, Value: value, Quote: quote, Document: -1})
		if !bytes.Equal(src, before) {
			t.Fatal("Set modified its input")
		}
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if !res.Changed() {
			if !bytes.Equal(res.Bytes, src) {
				t.Fatal("an unchanged result differs from the input")
			}
			return
		}
		doc := res.Outcomes[0].Document
		old, err := Lookup("fuzz.yaml", src, p, doc)
		if err != nil {
			t.Fatalf("Set edited a value Lookup cannot read: %v", err)
		}
		if old.Start < 0 || old.End < old.Start {
			t.Fatalf("edited value has no byte range: %+v", old)
		}
		out := res.Bytes
		tail := len(src) - old.End
		if len(out) < old.Start+tail || !bytes.Equal(out[:old.Start], src[:old.Start]) || !bytes.Equal(out[len(out)-tail:], src[old.End:]) {
			t.Fatalf("bytes outside the scalar changed:\n in: %q\nout: %q", src, out)
		}
		a, b := decodeAll(t, src), decodeAll(t, out)
		if len(a) != len(b) {
			t.Fatalf("document count changed from %d to %d", len(a), len(b))
		}
		for i := range a {
			target := p
			if i != doc {
				target = nil
			}
			sameExcept(t, a[i], b[i], target, value)
		}
	})
}

func decodeAll(t *testing.T, src []byte) []*yaml.Node {
	t.Helper()
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		n := new(yaml.Node)
		err := dec.Decode(n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("decode: %v\n%q", err, src)
		}
		docs = append(docs, n)
	}
}

// sameExcept compares two trees node by node, except the node at path (from
// the document node), which must hold value in the edited tree.
func sameExcept(t *testing.T, a, b *yaml.Node, path Path, value string) {
	t.Helper()
	var walk func(a, b *yaml.Node, rest Path, onPath bool)
	walk = func(a, b *yaml.Node, rest Path, onPath bool) {
		if onPath && len(rest) == 0 {
			if b.Kind != yaml.ScalarNode || b.Value != value {
				t.Fatalf("edited node holds %q, want %q", b.Value, value)
			}
			return
		}
		if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || a.Anchor != b.Anchor || a.Line != b.Line || len(a.Content) != len(b.Content) {
			t.Fatalf("node at line %d changed: %v %s %q -> %v %s %q", a.Line, a.Kind, a.Tag, a.Value, b.Kind, b.Tag, b.Value)
		}
		if a.Kind == yaml.AliasNode {
			return
		}
		next := -1
		if onPath && a.Kind != yaml.DocumentNode {
			switch a.Kind {
			case yaml.MappingNode:
				for i := 0; i+1 < len(a.Content); i += 2 {
					if a.Content[i].Kind == yaml.ScalarNode && a.Content[i].Value == rest[0] && a.Content[i].Tag != "!!merge" {
						next = i + 1
						break
					}
				}
			case yaml.SequenceNode:
				next, _ = strconv.Atoi(rest[0])
			}
		}
		for i := range a.Content {
			switch {
			case a.Kind == yaml.DocumentNode:
				walk(a.Content[i], b.Content[i], rest, onPath)
			case i == next:
				walk(a.Content[i], b.Content[i], rest[1:], true)
			default:
				walk(a.Content[i], b.Content[i], nil, false)
			}
		}
	}
	walk(a, b, path, path != nil)
}

// FuzzInsertDelete checks Insert and Delete: either refused with an *Error,
// or the file gained (lost) one run of bytes and reads back with the entry
// present (absent).
func FuzzInsertDelete(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	for _, dir := range dirs {
		input, _ := readCase(f, dir)
		f.Add(input, "externalSecret.labels", "addonsRelease", "release2", false)
		f.Add(input, "externalSecret.labels", "addonsRelease", "", true)
	}
	f.Fuzz(func(t *testing.T, src []byte, mapping, key, value string, del bool) {
		mp, err := ParsePath(mapping)
		if err != nil {
			return
		}
		before := bytes.Clone(src)
		var out []byte
		full := append(mp, key)
		if del {
			out, err = Delete("fuzz.yaml", src, mp)
			full = mp
		} else {
			out, err = Insert("fuzz.yaml", src, mp, key, value)
		}
		if !bytes.Equal(src, before) {
			t.Fatal("input modified")
		}
		if err != nil {
			checkRefusal(t, err)
			return
		}
		short, long := out, src
		if !del {
			short, long = src, out
		}
		pre := 0
		for pre < len(short) && short[pre] == long[pre] {
			pre++
		}
		if !bytes.Equal(short[pre:], long[len(long)-(len(short)-pre):]) {
			t.Fatalf("more than one run of bytes changed:\n in: %q\nout: %q", src, out)
		}
		v, err := Lookup("fuzz.yaml", out, full, -1)
		if del {
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindNotFound {
				t.Fatalf("deleted entry still readable: %+v %v\n%q", v, err, out)
			}
			return
		}
		if err != nil || v.Text != value || v.Tag != "!!str" {
			t.Fatalf("inserted entry reads %+v, %v; want the string %q\n%q", v, err, value, out)
		}
	})
}

// checkRefusal fails unless err is an *Error naming the file and a reason.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.File != "fuzz.yaml" || e.Reason == "" {
		t.Fatalf("refusal is not a complete *Error: %#v", err)
	}
}

// FuzzCopyRemove checks CopyEntry and RemoveEntry: each is either refused
// with an *Error, or the file gained (lost) one run of bytes and decodes as
// before plus the copy (minus the entry); removing a copy gives the file
// back byte for byte.
func FuzzCopyRemove(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	for _, dir := range dirs {
		input, op := readCase(f, dir)
		switch {
		case op.Copy != nil:
			f.Add(input, op.Copy.Mapping, op.Copy.From, op.Copy.To, strings.Join(op.Copy.Keys, ","))
		case op.Remove != "":
			p := mustPath(f, op.Remove)
			f.Add(input, Path(p[:len(p)-1]).String(), p[len(p)-1], p[len(p)-1]+"-green", "")
		}
	}
	f.Fuzz(func(t *testing.T, src []byte, mapping, from, to, keys string) {
		var mp Path
		if mapping != "" {
			p, err := ParsePath(mapping)
			if err != nil {
				return
			}
			mp = p
		}
		var ks []string
		if keys != "" {
			ks = strings.Split(keys, ",")
		}
		before := bytes.Clone(src)
		removed, err := RemoveEntry("fuzz.yaml", src, append(slices.Clone(mp), from))
		if !bytes.Equal(src, before) {
			t.Fatal("RemoveEntry modified its input")
		}
		if err != nil {
			checkRefusal(t, err)
		} else {
			oneRun(t, removed, src)
			want := decodeValue(t, src)
			delete(decodedMapping(t, want, mp), from)
			if got := decodeValue(t, removed); !reflect.DeepEqual(got, want) {
				t.Fatalf("removing %s left %v, want %v\n%q", from, got, want, removed)
			}
		}
		out, err := CopyEntry("fuzz.yaml", src, mp, from, to, ks)
		if !bytes.Equal(src, before) {
			t.Fatal("CopyEntry modified its input")
		}
		if err != nil {
			checkRefusal(t, err)
			return
		}
		oneRun(t, src, out)
		want := decodeValue(t, src)
		m := decodedMapping(t, want, mp)
		value, _ := m[from].(map[string]any)
		if len(ks) > 0 {
			part := map[string]any{}
			for _, k := range ks {
				part[k] = value[k]
			}
			value = part
		}
		m[to] = value
		if got := decodeValue(t, out); !reflect.DeepEqual(got, want) {
			t.Fatalf("copying %s as %s gave %v, want %v\n%q", from, to, got, want, out)
		}
		back, err := RemoveEntry("fuzz.yaml", out, append(slices.Clone(mp), to))
		if err != nil || !bytes.Equal(back, src) {
			t.Fatalf("removing the copy gave %q, %v; want the input back\n in: %q\nout: %q", back, err, src, out)
		}
	})
}

// oneRun fails unless long is short with one run of bytes added.
func oneRun(t *testing.T, short, long []byte) {
	t.Helper()
	pre := 0
	for pre < len(short) && short[pre] == long[pre] {
		pre++
	}
	if len(long) <= len(short) || !bytes.Equal(short[pre:], long[len(long)-(len(short)-pre):]) {
		t.Fatalf("more than one run of bytes changed:\nshort: %q\n long: %q", short, long)
	}
}

func decodeValue(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatalf("decode: %v\n%q", err, src)
	}
	return v
}

// decodedMapping returns the decoded mapping at p in v.
func decodedMapping(t *testing.T, v any, p Path) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	for _, seg := range p {
		m, ok = m[seg].(map[string]any)
	}
	if !ok {
		t.Fatalf("%s does not decode as a mapping", p)
	}
	return m
}
