package ghcontract

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// route is one path template of the description, split into segments.
type route struct {
	template string
	segs     []segment
	literals int                   // segments that are all text
	mixed    int                   // segments of text and parameters, such as {base}...{head}
	multi    bool                  // some parameter may span segments
	ops      map[string]*Operation // by upper-case method
}

// segment is a literal path segment or a {parameter}. A parameter that
// GitHub marks x-multi-segment may span several segments, as those of git
// refs, file paths and compare ranges (main...feature/x) do.
type segment struct {
	literal string
	param   string
	multi   bool
	pattern *regexp.Regexp // for a mixed segment: one group per name
	names   []string
}

func newRoute(template string) (*route, error) {
	if !strings.HasPrefix(template, "/") {
		return nil, fmt.Errorf("template does not start with /")
	}
	rt := &route{template: template, ops: map[string]*Operation{}}
	for _, s := range splitPath(template) {
		if name, ok := wholeParam(s); ok {
			rt.segs = append(rt.segs, segment{param: name})
			continue
		}
		if strings.ContainsAny(s, "{}") {
			seg, err := mixedSegment(s)
			if err != nil {
				return nil, err
			}
			rt.segs = append(rt.segs, seg)
			rt.mixed++
			continue
		}
		rt.segs = append(rt.segs, segment{literal: s})
		rt.literals++
	}
	return rt, nil
}

// wholeParam reports whether the segment is one parameter, {name}.
func wholeParam(s string) (string, bool) {
	if len(s) < 3 || s[0] != '{' || s[len(s)-1] != '}' {
		return "", false
	}
	name := s[1 : len(s)-1]
	return name, !strings.ContainsAny(name, "{}")
}

// mixedSegment compiles a segment such as {base}...{head} into a pattern.
// Each parameter takes at least one character, the first as few as it can,
// so main...feature...x reads as base "main", head "feature...x".
func mixedSegment(s string) (segment, error) {
	var seg segment
	var re strings.Builder
	re.WriteString("^")
	rest := s
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			re.WriteString(regexp.QuoteMeta(rest))
			break
		}
		re.WriteString(regexp.QuoteMeta(rest[:open]))
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return seg, fmt.Errorf("segment %q has an unclosed {", s)
		}
		name := rest[open+1 : open+end]
		if name == "" || strings.ContainsAny(name, "{") {
			return seg, fmt.Errorf("segment %q has an empty or nested parameter", s)
		}
		seg.names = append(seg.names, name)
		if len(seg.names) == 1 {
			re.WriteString("(.+?)")
		} else {
			re.WriteString("(.+)")
		}
		rest = rest[open+end+1:]
	}
	re.WriteString("$")
	var err error
	if seg.pattern, err = regexp.Compile(re.String()); err != nil {
		return seg, fmt.Errorf("segment %q: %w", s, err)
	}
	return seg, nil
}

// splitPath splits an escaped path into its segments, still escaped.
// markMulti lets the parameter name span several segments.
func (rt *route) markMulti(name string) {
	for i := range rt.segs {
		if rt.segs[i].param == name {
			rt.segs[i].multi = true
			rt.multi = true
		}
	}
}

func splitPath(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// match reports whether the escaped segments fit the template, and the
// parameters it found, unescaped.
func (rt *route) match(segs []string) (map[string]string, bool) {
	if len(segs) < len(rt.segs) || (!rt.multi && len(segs) != len(rt.segs)) {
		return nil, false
	}
	params := map[string]string{}
	if !matchSegs(rt.segs, segs, params) {
		return nil, false
	}
	return params, true
}

func matchSegs(tpl []segment, segs []string, params map[string]string) bool {
	if len(tpl) == 0 {
		return len(segs) == 0
	}
	if len(segs) == 0 {
		return false
	}
	t := tpl[0]
	if t.pattern != nil {
		text, err := url.PathUnescape(segs[0])
		if err != nil {
			return false
		}
		m := t.pattern.FindStringSubmatch(text)
		if m == nil || !matchSegs(tpl[1:], segs[1:], params) {
			return false
		}
		for i, name := range t.names {
			params[name] = m[i+1]
		}
		return true
	}
	if t.param == "" {
		lit, err := url.PathUnescape(segs[0])
		return err == nil && lit == t.literal && matchSegs(tpl[1:], segs[1:], params)
	}
	most := 1
	if t.multi {
		most = len(segs) - len(tpl) + 1
	}
	// Try the longest span first; the remaining template has only literals
	// and parameters of at least one segment each, so at most one span fits
	// when those are literal, and the longest is GitHub's reading otherwise.
	if segs[0] == "" {
		return false // a parameter is never empty, though a multi-segment one may end in a slash
	}
	for n := most; n >= 1; n-- {
		v, err := url.PathUnescape(strings.Join(segs[:n], "/"))
		if err != nil {
			return false
		}
		if matchSegs(tpl[1:], segs[n:], params) {
			params[t.param] = v
			return true
		}
	}
	return false
}

// before reports whether rt is a better match than other for the same path:
// more literal segments, then more mixed ones, then a literal earlier, then
// the template's text.
func (rt *route) before(other *route) bool {
	if rt.literals != other.literals {
		return rt.literals > other.literals
	}
	if rt.mixed != other.mixed {
		return rt.mixed > other.mixed
	}
	for i := 0; i < len(rt.segs) && i < len(other.segs); i++ {
		a, b := rt.segs[i].isLiteral(), other.segs[i].isLiteral()
		if a != b {
			return a
		}
	}
	return rt.template < other.template
}

func (s segment) isLiteral() bool { return s.param == "" && s.pattern == nil }

func (rt *route) methods() []string {
	ms := make([]string, 0, len(rt.ops))
	for m := range rt.ops {
		ms = append(ms, m)
	}
	sort.Strings(ms)
	return ms
}
