package decode

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// agreesWithParser fails t unless wordTree declines src or builds what the
// YAML parser builds from it, every field of every node.
func agreesWithParser(t *testing.T, src string) (accepted bool) {
	t.Helper()
	doc, ok := wordTree([]byte(src))
	if !ok {
		return false
	}
	docs, err := parseNodes([]byte(src))
	require.NoError(t, err, "the parser refuses what wordTree read:\n%s", src)
	require.Len(t, docs, 1, src)
	assert.Equal(t, docs[0], doc, src)
	return true
}

func TestWordTree(t *testing.T) {
	t.Parallel()
	accepted := []string{
		"externalSecret:\n  labels:\n    addonsRelease: release2\n",
		"a: b\n",
		"a:\n    b: c\n    d:\n      e: f\n    g: h\ni: j\n",
		"enable_metrics_server: enabled\nmonitoringRelease: tenant-912\npath: a/b.c_d-e\n",
		"Yesterday: Nobody\nnull_value: offline\ntrue1: n0\nNULLS: Ons\n",
		"a: b\na: c\n", // repeated keys are the caller's to report, as with the parser
		"labels:\n  enable_x: \"true\"\n  release: '1.30'\n  empty: \"\"\n  spaced: ' a: b # c '\n",
		"# c\na: b\n",
		"# tenant-912 dev\n#\n#x: y # z\ntenant: tenant-912\nservices:\n  eks:\n    enabled: true\n    config:\n" +
			"      t912-dev-00:\n        is_canary: false\n        version: \"1.29\"\n        nodegroups:\n" +
			"          system:\n            instance_types: [m6i.large, m6i.xlarge]\n            min_size: 0\n" +
			"            max_size: 123456789\n            zones: []\n",
	}
	for _, src := range accepted {
		assert.True(t, agreesWithParser(t, src), "declined:\n%s", src)
	}
	declined := map[string]string{
		"":                         "empty",
		"a: b":                     "no final newline",
		"a: b # c\n":               "a comment after a value",
		"a: b\n# c\n":              "a comment after the first line",
		"# c \na: b\n":             "a comment ending in a blank",
		"#\tc\na: b\n":             "a tab in a comment",
		" # c\na: b\n":             "an indented comment",
		"# c\n\na: b\n":            "a blank line after the comments",
		"# c\n a: b\n":             "an indented first key after a comment",
		"# c\n":                    "comments alone",
		"a: [b,c]\n":               "a list without blanks",
		"a: [ b]\n":                "a blank inside a list",
		"a: [b, ]\n":               "a comma at the end of a list",
		"a: [b,  c]\n":             "two blanks in a list",
		"a: [b, [c]]\n":            "a nested list",
		"a: [1, 2]\n":              "numbers in a list",
		"a: [\"b\"]\n":             "quotes in a list",
		"a: [b\n":                  "an unterminated list",
		"a: 01\n":                  "a number with a leading zero",
		"a: 1234567890\n":          "a number of ten digits",
		"a: -1\n":                  "a negative number",
		"a: +1\n":                  "a signed number",
		"a: 1_000\n":               "a number with an underscore",
		"a: 0x1f\n":                "a hexadecimal number",
		"a: 1e3\n":                 "an exponent",
		"a: True\n":                "a capitalised boolean",
		"a: \"b\\n\"\n":            "an escape",
		"a: 'it''s'\n":             "a quote in single quotes",
		"a: \"b\" c\n":             "text after a quoted value",
		"a: \"b\n":                 "an unterminated quote",
		"a: \"b'\n":                "quotes that do not match",
		"a: \"\xc3\xa4\"\n":        "quoted text outside ASCII",
		"\"a\": b\n":               "a quoted key",
		"a: {b: c}\n":              "a flow mapping",
		"a:\n  - b\n":              "a block sequence",
		"a: b\n\nc: d\n":           "a blank line",
		"a:\n\tb: c\n":             "a tab",
		"a: b\r\n":                 "a carriage return",
		"a: b \n":                  "a trailing blank",
		"a:  b\n":                  "two blanks before the value",
		"a:\n":                     "a null value at the end",
		"a:\nb: c\n":               "a null value before a sibling",
		"a: False\n":               "a boolean in another case",
		"a: yes\n":                 "a YAML 1.1 boolean",
		"a: Off\n":                 "a YAML 1.1 boolean in another case",
		"a: null\n":                "null",
		"a: NULL\n":                "NULL",
		"a: ~\n":                   "a tilde",
		"true: a\n":                "a boolean key",
		"a: 1.30\n":                "a number that looks like a version",
		"a: 2024-01-01\n":          "a timestamp",
		"a: .inf\n":                "infinity",
		"a: &x b\n":                "an anchor",
		"a: *x\n":                  "an alias",
		"a: !!str b\n":             "a tag",
		"<<: a\n":                  "a merge key",
		"---\na: b\n":              "a document marker",
		"a: b\n---\nc: d\n":        "two documents",
		" a: b\n":                  "an indented first line",
		"a:\n  b: c\n d: e\n":      "a dedent to no open mapping",
		"a: b\n  c: d\n":           "an indent under a key with a value",
		"a: b:c\n":                 "a colon in a value",
		"a: b c\n":                 "a blank in a value",
		"\xef\xbb\xbfa: b\n":       "a byte order mark",
		"ä: b\n":                   "a letter outside ASCII",
		"a: b\n...\n":              "a document end",
		"%YAML 1.2\n---\na: b\n":   "a directive",
		"a:\n  b:\n":               "a nested null value",
		"? a\n: b\n":               "an explicit key",
		"a: |\n  b\n":              "a literal block",
		"a-b-c\n":                  "no colon",
		":\n":                      "an empty key",
		"a: -b\n":                  "a value starting with a dash",
		"a: b/\n  c: d\n":          "an indent after a value",
		"a:\n  b: c\n    d: e\n":   "an indent under a sibling's value",
		"a:\n    b: c\n  d: e\n":   "a dedent between levels",
		"a: b\nc:\n  d: e\n  f:\n": "a null value at the end, nested",
	}
	for src, why := range declined {
		_, ok := wordTree([]byte(src))
		assert.False(t, ok, "%s: %q", why, src)
	}
}

// TestWordTreeAgreesWithParser builds documents from keys, values and
// comments that wordTree reads and that it must leave to the parser, and
// holds wordTree to the parser on each.
func TestWordTreeAgreesWithParser(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	// keys: words, and words YAML reads as something else
	keys := []string{"a", "b", "release2", "tenant-912", "x.y", "p/q", "A_B", "Yes", "no", "ON", "nul", "nulls",
		"e1", "E", "y", "n", "N0", "NaN", "inf", "Infinity", "t1_", "v1.30", "off-peak", "truex", "o", "true", "7"}
	// values: those, and values wordTree reads or must leave to the parser
	values := append([]string{`"true"`, `'1.30'`, `""`, `" a "`, `"a: b"`, `'#x'`, `"it's"`, `'say "hi"'`,
		"0", "42", "123456789", "false", "[]", "[a]", "[a, b]", "[m6i.large, x.y]",
		`"a\tb"`, `'a''b'`, `"\"`, "007", "1234567890", "1.5", "True", "[a,b]", "[a, 1]", "[true]", "[a, ]",
		"[[a]]", "[ a ]", "{}", "{a: b}"}, keys...)
	comments := []string{"# c", "#", "#x: y # z", "# tenant-912 dev", "# c ", " # c", "#\tc", ""}
	accepted := 0
	for range 30000 {
		var b strings.Builder
		if r.IntN(3) == 0 {
			for range 1 + r.IntN(2) {
				b.WriteString(comments[r.IntN(len(comments))] + "\n")
			}
		}
		depth := 0
		lines := 1 + r.IntN(8)
		for i := range lines {
			switch r.IntN(10) {
			case 0:
				depth = max(0, depth-1)
			case 1:
				depth = 0
			}
			indent := depth * 2
			if r.IntN(40) == 0 {
				indent += 1 // an indent that matches no level
			}
			b.WriteString(strings.Repeat(" ", indent))
			b.WriteString(keys[r.IntN(len(keys))])
			if r.IntN(3) == 0 && i < lines-1 {
				b.WriteString(":\n")
				depth++
				continue
			}
			b.WriteString(": " + values[r.IntN(len(values))] + "\n")
		}
		if agreesWithParser(t, b.String()) {
			accepted++
		}
	}
	t.Logf("%d of 30,000 documents read by wordTree", accepted)
	assert.Greater(t, accepted, 2500, "the generator must reach wordTree's shape")
}

// FuzzWordTree holds wordTree to the parser on any bytes.
func FuzzWordTree(f *testing.F) {
	for _, s := range []string{
		"externalSecret:\n  labels:\n    addonsRelease: release2\n", "a:\n b: c\nd: e\n", "a: b\r\n", "a: yes\n",
		"a:\n  b: c\n d: e\n", "a: b\n---\n", "k: v\n  x: y\n",
		"a:\n  b: \"true\"\n  c: 'x y'\n", "a: \"\"\n", "# c\n#\na:\n  b: [x, y]\n  c: 12\n  d: false\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		agreesWithParser(t, src)
	})
}

// BenchmarkStream reads a cluster's label file and a blueprint of ten
// clusters, with and without wordTree.
func BenchmarkStream(b *testing.B) {
	var bp strings.Builder
	bp.WriteString("# payments dev\ntenant: payments\nenv: dev\nregion: eu-west-1\nservices:\n  eks:\n    enabled: true\n    config:\n")
	for i := range 10 {
		bp.WriteString("      pay-dev-" + strconv.Itoa(i) + ":\n        fleet: cpu\n        is_canary: false\n" +
			"        version: \"1.29\"\n        vpc_name: shared\n        nodegroups:\n          system:\n" +
			"            instance_types: [m6i.large]\n            min_size: 2\n            max_size: 4\n" +
			"            ami_release_version: \"1.29.3-20240531\"\n")
	}
	for _, f := range []struct{ name, src string }{
		{"label-file", "externalSecret:\n  labels:\n    addonsRelease: release2\n"},
		{"blueprint", bp.String()},
	} {
		src := []byte(f.src)
		if _, ok := wordTree(src); !ok {
			b.Fatalf("%s: not read by wordTree", f.name)
		}
		b.Run(f.name+"/words", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, ok := New("f.yaml").Stream(src); !ok {
					b.Fatal("refused")
				}
			}
		})
		b.Run(f.name+"/parser", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseNodes(src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSlabFull: a full slab still gives a node of its own.
func TestSlabFull(t *testing.T) {
	t.Parallel()
	nodes := make(slab, 0, 1)
	a := nodes.add(yaml.Node{Value: "a"})
	b := nodes.add(yaml.Node{Value: "b"})
	c := nodes.add(yaml.Node{Value: "c"})
	assert.Equal(t, []string{"a", "b", "c"}, []string{a.Value, b.Value, c.Value})
	assert.NotSame(t, b, c)
	assert.Same(t, a, &nodes[0])
}

// Nodes Stream reads a file of words into are handed back by Release, and
// cleared then: what a caller still holds reads as nothing, not as another
// file's nodes. A Decoder that does not release keeps its nodes.
func TestReleaseClearsNodes(t *testing.T) {
	t.Parallel()
	first := []byte("a:\n  b: one\n")
	d := New("a.yaml")
	docs, _, ok := d.Stream(first)
	if !ok || len(docs) != 1 || docs[0].Content[1].Content[1].Value != "one" {
		t.Fatalf("Stream: %v %v", ok, docs)
	}
	// A second stream before Release does not touch the first's nodes.
	again, _, ok := d.Stream([]byte("c: two\n"))
	if !ok || again[0].Content[1].Value != "two" || docs[0].Content[1].Content[1].Value != "one" {
		t.Fatal("a second Stream changed the first's nodes")
	}
	kept := docs[0]
	d.Release()
	if kept.Kind != 0 || kept.Content != nil {
		t.Fatalf("a released node still reads as %v with %d children", kept.Kind, len(kept.Content))
	}
	if again[0].Content[1].Value != "two" {
		t.Fatal("Release cleared nodes it did not hand out")
	}
	d.Release() // nothing held: nothing happens
	// Read again after Release, the decoder's nodes are a file's own.
	for i := range 50 {
		src := fmt.Appendf(nil, "k%d:\n  v: x%d\n", i, i)
		docs, _, ok := d.Stream(src)
		if !ok || docs[0].Content[0].Value != fmt.Sprintf("k%d", i) || docs[0].Content[1].Content[1].Value != fmt.Sprintf("x%d", i) {
			t.Fatalf("file %d read as %v", i, docs)
		}
		d.Release()
	}
	// A file the reader declines goes to the parser and holds no slab.
	docs, _, ok = d.Stream([]byte("a: {b: c}\n"))
	if !ok || d.held != nil || docs[0].Content[1].Content[1].Value != "c" {
		t.Fatalf("a flow mapping: %v, held %v", docs, d.held != nil)
	}
}

// An empty file has no document: parseNodes says so without a parser, as
// the parser itself does.
func TestParseNodesOfEmptyFile(t *testing.T) {
	t.Parallel()
	var doc yaml.Node
	require.ErrorIs(t, yaml.NewDecoder(strings.NewReader("")).Decode(&doc), io.EOF, "the parser finds a document in an empty file")
	for _, src := range [][]byte{nil, {}} {
		docs, err := Nodes(src)
		require.NoError(t, err)
		assert.Empty(t, docs)
	}
	docs, err := Nodes([]byte("\n"))
	require.NoError(t, err)
	assert.Empty(t, docs, "a blank line is no document either")
}
