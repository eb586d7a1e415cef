package decode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Decoder collects the problems of one file while its nodes are read.
type Decoder struct {
	file string
	errs Errors
	held *slab // the nodes of what Stream returned, until Release
}

// New returns a Decoder whose problems name file.
func New(file string) *Decoder { return &Decoder{file: file} }

// Failf records a problem at line with field.
func (d *Decoder) Failf(line int, field, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Errors returns the problems recorded so far in line order, those of one
// line in the order they were found.
func (d *Decoder) Errors() Errors {
	out := slices.Clone(d.errs)
	slices.SortStableFunc(out, func(a, b *Error) int { return a.Line - b.Line })
	return out
}

// Err returns Errors, or nil when there is none.
func (d *Decoder) Err() error {
	if len(d.errs) == 0 {
		return nil
	}
	return d.Errors()
}

var yamlErrorRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`) })

// Documents parses every document of src and returns the root node of each
// that holds something; empty documents are skipped. A syntax error is
// reported at its line, and then ok is false.
func (d *Decoder) Documents(src []byte) (docs []*yaml.Node, ok bool) {
	docs, _, ok = d.Stream(src)
	return docs, ok
}

// Stream is Documents that also returns, for each document kept, its index
// in the stream counted from 0, empty documents included: the index an
// editor addresses a document by (yamledit's Document).
func (d *Decoder) Stream(src []byte) (docs []*yaml.Node, index []int, ok bool) {
	var nodes []*yaml.Node
	var err error
	if d.held == nil {
		// The nodes come from a released file's slab when they can.
		d.held = slabs.Get().(*slab)
		if cap(*d.held) == 0 {
			*d.held = make(slab, 0, maxSlab)
		}
		if doc, ok := readWords(src, d.held); ok {
			nodes = []*yaml.Node{doc}
		} else {
			d.Release()
			nodes, err = parseNodes(src)
		}
	} else {
		nodes, err = Nodes(src)
	}
	if err != nil {
		d.syntax(err, src)
		return nil, nil, false
	}
	for i, doc := range nodes {
		if len(doc.Content) > 0 && !IsNull(doc.Content[0]) {
			docs = append(docs, doc.Content[0])
			index = append(index, i)
		}
	}
	return docs, index, true
}

// slabs are the node slabs of files whose nodes were released, for the
// next file Stream reads: a fleet's inventory reads tens of thousands of
// files, each only for as long as it takes to take its clusters out.
var slabs = sync.Pool{New: func() any { return new(slab) }}

// Release hands the nodes of what Stream returned back for the next file
// read, to be overwritten: no node Stream returned may be used after it,
// nor held (what they say is to be copied out first: strings, lines,
// columns). A Decoder whose nodes are not released keeps them.
func (d *Decoder) Release() {
	if d.held == nil {
		return
	}
	n := d.held
	d.held = nil
	clear(*n) // what the nodes point to need not outlive them
	*n = (*n)[:0]
	slabs.Put(n)
}

// Nodes returns the document node of every document of src, empty ones
// included, or the YAML parser's error. A file of block mappings of words
// (wordTree) is read without the parser, into the same nodes.
func Nodes(src []byte) ([]*yaml.Node, error) {
	if doc, ok := wordTree(src); ok {
		return []*yaml.Node{doc}, nil
	}
	return parseNodes(src)
}

// parseNodes is Nodes through the YAML parser, which finds no document in
// an empty file: one a removal emptied is not worth its buffers (a parser
// is about 20 KB).
func parseNodes(src []byte) ([]*yaml.Node, error) {
	if len(src) == 0 {
		return nil, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []*yaml.Node
	for {
		doc := new(yaml.Node)
		err := dec.Decode(doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
}

// One returns the only document of docs with aliases followed, reporting a
// second one as a problem of a file that holds one (what names it: "layout
// file"); nil when docs is empty.
func (d *Decoder) One(docs []*yaml.Node, what string) *yaml.Node {
	if len(docs) == 0 {
		return nil
	}
	if len(docs) > 1 {
		d.Failf(docs[1].Line, "", "a second YAML document starts here: a %s holds one document", what)
	}
	return Deref(docs[0])
}

// Document parses a file of one document (what names it) and returns its
// root; nil when the file is empty, which the caller reports in its words,
// or when it is not YAML.
func (d *Decoder) Document(src []byte, what string) (root *yaml.Node, ok bool) {
	docs, ok := d.Documents(src)
	if !ok {
		return nil, false
	}
	return d.One(docs, what), true
}

// syntax reports a parser error at its line, with a hint when the line is
// indented with a tab.
func (d *Decoder) syntax(err error, src []byte) {
	m := yamlErrorRE().FindStringSubmatch(err.Error())
	if m == nil {
		d.Failf(0, "", "invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	line, _ := strconv.Atoi(m[1])
	reason := m[2]
	if lines := bytes.Split(src, []byte("\n")); line >= 1 && line <= len(lines) &&
		bytes.HasPrefix(bytes.TrimLeft(lines[line-1], " "), []byte("\t")) {
		reason += ": indent with spaces, not tabs"
	}
	d.Failf(line, "", "invalid YAML: %s", reason)
}

// IsNull reports whether n, aliases followed, is an empty value.
func IsNull(n *yaml.Node) bool {
	n = Deref(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// Deref follows aliases to the node they name, so an anchored value can be
// reused.
func Deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// Join appends key to the field path parent. A key that would not read as
// one word on one line is quoted, so each problem stays one line.
func Join(parent, key string) string {
	if strings.ContainsFunc(key, func(r rune) bool { return !unicode.IsPrint(r) }) {
		key = strconv.Quote(key)
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// Index is the field path of item i of the list at parent.
func Index(parent string, i int) string { return parent + "[" + strconv.Itoa(i) + "]" }

// Describe names what a node holds, for problems: "a mapping", "a list",
// "empty", "the number 1.30", "the boolean yes", "\"text\"".
func Describe(n *yaml.Node) string {
	n = Deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "empty"
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		case "!!str", "!!timestamp":
			return strconv.Quote(n.Value)
		}
		return fmt.Sprintf("a value tagged %s", n.Tag)
	}
	return "an unsupported YAML node"
}

// Int reads an integer scalar, or a float scalar with no fraction (3.0 is 3,
// as it is to JSON Schema).
func Int(n *yaml.Node) (int, bool) {
	n = Deref(n)
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	switch n.ShortTag() {
	case "!!int":
		var v int
		if n.Decode(&v) == nil {
			return v, true
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil && f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
			return int(f), true
		}
	}
	return 0, false
}
