package yamledit

import (
	"errors"
	"fmt"
	"strings"
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
	if s == "" {
		return nil, errors.New("key path is empty")
	}
	var (
		p   Path
		cur strings.Builder
	)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 == len(s) || (s[i+1] != '.' && s[i+1] != '\\') {
				return nil, fmt.Errorf("key path %q: backslash at byte %d must be followed by '.' or '\\'", s, i+1)
			}
			i++
			cur.WriteByte(s[i])
		case '.':
			if cur.Len() == 0 {
				return nil, fmt.Errorf("key path %q: empty key at byte %d", s, i+1)
			}
			p = append(p, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() == 0 {
		return nil, fmt.Errorf("key path %q: ends with an empty key", s)
	}
	return append(p, cur.String()), nil
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
