package yamledit

import (
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// SetEach makes the edits of each step in turn, as Set on the previous
// step's result would, and returns the file after each step and the last
// one as a Doc. It parses only that last result: each step replaces
// scalars in place, so every earlier result is d's bytes with some of the
// replacements of the last, and the last is checked against d for all of
// them (a value edited in several steps holds its last value). A refusal of
// any step, or a last result that does not verify, is an error that may
// differ from the one making the steps one at a time with Doc.Set gives:
// callers that report it make the steps again that way.
func (d *Doc) SetEach(steps [][]Edit) ([][]byte, *Doc, error) {
	s := d.s
	latest := map[*yaml.Node]int{} // node -> its plan in plans
	var plans []*plan              // the latest changing plan of each node edited
	out := make([][]byte, len(steps))
	last := s.src
	for k, edits := range steps {
		inStep := map[*yaml.Node]bool{}
		changed := false
		for _, e := range edits {
			t, err := s.pick(e.Path, e.Document)
			if err != nil {
				return nil, nil, err
			}
			if inStep[t.node] {
				return nil, nil, s.fail(t.node, e.Path, KindConflict, "the same value is edited twice in one change")
			}
			inStep[t.node] = true
			var pl *plan
			i, again := latest[t.node]
			if again {
				pl, err = s.replan(t, e, plans[i])
			} else {
				pl, err = s.plan(e)
			}
			if err != nil {
				return nil, nil, err
			}
			if !pl.changed {
				continue
			}
			changed = true
			if again {
				plans[i] = pl
			} else {
				latest[t.node] = len(plans)
				plans = append(plans, pl)
			}
		}
		if changed {
			last = splice(s.src, plans)
		}
		out[k] = last
	}
	if len(plans) == 0 {
		return out, d, nil
	}
	ns, err := s.verifySet(last, plans)
	if err != nil {
		return nil, nil, err
	}
	return out, &Doc{s: ns}, nil
}

// replan plans e on the scalar of t that prev already changed: the scalar
// as prev wrote it, over the same bytes of the original.
func (s *source) replan(t target, e Edit, prev *plan) (*plan, error) {
	if err := s.editable(t, e.Path); err != nil {
		return nil, err
	}
	n := *t.node
	n.Value, n.Style, n.Tag = prev.value, prev.style, prev.tag
	if !utf8.ValidString(e.Value) {
		return nil, s.fail(&n, e.Path, KindStyle, "new value is not valid UTF-8")
	}
	pl := &plan{t: t, path: e.Path, start: prev.start, end: prev.end, value: e.Value, line: prev.line, col: prev.col}
	if n.Value == e.Value && (!e.Quote || n.Tag == "!!str") {
		return pl, nil // unchanged: prev stays
	}
	if e.Expect != nil && *e.Expect != n.Value {
		return nil, s.fail(&n, e.Path, KindStale, "value is %q, expected %q; the file changed since it was read", n.Value, *e.Expect)
	}
	vt := t
	vt.node = &n
	st, err := s.render(vt, e, pl)
	if err != nil {
		return nil, err
	}
	pl.style = nodeStyle(st, &n)
	pl.changed = true
	pl.delta = utf8.RuneCountInString(pl.text) - utf8.RuneCount(s.src[pl.start:pl.end])
	return pl, nil
}
