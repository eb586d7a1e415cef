package yamledit

import (
	"fmt"
	"reflect"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/rollout/decode"
)

// Prune removes the `key: scalar` entry at path like Delete, and also the
// mappings that deleting it would leave empty: an empty mapping would read as
// null, and in Helm values a null removes what more general files set. When
// the entry is not alone in its mapping, Prune is Delete. Otherwise it
// removes, as whole lines, the outermost entry whose value holds nothing but
// the path (comment lines inside it go with it; every other line stays). When
// that is the whole document, what is left is the file's other lines, an
// empty document. The result is checked by decoding both files: they must
// differ by exactly the removed entry.
func Prune(file string, src []byte, path Path) ([]byte, error) {
	d, err := Parse(file, src)
	if err != nil {
		return nil, err
	}
	return d.Prune(path)
}

// Prune is the package's Prune on d's bytes.
func (d *Doc) Prune(path Path) ([]byte, error) {
	s := d.s
	file, src := s.file, s.src
	t, err := s.pick(path, -1)
	if err != nil {
		return nil, err
	}
	if t.key == nil || len(t.parent.Content) > 2 {
		return Delete(file, src, path)
	}
	if len(s.docs) != 1 {
		return nil, s.fail(t.key, path, KindLayout, "file holds %d documents; removing a whole mapping is only done in single-document files", len(s.docs))
	}
	if t.node.Kind != yaml.ScalarNode || t.node.Line != t.key.Line || styleOf(t.node) == Literal || styleOf(t.node) == Folded {
		return nil, s.fail(t.key, path, KindMultiline, "entry is not a `key: scalar` on one line; delete it by hand")
	}

	// Walk down the path, remembering each mapping and entry, then climb from
	// the leaf while the mapping holds nothing else.
	root := s.docs[0].Content[0]
	maps := make([]*yaml.Node, len(path))
	keys := make([]*yaml.Node, len(path))
	n := root
	for i, seg := range path {
		if n.Kind != yaml.MappingNode || n.Style&yaml.FlowStyle != 0 {
			return nil, s.fail(n, path, KindLayout, "%s is not a block mapping; delete the entry by hand", Path(path[:i]).String())
		}
		maps[i] = n
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == seg {
				keys[i], n = n.Content[j], n.Content[j+1]
				break
			}
		}
	}
	top := len(path) - 1
	for top > 0 && len(maps[top].Content) == 2 {
		top--
	}
	k := keys[top]
	first := k.Line
	last := lastLine(maps[top].Content[indexOf(maps[top], k)+1])
	if last < first {
		last = first
	}
	if off := mustOffset(s, k); !onlySpaces(s.src[s.lines[first-1]:off]) {
		return nil, s.fail(k, path, KindLayout, "entry shares its line with other content; delete it by hand")
	}
	from := s.lines[first-1]
	to := len(s.src)
	if last < len(s.lines) {
		to = s.lines[last]
	} else if first > 1 {
		// The entry runs to the end of a file with no final line break: take
		// the break before it, so the file still ends without one.
		from = s.lines[first-1] - breakLenBefore(s.src, s.lines[first-1])
	}
	out := make([]byte, 0, len(src)-(to-from))
	out = append(append(out, src[:from]...), src[to:]...)

	if err := verifyPruned(s.docs[0], out, path[:top+1]); err != nil {
		return nil, s.fail(k, path, KindVerify, "%v", err)
	}
	return out, nil
}

// lastLine returns the last line any node under n starts on.
func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

func onlySpaces(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// breakLenBefore returns the length of the line break that ends just before
// offset i.
func breakLenBefore(src []byte, i int) int {
	if i >= 2 && src[i-2] == '\r' && src[i-1] == '\n' {
		return 2
	}
	if i >= 1 {
		return 1
	}
	return 0
}

// verifyPruned decodes both files, the original from its parse doc, and
// checks that out is the original without the entry at removed (and
// nothing else).
func verifyPruned(doc *yaml.Node, out []byte, removed Path) error {
	before, after, err := decodeBoth(doc, out)
	if err != nil {
		return err
	}
	m, err := mappingAt(before, removed[:len(removed)-1])
	if err != nil {
		return err
	}
	delete(m, removed[len(removed)-1])
	if root, _ := before.(map[string]any); len(root) == 0 {
		before = nil
	}
	if !reflect.DeepEqual(before, after) {
		return fmt.Errorf("removing %s changed more than that entry; delete it by hand", removed.String())
	}
	return nil
}

// decodeBoth decodes the original, from its parse doc, and the edited
// file's first document, as yaml.Unmarshal would (its nodes read as the
// editor reads a file: a file of words without the parser).
func decodeBoth(doc *yaml.Node, out []byte) (before, after any, err error) {
	if err := doc.Decode(&before); err != nil {
		return nil, nil, err
	}
	docs, err := decode.Nodes(out)
	if err == nil && len(docs) > 0 {
		err = docs[0].Decode(&after)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("the result is not valid YAML: %w", err)
	}
	return before, after, nil
}

// mappingAt returns the decoded mapping at p in v.
func mappingAt(v any, p Path) (map[string]any, error) {
	m, ok := v.(map[string]any)
	for _, seg := range p {
		if !ok {
			break
		}
		m, ok = m[seg].(map[string]any)
	}
	if !ok {
		return nil, fmt.Errorf("%s is not a mapping", describe(p))
	}
	return m, nil
}
