package fakeargocd

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/fleetbot/fleetbot/rollout"
)

// Selector is a Kubernetes label selector, as Argo CD's application list
// takes it: requirements joined by commas, each key, !key, key=value,
// key==value, key!=value, key in (a,b) or key notin (a,b).
type Selector []requirement

type requirement struct {
	key    string
	op     string // exists, !exists, =, !=, in, notin
	values []string
}

var (
	setRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([^\s=!(),]+)\s+(in|notin)\s*\(([^()]*)\)$`) })
	keyRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	})
)

// ParseSelector parses s; the empty selector matches everything.
func ParseSelector(s string) (Selector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var sel Selector
	for _, part := range rollout.SplitLabelSelector(s) {
		part = strings.TrimSpace(part)
		r, err := parseRequirement(part)
		if err != nil {
			return nil, fmt.Errorf("unable to parse selector %q: %w", s, err)
		}
		sel = append(sel, r)
	}
	return sel, nil
}

func parseRequirement(part string) (requirement, error) {
	if m := setRE().FindStringSubmatch(part); m != nil {
		var values []string
		for v := range strings.SplitSeq(m[3], ",") {
			values = append(values, strings.TrimSpace(v))
		}
		return requirement{key: m[1], op: m[2], values: values}, checkKey(m[1])
	}
	for _, op := range []string{"!=", "==", "="} {
		if k, v, ok := strings.Cut(part, op); ok {
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if op == "==" {
				op = "="
			}
			return requirement{key: k, op: op, values: []string{v}}, checkKey(k)
		}
	}
	if k, ok := strings.CutPrefix(part, "!"); ok {
		k = strings.TrimSpace(k)
		return requirement{key: k, op: "!exists"}, checkKey(k)
	}
	return requirement{key: part, op: "exists"}, checkKey(part)
}

func checkKey(k string) error {
	if !keyRE().MatchString(k) {
		return fmt.Errorf("%q is not a label key", k)
	}
	return nil
}

// Matches reports whether labels satisfy every requirement. As in
// Kubernetes, != and notin match a label that is absent.
func (sel Selector) Matches(labels map[string]string) bool {
	for _, r := range sel {
		v, has := labels[r.key]
		var ok bool
		switch r.op {
		case "exists":
			ok = has
		case "!exists":
			ok = !has
		case "=", "in":
			ok = has && slices.Contains(r.values, v)
		case "!=", "notin":
			ok = !has || !slices.Contains(r.values, v)
		}
		if !ok {
			return false
		}
	}
	return true
}
