package yamledit

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Edit asks for the scalar at Path to hold Value.
type Edit struct {
	// Path leads to the scalar to change.
	Path Path
	// Value is the new value as the file's reader should see it.
	Value string
	// Expect, when set, is the value the scalar must hold now; the edit is
	// refused as stale otherwise (unless the file already holds Value).
	Expect *string
	// Quote asks for the value to be read as a string: a plain scalar whose
	// new text would not read as a string is written double-quoted, and a
	// single-quoted scalar that cannot hold the value becomes double-quoted.
	Quote bool
	// Document is the index of the document to edit, counted from 0, or -1 for
	// the only document that has Path.
	Document int
}

// Outcome is what one edit did.
type Outcome struct {
	Path     Path
	Document int
	// Line and Column locate the scalar's text (after any anchor or tag).
	Line, Column int
	Old, New     string
	// Changed is false when the file already held the value.
	Changed bool
}

// Result is the outcome of Set: the file's new bytes and one outcome per edit.
type Result struct {
	// Bytes is the edited file; it is the input itself when nothing changed.
	Bytes    []byte
	Outcomes []Outcome
}

// Changed reports whether any edit changed the file.
func (r Result) Changed() bool {
	for _, o := range r.Outcomes {
		if o.Changed {
			return true
		}
	}
	return false
}

// plan is one edit located in the file, ready to splice.
type plan struct {
	t          target
	path       Path
	start, end int    // bytes of the old scalar text
	text       string // the new scalar text
	style      yaml.Style
	tag        string
	value      string
	line, col  int // position of the scalar text
	delta      int // characters the line grows by
	changed    bool
}

// Set applies edits to src, all or none. Every byte outside the edited
// scalars stays as it was; the result is parsed again and compared with the
// original before it is returned. A refusal is an *Error naming file, line
// and reason, and src is never modified.
func Set(file string, src []byte, edits ...Edit) (Result, error) {
	d, err := Parse(file, src)
	if err != nil {
		return Result{}, err
	}
	res, _, err := d.Set(edits...)
	return res, err
}

// Doc is a parsed file that can be edited again and again, parsing each
// result once: the parse that verifies an edit is the next edit's
// starting point. A Doc is never modified; Set returns a new one.
type Doc struct{ s *source }

// Parse reads every document of src for Set. A file that is not valid
// UTF-8 or not valid YAML is an *Error of kind KindSyntax.
func Parse(file string, src []byte) (*Doc, error) {
	s, err := parse(file, src)
	if err != nil {
		return nil, err
	}
	return &Doc{s: s}, nil
}

// Bytes returns the file's bytes, which the caller must not modify.
func (d *Doc) Bytes() []byte { return d.s.src }

// Set is the package's Set on d's bytes; it also returns the edited file
// as a Doc (d itself when nothing changed).
func (d *Doc) Set(edits ...Edit) (Result, *Doc, error) {
	s := d.s
	plans := make([]*plan, 0, len(edits))
	res := Result{Bytes: s.src, Outcomes: make([]Outcome, 0, len(edits))}
	for _, e := range edits {
		pl, err := s.plan(e)
		if err != nil {
			return Result{}, nil, err
		}
		for _, other := range plans {
			if other.t.node == pl.t.node {
				return Result{}, nil, s.fail(pl.t.node, e.Path, KindConflict, "the same value is edited twice in one change")
			}
		}
		plans = append(plans, pl)
		res.Outcomes = append(res.Outcomes, Outcome{
			Path: e.Path, Document: pl.t.doc, Line: pl.line, Column: pl.col,
			Old: pl.t.node.Value, New: e.Value, Changed: pl.changed,
		})
	}
	if !res.Changed() {
		return res, d, nil
	}
	out := splice(s.src, plans)
	ns, err := s.verifySet(out, plans)
	if err != nil {
		return Result{}, nil, err
	}
	res.Bytes = out
	return res, &Doc{s: ns}, nil
}

// splice replaces the changed plans' bytes; plans never overlap because each
// targets a different scalar.
func splice(src []byte, plans []*plan) []byte {
	order := make([]*plan, 0, len(plans))
	grow := 0
	for _, p := range plans {
		if p.changed {
			order = append(order, p)
			grow += len(p.text) - (p.end - p.start)
		}
	}
	slices.SortFunc(order, func(a, b *plan) int { return a.start - b.start })
	out := make([]byte, 0, len(src)+grow)
	last := 0
	for _, p := range order {
		out = append(out, src[last:p.start]...)
		out = append(out, p.text...)
		last = p.end
	}
	return append(out, src[last:]...)
}

// plan locates e and decides the text to write.
func (s *source) plan(e Edit) (*plan, error) {
	t, err := s.pick(e.Path, e.Document)
	if err != nil {
		return nil, err
	}
	if err := s.editable(t, e.Path); err != nil {
		return nil, err
	}
	start, end, err := s.span(t, e.Path)
	if err != nil {
		return nil, err
	}
	n := t.node
	pl := &plan{t: t, path: e.Path, start: start, end: end, value: e.Value}
	pl.line, pl.col = s.position(start)
	if !utf8.ValidString(e.Value) {
		return nil, s.fail(n, e.Path, KindStyle, "new value is not valid UTF-8")
	}
	if n.Value == e.Value && (!e.Quote || n.Tag == "!!str") {
		pl.text = string(s.src[start:end])
		return pl, nil
	}
	if e.Expect != nil && *e.Expect != n.Value {
		return nil, s.fail(n, e.Path, KindStale, "value is %q, expected %q; the file changed since it was read", n.Value, *e.Expect)
	}
	st, err := s.render(t, e, pl)
	if err != nil {
		return nil, err
	}
	pl.style = nodeStyle(st, n)
	pl.changed = true
	pl.delta = utf8.RuneCountInString(pl.text) - utf8.RuneCount(s.src[start:end])
	return pl, nil
}

// render sets pl.text and pl.tag to write e.Value in the style of the scalar,
// or refuses when that style cannot hold it.
func (s *source) render(t target, e Edit, pl *plan) (Style, error) {
	n := t.node
	v := e.Value
	style := styleOf(n)
	explicit := n.Style&yaml.TaggedStyle != 0
	// An explicit core tag other than !!str fixes the type: the new text must
	// still resolve to it.
	if explicit && n.Tag != "!!str" && isCoreTag(n.Tag) {
		tag, ok := plainTag(v, t.flow)
		if !ok || tag != n.Tag {
			return 0, s.fail(n, e.Path, KindType, "value is tagged %s; %q is not %s", n.Tag, v, typeName(n.Tag))
		}
	}
	pl.tag = n.Tag
	if !explicit {
		pl.tag = "!!str"
	}
	switch style {
	case DoubleQuoted:
		pl.text = doubleQuote(v)
		return DoubleQuoted, nil
	case SingleQuoted:
		if printable(v) {
			pl.text = singleQuote(v)
			return SingleQuoted, nil
		}
		if e.Quote {
			pl.text = doubleQuote(v)
			return DoubleQuoted, nil
		}
		return 0, s.fail(n, e.Path, KindStyle, "a single-quoted scalar cannot hold %q (line break or control character); write it double-quoted (--quote)", v)
	}
	tag, ok := plainTag(v, t.flow)
	switch {
	case explicit && ok:
		pl.text = v
		return Plain, nil
	case !ok && e.Quote:
		pl.text = doubleQuote(v)
		return DoubleQuoted, nil
	case !ok:
		return 0, s.fail(n, e.Path, KindStyle, "plain value %q needs quoting here; quote it (--quote)", v)
	case tag == "!!str" && n.Tag == "!!str":
		pl.text = v
		return Plain, nil
	case e.Quote:
		pl.text = doubleQuote(v)
		return DoubleQuoted, nil
	case tag == n.Tag && canonical(v, tag):
		pl.text, pl.tag = v, tag
		return Plain, nil
	case tag == "!!str":
		return 0, s.fail(n, e.Path, KindType, "plain value %q would be read as a string where the file has %s (%s); quote it (--quote) to write a string", v, typeName(n.Tag), n.Value)
	case tag == "!!float" || tag == "!!int":
		return 0, s.fail(n, e.Path, KindType, "plain value %q would be read as a number; quote it (--quote)", v)
	}
	return 0, s.fail(n, e.Path, KindType, "plain value %q would be read as %s; quote it (--quote)", v, typeName(tag))
}

func isCoreTag(tag string) bool {
	switch tag {
	case "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!binary":
		return true
	}
	return false
}

// verifySet parses the edited bytes and checks that they differ from the
// original only in the planned values; it returns their parse.
func (s *source) verifySet(out []byte, plans []*plan) (*source, error) {
	ns, err := parse(s.file, out)
	if err != nil {
		var e *Error
		if asError(err, &e) {
			e.Kind, e.Reason = KindVerify, "the edit would break the file: "+e.Reason
		}
		return nil, err
	}
	want := make(map[*yaml.Node]*plan, len(plans))
	byLine := make(map[int][]*plan)
	for _, p := range plans {
		if p.changed {
			want[p.t.node] = p
			byLine[p.line] = append(byLine[p.line], p)
		}
	}
	c := &comparer{
		file: s.file,
		want: want,
		line: func(l int) int { return l },
		shift: func(line, col int) int {
			d := 0
			for _, p := range byLine[line] {
				if p.col < col {
					d += p.delta
				}
			}
			return col + d
		},
		comments: true,
	}
	if err := c.documents(s.docs, ns.docs); err != nil {
		return nil, err
	}
	return ns, nil
}

// comparer walks an original and an edited tree side by side.
type comparer struct {
	file     string
	path     string
	want     map[*yaml.Node]*plan
	line     func(line int) int                                              // where an original line went
	shift    func(line, col int) int                                         // where an original column went
	skip     func(orig, edited *yaml.Node) (origIdx, editedIdx int, ok bool) // an entry added or removed
	free     map[*yaml.Node]bool                                             // original nodes replaced as a whole
	stays    map[*yaml.Node]bool                                             // original nodes that keep their line whatever line moves (a mapping with a new first entry)
	comments bool
}

func (c *comparer) documents(a, b []*yaml.Node) error {
	if len(a) != len(b) {
		return &Error{File: c.file, Path: c.path, Kind: KindVerify, Reason: fmt.Sprintf("the edit would change the number of documents from %d to %d; nothing written", len(a), len(b))}
	}
	for i := range a {
		if err := c.node(a[i], b[i]); err != nil {
			return err
		}
	}
	return nil
}

func (c *comparer) differ(a *yaml.Node, what string, was, is any) error {
	return &Error{File: c.file, Line: a.Line, Column: a.Column, Path: c.path, Kind: KindVerify,
		Reason: fmt.Sprintf("the edit would also change the %s of the node here (%v -> %v); nothing written", what, was, is)}
}

func (c *comparer) node(a, b *yaml.Node) error {
	if c.free[a] {
		return nil
	}
	wantValue, wantStyle, wantTag := a.Value, a.Style, a.Tag
	if p, ok := c.want[a]; ok {
		wantValue, wantStyle, wantTag = p.value, p.style, p.tag
	}
	switch {
	case a.Kind != b.Kind:
		return c.differ(a, "kind", a.Kind, b.Kind)
	case wantValue != b.Value:
		return c.differ(a, "value", fmt.Sprintf("%q", wantValue), fmt.Sprintf("%q", b.Value))
	case wantTag != b.Tag:
		return c.differ(a, "tag", wantTag, b.Tag)
	case wantStyle != b.Style:
		return c.differ(a, "style", wantStyle, b.Style)
	case a.Anchor != b.Anchor:
		return c.differ(a, "anchor", a.Anchor, b.Anchor)
	case c.stays[a] && a.Line != b.Line:
		return c.differ(a, "line", a.Line, b.Line)
	case !c.stays[a] && c.line(a.Line) != b.Line:
		return c.differ(a, "line", c.line(a.Line), b.Line)
	case c.shift != nil && c.shift(a.Line, a.Column) != b.Column:
		return c.differ(a, "column", c.shift(a.Line, a.Column), b.Column)
	case c.shift == nil && a.Column != b.Column:
		return c.differ(a, "column", a.Column, b.Column)
	case c.comments && (a.HeadComment != b.HeadComment || a.LineComment != b.LineComment || a.FootComment != b.FootComment):
		return c.differ(a, "comments", fmt.Sprintf("%q", a.HeadComment+a.LineComment+a.FootComment), fmt.Sprintf("%q", b.HeadComment+b.LineComment+b.FootComment))
	}
	if a.Kind == yaml.AliasNode {
		return nil
	}
	ac, bc := a.Content, b.Content
	if c.skip != nil {
		if ai, bi, ok := c.skip(a, b); ok {
			ac, bc = without(ac, ai), without(bc, bi)
		}
	}
	if len(ac) != len(bc) {
		return c.differ(a, "number of children", len(ac), len(bc))
	}
	for i := range ac {
		if err := c.node(ac[i], bc[i]); err != nil {
			return err
		}
	}
	return nil
}

// without drops the key and value at index i (a negative i drops nothing).
func without(content []*yaml.Node, i int) []*yaml.Node {
	if i < 0 || i+1 >= len(content) {
		return content
	}
	return append(slices.Clip(content[:i]), content[i+2:]...)
}

// pathList names the paths of the changed plans, for messages.
func pathList(plans []*plan) string {
	var names []string
	for _, p := range plans {
		if p.changed {
			names = append(names, p.path.String())
		}
	}
	return strings.Join(names, ", ")
}
