package gitops

import (
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/gitops/yamledit"
)

// keyPath is a path of mapping keys from a document's root, written
// "services.eks.config" in a layout file; a dot inside a key is written
// "\.", a backslash "\\" (yamledit.ParsePath).
type keyPath []string

func (k keyPath) String() string { return yamledit.Path(k).String() }

func parseKeyPath(s string) (keyPath, error) {
	if s == "" {
		return nil, nil
	}
	p, err := yamledit.ParsePath(s)
	if err != nil {
		return nil, err
	}
	return keyPath(p), nil
}

// lookup returns the key and value nodes at key in mapping m, or nils. The
// first occurrence wins; the decoder reports repeated keys.
func lookup(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// lookupPath follows p from m. It returns the key and value nodes of the last
// segment, or the deepest node it reached and the segment where it stopped.
func lookupPath(m *yaml.Node, p keyPath) (k, v *yaml.Node, missing string) {
	v = m
	for _, seg := range p {
		if v != nil && v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if v == nil || v.Kind != yaml.MappingNode {
			return nil, nil, seg
		}
		k, v = lookup(v, seg)
		if v == nil {
			return nil, nil, seg
		}
	}
	return k, v, ""
}

// scalarKind names the YAML type of a scalar as a person would: "string",
// "number", "bool", "null", or the tag itself.
func scalarKind(n *yaml.Node) string {
	switch n.ShortTag() {
	case "!!str":
		return "string"
	case "!!int", "!!float":
		return "number"
	case "!!bool":
		return "bool"
	case "!!null":
		return "null"
	default:
		return n.ShortTag()
	}
}

// decodedNumber renders a number node as the YAML library would decode it:
// 1.30 becomes 1.3, which is why versions must be quoted.
func decodedNumber(n *yaml.Node) string {
	if n.ShortTag() == "!!int" {
		var i int64
		if err := n.Decode(&i); err == nil {
			return strconv.FormatInt(i, 10)
		}
		return n.Value
	}
	var f float64
	if err := n.Decode(&f); err != nil {
		return n.Value
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
