package yamledit

import (
	"bytes"
	"slices"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Spot is where a parse of a file found a scalar that SetAt can replace
// without parsing the file again: a quoted string (no tag, no anchor,
// outside any flow collection) that Set would edit at the same path. A
// Spot belongs to the exact bytes that were parsed; the caller keeps it
// with them (or with a digest of them).
type Spot struct {
	line, column int32
	style        Style
}

// Locate returns the Spot of the scalar at p in root, the root node of a
// file's only document as the YAML library parses it, or false when an
// edit there needs the whole editor: the path goes through an alias, a
// merge key, a repeated key or a flow collection, or the scalar is not a
// quoted string of its own (tagged, anchored, plain, a block scalar).
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
	default:
		return Spot{}, false
	}
	if n.Tag != "!!str" || n.Anchor != "" || n.Line < 1 || n.Column < 1 || n.Line > 1<<30 || n.Column > 1<<30 {
		return Spot{}, false
	}
	return Spot{line: int32(n.Line), column: int32(n.Column), style: st}, true
}

// SetAt is Doc.SetEach on src for edits whose every scalar has a Spot:
// find returns the Spot of a path, which Locate found in a parse of
// exactly these bytes. It makes the edits without parsing src or the
// results, and reports false, having made nothing, whenever Doc.SetEach
// could refuse them or could give other bytes: a path without a Spot, a
// file of more than one document, bytes at a Spot that are not a quoted
// scalar ending on its line with only blanks or a comment after it, a
// scalar with escapes, a stale expected value, a value the scalar's
// quotes cannot hold, the same scalar twice in one step. The caller then
// makes them with the whole editor, which says why.
//
// Nothing else can change: each edit replaces one quoted scalar, which
// stands alone on its line but for a comment, with another of the same
// quotes on one line; before it every byte is the same, and after it the
// YAML scanner meets the same bytes in the same state (a quoted scalar
// that is not followed by ':' is no key, however long). The parse that
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

// spotPlan finds the quoted scalar at sp and reads its value; nil when the
// bytes there are not one quoted scalar without escapes, alone on its line
// but for blanks and a comment after it.
func (s *source) spotPlan(sp Spot) *plan {
	start, ok := s.offset(int(sp.line), int(sp.column))
	if !ok {
		return nil
	}
	le := s.lineEnd(start)
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

// quoted writes v in the quotes of style on one line; false when single
// quotes cannot hold it.
func quoted(style Style, v string) (string, bool) {
	if style == DoubleQuoted {
		return doubleQuote(v), true
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
