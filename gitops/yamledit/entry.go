package yamledit

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// CopyEntry adds the entry `to:` to the block mapping at mapping (the
// document root when mapping is empty) as a copy of its sibling entry from,
// whose value must be a block mapping: the new entry's body is the lines of
// the keys listed in keys (every key when keys is empty), each with all its
// lines (nested blocks, sequences, the comments inside it) byte for byte, in
// the source's order. It goes right after from's last line, separated from
// it the way from is separated from its next sibling (from its previous one
// when it is the last), so a green cluster's entry reads like its blue one's.
// The `to:` line ends like the file's lines; every other byte is kept. The
// file must hold one document, to must not exist yet, and nothing copied may
// define an anchor or use an alias (an anchor would be defined twice). The
// result is checked by decoding both files: the new one must be the old one
// plus to, holding from's value reduced to keys.
func CopyEntry(file string, src []byte, mapping Path, from, to string, keys []string) ([]byte, error) {
	full := append(slices.Clone(mapping), to)
	orig := append(slices.Clone(mapping), from)
	if to == "" || !utf8.ValidString(to) {
		return nil, &Error{File: file, Path: full.String(), Kind: KindPath, Reason: "the new key must be a non-empty UTF-8 string"}
	}
	s, t, err := wholeEntry(file, src, orig, "copied")
	if err != nil {
		return nil, err
	}
	m, k, v := t.parent, t.key, t.node
	if other, _, err := s.lookupKey(m, full, to); err == nil {
		return nil, s.fail(other, full, KindExists, "key already present; it cannot be added as a copy of %s", from)
	} else if e := (*Error)(nil); !errors.As(err, &e) || e.Kind != KindNotFound {
		return nil, err
	}
	if v.Kind != yaml.MappingNode || v.Style&yaml.FlowStyle != 0 || v.Style&yaml.TaggedStyle != 0 || v.Content[0].Line == k.Line {
		return nil, s.fail(v, orig, KindLayout, "value is not a block mapping under its key; only such entries can be copied")
	}
	if k.Anchor != "" || v.Anchor != "" {
		return nil, s.anchorFail(cmp.Or(anchored(k), v), orig, twice)
	}
	pick, err := s.copiedKeys(v, orig, keys)
	if err != nil {
		return nil, err
	}

	// The lines of v are cut into one run per entry: an entry's run goes
	// from the line after the previous entry's last line to its own last
	// line, so the comments and blank lines before a key go with it; the
	// last entry's run goes to the end of from.
	last := s.entryLast(k, false, true)
	var body []byte
	prev := k.Line
	for i := 0; i < len(v.Content); i += 2 {
		kn := v.Content[i]
		end := last
		if i+2 < len(v.Content) {
			end = s.entryLast(kn, v.Content[i+1].Kind == yaml.SequenceNode, true)
		}
		first := prev + 1
		prev = end
		if !pick[i] {
			continue
		}
		if len(body) == 0 && i > 0 {
			for first < kn.Line && s.blankLine(first) {
				first++
			}
		}
		body = append(body, s.src[s.lines[first-1]:s.lineAfter(end)]...)
	}

	at := s.lineAfter(last)
	var sep []byte
	if indexOf(m, k)+2 < len(m.Content) {
		sep = s.src[at:s.lineAfter(s.blankBelow(last))]
	} else {
		top := s.headStart(k)
		sep = s.src[s.lines[s.blankAbove(top)-1]:s.lines[top-1]]
	}
	eol := lineEnding(src)
	text := make([]byte, 0, len(eol)+len(sep)+k.Column+len(to)+len(body)+8)
	if at == len(src) && !endsWithBreak(src) {
		text = append(text, eol...)
	}
	text = append(text, sep...)
	text = append(text, s.src[s.lines[k.Line-1]:mustOffset(s, k)]...)
	text = append(append(append(text, stringText(to)...), ':'), eol...)
	text = append(text, body...)
	out := make([]byte, 0, len(src)+len(text))
	out = append(append(append(out, src[:at]...), text...), src[at:]...)

	if err := verifyCopied(s.docs[0], out, mapping, from, to, keys); err != nil {
		return nil, s.fail(k, full, KindVerify, "%v", err)
	}
	return out, nil
}

// copiedKeys checks the keys of block mapping v that keys lists (every key
// when it is empty) and returns them by index in v.Content.
func (s *source) copiedKeys(v *yaml.Node, orig Path, keys []string) (map[int]bool, error) {
	want := map[string]bool{}
	for _, key := range keys {
		if want[key] {
			return nil, s.fail(v, orig, KindPath, "key %q is listed twice", key)
		}
		want[key] = true
		if _, _, err := s.lookupKey(v, append(slices.Clone(orig), key), key); err != nil {
			return nil, err
		}
	}
	pick := map[int]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		kn, vn := v.Content[i], v.Content[i+1]
		if kn.Kind != yaml.ScalarNode || !onlySpaces(s.src[s.lines[kn.Line-1]:mustOffset(s, kn)]) {
			return nil, s.fail(kn, orig, KindLayout, "a key of the entry does not start its line; copy it by hand")
		}
		if len(keys) > 0 && !want[kn.Value] {
			continue
		}
		if len(keys) == 0 {
			// Looked up for its checks alone: a key defined twice, a
			// merge key.
			if _, _, err := s.lookupKey(v, append(slices.Clone(orig), kn.Value), kn.Value); err != nil {
				return nil, err
			}
		}
		if n := cmp.Or(anchored(kn), anchored(vn)); n != nil {
			return nil, s.anchorFail(n, append(slices.Clone(orig), kn.Value), twice)
		}
		pick[i] = true
	}
	return pick, nil
}

// RemoveEntry removes the entry at path, a key of a block mapping, with its
// whole value, as whole lines: the comment lines directly above the key at
// its indentation (they describe it) go with it, and so do the comments
// right under its last line indented deeper than the key. A run of blank
// lines that separated it from its neighbours is removed once, so none is
// left doubled: the one above it when a blank line or the end of its
// mapping follows it, the one below it when it is its mapping's first
// entry. The file must hold one document, the entry must not be the only
// one of its mapping (that would leave null), must start its line and must
// not define an anchor. The result is checked by decoding both files: the
// new one must be the old one without the entry.
func RemoveEntry(file string, src []byte, path Path) ([]byte, error) {
	s, t, err := wholeEntry(file, src, path, "removed")
	if err != nil {
		return nil, err
	}
	m, k, v := t.parent, t.key, t.node
	if len(m.Content) <= 2 {
		return nil, s.fail(k, path, KindLayout, "entry is the only one in its mapping; removing it would leave the mapping null")
	}
	if n := anchored(k); n != nil {
		return nil, s.anchorFail(n, path, "other nodes may use it; remove the entry by hand")
	}
	if n := anchored(v); n != nil {
		return nil, s.anchorFail(n, path, "other nodes may use it; remove the entry by hand")
	}
	i := indexOf(m, k)
	first := s.headStart(k)
	last := s.entryLast(k, v.Kind == yaml.SequenceNode, true)
	above, below := s.blankAbove(first), s.blankBelow(last)
	switch {
	case above < first && (below > last || i+2 == len(m.Content)):
		first = above
	case above == first && below > last && i == 0:
		last = below
	}
	from, to := s.lines[first-1], s.lineAfter(last)
	if to == len(src) && !endsWithBreak(src) && first > 1 {
		// The entry runs to the end of a file with no final line break:
		// take the break before it, so the file still ends without one.
		from -= breakLenBefore(src, from)
	}
	out := make([]byte, 0, len(src)-(to-from))
	out = append(append(out, src[:from]...), src[to:]...)
	if err := verifyPruned(s.docs[0], out, path); err != nil {
		return nil, s.fail(k, path, KindVerify, "%v", err)
	}
	return out, nil
}

// wholeEntry parses src and finds the entry at p, to be copied or removed
// (done) as whole lines: the file must hold one document, and the entry
// belong to a block mapping and start its line.
func wholeEntry(file string, src []byte, p Path, done string) (*source, target, error) {
	s, err := parse(file, src)
	if err != nil {
		return nil, target{}, err
	}
	if len(s.docs) > 1 {
		return nil, target{}, s.fail(s.docs[1], p, KindAmbiguous, "file has %d documents (the second starts here); only entries of single-document files can be %s", len(s.docs), done)
	}
	t, err := s.pick(p, -1)
	switch {
	case err != nil:
		return nil, target{}, err
	case t.key == nil:
		err = s.fail(t.node, p, KindLayout, "%s is a sequence; only mapping entries can be %s", describe(p[:len(p)-1]), done)
	case t.flow:
		err = s.fail(t.parent, p, KindLayout, "%s is written in flow style; only entries of block mappings can be %s", describe(p[:len(p)-1]), done)
	case !onlySpaces(s.src[s.lines[t.key.Line-1]:mustOffset(s, t.key)]):
		err = s.fail(t.key, p, KindLayout, "entry shares its line with another node; it cannot be %s as whole lines", done)
	}
	return s, t, err
}

// anchored returns the first node under n (n included) that defines an
// anchor or is an alias, or nil.
func anchored(n *yaml.Node) *yaml.Node {
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return n
	}
	for _, c := range n.Content {
		if a := anchored(c); a != nil {
			return a
		}
	}
	return nil
}

// twice is why an anchor cannot be copied.
const twice = "copying it would define the anchor twice"

func (s *source) anchorFail(n *yaml.Node, p Path, why string) *Error {
	if n.Kind == yaml.AliasNode {
		return s.fail(n, p, KindAlias, "entry uses the alias *%s; copy it by hand", n.Value)
	}
	return s.fail(n, p, KindAlias, "entry defines the anchor &%s; %s", n.Anchor, why)
}

// entryLast returns the last line of the block mapping entry whose key k
// starts its line: the lines after it indented deeper than the key (and,
// when seq, the items of a sequence written at the key's indentation)
// belong to it. With trailing, so do the comment lines indented deeper
// than the key right under its last line; other comment and blank lines
// belong to it only when more of it follows.
func (s *source) entryLast(k *yaml.Node, seq, trailing bool) int {
	indent := k.Column - 1
	last := k.Line
	attached := trailing
	for l := k.Line + 1; s.hasLine(l); l++ {
		text := s.lineText(l)
		trimmed := bytes.TrimLeft(text, " ")
		ind := len(text) - len(trimmed)
		switch {
		case len(bytes.TrimSpace(trimmed)) == 0:
			attached = false
			continue
		case trimmed[0] == '#':
			if attached && ind > indent {
				last = l
			} else {
				attached = false
			}
			continue
		case ind > indent, ind == indent && seq && trimmed[0] == '-' && (len(trimmed) == 1 || isBlank(trimmed[1])):
			if ind == 0 && (bytes.HasPrefix(trimmed, []byte("---")) || bytes.HasPrefix(trimmed, []byte("..."))) {
				return last
			}
			last, attached = l, trailing
			continue
		}
		break
	}
	return last
}

// headStart returns the first of the comment lines right above key k's line
// at k's indentation, or k's line when there is none.
func (s *source) headStart(k *yaml.Node) int {
	l := k.Line
	for l > 1 {
		text := s.lineText(l - 1)
		trimmed := bytes.TrimLeft(text, " ")
		if len(text)-len(trimmed) != k.Column-1 || len(trimmed) == 0 || trimmed[0] != '#' {
			break
		}
		l--
	}
	return l
}

// blankAbove returns the first of the blank lines right above line l, or l
// when there is none.
func (s *source) blankAbove(l int) int {
	for l > 1 && s.blankLine(l-1) {
		l--
	}
	return l
}

// blankBelow returns the last of the blank lines right under line l, or l
// when there is none.
func (s *source) blankBelow(l int) int {
	for s.hasLine(l+1) && s.blankLine(l+1) {
		l++
	}
	return l
}

// hasLine reports whether the file has a line l (1-based) with something
// on it or a line break after it.
func (s *source) hasLine(l int) bool {
	return l >= 1 && l <= len(s.lines) && s.lines[l-1] < len(s.src)
}

// lineText returns line l (1-based) without its line break.
func (s *source) lineText(l int) []byte {
	start := s.lines[l-1]
	return s.src[start:s.lineEnd(start)]
}

func (s *source) blankLine(l int) bool {
	return len(bytes.TrimSpace(s.lineText(l))) == 0
}

// lineAfter returns the offset of the start of the line after line l, or
// the end of the file.
func (s *source) lineAfter(l int) int {
	if l < len(s.lines) {
		return s.lines[l]
	}
	return len(s.src)
}

// verifyCopied decodes both files, the original from its parse doc, and
// checks that out is the original with the entry to added to the mapping
// at mapping, holding the value of from reduced to keys (all of it when
// keys is empty), and nothing else.
func verifyCopied(doc *yaml.Node, out []byte, mapping Path, from, to string, keys []string) error {
	before, after, err := decodeBoth(doc, out)
	if err != nil {
		return err
	}
	m, err := mappingAt(before, mapping)
	if err != nil {
		return err
	}
	value, ok := m[from].(map[string]any)
	if !ok {
		return fmt.Errorf("%s does not decode as a mapping", append(slices.Clone(mapping), from).String())
	}
	if len(keys) > 0 {
		part := make(map[string]any, len(keys))
		for _, key := range keys {
			part[key] = value[key]
		}
		value = part
	}
	m[to] = value
	if !reflect.DeepEqual(before, after) {
		return fmt.Errorf("copying %s as %s changed more than adding that entry; copy it by hand", from, to)
	}
	return nil
}
