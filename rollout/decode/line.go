package decode

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Line returns the line of field (a path as Join and Index write it, such
// as spec.strategy.order[1]) in src: the line of its key, or, when the file
// does not write the field, of the nearest field above it that it writes;
// 0 when src is not YAML or writes none of the path. It lets a problem
// found after decoding (a plan the planner refuses, a gate that cannot be
// built) point at the place a person would change. A quoted key is not
// split at its dots.
func Line(src []byte, field string) int {
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	n, line := Deref(doc.Content[0]), 0
	for _, seg := range pathSegments(field) {
		next, at := child(n, seg)
		if next == nil {
			break
		}
		n, line = next, at
	}
	return line
}

// child returns the value of seg (a key, or "[i]" for a list item) in n,
// with the line that writes it.
func child(n *yaml.Node, seg string) (*yaml.Node, int) {
	if i, ok := strings.CutPrefix(seg, "["); ok {
		idx, err := strconv.Atoi(strings.TrimSuffix(i, "]"))
		if err != nil || n.Kind != yaml.SequenceNode || idx < 0 || idx >= len(n.Content) {
			return nil, 0
		}
		return Deref(n.Content[idx]), n.Content[idx].Line
	}
	if n.Kind != yaml.MappingNode {
		return nil, 0
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == seg {
			return Deref(n.Content[i+1]), n.Content[i].Line
		}
	}
	return nil, 0
}

// pathSegments splits a field path into keys and "[i]" items; a key Join
// quoted stays whole.
func pathSegments(field string) []string {
	var out []string
	for field != "" {
		switch field[0] {
		case '.':
			field = field[1:]
		case '[':
			end := strings.IndexByte(field, ']')
			if end < 0 {
				return append(out, field)
			}
			out, field = append(out, field[:end+1]), field[end+1:]
		case '"':
			if q, err := strconv.QuotedPrefix(field); err == nil {
				key, _ := strconv.Unquote(q)
				out, field = append(out, key), field[len(q):]
				continue
			}
			return append(out, field)
		default:
			end := strings.IndexAny(field, ".[")
			if end < 0 {
				return append(out, field)
			}
			out, field = append(out, field[:end]), field[end:]
		}
	}
	return out
}
