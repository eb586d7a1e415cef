package yamledit

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

func TestCopyEntry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, mapping, from, to string
		keys                        []string
		want, err                   string
		kind                        Kind
	}{
		{
			name:    "keys are copied in the source's order, each with the comments above it",
			in:      "config:\n  blue:\n    # the fleet\n    fleet: cpu\n    # the version\n    version: \"1.29\"\n    traffic: 100\n  other:\n    fleet: gpu\n",
			mapping: "config", from: "blue", to: "green", keys: []string{"traffic", "fleet"},
			want: "config:\n  blue:\n    # the fleet\n    fleet: cpu\n    # the version\n    version: \"1.29\"\n    traffic: 100\n  green:\n    # the fleet\n    fleet: cpu\n    traffic: 100\n  other:\n    fleet: gpu\n",
		},
		{
			name:    "two blank lines between siblings are kept on both sides",
			in:      "config:\n  blue:\n    version: \"1.29\"\n\n\n  other:\n    version: \"1.30\"\n",
			mapping: "config", from: "blue", to: "green",
			want: "config:\n  blue:\n    version: \"1.29\"\n\n\n  green:\n    version: \"1.29\"\n\n\n  other:\n    version: \"1.30\"\n",
		},
		{
			name:    "a comment right under the entry goes with it; the next sibling's comment stays with it",
			in:      "config:\n  blue:\n    version: \"1.29\"\n    # end of blue\n  # other is gpu\n  other:\n    version: \"1.30\"\n",
			mapping: "config", from: "blue", to: "green",
			want: "config:\n  blue:\n    version: \"1.29\"\n    # end of blue\n  green:\n    version: \"1.29\"\n    # end of blue\n  # other is gpu\n  other:\n    version: \"1.30\"\n",
		},
		{
			name:    "a sequence at the key's indentation belongs to it",
			in:      "config:\n  blue:\n    nodegroups:\n    - name: system\n    - name: workers\n  other: {}\n",
			mapping: "config", from: "blue", to: "green",
			want: "config:\n  blue:\n    nodegroups:\n    - name: system\n    - name: workers\n  green:\n    nodegroups:\n    - name: system\n    - name: workers\n  other: {}\n",
		},
		{
			name:    "a first key left out takes no blank line along",
			in:      "config:\n  blue:\n    fleet: cpu\n\n    version: \"1.29\"\n  other: 1\n",
			mapping: "config", from: "blue", to: "green", keys: []string{"version"},
			want: "config:\n  blue:\n    fleet: cpu\n\n    version: \"1.29\"\n  green:\n    version: \"1.29\"\n  other: 1\n",
		},
		{
			name:    "at the document root, after a byte-order mark, with a key that needs quotes",
			in:      "\uFEFFblue:\n  version: \"1.29\"\n",
			mapping: "", from: "blue", to: "green: new",
			want: "\uFEFFblue:\n  version: \"1.29\"\n\"green: new\":\n  version: \"1.29\"\n",
		},
		{
			name:    "a key listed twice is refused",
			in:      "config:\n  blue:\n    version: \"1.29\"\n  other: 1\n",
			mapping: "config", from: "blue", to: "green", keys: []string{"version", "version"},
			err: `f.yaml:3:5: config.blue: key "version" is listed twice`, kind: KindPath,
		},
		{
			name:    "an anchor in a copied key is refused",
			in:      "config:\n  blue:\n    version: &v \"1.29\"\n  other: *v\n",
			mapping: "config", from: "blue", to: "green",
			err: "f.yaml:3:14: config.blue.version: entry defines the anchor &v; copying it would define the anchor twice", kind: KindAlias,
		},
		{
			name:    "an anchor in a key left out is not copied",
			in:      "config:\n  blue:\n    fleet: &f cpu\n    version: \"1.29\"\n  other: *f\n",
			mapping: "config", from: "blue", to: "green", keys: []string{"version"},
			want: "config:\n  blue:\n    fleet: &f cpu\n    version: \"1.29\"\n  green:\n    version: \"1.29\"\n  other: *f\n",
		},
		{
			name:    "a duplicate key in the source is refused",
			in:      "config:\n  blue:\n    version: \"1.29\"\n    version: \"1.30\"\n",
			mapping: "config", from: "blue", to: "green",
			err: `f.yaml:4:5: config.blue.version: key "version" is defined twice (lines 3 and 4)`, kind: KindDuplicateKey,
		},
		{
			name:    "a source whose value is a sequence is refused",
			in:      "config:\n  blue:\n    - version\n",
			mapping: "config", from: "blue", to: "green",
			err: "f.yaml:3:5: config.blue: value is not a block mapping under its key; only such entries can be copied", kind: KindLayout,
		},
		{
			name:    "an empty new key is refused",
			in:      "config:\n  blue:\n    version: \"1.29\"\n",
			mapping: "config", from: "blue", to: "",
			err: "f.yaml: config.: the new key must be a non-empty UTF-8 string", kind: KindPath,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mp Path
			if tt.mapping != "" {
				mp = mustPath(t, tt.mapping)
			}
			in := []byte(tt.in)
			got, err := CopyEntry("f.yaml", in, mp, tt.from, tt.to, tt.keys)
			if string(in) != tt.in {
				t.Fatal("CopyEntry changed its input")
			}
			if tt.err != "" {
				var e *Error
				if !errors.As(err, &e) || err.Error() != tt.err || e.Kind != tt.kind {
					t.Fatalf("CopyEntry error = %v, want %s (%s)", err, tt.err, tt.kind)
				}
				return
			}
			if err != nil {
				t.Fatalf("CopyEntry: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("CopyEntry =\n%q\nwant\n%q", got, tt.want)
			}
			back, err := RemoveEntry("f.yaml", got, append(mp, tt.to))
			if err != nil || !bytes.Equal(back, in) {
				t.Errorf("removing the copy = %q, %v; want the input back", back, err)
			}
		})
	}
}

func TestRemoveEntry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, path, want, err string
		kind                      Kind
	}{
		{
			name: "a run of blank lines on both sides is left once",
			in:   "config:\n  a:\n    v: 1\n\n\n  b:\n    v: 2\n\n\n  c:\n    v: 3\n",
			path: "config.b",
			want: "config:\n  a:\n    v: 1\n\n\n  c:\n    v: 3\n",
		},
		{
			name: "no blank line on either side removes none",
			in:   "config:\n  a:\n    v: 1\n  b:\n    v: 2\n  c:\n    v: 3\n",
			path: "config.b",
			want: "config:\n  a:\n    v: 1\n  c:\n    v: 3\n",
		},
		{
			name: "a first entry takes the blank line under it",
			in:   "config:\n  a:\n    v: 1\n\n  b:\n    v: 2\n",
			path: "config.a",
			want: "config:\n  b:\n    v: 2\n",
		},
		{
			name: "the last entry before a less indented key takes the blank line above it",
			in:   "config:\n  a:\n    v: 1\n\n  b:\n    v: 2\nother: 1\n",
			path: "config.b",
			want: "config:\n  a:\n    v: 1\nother: 1\n",
		},
		{
			name: "a blank line above and a comment under: the comment keeps its blank line",
			in:   "config:\n  a:\n    v: 1\n\n  b:\n    v: 2\n  # about c\n  c:\n    v: 3\n",
			path: "config.b",
			want: "config:\n  a:\n    v: 1\n\n  # about c\n  c:\n    v: 3\n",
		},
		{
			name: "comments above at another indentation stay",
			in:   "config:\n  a:\n    v: 1\n    # still about a\n  # about b\n  b:\n    v: 2\n",
			path: "config.b",
			want: "config:\n  a:\n    v: 1\n    # still about a\n",
		},
		{
			name: "a scalar entry with a comment on its line",
			in:   "a: 1 # one\nb: 2\n",
			path: "a",
			want: "b: 2\n",
		},
		{
			name: "an entry inside a sequence item on the item's line is refused",
			in:   "- a: 1\n  b: 2\n",
			path: "0.a",
			err:  "f.yaml:1:3: 0.a: entry shares its line with another node; it cannot be removed as whole lines", kind: KindLayout,
		},
		{
			name: "a sequence item is refused",
			in:   "a:\n  - x\n  - y\n",
			path: "a.0",
			err:  "f.yaml:2:5: a.0: a is a sequence; only mapping entries can be removed", kind: KindLayout,
		},
		{
			name: "a missing entry is not found",
			in:   "a:\n  b: 1\n",
			path: "a.c",
			err:  `f.yaml:2:3: a.c: key "c" not found`, kind: KindNotFound,
		},
		{
			name: "an entry a merge key hides again is refused by the check",
			in:   "base: &b\n  v: 1\nx:\n  <<: *b\n  v: 2\n  w: 3\n",
			path: "x.v",
			err:  "f.yaml:5:3: x.v: removing x.v changed more than that entry; delete it by hand", kind: KindVerify,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := []byte(tt.in)
			got, err := RemoveEntry("f.yaml", in, mustPath(t, tt.path))
			if string(in) != tt.in {
				t.Fatal("RemoveEntry changed its input")
			}
			if tt.err != "" {
				var e *Error
				if !errors.As(err, &e) || err.Error() != tt.err || e.Kind != tt.kind {
					t.Fatalf("RemoveEntry error = %v, want %s (%s)", err, tt.err, tt.kind)
				}
				return
			}
			if err != nil {
				t.Fatalf("RemoveEntry: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("RemoveEntry =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestCopyThenRemove checks on every golden copy that removing the new
// entry gives the file back byte for byte.
func TestCopyThenRemove(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden", "copy-*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden copies found: %v", err)
	}
	copies := 0
	for _, dir := range dirs {
		input, op := readCase(t, dir)
		mp := mustPath(t, op.Copy.Mapping)
		out, err := CopyEntry("input.yaml", input, mp, op.Copy.From, op.Copy.To, op.Copy.Keys)
		if err != nil {
			continue // a refusal, checked by TestGolden
		}
		copies++
		back, err := RemoveEntry("input.yaml", out, append(mp, op.Copy.To))
		if err != nil || !bytes.Equal(back, input) {
			t.Errorf("%s: removing the copy = %q, %v; want the input back", dir, back, err)
		}
	}
	if copies == 0 {
		t.Fatal("no golden copy succeeded")
	}
}
