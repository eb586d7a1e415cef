package decode

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// A fleet holds tens of thousands of files like
//
//	externalSecret:
//	  labels:
//	    addonsRelease: release2
//
// (a cluster's label file), and thousands of blueprints of a few kilobytes
// made of the same few things, and the YAML parser's cost per file (its
// buffers, its token queue, a node built in several steps) is most of what
// reading one costs. wordTree reads a file of that shape itself: one
// document of block mappings whose keys are words and whose values are
// words, quoted text without escapes ("true", 'a b'), whole numbers,
// true or false, or a one-line list of words ([a, b]), under comment lines
// at the top of the file. It builds the nodes the parser would, line,
// column and comment included, and declines anything else, which the
// parser then reads: another comment, an escape, a flow mapping, a blank
// line, a tab, a key without a value, a word YAML reads as other than a
// string. FuzzWordTree holds it to the parser.

// wordTree returns the document node of src when src is one document of
// the shape above, as the YAML parser would build it; ok is false for any
// other src.
func wordTree(src []byte) (doc *yaml.Node, ok bool) {
	var nodes slab
	return readWords(src, &nodes)
}

// readWords is wordTree building its nodes in nodes, which it makes when
// it has no room: sized for every node the file can have (two a line, one
// a list item), up to maxSlab; a larger file, rarely of this shape and
// often declined further down, takes the rest one at a time. The nodes
// are made only once the comments at the top are read.
func readWords(src []byte, nodes *slab) (doc *yaml.Node, ok bool) {
	if len(src) == 0 || src[len(src)-1] != '\n' {
		return nil, false
	}
	// open are the mappings a line may add a key to, innermost last, with
	// the column of their keys.
	type level struct {
		m      *yaml.Node
		indent int
	}
	var (
		root    *yaml.Node
		open    []level
		pending *yaml.Node // the last key, when it has no value on its line
		pendAt  int        // its indent
	)
	head, pos, line, ok := topComments(src)
	if !ok {
		return nil, false
	}
	if cap(*nodes) == 0 {
		*nodes = make(slab, 0, min(maxSlab, 2*bytes.Count(src, []byte{'\n'})+bytes.Count(src, []byte{','})+bytes.Count(src, []byte{'['})+2))
	}
	first := line
	for ; pos < len(src); line++ {
		end := pos
		for src[end] != '\n' {
			end++
		}
		indent := 0
		for pos+indent < end && src[pos+indent] == ' ' {
			indent++
		}
		text := src[pos+indent : end]
		pos = end + 1
		colon := -1
		for i, c := range text {
			if c == ':' {
				colon = i
				break
			}
		}
		if colon <= 0 || !isWord(text[:colon]) {
			return nil, false
		}
		var value *yaml.Node
		switch rest := text[colon+1:]; {
		case len(rest) == 0:
		case len(rest) > 1 && rest[0] == ' ':
			if value = nodes.scalarOrList(rest[1:], line, indent+1+colon+2); value == nil {
				return nil, false
			}
		default:
			return nil, false
		}
		key := nodes.word(text[:colon], line, indent+1)
		switch {
		case pending != nil:
			// the line opens the mapping of the key before it
			if indent <= pendAt {
				return nil, false // that key's value is null
			}
			m := nodes.add(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line, Column: indent + 1})
			top := open[len(open)-1].m
			top.Content = append(top.Content, pending, m)
			open = append(open, level{m, indent})
		case len(open) == 0:
			if indent != 0 {
				return nil, false
			}
			root = nodes.add(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line, Column: 1})
			open = append(open, level{root, 0})
			key.HeadComment = head
		default:
			for len(open) > 0 && open[len(open)-1].indent > indent {
				open = open[:len(open)-1]
			}
			if len(open) == 0 || open[len(open)-1].indent != indent {
				return nil, false
			}
		}
		pending = nil
		if value == nil {
			pending, pendAt = key, indent
			continue
		}
		top := open[len(open)-1].m
		top.Content = append(top.Content, key, value)
	}
	if pending != nil || root == nil {
		return nil, false
	}
	return nodes.add(yaml.Node{Kind: yaml.DocumentNode, Line: first, Column: 1, Content: []*yaml.Node{root}}), true
}

// topComments reads the comment lines at the top of src (which ends in a
// line break): each '#' in the first column, then printable ASCII not
// ending in a blank. It returns them as the parser keeps them (the first
// key's head comment), and the offset and the number of the line after
// them; ok is false when a line that starts with '#' is not such a comment.
func topComments(src []byte) (head string, pos, line int, ok bool) {
	pos, line = 0, 1
	for pos < len(src) && src[pos] == '#' {
		end := pos
		for src[end] != '\n' {
			if c := src[end]; c < ' ' || c > '~' {
				return "", 0, 0, false
			}
			end++
		}
		if src[end-1] == ' ' {
			return "", 0, 0, false
		}
		pos, line = end+1, line+1
	}
	if pos > 0 {
		head = string(src[:pos-1])
	}
	return head, pos, line, true
}

// scalarOrList returns the node of a value that starts at column on line,
// as the parser builds it, or nil when b is not one wordTree reads.
func (nodes *slab) scalarOrList(b []byte, line, column int) *yaml.Node {
	switch {
	case isWord(b):
		return nodes.word(b, line, column)
	case b[0] == '[':
		return nodes.list(b, line, column)
	}
	return nodes.scalar(b, line, column)
}

// scalar returns the node of a quoted string without escapes, a whole
// number or a boolean, or nil.
func (nodes *slab) scalar(b []byte, line, column int) *yaml.Node {
	switch {
	case isQuoted(b):
		style := yaml.DoubleQuotedStyle
		if b[0] == '\'' {
			style = yaml.SingleQuotedStyle
		}
		return nodes.add(yaml.Node{Kind: yaml.ScalarNode, Style: style, Tag: "!!str", Value: string(b[1 : len(b)-1]), Line: line, Column: column})
	case isWholeNumber(b):
		return nodes.add(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: string(b), Line: line, Column: column})
	case string(b) == "true" || string(b) == "false":
		return nodes.add(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: string(b), Line: line, Column: column})
	}
	return nil
}

// list returns the node of a flow sequence of words on one line, "[]" or
// "[a, b]" with one blank after each comma, or nil.
func (nodes *slab) list(b []byte, line, column int) *yaml.Node {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil
	}
	seq := nodes.add(yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Tag: "!!seq", Line: line, Column: column})
	items := b[1 : len(b)-1]
	for at := 1; len(items) > 0; {
		n := len(items)
		for i := 0; i+1 < len(items); i++ {
			if items[i] == ',' && items[i+1] == ' ' {
				n = i
				break
			}
		}
		if !isWord(items[:n]) {
			return nil
		}
		seq.Content = append(seq.Content, nodes.word(items[:n], line, column+at))
		if n == len(items) {
			break
		}
		items, at = items[n+2:], at+n+2
		if len(items) == 0 {
			return nil // a comma at the end
		}
	}
	return seq
}

// isWholeNumber reports whether b is a whole number YAML reads as one: 0,
// or up to nine digits not starting with 0.
func isWholeNumber(b []byte) bool {
	if len(b) == 0 || len(b) > 9 || (b[0] == '0' && len(b) > 1) {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// word is the node of a plain scalar that YAML reads as a string.
func (nodes *slab) word(b []byte, line, column int) *yaml.Node {
	return nodes.add(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: string(b), Line: line, Column: column})
}

// slab holds the nodes of one file in one allocation.
type slab []yaml.Node

// maxSlab is the most nodes wordTree allocates at once: a blueprint of 250
// lines.
const maxSlab = 512

// add returns a node of the slab set to n; a new node should the slab be
// full, which its size rules out.
func (nodes *slab) add(n yaml.Node) *yaml.Node {
	if len(*nodes) == cap(*nodes) {
		p := new(yaml.Node)
		*p = n
		return p
	}
	*nodes = append(*nodes, n)
	return &(*nodes)[len(*nodes)-1]
}

// isWord reports whether b is a plain scalar that YAML reads as the string
// it spells: a letter, then letters, digits and "_-./", and none of the
// words YAML 1.1 or 1.2 reads as a boolean or null, in any case.
func isWord(b []byte) bool {
	if len(b) == 0 || !isLetter(b[0]) {
		return false
	}
	for _, c := range b[1:] {
		if !isLetter(c) && !('0' <= c && c <= '9') && c != '_' && c != '-' && c != '.' && c != '/' {
			return false
		}
	}
	if len(b) > 5 {
		return true
	}
	var lower [5]byte
	for i, c := range b {
		lower[i] = c | 0x20
	}
	switch string(lower[:len(b)]) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		return false
	}
	return true
}

// isQuoted reports whether b is a quoted scalar, in double or single
// quotes, whose text needs no unescaping: printable ASCII without a
// backslash or the quote itself.
func isQuoted(b []byte) bool {
	if len(b) < 2 || (b[0] != '"' && b[0] != '\'') || b[len(b)-1] != b[0] {
		return false
	}
	for _, c := range b[1 : len(b)-1] {
		if c < ' ' || c > '~' || c == b[0] || c == '\\' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
