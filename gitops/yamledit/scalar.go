package yamledit

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Style is the way a scalar is written in the file.
type Style int

// The scalar styles of YAML.
const (
	Plain        Style = iota // version: 1.29
	SingleQuoted              // version: '1.29'
	DoubleQuoted              // version: "1.29"
	Literal                   // script: |
	Folded                    // text: >
)

// String names the style as YAML's specification does.
func (s Style) String() string {
	switch s {
	case SingleQuoted:
		return "single-quoted"
	case DoubleQuoted:
		return "double-quoted"
	case Literal:
		return "literal"
	case Folded:
		return "folded"
	}
	return "plain"
}

func styleOf(n *yaml.Node) Style {
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		return DoubleQuoted
	case n.Style&yaml.SingleQuotedStyle != 0:
		return SingleQuoted
	case n.Style&yaml.LiteralStyle != 0:
		return Literal
	case n.Style&yaml.FoldedStyle != 0:
		return Folded
	}
	return Plain
}

// nodeStyle is the yaml.Node style bits a scalar written in style st with the
// properties of n has after parsing.
func nodeStyle(st Style, n *yaml.Node) yaml.Style {
	var ys yaml.Style
	switch st {
	case SingleQuoted:
		ys = yaml.SingleQuotedStyle
	case DoubleQuoted:
		ys = yaml.DoubleQuotedStyle
	}
	return ys | n.Style&yaml.TaggedStyle
}

// editable refuses targets whose bytes cannot be replaced in place.
func (s *source) editable(t target, p Path) error {
	n := t.node
	switch n.Kind {
	case yaml.AliasNode:
		return s.fail(n, p, KindAlias, "value is the alias *%s%s; edit the anchored value instead", n.Value, anchorAt(n))
	case yaml.MappingNode:
		return s.fail(n, p, KindNotScalar, "value is a mapping, not a scalar")
	case yaml.SequenceNode:
		return s.fail(n, p, KindNotScalar, "value is a sequence, not a scalar")
	case yaml.ScalarNode:
	default:
		return s.fail(n, p, KindNotScalar, "value is not a scalar")
	}
	switch styleOf(n) {
	case Literal, Folded:
		return s.fail(n, p, KindBlockScalar, "value is a %s block scalar; edit it by hand", styleOf(n))
	case Plain:
		if n.Tag == "!!null" || n.Value == "" {
			return s.fail(n, p, KindNull, "value is null or empty; there is no scalar to replace")
		}
	}
	return nil
}

// span returns the byte range [start, end) of the text of the scalar t.node,
// quotes included and anchor and tag excluded, after checking that the bytes
// there read back as the node's value.
func (s *source) span(t target, p Path) (start, end int, err error) {
	n := t.node
	off, ok := s.offset(n.Line, n.Column)
	if !ok {
		return 0, 0, s.fail(n, p, KindVerify, "cannot map line %d column %d to the file's bytes", n.Line, n.Column)
	}
	le := s.lineEnd(off)
	src := s.src
	for off < le && (src[off] == '&' || src[off] == '!') {
		if strings.HasPrefix(string(src[off:le]), "!<") {
			for off < le && src[off] != '>' {
				off++
			}
		}
		for off < le && !isBlank(src[off]) && (!t.flow || !isFlowIndicator(src[off])) {
			off++
		}
		for off < le && isBlank(src[off]) {
			off++
		}
	}
	if off >= le {
		return 0, 0, s.fail(n, p, KindMultiline, "value is not on the same line as its anchor or tag")
	}
	start, end = off, -1
	style := styleOf(n)
	switch style {
	case DoubleQuoted, SingleQuoted:
		q := byte('"')
		if style == SingleQuoted {
			q = '\''
		}
		if src[off] != q {
			return 0, 0, s.fail(n, p, KindVerify, "expected a %s scalar at line %d column %d", style, n.Line, n.Column)
		}
		if end = quotedEnd(src, off, le, style); end < 0 {
			return 0, 0, s.fail(n, p, KindMultiline, "%s value continues on the next line; edit it by hand", style)
		}
		got, ok := decodeQuoted(src[start:end])
		if !ok || got != n.Value {
			return 0, 0, s.fail(n, p, KindVerify, "the bytes at line %d do not read back as the value %q", n.Line, n.Value)
		}
	default:
		end = plainEnd(src, off, le, t.flow)
		got := string(src[start:end])
		if got != n.Value {
			if end > start && strings.HasPrefix(n.Value, got) {
				return 0, 0, s.fail(n, p, KindMultiline, "plain value continues on the next line; edit it by hand")
			}
			return 0, 0, s.fail(n, p, KindVerify, "the bytes at line %d do not read back as the value %q", n.Line, n.Value)
		}
	}
	return start, end, nil
}

// quotedEnd returns where the quoted scalar of style whose opening quote
// is at off ends on its line (after its closing quote), or -1 when it goes
// on past le.
func quotedEnd(src []byte, off, le int, style Style) int {
	q := byte('"')
	if style == SingleQuoted {
		q = '\''
	}
	for i := off + 1; i < le; i++ {
		if style == DoubleQuoted && src[i] == '\\' {
			i++
			continue
		}
		if src[i] == q {
			if style == SingleQuoted && i+1 < le && src[i+1] == q {
				i++
				continue
			}
			return i + 1
		}
	}
	return -1
}

// plainEnd returns where a plain scalar starting at off ends on its line,
// following the rules of the parser's scanner: a ": " or a flow indicator
// inside a flow collection ends it, and so does a " #" comment.
func plainEnd(src []byte, off, le int, flow bool) int {
	end := off
	i := off
	for i < le {
		if src[i] == '#' && i > off {
			return end
		}
		for i < le && !isBlank(src[i]) {
			if src[i] == ':' && (i+1 >= le || isBlank(src[i+1])) {
				return end
			}
			if flow && (src[i] == ',' || src[i] == '?' || src[i] == '[' || src[i] == ']' || src[i] == '{' || src[i] == '}') {
				return end
			}
			i++
			end = i
		}
		for i < le && isBlank(src[i]) {
			i++
		}
	}
	return end
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func isFlowIndicator(c byte) bool {
	return c == ',' || c == '[' || c == ']' || c == '{' || c == '}'
}

// decodeQuoted reads a quoted scalar on its own.
func decodeQuoted(text []byte) (string, bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.ScalarNode {
		return "", false
	}
	return doc.Content[0].Value, true
}

// plainTag returns the tag a plain scalar with text v resolves to, and false
// when v cannot be written as a plain scalar at all (it would not read back as
// v on its own, or it holds characters plain scalars may not).
func plainTag(v string, flow bool) (string, bool) {
	if v == "" || !printable(v) {
		return "", false
	}
	if flow && strings.ContainsAny(v, ",?[]{}") {
		return "", false
	}
	return plainTags.of(v)
}

// plainTags remembers what short plain texts resolve to: a campaign writes
// one value into thousands of files, and parsing it alone each time costs
// more than the edit.
var plainTags = &tagMemo{m: map[string]memoTag{}}

// tagMemo is plainTag's memory, of at most memoSize texts of at most
// memoText bytes each; the texts past it are parsed each time.
type tagMemo struct {
	mu sync.Mutex
	m  map[string]memoTag
}

type memoTag struct {
	tag string
	ok  bool
}

const (
	memoSize = 1024
	memoText = 128
)

func (t *tagMemo) of(v string) (string, bool) {
	if len(v) > memoText {
		return resolvePlain(v)
	}
	t.mu.Lock()
	r, hit := t.m[v]
	t.mu.Unlock()
	if hit {
		return r.tag, r.ok
	}
	r.tag, r.ok = resolvePlain(v)
	t.mu.Lock()
	if len(t.m) < memoSize {
		t.m[v] = r
	}
	t.mu.Unlock()
	return r.tag, r.ok
}

// resolvePlain is plainTag's parse of v on its own.
func resolvePlain(v string) (string, bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(v), &doc); err != nil || len(doc.Content) != 1 {
		return "", false
	}
	n := doc.Content[0]
	if n.Kind != yaml.ScalarNode || n.Style != 0 || n.Value != v || n.Anchor != "" {
		return "", false
	}
	return n.Tag, true
}

// printable reports whether v has only characters that may appear literally
// on one line of a plain or single-quoted scalar.
func printable(v string) bool {
	for _, r := range v {
		switch {
		case r == '\t', r >= 0x20 && r <= 0x7E, r >= 0xA0 && r <= 0xD7FF && r != 0x2028 && r != 0x2029,
			r >= 0xE000 && r <= 0xFFFD && r != 0xFEFF, r >= 0x10000 && r <= utf8.MaxRune:
		default:
			return false
		}
	}
	return true
}

// canonical reports whether the plain text v of type tag reads back as exactly
// v when the value is written out again, so that nothing the caller wrote is
// lost to the number or boolean it becomes (1.30 reads as 1.3: not canonical).
func canonical(v, tag string) bool {
	switch tag {
	case "!!bool":
		return v == "true" || v == "false"
	case "!!int":
		i, err := strconv.ParseInt(v, 10, 64)
		return err == nil && strconv.FormatInt(i, 10) == v
	case "!!float":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return false
		}
		return strconv.FormatFloat(f, 'f', -1, 64) == v || strconv.FormatFloat(f, 'g', -1, 64) == v
	}
	return false
}

func typeName(tag string) string {
	switch tag {
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	case "!!timestamp":
		return "a timestamp"
	case "!!str":
		return "a string"
	case "!!binary":
		return "binary data"
	}
	return "a value tagged " + tag
}

// doubleQuote writes v as a double-quoted scalar on one line.
func doubleQuote(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('"')
	for _, r := range v {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case 0:
			b.WriteString(`\0`)
		case 0x85:
			b.WriteString(`\N`)
		case 0x2028:
			b.WriteString(`\L`)
		case 0x2029:
			b.WriteString(`\P`)
		default:
			switch {
			case r < 0x20 || r >= 0x7F && r <= 0x9F:
				b.WriteString(`\x` + hex2(int(r)))
			case r == 0xFEFF || r >= 0xD800 && r <= 0xDFFF || r == 0xFFFE || r == 0xFFFF:
				b.WriteString(`\u` + strings.ToUpper(strconv.FormatInt(int64(r)|0x10000, 16)[1:]))
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func hex2(c int) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[c>>4], digits[c&15]})
}

// singleQuote writes v as a single-quoted scalar on one line.
func singleQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}
