package decode

import (
	"slices"

	"go.yaml.in/yaml/v3"
)

// Map is a decoded YAML mapping: its keys and values by name, in the order
// the file writes them.
type Map struct {
	d *Decoder
	// Path is the mapping's field path; Line the line "is required"
	// problems point at (the key that names the mapping, when there is one).
	Path string
	Line int

	// entries are the keys in file order; index finds one by name in a
	// large mapping (a small one is searched in order).
	entries []entry
	index   map[string]int
}

// entry is one key of a mapping and its value, aliases followed.
type entry struct {
	key, value *yaml.Node
}

// indexFrom is the size from which a mapping's keys are found through a map.
const indexFrom = 16

// find returns the entry of key, or nil.
func (m *Map) find(key string) *entry {
	if m == nil {
		return nil
	}
	if m.index != nil {
		if i, ok := m.index[key]; ok {
			return &m.entries[i]
		}
		return nil
	}
	for i := range m.entries {
		if m.entries[i].key.Value == key {
			return &m.entries[i]
		}
	}
	return nil
}

// strictness says which keys a mapping takes.
type strictness int

const (
	known   strictness = iota // only the names given, nothing YAML-clever
	anyName                   // any name, nothing YAML-clever
)

// Fields reads n as a mapping of the fields named by names: it reports an
// unknown key with the closest name, a repeated key, a key that is not a
// name and a merge key. It returns nil, after reporting it, when n is not
// a mapping. path is the mapping's field path, line the line a missing
// field is reported at.
func (d *Decoder) Fields(n *yaml.Node, path string, line int, names ...string) *Map {
	return d.mapping(n, path, line, known, names)
}

// Entries reads n as a mapping of any names to values (tenants to owners,
// labels to values), reporting what Fields reports but unknown keys.
func (d *Decoder) Entries(n *yaml.Node, path string, line int) *Map {
	return d.mapping(n, path, line, anyName, nil)
}

// Repeated reports the repeated keys of mapping n, whose field path is
// Join(parent, key) (parent alone when key is empty), without building a Map: a file
// fleetbot shares with other tools may use any key and any YAML feature,
// but of two equal keys nobody can tell which counts.
func (d *Decoder) Repeated(n *yaml.Node, parent, key string) {
	n = Deref(n)
	if n.Kind != yaml.MappingNode {
		return
	}
	var seen map[string]int // from indexFrom keys on
	if len(n.Content)/2 >= indexFrom {
		seen = make(map[string]int, len(n.Content)/2)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := Deref(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			continue
		}
		first := -1
		if seen != nil {
			if j, ok := seen[k.Value]; ok {
				first = j
			} else {
				seen[k.Value] = i
			}
		} else {
			for j := 0; j < i; j += 2 {
				if p := Deref(n.Content[j]); p.Kind == yaml.ScalarNode && p.Value == k.Value {
					first = j
					break
				}
			}
		}
		if first >= 0 {
			path := parent
			if key != "" {
				path = Join(parent, key)
			}
			d.Failf(k.Line, Join(path, k.Value), "is given twice (first on line %d)", Deref(n.Content[first]).Line)
		}
	}
}

func (d *Decoder) mapping(n *yaml.Node, path string, line int, s strictness, names []string) *Map {
	n = Deref(n)
	if n.Kind != yaml.MappingNode {
		d.Failf(n.Line, path, "must be a mapping, not %s", Describe(n))
		return nil
	}
	m := &Map{d: d, Path: path, Line: line, entries: make([]entry, 0, len(n.Content)/2)}
	if len(n.Content)/2 >= indexFrom {
		m.index = make(map[string]int, len(n.Content)/2)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Deref(n.Content[i]), Deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.Failf(k.Line, path, "a key must be a name, not %s", Describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			d.Failf(k.Line, Join(path, k.Value), "merge keys are not supported: write the fields out")
			continue
		}
		if first := m.find(k.Value); first != nil {
			d.Failf(k.Line, Join(path, k.Value), "is given twice (first on line %d)", first.key.Line)
			continue
		}
		if s == known && !slices.Contains(names, k.Value) {
			d.Failf(k.Line, Join(path, k.Value), "unknown field%s", suggest(k.Value, names))
			continue
		}
		if m.index != nil {
			m.index[k.Value] = len(m.entries)
		}
		m.entries = append(m.entries, entry{k, v})
	}
	return m
}

// Field is the field path of key.
func (m *Map) Field(key string) string { return Join(m.Path, key) }

// Keys returns the keys the mapping holds, in file order.
func (m *Map) Keys() []string {
	out := make([]string, len(m.entries))
	for i, e := range m.entries {
		out[i] = e.key.Value
	}
	return out
}

// Has reports whether the mapping holds key.
func (m *Map) Has(key string) bool { return m.find(key) != nil }

// Key returns the node of key, or nil.
func (m *Map) Key(key string) *yaml.Node {
	if e := m.find(key); e != nil {
		return e.key
	}
	return nil
}

// Value returns the value of key with aliases followed, or nil when absent.
func (m *Map) Value(key string) *yaml.Node {
	if e := m.find(key); e != nil {
		return e.value
	}
	return nil
}

// LineOf returns the line of key, or of the mapping when key is absent.
func (m *Map) LineOf(key string) int {
	if e := m.find(key); e != nil {
		return e.key.Line
	}
	return m.Line
}

// Required returns the value of key, reporting it when absent or empty.
func (m *Map) Required(key string) *yaml.Node {
	if m == nil {
		return nil
	}
	v := m.Value(key)
	switch {
	case v == nil:
		m.d.Failf(m.Line, m.Field(key), "is required")
		return nil
	case IsNull(v):
		m.d.Failf(v.Line, m.Field(key), "has no value")
		return nil
	}
	return v
}

// Optional returns the value of key, or nil when it is absent or empty.
func (m *Map) Optional(key string) *yaml.Node {
	if m == nil {
		return nil
	}
	v := m.Value(key)
	if v == nil || IsNull(v) {
		return nil
	}
	return v
}

// OptionalScalar returns the value of key, or nil when absent; an empty
// value is reported, since a scalar has no empty form.
func (m *Map) OptionalScalar(key string) *yaml.Node {
	if m == nil {
		return nil
	}
	v := m.Value(key)
	if v != nil && IsNull(v) {
		m.d.Failf(v.Line, m.Field(key), "has no value: give one or remove the key")
		return nil
	}
	return v
}

// Object reads the mapping of the fields names under key; nil when it is
// absent (reported when required) or not a mapping.
func (m *Map) Object(key string, required bool, names ...string) *Map {
	if m == nil {
		return nil
	}
	var n *yaml.Node
	if required {
		n = m.Required(key)
	} else {
		n = m.Optional(key)
	}
	if n == nil {
		return nil
	}
	return m.d.Fields(n, m.Field(key), m.LineOf(key), names...)
}

// List reads the list under key, aliases followed; nil when it is absent,
// empty or not a list (reported).
func (m *Map) List(key string) []*yaml.Node {
	n := m.Optional(key)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		m.d.Failf(n.Line, m.Field(key), "must be a list, not %s", Describe(n))
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, it := range n.Content {
		items[i] = Deref(it)
	}
	return items
}
