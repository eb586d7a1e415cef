package yamledit

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"
)

// spotsOf locates every path of steps in src's only document, as the
// inventory does from its own parse; a path without a Spot is left out.
func spotsOf(t testing.TB, src []byte, steps [][]Edit) func(Path) (Spot, bool) {
	t.Helper()
	d, err := Parse("f.yaml", src)
	if err != nil || len(d.s.docs) != 1 || len(d.s.docs[0].Content) == 0 {
		return func(Path) (Spot, bool) { return Spot{}, false }
	}
	root := d.s.docs[0].Content[0]
	var paths []Path
	var spots []Spot
	for _, step := range steps {
		for _, e := range step {
			if sp, ok := Locate(root, e.Path); ok {
				paths, spots = append(paths, e.Path), append(spots, sp)
			}
		}
	}
	return func(p Path) (Spot, bool) {
		i := slices.IndexFunc(paths, func(q Path) bool { return slices.Equal(p, q) })
		if i < 0 {
			return Spot{}, false
		}
		return spots[i], true
	}
}

// agree checks SetAt against SetEach: when SetAt makes the steps, SetEach
// makes them too (its parse verifies the result against the original) and
// gives the same bytes after every step.
func agree(t testing.TB, src []byte, steps [][]Edit) bool {
	t.Helper()
	got, ok := SetAt(src, spotsOf(t, src, steps), steps)
	if !ok {
		return false
	}
	d, err := Parse("f.yaml", src)
	if err != nil {
		t.Fatalf("SetAt made the steps on a file the editor cannot parse: %v\n%q", err, src)
	}
	want, _, err := d.SetEach(steps)
	if err != nil {
		t.Fatalf("SetAt made steps the editor refuses (%v):\n%q", err, src)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("step %d: SetAt gave\n%q\nthe editor\n%q", i, got[i], want[i])
		}
	}
	return true
}

// TestSetAtAgreesWithSetEach makes steps with SetAt and with the whole
// editor: SetAt either declines or gives the same bytes after each step,
// and it declines every edit the editor refuses (a value that would break
// the file or change another one included) or cannot make in place.
func TestSetAtAgreesWithSetEach(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	set := func(path Path, from, to string) Edit {
		return Edit{Path: path, Value: to, Expect: str(from), Quote: true, Document: -1}
	}
	v := func(c string) Path { return Path{"clusters", c, "version"} }
	blueprint := "# tenant a\nclusters:\n  c1:\n    version: \"1.28\" # pinned\n  c2:\n    version: '1.28'\n  c3: {version: 1.28, fleet: gpu}\n  c4:\n    version: \"1.29\"\n  c5:\n    version: 1.29\n"
	tests := []struct {
		name  string
		src   string
		steps [][]Edit
		made  bool // SetAt makes them
	}{
		{"one cluster a step", blueprint, [][]Edit{
			{set(v("c1"), "1.28", "1.29")}, {set(v("c2"), "1.28", "1.29")}, {set(v("c4"), "1.29", "1.30")},
		}, true},
		{"two hops, a step that changes nothing, back to the first value", blueprint, [][]Edit{
			{set(v("c1"), "1.28", "1.29"), set(v("c2"), "1.28", "1.29")},
			{set(v("c4"), "1.29", "1.29")},
			{set(v("c1"), "1.29", "1.30"), set(v("c2"), "1.29", "1.28")},
		}, true},
		{"values that need escapes, longer and shorter", blueprint, [][]Edit{
			{set(v("c1"), "1.28", "a \"quoted\" \\ value\twith\na line break: and # no comment")},
			{set(v("c4"), "1.29", "")},
			{set(v("c2"), "1.28", "it's, [not] {flow}: # at all")},
		}, true},
		{"CR LF line ends and a byte-order mark", "\xEF\xBB\xBFa:\r\n  b: \"x\"\r\n  c: 'y'  # z\r\n", [][]Edit{
			{{Path: Path{"a", "b"}, Value: "xyz", Document: 0}, {Path: Path{"a", "c"}, Value: "é", Document: -1}},
		}, true},
		{"a sequence item", "a:\n  - \"x\"\n  - 'y'\n", [][]Edit{{{Path: Path{"a", "1"}, Value: "z", Document: -1}}}, true},
		{"plain strings, a comment after one, the last line without a break", "labels:\n  release: release2 # pinned\n  team: a-b\nnext:\n  c: x", [][]Edit{
			{{Path: Path{"labels", "release"}, Value: "release3", Expect: str("release2"), Document: -1}, {Path: Path{"labels", "team"}, Value: "longer one:x", Document: -1}},
			{{Path: Path{"labels", "release"}, Value: "r", Document: 0}, {Path: Path{"next", "c"}, Value: "y-z", Document: -1}},
		}, true},
		{"a plain string in a sequence, a blank line after it", "a:\n  - x\n\n  - y\n", [][]Edit{{{Path: Path{"a", "0"}, Value: "z", Document: -1}}}, true},

		{"a stale value", blueprint, [][]Edit{{set(v("c1"), "1.27", "1.29")}}, false},
		{"a stale value in a later step", blueprint, [][]Edit{{set(v("c1"), "1.28", "1.29")}, {set(v("c1"), "1.28", "1.30")}}, false},
		{"one value twice in a step", blueprint, [][]Edit{{set(v("c1"), "1.28", "1.29"), set(v("c1"), "1.28", "1.29")}}, false},
		{"a plain scalar", blueprint, [][]Edit{{set(v("c5"), "1.29", "1.30")}}, false},
		{"a plain string that would become a number", "a: x\n", [][]Edit{{{Path: Path{"a"}, Value: "1.30", Document: -1}}}, false},
		{"a plain string that would need quotes", "a: x\n", [][]Edit{{{Path: Path{"a"}, Value: "y # z", Document: -1}}}, false},
		{"a plain string that would become a mapping", "a: x\n", [][]Edit{{{Path: Path{"a"}, Value: "k: v", Document: -1}}}, false},
		{"a plain string over two lines", "a: x\n  y\nb: 1\n", [][]Edit{{{Path: Path{"a"}, Value: "z", Document: -1}}}, false},
		{"a plain string, a line after it indented more", "a:\n  - x\n    # c\n", [][]Edit{{{Path: Path{"a", "0"}, Value: "z", Document: -1}}}, false},
		{"a plain string, a tab before the next line", "a: x\n\tb: 1\n", [][]Edit{{{Path: Path{"a"}, Value: "z", Document: -1}}}, false},
		{"a tagged plain string", "a: !!str x\n", [][]Edit{{{Path: Path{"a"}, Value: "y", Document: -1}}}, false},
		{"a flow mapping", blueprint, [][]Edit{{set(v("c3"), "1.28", "1.29")}}, false},
		{"a line break single quotes cannot hold", blueprint, [][]Edit{{set(v("c2"), "1.28", "a\nb")}}, false},
		{"a missing key", blueprint, [][]Edit{{set(v("c9"), "1.28", "1.29")}}, false},
		{"a second document", "a: \"x\"\n---\nb: 1\n", [][]Edit{{{Path: Path{"a"}, Value: "y", Document: -1}}}, false},
		{"an explicit document", "---\na: \"x\"\n", [][]Edit{{{Path: Path{"a"}, Value: "y", Document: -1}}}, false},
		{"a document index past the first", "a: \"x\"\n", [][]Edit{{{Path: Path{"a"}, Value: "y", Document: 1}}}, false},
		{"escapes in the old value", "a: \"x\\ty\"\n", [][]Edit{{{Path: Path{"a"}, Value: "y", Document: -1}}}, false},
		{"a doubled quote in the old value", "a: 'it''s'\n", [][]Edit{{{Path: Path{"a"}, Value: "y", Document: -1}}}, false},
		{"a scalar over two lines", "a: \"x\n  y\"\nb: 1\n", [][]Edit{{{Path: Path{"a"}, Value: "y", Document: -1}}}, false},
		{"a key on the same line", "? \"k\"\n: v\nb: {\"x\": 1}\n", [][]Edit{{{Path: Path{"b", "x"}, Value: "y", Document: -1}}}, false},
		{"an anchor", "a: &x \"x\"\nb: *x\n", [][]Edit{{{Path: Path{"a"}, Value: "y", Document: -1}}}, false},
		{"a tag", "a: !!str \"x\"\n", [][]Edit{{{Path: Path{"a"}, Value: "y", Document: -1}}}, false},
		{"through an alias", "base: &b {v: \"x\"}\na: *b\n", [][]Edit{{{Path: Path{"a", "v"}, Value: "y", Document: -1}}}, false},
		{"a repeated key", "a:\n  v: \"x\"\n  v: \"z\"\n", [][]Edit{{{Path: Path{"a", "v"}, Value: "y", Document: -1}}}, false},
		{"a merge key beside the value", "a:\n  <<: {w: 1}\n  v: \"x\"\n", [][]Edit{{{Path: Path{"a", "v"}, Value: "y", Document: -1}}}, true},
		{"a value only a merge key gives", "a:\n  <<: {v: \"x\"}\n", [][]Edit{{{Path: Path{"a", "v"}, Value: "y", Document: -1}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if made := agree(t, []byte(tt.src), tt.steps); made != tt.made {
				t.Fatalf("SetAt made the steps: %v, want %v", made, tt.made)
			}
		})
	}
}

// TestSetAtOtherBytes gives SetAt Spots found in other bytes than its
// own, a quoted scalar's and a plain one's: it declines wherever they do
// not lead to a scalar of that kind it can replace (another kind, an
// alias, a longer or folded scalar, none), and agrees with the editor
// wherever they do.
func TestSetAtOtherBytes(t *testing.T) {
	t.Parallel()
	edit := [][]Edit{{{Path: Path{"a", "v"}, Value: "y", Document: -1}}}
	for _, tt := range []struct {
		found, src string
		made       bool
	}{
		{"a:\n  v: \"x\"\n", "a:\n  v: \"x\"\n", true},
		{"a:\n  v: \"x\"\n", "a:\n  v: x\n", false},
		{"a:\n  v: \"x\"\n", "a:\n  v: \"x\" # y\n", true},
		{"a:\n  v: \"x\"\n", "a:\n  v: \"x\": 1\n", false},
		{"a:\n  v: \"x\"\n", "a:\n  v: \"x\" y\n", false},
		{"a:\n  v: \"x\"\n", "a:\n  v: \"x\"#y\n", false},
		{"a:\n  v: \"x\"\n", "a:\n", false},
		{"a:\n  v: \"x\"\n", "a:\n  v: \"x\n  \"\n", false},
		{"a:\n  v: xy\n", "a:\n  v: xy\n", true},
		{"a:\n  v: xy\n", "a:\n  v: zz # c\n", true},
		{"a:\n  v: xy\n", "a:\n  v: *b\n", false},
		{"a:\n  v: xy\n", "a:\n  v: \"x\"\n", false},
		{"a:\n  v: xy\n", "a:\n  v: xyz\n", false},
		{"a:\n  v: xy\n", "a:\n  v: xy\n   z\n", false},
		{"a:\n  v: xy\n", "a:\n  v: x y\n", false},
		{"a:\n  v: xy\n", "a:\n  v: xy : 1\n", false},
		{"a:\n  v: xy\n", "a:\n  v: - \n", false},
		{"a:\n  v: xy\n", "a:\n  v:\n", false},
	} {
		find := spotsOf(t, []byte(tt.found), edit)
		if _, made := SetAt([]byte(tt.src), find, edit); made != tt.made {
			t.Errorf("%q, Spot found in %q: SetAt made the edit: %v, want %v", tt.src, tt.found, made, tt.made)
		}
	}
}

// FuzzSetAt holds SetAt to the editor on any input: whatever it makes,
// the editor makes too, with the same bytes.
func FuzzSetAt(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	for _, dir := range dirs {
		input, op := readCase(f, dir)
		for _, e := range op.Set {
			f.Add(input, e.Path, e.Value, "x")
		}
	}
	f.Add([]byte("a:\n  b: \"1.29\" # c\n  d: 'x'\n"), "a.b", "1.30", "1.29")
	f.Add([]byte("a: ['x', \"y\"]\n"), "a.1", "z", "w")
	f.Add([]byte("l:\n  r: release2 # c\n  s: x\n"), "l.r", "release3", "a b")
	f.Add([]byte("- a: x\n  b: y\n"), "0.a", "z", "-z")
	f.Fuzz(func(t *testing.T, src []byte, path, value, again string) {
		p, err := ParsePath(path)
		if err != nil {
			return
		}
		before := bytes.Clone(src)
		agree(t, src, [][]Edit{
			{{Path: p, Value: value, Document: -1}},
			{{Path: p, Value: again, Document: 0}},
		})
		if !bytes.Equal(src, before) {
			t.Fatal("SetAt modified its input")
		}
	})
}
