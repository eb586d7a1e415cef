package decode

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	}
	for _, src := range accepted {
		assert.True(t, agreesWithParser(t, src), "declined:\n%s", src)
	}
	declined := map[string]string{
		"":                         "empty",
		"a: b":                     "no final newline",
		"# c\na: b\n":              "a comment",
		"a: b # c\n":               "a comment after a value",
		"a: \"b\\n\"\n":            "an escape",
		"a: 'it''s'\n":             "a quote in single quotes",
		"a: \"b\" c\n":             "text after a quoted value",
		"a: \"b\n":                 "an unterminated quote",
		"a: \"b'\n":                "quotes that do not match",
		"a: \"\xc3\xa4\"\n":        "quoted text outside ASCII",
		"\"a\": b\n":               "a quoted key",
		"a: [b]\n":                 "a flow sequence",
		"a: {b: c}\n":              "a flow mapping",
		"a:\n  - b\n":              "a block sequence",
		"a: b\n\nc: d\n":           "a blank line",
		"a:\n\tb: c\n":             "a tab",
		"a: b\r\n":                 "a carriage return",
		"a: b \n":                  "a trailing blank",
		"a:  b\n":                  "two blanks before the value",
		"a:\n":                     "a null value at the end",
		"a:\nb: c\n":               "a null value before a sibling",
		"a: true\n":                "a boolean",
		"a: False\n":               "a boolean in another case",
		"a: yes\n":                 "a YAML 1.1 boolean",
		"a: Off\n":                 "a YAML 1.1 boolean in another case",
		"a: null\n":                "null",
		"a: NULL\n":                "NULL",
		"a: ~\n":                   "a tilde",
		"true: a\n":                "a boolean key",
		"a: 1\n":                   "a number",
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

// TestWordTreeAgreesWithParser builds documents from pieces that are words,
// almost words and not words, and holds wordTree to the parser on each.
func TestWordTreeAgreesWithParser(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "b", "release2", "tenant-912", "x.y", "p/q", "A_B", "Yes", "no", "ON", "nul", "nulls",
		"e1", "E", "y", "n", "N0", "NaN", "inf", "Infinity", "t1_", "v1.30", "off-peak", "truex", "o",
	}
	quoted := []string{`"true"`, `'1.30'`, `""`, `" a "`, `"a: b"`, `'#x'`, `"it's"`, `'say "hi"'`, `"a\tb"`, `'a''b'`, `"\"`}
	pieces = append(pieces, quoted...)
	accepted := 0
	for range 20000 {
		var b strings.Builder
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
			b.WriteString(pieces[r.IntN(len(pieces)-len(quoted))]) // a key: a word, or almost
			if r.IntN(3) == 0 && i < lines-1 {
				b.WriteString(":\n")
				depth++
				continue
			}
			b.WriteString(": " + pieces[r.IntN(len(pieces))] + "\n")
		}
		if agreesWithParser(t, b.String()) {
			accepted++
		}
	}
	assert.Greater(t, accepted, 3000, "the generator must reach wordTree's shape")
}

// FuzzWordTree holds wordTree to the parser on any bytes.
func FuzzWordTree(f *testing.F) {
	for _, s := range []string{
		"externalSecret:\n  labels:\n    addonsRelease: release2\n", "a:\n b: c\nd: e\n", "a: b\r\n", "a: yes\n",
		"a:\n  b: c\n d: e\n", "a: b\n---\n", "k: v\n  x: y\n",
		"a:\n  b: \"true\"\n  c: 'x y'\n", "a: \"\"\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		agreesWithParser(t, src)
	})
}

// BenchmarkStreamLabelFile reads a cluster's label file, with and without
// wordTree.
func BenchmarkStreamLabelFile(b *testing.B) {
	src := []byte("externalSecret:\n  labels:\n    addonsRelease: release2\n")
	b.Run("words", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, ok := New("f.yaml").Stream(src); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("parser", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseNodes(src); err != nil {
				b.Fatal(err)
			}
		}
	})
}
