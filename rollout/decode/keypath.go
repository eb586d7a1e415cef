package decode

import (
	"errors"
	"fmt"
	"strings"
)

// KeyPath splits a dot-separated key path such as
// "services.eks.config.dev-cpu-1.version". A backslash escapes a dot that is
// part of a key ("annotations.example\.com/owner") and a backslash itself
// ("\\"); no element may be empty.
func KeyPath(s string) ([]string, error) {
	if s == "" {
		return nil, errors.New("key path is empty")
	}
	var (
		p   []string
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
