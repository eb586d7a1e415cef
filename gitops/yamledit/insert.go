package yamledit

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Insert adds the entry `key: value` at the end of the block mapping at
// mapping (the document root when mapping is empty), indented like its
// siblings. Missing mappings on the way are created, so a label can be added
// to a file that has none yet, or to an empty file. The value is written so
// that it reads as a string (double-quoted when plain text would not). Line
// endings follow the file (CR LF when it uses CR LF) and every other byte is
// kept. The file must hold one document; the key must not exist yet.
func Insert(file string, src []byte, mapping Path, key, value string) ([]byte, error) {
	return InsertBefore(file, src, mapping, key, value, "")
}

// InsertBefore is Insert with the entry written on the lines just before
// the key before of the same block mapping, which must exist, at its
// indentation: a revert puts back a key that was deleted where it stood.
// An empty before adds the entry at the end, as Insert does. A key that
// does not start its line (the first of a sequence entry's mapping) is
// refused (KindLayout).
func InsertBefore(file string, src []byte, mapping Path, key, value, before string) ([]byte, error) {
	s, err := parse(file, src)
	if err != nil {
		return nil, err
	}
	full := append(slices.Clone(mapping), key)
	if key == "" || !utf8.ValidString(key) || !utf8.ValidString(value) {
		return nil, s.fail(nil, full, KindPath, "key must be a non-empty UTF-8 string and value UTF-8")
	}
	if len(s.docs) > 1 {
		return nil, s.fail(nil, full, KindAmbiguous, "file has %d documents; entries are added only to single-document files", len(s.docs))
	}
	ins, err := s.placeInsert(mapping, full, before)
	if err != nil {
		return nil, err
	}
	eol := lineEnding(src)
	var b strings.Builder
	if ins.offset == len(src) && len(src) > 0 && !endsWithBreak(src) {
		b.WriteString(eol)
	}
	rest := full[ins.depth:]
	for i, k := range rest {
		b.WriteString(strings.Repeat(" ", ins.indent+i*ins.step))
		b.WriteString(stringText(k))
		b.WriteString(":")
		if i == len(rest)-1 {
			b.WriteString(" " + stringText(value))
		}
		if i < len(rest)-1 || ins.offset < len(src) || endsWithBreak(src) || len(src) == 0 {
			b.WriteString(eol)
		}
	}
	text := b.String()
	out := make([]byte, 0, len(src)+len(text))
	out = append(append(append(out, src[:ins.offset]...), text...), src[ins.offset:]...)

	added := strings.Count(text, eol)
	if ins.offset == len(src) && !endsWithBreak(src) && len(src) > 0 {
		added = 0 // nothing followed the insertion
	}
	line, _ := s.position(ins.offset)
	c := &comparer{
		file: file,
		path: full.String(),
		line: func(l int) int {
			if l >= line {
				return l + added
			}
			return l
		},
		free: map[*yaml.Node]bool{},
		skip: func(a, _ *yaml.Node) (int, int, bool) {
			if a == ins.mapping {
				return -1, ins.at, true
			}
			return 0, 0, false
		},
	}
	if ins.empty != nil {
		c.free[ins.empty] = true
	}
	if ins.mapping != nil && ins.at == 0 {
		// The new first entry starts where the old one did, and so do the
		// mapping and, for the root's, the document.
		c.stays = map[*yaml.Node]bool{ins.mapping: true, s.docs[0]: s.docs[0].Line == ins.mapping.Line}
	}
	if err := s.verifyAgainst(out, c, full, value); err != nil {
		return nil, err
	}
	return out, nil
}

// insertion is where Insert writes and how it indents.
type insertion struct {
	offset  int
	depth   int        // how many elements of the path exist already
	indent  int        // spaces before the first new line
	step    int        // spaces per level for the mappings Insert creates
	mapping *yaml.Node // the mapping that gets a new entry, nil when none exists
	at      int        // the index of the new key in mapping's content, once written
	empty   *yaml.Node // the empty value that becomes a mapping, if any
}

func (s *source) placeInsert(mapping, full Path, before string) (insertion, error) {
	ins, err := s.placeAtEnd(mapping, full)
	if err != nil || before == "" {
		return ins, err
	}
	at := append(slices.Clone(mapping), before)
	if ins.mapping == nil || ins.depth != len(full)-1 {
		var n *yaml.Node // the value that is empty, or the root
		switch {
		case ins.empty != nil:
			n = ins.empty
		case len(s.docs) > 0 && len(s.docs[0].Content) > 0:
			n = s.docs[0].Content[0]
		}
		return ins, s.fail(n, at, KindNotFound, "no key %s to insert %s before: its mapping is empty or missing", at, full)
	}
	k, _, err := s.lookupKey(ins.mapping, at, before)
	if err != nil {
		return ins, err
	}
	start, _ := s.offset(k.Line, 1)
	keyAt := mustOffset(s, k)
	if strings.TrimLeft(string(s.src[start:keyAt]), " ") != "" {
		return ins, s.fail(k, at, KindLayout, "key %s does not start its line; cannot insert %s before it", at, full)
	}
	ins.offset, ins.indent = start, k.Column-1
	ins.at = slices.Index(ins.mapping.Content, k)
	return ins, nil
}

// placeAtEnd places the entry full at the end of the block mapping at
// mapping, creating the mappings on the way that do not exist.
func (s *source) placeAtEnd(mapping, full Path) (insertion, error) {
	ins := insertion{step: s.indentStep()}
	if len(s.docs) == 0 || len(s.docs[0].Content) == 0 {
		ins.offset = len(s.src)
		return ins, nil
	}
	root := s.docs[0].Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" && root.Value == "" && root.Anchor == "" {
		ins.offset = len(s.src)
		ins.empty = root
		return ins, nil
	}
	cur := root
	for ins.depth = 0; ; ins.depth++ {
		if cur.Kind != yaml.MappingNode || cur.Style&yaml.FlowStyle != 0 {
			return ins, s.fail(cur, full, KindLayout, "%s is not a block mapping; cannot add a key under it", describe(full[:ins.depth]))
		}
		if ins.depth == len(full) {
			break
		}
		k, v, err := s.lookupKey(cur, full, full[ins.depth])
		var e *Error
		if errors.As(err, &e) && e.Kind == KindNotFound {
			break
		}
		if err != nil {
			return ins, err
		}
		if ins.depth == len(full)-1 {
			return ins, s.fail(k, full, KindExists, "key already present; change it with Set instead")
		}
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" && v.Value == "" && v.Style == 0 && v.Anchor == "" {
			// `labels:` with nothing under it: the new entries go on the
			// lines after the key, one level deeper.
			ins.depth++
			ins.empty = v
			ins.indent = k.Column - 1 + ins.step
			ins.offset = s.nextLine(mustOffset(s, k))
			return ins, nil
		}
		cur = v
	}
	ins.mapping = cur
	first := cur.Content[0]
	ins.indent = first.Column - 1
	ins.offset = s.entryEnd(cur)
	ins.at = len(cur.Content)
	return ins, nil
}

func mustOffset(s *source, n *yaml.Node) int {
	off, _ := s.offset(n.Line, n.Column)
	return off
}

// nextLine returns the start of the line after the one holding off (or the
// end of the file).
func (s *source) nextLine(off int) int {
	le := s.lineEnd(off)
	if le < len(s.src) {
		return le + breakLen(s.src, le)
	}
	return le
}

// entryEnd returns the start of the line after the last line of block
// mapping m's last entry: lines indented deeper than its keys (and a
// sequence written at the keys' indentation) belong to it; blank and comment
// lines after it stay after the new entry.
func (s *source) entryEnd(m *yaml.Node) int {
	lastKey := m.Content[len(m.Content)-2]
	lastVal := m.Content[len(m.Content)-1]
	return s.lineAfter(s.entryLast(lastKey, lastVal.Kind == yaml.SequenceNode, false))
}

// indentStep guesses the file's indentation step from its first nested block
// mapping; 2 when there is none.
func (s *source) indentStep() int {
	var walk func(n *yaml.Node) int
	walk = func(n *yaml.Node) int {
		if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle == 0 {
			for i := 0; i+1 < len(n.Content); i += 2 {
				v := n.Content[i+1]
				if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && v.Line > n.Content[i].Line {
					if d := v.Content[0].Column - n.Content[i].Column; d > 0 {
						return d
					}
				}
			}
		}
		for _, c := range n.Content {
			if d := walk(c); d > 0 {
				return d
			}
		}
		return 0
	}
	for _, d := range s.docs {
		if step := walk(d); step > 0 {
			return step
		}
	}
	return 2
}

// Delete removes the entry at path, a `key: scalar` entry on one line: the
// whole line in a block mapping (with a comment on that line), or the entry
// and its comma in a flow mapping on one line. It refuses entries that span
// several lines, share their line with another node, or are the only entry of
// their mapping.
func Delete(file string, src []byte, path Path) ([]byte, error) {
	s, err := parse(file, src)
	if err != nil {
		return nil, err
	}
	t, err := s.pick(path, -1)
	if err != nil {
		return nil, err
	}
	m, k, v := t.parent, t.key, t.node
	if k == nil {
		return nil, s.fail(v, path, KindLayout, "only mapping entries can be deleted, not sequence items")
	}
	switch {
	case v.Kind == yaml.ScalarNode && (styleOf(v) == Literal || styleOf(v) == Folded):
		return nil, s.fail(v, path, KindBlockScalar, "value is a %s block scalar spanning several lines; delete it by hand", styleOf(v))
	case v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode:
		return nil, s.fail(v, path, KindNotScalar, "value is a %s; only `key: scalar` entries can be deleted", kindWord(v))
	case v.Line != k.Line:
		return nil, s.fail(k, path, KindMultiline, "entry spans several lines; delete it by hand")
	}
	if len(m.Content) <= 2 {
		return nil, s.fail(k, path, KindLayout, "entry is the only one in its mapping; deleting it would leave the mapping empty")
	}
	if v.Kind == yaml.ScalarNode && s.editable(t, path) == nil {
		if _, _, err := s.span(t, path); err != nil {
			return nil, err
		}
	}
	keyStart := mustOffset(s, k)
	var from, to int
	if t.flow {
		from, to, err = s.flowEntry(t, path, keyStart)
	} else {
		from, to, err = s.blockEntry(k, path, keyStart)
	}
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(src)-(to-from))
	out = append(append(out, src[:from]...), src[to:]...)

	idx := indexOf(m, k)
	fromLine, fromCol := s.position(from)
	removedLines := 0
	if !t.flow {
		removedLines = 1
	}
	removedCols := utf8.RuneCount(src[from:to])
	c := &comparer{
		file: file,
		path: path.String(),
		line: func(l int) int {
			if removedLines > 0 && l > k.Line {
				return l - removedLines
			}
			return l
		},
		shift: func(line, col int) int {
			if removedLines == 0 && line == fromLine && col > fromCol {
				return col - removedCols
			}
			return col
		},
		skip: func(a, _ *yaml.Node) (int, int, bool) {
			if a == m {
				return idx, -1, true
			}
			return 0, 0, false
		},
	}
	if err := s.verifyAgainst(out, c, nil, ""); err != nil {
		return nil, err
	}
	return out, nil
}

// blockEntry returns the bytes of the line holding a block mapping entry.
func (s *source) blockEntry(k *yaml.Node, path Path, keyStart int) (int, int, error) {
	lineStart := s.lines[k.Line-1]
	for i := lineStart; i < keyStart; i++ {
		if s.src[i] != ' ' {
			return 0, 0, s.fail(k, path, KindLayout, "entry shares its line with other content; delete it by hand")
		}
	}
	le := s.lineEnd(keyStart)
	if le < len(s.src) {
		return lineStart, le + breakLen(s.src, le), nil
	}
	// The last line has no line break: take the one before it instead, so
	// the file still ends without one.
	if k.Line == 1 {
		return lineStart, le, nil
	}
	prev := s.lines[k.Line-2]
	pe := s.lineEnd(prev)
	return pe, le, nil
}

// flowEntry returns the bytes of an entry of a flow mapping with the comma
// that separates it from its neighbour on the same line.
func (s *source) flowEntry(t target, path Path, keyStart int) (int, int, error) {
	v := t.node
	var valueEnd int
	if v.Kind == yaml.ScalarNode && s.editable(t, path) == nil {
		_, valueEnd, _ = s.span(t, path)
	} else {
		return 0, 0, s.fail(v, path, KindLayout, "only plain or quoted values can be deleted from a flow mapping")
	}
	le := s.lineEnd(keyStart)
	i := valueEnd
	for i < le && isBlank(s.src[i]) {
		i++
	}
	if i < le && s.src[i] == ',' {
		i++
		for i < le && isBlank(s.src[i]) {
			i++
		}
		return keyStart, i, nil
	}
	ls := s.lines[v.Line-1]
	j := keyStart - 1
	for j >= ls && isBlank(s.src[j]) {
		j--
	}
	if j >= ls && s.src[j] == ',' {
		return j, valueEnd, nil
	}
	return 0, 0, s.fail(t.key, path, KindLayout, "no comma next to the entry on its line; delete it by hand")
}

func indexOf(m, k *yaml.Node) int {
	for i := 0; i < len(m.Content); i += 2 {
		if m.Content[i] == k {
			return i
		}
	}
	return -1
}

func kindWord(n *yaml.Node) string {
	if n.Kind == yaml.MappingNode {
		return "mapping"
	}
	return "sequence"
}

// verifyAgainst parses out and compares it with s using c; when path is set,
// the new file must hold value at path as a string.
func (s *source) verifyAgainst(out []byte, c *comparer, path Path, value string) error {
	ns, err := parse(s.file, out)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Kind, e.Reason = KindVerify, "the edit would break the file: "+e.Reason
		}
		return err
	}
	if len(s.docs) > 0 || len(ns.docs) != 1 {
		if err := c.documents(s.docs, ns.docs); err != nil {
			return err
		}
	}
	if path == nil {
		return nil
	}
	t, err := ns.resolve(0, path)
	if err != nil {
		return err
	}
	if t.node.Kind != yaml.ScalarNode || t.node.Value != value || t.node.Tag != "!!str" {
		return ns.fail(t.node, path, KindVerify, "the new entry would not read back as the string %q; nothing written", value)
	}
	return nil
}

// stringText writes v so that it reads as the string v: plain when it can,
// double-quoted otherwise.
func stringText(v string) string {
	if tag, ok := plainTag(v, false); ok && tag == "!!str" {
		return v
	}
	return doubleQuote(v)
}

func lineEnding(src []byte) string {
	if i := bytes.IndexByte(src, '\n'); i > 0 && src[i-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}

func endsWithBreak(src []byte) bool {
	n := len(src)
	return n > 0 && (src[n-1] == '\n' || src[n-1] == '\r')
}
