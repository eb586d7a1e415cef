package yamledit

import (
	"strings"

	"github.com/fleetbot/fleetbot/rollout/decode"
)

// Path is a key path into a YAML document, one element per level. An element
// is a mapping key; when the node at that level is a sequence, an element made
// only of digits is an index into it.
type Path []string

// ParsePath splits a dot-separated key path such as
// "services.eks.config.dev-cpu-1.version". A backslash escapes a dot that is
// part of a key ("annotations.example\.com/owner") and a backslash itself
// ("\\"); no element may be empty.
func ParsePath(s string) (Path, error) {
	p, err := decode.KeyPath(s)
	return Path(p), err
}

// String writes the path back in the form ParsePath reads.
func (p Path) String() string {
	var b strings.Builder
	for i, k := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		for j := 0; j < len(k); j++ {
			if k[j] == '.' || k[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(k[j])
		}
	}
	return b.String()
}
