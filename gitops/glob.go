package gitops

import (
	"fmt"
	"path"
	"strings"
)

// glob is a slash-separated path pattern: each segment follows path.Match,
// and a segment "**" matches any number of segments, none included.
type glob struct {
	pattern string
	segs    []string
}

func compileGlob(pattern string) (glob, error) {
	if pattern == "" {
		return glob{}, fmt.Errorf("empty pattern")
	}
	if strings.HasPrefix(pattern, "/") {
		return glob{}, fmt.Errorf("pattern %q is absolute: write it relative to the repository root", pattern)
	}
	segs := strings.Split(pattern, "/")
	for _, s := range segs {
		if s == ".." {
			return glob{}, fmt.Errorf("pattern %q leaves the repository", pattern)
		}
		if _, err := path.Match(s, ""); err != nil {
			return glob{}, fmt.Errorf("pattern %q: %w", pattern, err)
		}
	}
	return glob{pattern: pattern, segs: segs}, nil
}

// match reports whether the slash-separated relative path p matches g.
func (g glob) match(p string) bool {
	return matchSegs(g.segs, strings.Split(p, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(name); i++ {
				if matchSegs(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// globs is a list of patterns; a path matches when any of them does.
type globs []glob

func (gs globs) match(p string) bool {
	for _, g := range gs {
		if g.match(p) {
			return true
		}
	}
	return false
}
