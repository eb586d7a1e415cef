package yamledit

import (
	"errors"

	"go.yaml.in/yaml/v3"
)

// Value is a scalar read from a file, with where it is.
type Value struct {
	Text  string
	Tag   string // the resolved tag, e.g. "!!str" or "!!float"
	Style Style
	// Document is the index of the document holding the value, from 0.
	Document int
	// Line and Column locate the scalar's text (after any anchor or tag),
	// 1-based; Column counts characters.
	Line, Column int
	// Start and End are the byte range of the scalar's text, quotes included,
	// when it is a single-line plain or quoted scalar; both are -1 otherwise.
	Start, End int
}

// Lookup reads the scalar at path in document doc (-1: the only document that
// has path). It refuses what Set would refuse on the way there (duplicate
// keys, aliases, merge-key inheritance) and a target that is not a scalar,
// but reads block and multi-line scalars and null values.
func Lookup(file string, src []byte, path Path, doc int) (Value, error) {
	d, err := Parse(file, src)
	if err != nil {
		return Value{}, err
	}
	return d.Lookup(path, doc)
}

// Lookup is the package's Lookup on d's bytes.
func (d *Doc) Lookup(path Path, doc int) (Value, error) {
	s := d.s
	t, err := s.pick(path, doc)
	if err != nil {
		return Value{}, err
	}
	n := t.node
	if n.Kind != yaml.ScalarNode {
		return Value{}, s.editable(t, path)
	}
	v := Value{Text: n.Value, Tag: n.Tag, Style: styleOf(n), Document: t.doc, Line: n.Line, Column: n.Column, Start: -1, End: -1}
	if s.editable(t, path) != nil {
		return v, nil
	}
	start, end, err := s.span(t, path)
	var e *Error
	if errors.As(err, &e) && e.Kind == KindMultiline {
		return v, nil
	}
	if err != nil {
		return Value{}, err
	}
	v.Start, v.End = start, end
	v.Line, v.Column = s.position(start)
	return v, nil
}

func asError(err error, target **Error) bool { return errors.As(err, target) }

// Keys lists the keys of the mapping at path in document doc (-1: the only
// document that has path), in the file's order; an empty path names the
// document's root (doc -1: the first).
func (d *Doc) Keys(path Path, doc int) ([]string, error) {
	s := d.s
	var n *yaml.Node
	if len(path) == 0 {
		doc = max(doc, 0)
		if doc >= len(s.docs) || len(s.docs[doc].Content) == 0 {
			return nil, s.fail(nil, path, KindNotFound, "document %d is empty or does not exist", doc)
		}
		n = s.docs[doc].Content[0]
	} else {
		t, err := s.pick(path, doc)
		if err != nil {
			return nil, err
		}
		n = t.node
	}
	if n.Kind != yaml.MappingNode {
		return nil, s.fail(n, path, KindLayout, "not a mapping")
	}
	keys := make([]string, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys = append(keys, n.Content[i].Value)
	}
	return keys, nil
}
