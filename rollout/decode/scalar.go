package decode

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// String reads n as a string; a YAML timestamp counts as its text. Another
// scalar is reported with a hint to quote it.
func (d *Decoder) String(n *yaml.Node, field string) (string, bool) {
	n = Deref(n)
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!str" || n.ShortTag() == "!!timestamp") {
		return n.Value, true
	}
	hint := ""
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		hint = ": quote it"
	}
	d.Failf(n.Line, field, "must be a string, not %s%s", Describe(n), hint)
	return "", false
}

// Scalar reads any scalar but an empty one, keeping the text as written.
func (d *Decoder) Scalar(n *yaml.Node, field string) (string, bool) {
	n = Deref(n)
	if n.Kind != yaml.ScalarNode {
		d.Failf(n.Line, field, "must be a single value, not %s", Describe(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!int", "!!float", "!!bool":
		return n.Value, true
	}
	d.Failf(n.Line, field, "must be a string, number or boolean, not %s", Describe(n))
	return "", false
}

// RequiredString reads the string under key, reporting it when absent. The
// node is nil unless a string was read.
func (m *Map) RequiredString(key string) (string, *yaml.Node) {
	return m.stringAt(key, m.Required(key))
}

// OptionalString reads the string under key when there is one. The node is
// nil unless a string was read.
func (m *Map) OptionalString(key string) (string, *yaml.Node) {
	return m.stringAt(key, m.OptionalScalar(key))
}

func (m *Map) stringAt(key string, n *yaml.Node) (string, *yaml.Node) {
	if n == nil {
		return "", nil
	}
	s, ok := m.d.String(n, m.Field(key))
	if !ok {
		return "", nil
	}
	return s, n
}

// Item is one accepted entry of a list of names.
type Item struct {
	Value string
	Line  int
	Field string
}

// Values returns the values of items.
func Values(items []Item) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.Value)
	}
	return out
}

// Names reads the list under key as distinct, non-empty strings. check,
// when not nil, returns a problem with one of them, or "". Entries with a
// problem are reported and left out.
func (m *Map) Names(key string, check func(string) string) []Item {
	var out []Item
	seen := map[string]bool{}
	list := m.Field(key)
	for i, it := range m.List(key) {
		f := Index(list, i)
		s, ok := m.d.String(it, f)
		switch {
		case !ok:
			continue
		case s == "":
			m.d.Failf(it.Line, f, "is empty")
			continue
		case seen[s]:
			m.d.Failf(it.Line, f, "%q is listed twice", s)
			continue
		}
		seen[s] = true
		if check != nil {
			if p := check(s); p != "" {
				m.d.Failf(it.Line, f, "%s", p)
				continue
			}
		}
		out = append(out, Item{Value: s, Line: it.Line, Field: f})
	}
	return out
}

// Bool reads the boolean under key; def when it is absent or wrong
// (reported).
func (m *Map) Bool(key string, def bool) bool {
	n := m.OptionalScalar(key)
	if n == nil {
		return def
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		m.d.Failf(n.Line, m.Field(key), "must be true or false, not %s", Describe(n))
		return def
	}
	return b
}

// Int reads the whole number under key, at least least; ok is false when
// it is absent or wrong (reported).
func (m *Map) Int(key string, least int) (v int, ok bool) {
	n := m.OptionalScalar(key)
	if n == nil {
		return 0, false
	}
	v, ok = Int(n)
	switch {
	case !ok:
		m.d.Failf(n.Line, m.Field(key), "must be a whole number, not %s", Describe(n))
	case v < least:
		m.d.Failf(n.Line, m.Field(key), "must be at least %d, not %d", least, v)
		return 0, false
	}
	return v, ok
}

// OneOf reads the optional string under key, which must be one of allowed;
// what names the kind of value in the problem ("merge mode").
func (m *Map) OneOf(key, what string, allowed ...string) string {
	s, n := m.OptionalString(key)
	if n == nil {
		return ""
	}
	if !slices.Contains(allowed, s) {
		m.d.Failf(n.Line, m.Field(key), "%q is not a %s: use %s", s, what, OrList(allowed))
		return ""
	}
	return s
}

// Value reads the scalar under key with parse, which says what is wrong
// with the node. A missing key is reported when required; an empty value
// always. The node is nil unless parse accepted it.
func Value[T any](m *Map, key string, required bool, parse func(*yaml.Node) (T, error)) (T, *yaml.Node) {
	var zero T
	var n *yaml.Node
	if required {
		n = m.Required(key)
	} else {
		n = m.OptionalScalar(key)
	}
	if n == nil {
		return zero, nil
	}
	v, err := parse(n)
	if err != nil {
		m.d.Failf(n.Line, m.Field(key), "%v", err)
		return zero, nil
	}
	return v, n
}

// Text reads the string under key and converts it with parse, as Value
// does.
func Text[T any](m *Map, key string, required bool, parse func(string) (T, error)) (T, *yaml.Node) {
	var zero T
	var s string
	var n *yaml.Node
	if required {
		s, n = m.RequiredString(key)
	} else {
		s, n = m.OptionalString(key)
	}
	if n == nil {
		return zero, nil
	}
	v, err := parse(s)
	if err != nil {
		m.d.Failf(n.Line, m.Field(key), "%v", err)
		return zero, nil
	}
	return v, n
}

// OrList writes "a, b or c".
func OrList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// suggest names the known field closest to an unknown one, or lists them
// all: ` (did you mean "bake"?)`, ` (known: a, b)`.
func suggest(name string, known []string) string {
	if len(known) == 0 {
		return ": this mapping takes no fields"
	}
	best, bestScore := "", -1
	n := fold(name)
	for _, k := range known {
		score := -1
		kn := fold(k)
		switch dist := EditDistance(n, kn); {
		case dist <= 2:
			score = dist
		case min(len(n), len(kn)) >= 3 && (strings.HasPrefix(n, kn) || strings.HasPrefix(kn, n)):
			// bake_time for bake, maxConcurrent for maxConcurrency
			score = 2 + max(len(n), len(kn)) - min(len(n), len(kn))
		}
		if score >= 0 && (bestScore < 0 || score < bestScore) {
			best, bestScore = k, score
		}
	}
	if best != "" {
		return ` (did you mean "` + best + `"?)`
	}
	return " (known: " + strings.Join(slices.Sorted(slices.Values(known)), ", ") + ")"
}

// fold drops case and the separators people swap for one another.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return -1
		}
		return r
	}, strings.ToLower(s))
}

// EditDistance is the Levenshtein distance between a and b, in bytes: what
// tells a typo from another name.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
