package yamledit

import (
	"bytes"
	"errors"
	"testing"
)

// TestSetEach makes steps of edits with SetEach and one at a time with
// Doc.Set, and expects the same file after every step.
func TestSetEach(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	set := func(path Path, from, to string) Edit {
		return Edit{Path: path, Value: to, Expect: str(from), Quote: true, Document: -1}
	}
	v := func(c string) Path { return Path{"clusters", c, "version"} }
	blueprint := "# tenant a\nclusters:\n  c1:\n    version: \"1.28\" # pinned\n  c2:\n    version: '1.28'\n  c3: {version: 1.28, fleet: gpu}\n  c4:\n    version: \"1.29\"\n"
	tests := []struct {
		name  string
		src   string
		steps [][]Edit
	}{
		{"one cluster a step", blueprint, [][]Edit{
			{set(v("c1"), "1.28", "1.29")}, {set(v("c2"), "1.28", "1.29")}, {set(v("c4"), "1.29", "1.30")},
		}},
		{"two hops of one cluster, the others between", blueprint, [][]Edit{
			{set(v("c1"), "1.28", "1.29"), set(v("c2"), "1.28", "1.29")},
			{set(v("c4"), "1.29", "1.30")},
			{set(v("c1"), "1.29", "1.30"), set(v("c2"), "1.29", "1.30")},
		}},
		{"flow mapping: a plain number quoted, twice", blueprint, [][]Edit{
			{set(v("c3"), "1.28", "1.29")}, {set(v("c3"), "1.29", "1.30")},
		}},
		{"a step that changes nothing", blueprint, [][]Edit{
			{set(v("c4"), "1.29", "1.30")}, {set(v("c4"), "1.29", "1.30")}, {set(v("c1"), "1.28", "1.29")},
		}},
		{"back to the first value", blueprint, [][]Edit{
			{set(v("c1"), "1.28", "1.29")}, {set(v("c1"), "1.29", "1.28")},
		}},
		{"longer and shorter values on one line", "a: {x: ab, y: cd, z: ef}\n", [][]Edit{
			{{Path: Path{"a", "x"}, Value: "abcdef", Document: -1}},
			{{Path: Path{"a", "z"}, Value: "e", Document: -1}},
			{{Path: Path{"a", "x"}, Value: "a", Document: -1}, {Path: Path{"a", "y"}, Value: "cdcdcd", Document: -1}},
		}},
		{"documents of a stream", "c: 1\n---\nc: 2\n", [][]Edit{
			{{Path: Path{"c"}, Value: "3", Document: 1}}, {{Path: Path{"c"}, Value: "4", Document: 0}}, {{Path: Path{"c"}, Value: "5", Document: 1}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := Parse("f.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			got, last, err := d.SetEach(tt.steps)
			if err != nil {
				t.Fatalf("SetEach: %v", err)
			}
			one := d
			for i, step := range tt.steps {
				res, next, err := one.Set(step...)
				if err != nil {
					t.Fatalf("step %d one at a time: %v", i, err)
				}
				if !bytes.Equal(got[i], res.Bytes) {
					t.Fatalf("step %d: SetEach gave\n%s\none at a time\n%s", i, got[i], res.Bytes)
				}
				one = next
			}
			if !bytes.Equal(last.Bytes(), one.Bytes()) {
				t.Fatalf("last Doc holds %q, want %q", last.Bytes(), one.Bytes())
			}
			c := &comparer{file: "f.yaml", line: func(l int) int { return l }, comments: true}
			if err := c.documents(one.s.docs, last.s.docs); err != nil {
				t.Fatalf("the last Doc differs from a parse of its bytes: %v", err)
			}
		})
	}
}

func TestSetEachRefusals(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	src := []byte("c1:\n  version: \"1.28\"\nc2:\n  version: \"1.28\"\n")
	tests := []struct {
		name  string
		steps [][]Edit
		kind  Kind
	}{
		{"a stale value in a later step", [][]Edit{
			{{Path: Path{"c1", "version"}, Value: "1.29", Expect: str("1.28"), Document: -1}},
			{{Path: Path{"c1", "version"}, Value: "1.30", Expect: str("1.28"), Document: -1}},
		}, KindStale},
		{"one value twice in a step", [][]Edit{
			{{Path: Path{"c2", "version"}, Value: "1.29", Document: -1}, {Path: Path{"c2", "version"}, Value: "1.29", Document: 0}},
		}, KindConflict},
		{"a missing key", [][]Edit{{{Path: Path{"c3", "version"}, Value: "1.29", Document: -1}}}, KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := Parse("f.yaml", src)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = d.SetEach(tt.steps)
			var e *Error
			if !errors.As(err, &e) || e.Kind != tt.kind {
				t.Fatalf("got %v, want a refusal of kind %s", err, tt.kind)
			}
		})
	}
}
