package decode

import "go.yaml.in/yaml/v3"

// A fleet holds tens of thousands of files like
//
//	externalSecret:
//	  labels:
//	    addonsRelease: release2
//
// (a cluster's label file), and the YAML parser's fixed cost per file, its
// buffers and its token queue, is most of what reading one costs. wordTree
// reads a file of that shape itself: one document of block mappings whose
// keys are words and whose values are words or quoted text without escapes
// ("true", 'a b'). It builds the nodes the parser would, line and column
// included, and declines anything else, which the parser then reads: a
// comment, an escape, a flow collection, a blank line, a tab, a key without
// a value, a word YAML reads as other than a string. FuzzWordTree holds it
// to the parser.

// wordTree returns the document node of src when src is one document of
// block mappings of words, as the YAML parser would build it; ok is false
// for any other src.
func wordTree(src []byte) (doc *yaml.Node, ok bool) {
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
	for line, pos := 1, 0; pos < len(src); line++ {
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
		var (
			value []byte
			style yaml.Style
		)
		switch rest := text[colon+1:]; {
		case len(rest) == 0:
		case len(rest) > 1 && rest[0] == ' ' && isWord(rest[1:]):
			value = rest[1:]
		case len(rest) > 1 && rest[0] == ' ' && isQuoted(rest[1:]):
			value = rest[1:]
			style = yaml.DoubleQuotedStyle
			if value[0] == '\'' {
				style = yaml.SingleQuotedStyle
			}
		default:
			return nil, false
		}
		key := word(text[:colon], line, indent+1)
		switch {
		case pending != nil:
			// the line opens the mapping of the key before it
			if indent <= pendAt {
				return nil, false // that key's value is null
			}
			m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line, Column: indent + 1}
			top := open[len(open)-1].m
			top.Content = append(top.Content, pending, m)
			open = append(open, level{m, indent})
		case len(open) == 0:
			if indent != 0 {
				return nil, false
			}
			root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line, Column: 1}
			open = append(open, level{root, 0})
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
		v := word(value, line, indent+1+colon+2)
		if style != 0 {
			v.Style, v.Value = style, string(value[1:len(value)-1])
		}
		top := open[len(open)-1].m
		top.Content = append(top.Content, key, v)
	}
	if pending != nil || root == nil {
		return nil, false
	}
	return &yaml.Node{Kind: yaml.DocumentNode, Line: 1, Column: 1, Content: []*yaml.Node{root}}, true
}

// word is the node of a plain scalar that YAML reads as a string.
func word(b []byte, line, column int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: string(b), Line: line, Column: column}
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
