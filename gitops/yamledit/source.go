package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/rollout/decode"
)

// source is one parsed file: its bytes, where each line starts, and its
// documents.
type source struct {
	file  string
	src   []byte
	lines []int // byte offset of the start of each line, as the parser counts lines
	docs  []*yaml.Node
}

var utf8BOM = []byte("\xEF\xBB\xBF")

var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+)`) })

// parse reads every document of src. The parser strips a leading byte-order
// mark and counts CR LF, CR, LF, NEL, LS and PS as line breaks; the line index
// does the same so that the parser's line and column map back to bytes.
func parse(file string, src []byte) (*source, error) {
	if !utf8.Valid(src) {
		return nil, &Error{File: file, Kind: KindSyntax, Reason: "file is not valid UTF-8"}
	}
	docs, err := decode.Nodes(src)
	if err != nil {
		e := &Error{File: file, Kind: KindSyntax, Reason: "not valid YAML: " + err.Error()}
		if m := yamlLine().FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
		}
		return nil, e
	}
	s := &source{file: file, src: src, docs: docs}
	s.indexLines()
	return s, nil
}

func (s *source) indexLines() {
	start := 0
	if bytes.HasPrefix(s.src, utf8BOM) {
		start = len(utf8BOM)
	}
	s.lines = append(s.lines[:0], start)
	for i := start; i < len(s.src); {
		if n := breakLen(s.src, i); n > 0 {
			i += n
			s.lines = append(s.lines, i)
			continue
		}
		i++
	}
}

// breakLen returns the length of the line break at src[i], or 0.
func breakLen(src []byte, i int) int {
	switch {
	case src[i] == '\r' && i+1 < len(src) && src[i+1] == '\n':
		return 2
	case src[i] == '\r' || src[i] == '\n':
		return 1
	case src[i] == 0xC2 && i+1 < len(src) && src[i+1] == 0x85:
		return 2
	case src[i] == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && (src[i+2] == 0xA8 || src[i+2] == 0xA9):
		return 3
	}
	return 0
}

// lineEnd returns the offset of the line break (or end of file) ending the
// line that contains offset off.
func (s *source) lineEnd(off int) int {
	for i := off; i < len(s.src); i++ {
		if breakLen(s.src, i) > 0 {
			return i
		}
	}
	return len(s.src)
}

// offset maps a 1-based line and character column to a byte offset.
func (s *source) offset(line, col int) (int, bool) {
	if line < 1 || line > len(s.lines) || col < 1 {
		return 0, false
	}
	off := s.lines[line-1]
	for c := 1; c < col; c++ {
		if off >= len(s.src) || breakLen(s.src, off) > 0 {
			return 0, false
		}
		_, n := utf8.DecodeRune(s.src[off:])
		off += n
	}
	return off, true
}

// position maps a byte offset to a 1-based line and character column.
func (s *source) position(off int) (line, col int) {
	lo, hi := 0, len(s.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if s.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1, utf8.RuneCount(s.src[s.lines[lo]:off]) + 1
}

// fail builds a refusal at node n (or at the file when n is nil).
func (s *source) fail(n *yaml.Node, p Path, kind Kind, format string, args ...any) *Error {
	e := &Error{File: s.file, Path: p.String(), Kind: kind, Reason: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// target is the node a key path leads to, with what an edit needs around it.
type target struct {
	doc    int
	node   *yaml.Node
	parent *yaml.Node // the mapping or sequence holding node
	key    *yaml.Node // the key of node when parent is a mapping
	flow   bool       // node sits inside a flow collection
}

// pick resolves path in document doc, or, when doc is negative, in the only
// document that has it.
func (s *source) pick(p Path, doc int) (target, error) {
	if len(p) == 0 {
		return target{}, s.fail(nil, p, KindPath, "key path is empty")
	}
	if doc >= 0 {
		if doc >= len(s.docs) {
			return target{}, s.fail(nil, p, KindNotFound, "document %d does not exist; the file has %d (counted from 0)", doc, len(s.docs))
		}
		return s.resolve(doc, p)
	}
	if len(s.docs) == 0 {
		return target{}, s.fail(nil, p, KindNotFound, "file has no YAML document")
	}
	if len(s.docs) == 1 {
		return s.resolve(0, p)
	}
	var (
		found    []int
		lines    []int
		hit      target
		firstErr error
	)
	for i := range s.docs {
		t, err := s.resolve(i, p)
		var e *Error
		if errors.As(err, &e) && e.Kind == KindNotFound {
			continue
		}
		line := e.lineOr(t.node)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		found = append(found, i)
		lines = append(lines, line)
		hit = t
	}
	switch {
	case len(found) == 0:
		return target{}, s.fail(nil, p, KindNotFound, "key path not found in any of the %d documents", len(s.docs))
	case len(found) > 1:
		err := s.fail(nil, p, KindAmbiguous, "key path found in documents %v (counted from 0, lines %v); choose one (--document)", found, lines)
		err.Line = lines[1]
		return target{}, err
	case firstErr != nil:
		return target{}, firstErr
	}
	return hit, nil
}

// resolve walks path from the root of document doc. It refuses mappings with
// duplicate or alias keys, aliases on the way, and values that are only
// inherited through a merge key.
func (s *source) resolve(doc int, p Path) (target, error) {
	root := s.docs[doc]
	if len(root.Content) == 0 {
		return target{}, s.fail(root, p, KindNotFound, "document %d is empty", doc)
	}
	t := target{doc: doc, node: root.Content[0]}
	for i, seg := range p {
		n := t.node
		here := p[:i]
		if n.Kind == yaml.AliasNode {
			return target{}, s.fail(n, p, KindAlias, "%s is an alias of &%s%s; edit the anchored node instead", describe(here), n.Value, anchorAt(n))
		}
		t.flow = t.flow || n.Style&yaml.FlowStyle != 0
		switch n.Kind {
		case yaml.MappingNode:
			key, val, err := s.lookupKey(n, p, seg)
			if err != nil {
				return target{}, err
			}
			t.parent, t.key, t.node = n, key, val
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(seg)
			if err != nil || !isDigits(seg) {
				return target{}, s.fail(n, p, KindNotFound, "%s is a sequence; %q is not an index", describe(here), seg)
			}
			if idx >= len(n.Content) {
				return target{}, s.fail(n, p, KindNotFound, "%s has %d items; index %d does not exist", describe(here), len(n.Content), idx)
			}
			t.parent, t.key, t.node = n, nil, n.Content[idx]
		default:
			return target{}, s.fail(n, p, KindNotFound, "%s is a scalar, not a mapping; key %q does not exist", describe(here), seg)
		}
	}
	return t, nil
}

// lookupKey finds key seg in mapping m after checking the mapping is safe to
// address by key.
func (s *source) lookupKey(m *yaml.Node, p Path, seg string) (key, val *yaml.Node, err error) {
	// A short mapping is searched for a repeated key without a map.
	var seen map[string]*yaml.Node
	if len(m.Content) > 2*shortMapping {
		seen = make(map[string]*yaml.Node, len(m.Content)/2)
	}
	var merge *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		switch k.Kind {
		case yaml.AliasNode:
			return nil, nil, s.fail(k, p, KindAlias, "mapping uses the alias *%s as a key", k.Value)
		case yaml.ScalarNode:
		default:
			continue
		}
		if k.Tag == "!!merge" {
			merge = k
			continue
		}
		if prev := earlierKey(m.Content[:i], k.Value, seen); prev != nil {
			return nil, nil, s.fail(k, p, KindDuplicateKey, "key %q is defined twice (lines %d and %d)", k.Value, prev.Line, k.Line)
		}
		if seen != nil {
			seen[k.Value] = k
		}
		if k.Value == seg {
			key, val = k, m.Content[i+1]
		}
	}
	if key != nil {
		return key, val, nil
	}
	if merge != nil {
		return nil, nil, s.fail(merge, p, KindMerge, "key %q is not set here but may be inherited through the merge key << on line %d; edit the merged node instead", seg, merge.Line)
	}
	return nil, nil, s.fail(m, p, KindNotFound, "key %q not found", seg)
}

// shortMapping is the most keys a mapping has for lookupKey to search it
// for a repeated key without a map.
const shortMapping = 16

// earlierKey returns the first of the scalar keys (merge keys aside) of
// content, a mapping's keys and values before a key, that is key: from
// seen when it is not nil, which holds them.
func earlierKey(content []*yaml.Node, key string, seen map[string]*yaml.Node) *yaml.Node {
	if seen != nil {
		return seen[key]
	}
	for i := 0; i+1 < len(content); i += 2 {
		if k := content[i]; k.Kind == yaml.ScalarNode && k.Tag != "!!merge" && k.Value == key {
			return k
		}
	}
	return nil
}

func describe(p Path) string {
	if len(p) == 0 {
		return "the document root"
	}
	return p.String()
}

func anchorAt(alias *yaml.Node) string {
	if alias.Alias != nil && alias.Alias.Line > 0 {
		return fmt.Sprintf(" (line %d)", alias.Alias.Line)
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// lineOr returns the line of the refusal, or of n when there is none.
func (e *Error) lineOr(n *yaml.Node) int {
	if e != nil {
		return e.Line
	}
	if n != nil {
		return n.Line
	}
	return 0
}
