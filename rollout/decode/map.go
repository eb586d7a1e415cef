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

	keys, values map[string]*yaml.Node
	order        []string
}

// strictness says which keys a mapping takes.
type strictness int

const (
	known   strictness = iota // only the names given, nothing YAML-clever
	anyName                   // any name, nothing YAML-clever
	open                      // whatever a file shared with other tools holds
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

// Open reads n, which the caller checked is a mapping, as part of a file
// fleetbot shares with other tools: any key and any YAML feature is theirs to
// use, and only a repeated key is reported, since nobody can tell which of
// the two counts. The first of repeated keys is the one the Map holds.
func (d *Decoder) Open(n *yaml.Node, path string) *Map {
	return d.mapping(n, path, Deref(n).Line, open, nil)
}

func (d *Decoder) mapping(n *yaml.Node, path string, line int, s strictness, names []string) *Map {
	n = Deref(n)
	if n.Kind != yaml.MappingNode {
		d.Failf(n.Line, path, "must be a mapping, not %s", Describe(n))
		return nil
	}
	m := &Map{d: d, Path: path, Line: line, keys: map[string]*yaml.Node{}, values: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Deref(n.Content[i]), Deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			if s != open {
				d.Failf(k.Line, path, "a key must be a name, not %s", Describe(k))
			}
			continue
		}
		f := Join(path, k.Value)
		if k.ShortTag() == "!!merge" && s != open {
			d.Failf(k.Line, f, "merge keys are not supported: write the fields out")
			continue
		}
		if first, ok := m.keys[k.Value]; ok {
			d.Failf(k.Line, f, "is given twice (first on line %d)", first.Line)
			continue
		}
		if s == known && !slices.Contains(names, k.Value) {
			d.Failf(k.Line, f, "unknown field%s", suggest(k.Value, names))
			continue
		}
		m.keys[k.Value], m.values[k.Value] = k, v
		m.order = append(m.order, k.Value)
	}
	return m
}

// Field is the field path of key.
func (m *Map) Field(key string) string { return Join(m.Path, key) }

// Keys returns the keys the mapping holds, in file order.
func (m *Map) Keys() []string { return slices.Clone(m.order) }

// Has reports whether the mapping holds key.
func (m *Map) Has(key string) bool { _, ok := m.keys[key]; return ok }

// Key returns the node of key, or nil.
func (m *Map) Key(key string) *yaml.Node { return m.keys[key] }

// Value returns the value of key with aliases followed, or nil when absent.
func (m *Map) Value(key string) *yaml.Node { return m.values[key] }

// LineOf returns the line of key, or of the mapping when key is absent.
func (m *Map) LineOf(key string) int {
	if k, ok := m.keys[key]; ok {
		return k.Line
	}
	return m.Line
}

// Required returns the value of key, reporting it when absent or empty.
func (m *Map) Required(key string) *yaml.Node {
	if m == nil {
		return nil
	}
	v := m.values[key]
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
	v := m.values[key]
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
	v := m.values[key]
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
