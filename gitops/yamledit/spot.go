package yamledit

import (
	"bytes"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Spot is where a parse of a file found a scalar that SetAt can replace
// without parsing the file again: a quoted or plain string (no tag, no
// anchor, outside any flow collection) that Set would edit at the same
// path. A Spot belongs to the exact bytes that were parsed; the caller
// keeps it with them (or with a digest of them).
type Spot struct {
	line, column int32
	style        Style
	size         int32 // a plain scalar's length in bytes: it ends on its line
}

// Locate returns the Spot of the scalar at p in root, the root node of a
// file's only document as the YAML library parses it, or false when an
// edit there needs the whole editor: the path goes through an alias, a
// merge key, a repeated key or a flow collection, or the scalar is not a
// quoted or plain string of its own (tagged, anchored, a block scalar, a
// plain scalar that is not a string).
func Locate(root *yaml.Node, p Path) (Spot, bool) {
	if root == nil || len(p) == 0 {
		return Spot{}, false
	}
	s := &source{docs: []*yaml.Node{{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}}}
	t, err := s.resolve(0, p)
	if err != nil || t.flow || s.editable(t, p) != nil {
		return Spot{}, false
	}
	n := t.node
	var st Style
	switch n.Style {
	case yaml.DoubleQuotedStyle:
		st = DoubleQuoted
	case yaml.SingleQuotedStyle:
		st = SingleQuoted
	case 0:
		st = Plain
	default:
		return Spot{}, false
	}
	if n.Tag != "!!str" || n.Anchor != "" || n.Line < 1 || n.Column < 1 || n.Line > 1<<30 || n.Column > 1<<30 || len(n.Value) > 1<<30 {
		return Spot{}, false
	}
	sp := Spot{line: int32(n.Line), column: int32(n.Column), style: st}
	if st == Plain {
		sp.size = int32(len(n.Value))
	}
	return sp, true
}

// SetAt is Doc.SetEach on src for edits whose every scalar has a Spot:
// find returns the Spot of a path, which Locate found in a parse of
// exactly these bytes. It makes the edits without parsing src or the
// results, and reports false, having made nothing, whenever Doc.SetEach
// could refuse them or could give other bytes: a path without a Spot, a
// file of more than one document, bytes at a Spot that are not a quoted
// or plain scalar ending on its line with only blanks or a comment after
// it, a scalar with escapes, a stale expected value, a value the scalar's
// quotes cannot hold or that would not be a plain string, the same scalar
// twice in one step. The caller then makes them with the whole editor,
// which says why.
//
// Nothing else can change: each edit replaces one quoted scalar, which
// stands alone on its line but for a comment, with another of the same
// quotes on one line, or one plain string with another that reads back as
// that string on its own; before it every byte is the same, and after it
// the YAML scanner meets the same bytes in the same state (a quoted scalar
// that is not followed by ':' is no key, however long; a plain one ends
// where the line does, or at the comment, and no line after it is
// indented to continue it). The parse that
// verifies the result would find the same nodes, with the same lines and
// columns (a comment after an edited scalar moves on its line; the parser
// keeps no column for comments), and the edited scalars holding their new
// values; TestSetAtAgreesWithSetEach and FuzzSetAt hold SetAt to that.
func SetAt(src []byte, find func(Path) (Spot, bool), steps [][]Edit) ([][]byte, bool) {
	if !utf8.Valid(src) {
		return nil, false
	}
	s := &source{src: src}
	s.indexLines()
	if s.documentMarker() {
		return nil, false
	}
	var (
		plans []*plan
		at    = map[Spot]*plan{}
		out   = make([][]byte, len(steps))
		last  = src
		step  []Spot
	)
	for k, edits := range steps {
		changed := false
		step = step[:0]
		for _, e := range edits {
			sp, ok := find(e.Path)
			if !ok || e.Document > 0 || slices.Contains(step, sp) || !utf8.ValidString(e.Value) {
				return nil, false
			}
			step = append(step, sp)
			pl := at[sp]
			if pl == nil {
				if pl = s.spotPlan(sp); pl == nil {
					return nil, false
				}
				at[sp] = pl
				plans = append(plans, pl)
			}
			if pl.value == e.Value {
				continue // a quoted scalar is a string: unchanged, Quote or not
			}
			if e.Expect != nil && *e.Expect != pl.value {
				return nil, false
			}
			text, ok := quoted(sp.style, e.Value)
			if !ok {
				return nil, false
			}
			pl.text, pl.value, pl.changed = text, e.Value, true
			changed = true
		}
		if changed {
			last = splice(src, plans)
		}
		out[k] = last
	}
	return out, true
}

// spotPlan finds the scalar at sp and reads its value; nil when the bytes
// there are not one quoted scalar without escapes, or one plain scalar of
// the Spot's length, alone on its line but for blanks and a comment after
// it.
func (s *source) spotPlan(sp Spot) *plan {
	start, ok := s.offset(int(sp.line), int(sp.column))
	if !ok {
		return nil
	}
	le := s.lineEnd(start)
	if sp.style == Plain {
		return s.plainSpotPlan(sp, start, le)
	}
	q := byte('"')
	if sp.style == SingleQuoted {
		q = '\''
	}
	if s.src[start] != q {
		return nil
	}
	end := quotedEnd(s.src, start, le, sp.style)
	if end < 0 {
		return nil
	}
	rest := end
	for rest < le && isBlank(s.src[rest]) {
		rest++
	}
	if rest < le && (s.src[rest] != '#' || rest == end) {
		return nil
	}
	inner := s.src[start+1 : end-1]
	if bytes.IndexByte(inner, '\\') >= 0 || bytes.IndexByte(inner, '\'') >= 0 && sp.style == SingleQuoted {
		return nil
	}
	return &plan{start: start, end: end, text: string(s.src[start:end]), value: string(inner)}
}

// plainSpotPlan is spotPlan for a plain scalar starting at start on the
// line ending at le: it must end on that line, where the scanner ends it,
// with the Spot's length (a scalar folded from more lines is longer), and
// no line after it may be indented more than its own (a continuation of
// it, in bytes other than those the Spot was found in).
func (s *source) plainSpotPlan(sp Spot, start, le int) *plan {
	if c := s.src[start]; isBlank(c) || breakLen(s.src, start) > 0 || strings.IndexByte("\"'[]{},#&*!|>%@`", c) >= 0 ||
		strings.IndexByte("-?:", c) >= 0 && (start+1 >= le || isBlank(s.src[start+1])) {
		return nil // not the start of a plain scalar
	}
	end := plainEnd(s.src, start, le, false)
	if end-start != int(sp.size) {
		return nil
	}
	rest := end
	for rest < le && isBlank(s.src[rest]) {
		rest++
	}
	if rest < le && s.src[rest] != '#' {
		return nil
	}
	if !s.endsBlock(int(sp.line)) {
		return nil
	}
	v := string(s.src[start:end])
	return &plan{start: start, end: end, text: v, value: v}
}

// endsBlock reports whether no line after line (1-based) that holds more
// than blanks is indented more than line is, nor indented with a tab.
func (s *source) endsBlock(line int) bool {
	indent := func(l int) (int, bool) {
		i := s.lines[l]
		for i < len(s.src) && s.src[i] == ' ' {
			i++
		}
		switch {
		case i < len(s.src) && s.src[i] == '\t':
			return 0, false
		case i >= len(s.src) || breakLen(s.src, i) > 0:
			return -1, true // a blank line
		}
		return i - s.lines[l], true
	}
	own, ok := indent(line - 1)
	if !ok {
		return false
	}
	for l := line; l < len(s.lines); l++ {
		n, ok := indent(l)
		switch {
		case !ok || n > own:
			return false
		case n >= 0:
			return true
		}
	}
	return true
}

// quoted writes v in the quotes of style on one line, or as a plain
// scalar when it reads back as that string on its own; false when the
// style cannot hold it.
func quoted(style Style, v string) (string, bool) {
	switch style {
	case DoubleQuoted:
		return doubleQuote(v), true
	case Plain:
		if tag, ok := plainTag(v, false); ok && tag == "!!str" {
			return v, true
		}
		return "", false
	}
	if !printable(v) {
		return "", false
	}
	return singleQuote(v), true
}

// documentMarker reports whether a line of the file starts with "---" or
// "...": it may hold several documents, and a Spot names none.
func (s *source) documentMarker() bool {
	for _, l := range s.lines {
		if bytes.HasPrefix(s.src[l:], []byte("---")) || bytes.HasPrefix(s.src[l:], []byte("...")) {
			return true
		}
	}
	return false
}
