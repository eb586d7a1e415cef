package rollout

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/fleetbot/fleetbot/rollout/decode"
)

// CheckSelector compares the selector of c with the clusters of fleet f,
// before any planning, so that a typo is not mistaken for "nothing to do".
//
// Errors: a tenant, environment, fleet or cluster the fleet does not have; a
// selector label no cluster carries with that value; a cluster named in
// selector.clusters that the other criteria leave out; and a selector that
// matches no cluster at all. Warnings, since a person may mean them: an
// exclusion naming a cluster the fleet does not have (a decommissioned one
// kept in the list) or one the selector does not pick anyway.
//
// A selection whose clusters are all skipped (at the target, disabled,
// excluded, locked) is not a problem here: the plan says so. Every problem
// names the campaign file, the line and the field when c came from
// ParseCampaign.
func CheckSelector(c *Campaign, f Fleet) (errs, warnings ErrorList) {
	sel := c.Spec.Selector
	src := c.src
	if src == nil {
		src = &campaignSource{}
	}
	fail := func(list *ErrorList, it decode.Item, format string, args ...any) {
		*list = append(*list, &FieldError{File: src.file, Line: it.Line, Field: it.Field, Reason: fmt.Sprintf(format, args...)})
	}
	// item returns where the i-th value of a selector list is written.
	item := func(key string, i int, v string) decode.Item {
		if items := src.items[key]; i < len(items) && items[i].Value == v {
			return items[i]
		}
		return decode.Item{Value: v, Field: decode.Index("spec.selector."+key, i)}
	}

	known := map[string]map[string]bool{"tenants": {}, "envs": {}, "fleets": {}, "clusters": {}}
	byName := make(map[string]*Cluster, len(f.Clusters))
	labelValues := map[string]map[string]bool{}
	for i := range f.Clusters {
		cl := &f.Clusters[i]
		known["tenants"][cl.Tenant] = true
		known["envs"][cl.Env] = true
		known["fleets"][cl.Fleet] = true
		known["clusters"][cl.Name] = true
		byName[cl.Name] = cl
		for k, v := range cl.Labels {
			if labelValues[k] == nil {
				labelValues[k] = map[string]bool{}
			}
			labelValues[k][v] = true
		}
	}
	delete(known["fleets"], "") // a cluster without a fleet cannot be selected by one

	lists := []struct {
		key, what string
		values    []string
	}{
		{"tenants", "tenant", sel.Tenants},
		{"envs", "environment", sel.Envs},
		{"fleets", "fleet", sel.Fleets},
		{"clusters", "cluster", sel.Clusters},
	}
	for _, l := range lists {
		for i, v := range l.values {
			if !known[l.key][v] {
				fail(&errs, item(l.key, i, v), "no %s %q in the fleet%s", l.what, v, suggest(v, known[l.key]))
			}
		}
	}
	for i, name := range sel.Clusters {
		cl, ok := byName[name]
		if !ok {
			continue
		}
		if why := leftOutBy(sel, cl); why != "" {
			fail(&errs, item("clusters", i, name), "cluster %q is named, but %s: the selector can never pick it", name, why)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(sel.Labels)) {
		v := sel.Labels[k]
		it, ok := src.labels[k]
		if !ok {
			it = decode.Item{Value: v, Field: decode.Join("spec.selector.labels", k)}
		}
		switch vals := labelValues[k]; {
		case vals == nil:
			fail(&errs, it, "no cluster of the fleet carries label %q%s", k, suggest(k, keySet(labelValues)))
		case !vals[v]:
			fail(&errs, it, "no cluster of the fleet carries %s=%s%s", k, v, suggest(v, vals))
		}
	}
	for i, name := range sel.Exclude {
		cl, ok := byName[name]
		switch {
		case !ok:
			fail(&warnings, item("exclude", i, name), "no cluster %q in the fleet: there is nothing to exclude%s", name, suggest(name, known["clusters"]))
		case !selects(sel, cl):
			fail(&warnings, item("exclude", i, name), "cluster %q is not selected anyway: the exclusion has no effect", name)
		}
	}
	if len(errs) == 0 && !anySelected(sel, f.Clusters) {
		at := decode.Item{Line: src.selector, Field: "spec.selector"}
		fail(&errs, at, "matches none of the fleet's %d clusters: every name it uses exists, but no cluster meets all its criteria at once", len(f.Clusters))
	}
	return errs, warnings
}

// leftOutBy says which criterion of the selector, other than
// selector.clusters, leaves cl out; empty when none does.
func leftOutBy(s Selector, cl *Cluster) string {
	switch {
	case len(s.Tenants) > 0 && !slices.Contains(s.Tenants, cl.Tenant):
		return fmt.Sprintf("its tenant %s is not in spec.selector.tenants", cl.Tenant)
	case len(s.Envs) > 0 && !slices.Contains(s.Envs, cl.Env):
		return fmt.Sprintf("its environment %s is not in spec.selector.envs", cl.Env)
	case len(s.Fleets) > 0 && !slices.Contains(s.Fleets, cl.Fleet):
		return fmt.Sprintf("its fleet %q is not in spec.selector.fleets", cl.Fleet)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
		if got, ok := cl.Labels[k]; !ok || got != s.Labels[k] {
			return fmt.Sprintf("it does not carry %s=%s (spec.selector.labels)", k, s.Labels[k])
		}
	}
	return ""
}

func anySelected(s Selector, cs []Cluster) bool {
	for i := range cs {
		if selects(s, &cs[i]) {
			return true
		}
	}
	return false
}

func keySet[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// suggest returns ` (did you mean "x"?)` for the known name closest to v,
// or a list of the known names when there are few and none is close.
func suggest(v string, known map[string]bool) string {
	best, bestDist := "", max(2, len(v)/3)+1
	for _, k := range slices.Sorted(maps.Keys(known)) {
		if d := decode.EditDistance(strings.ToLower(v), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	switch {
	case best != "":
		return fmt.Sprintf(" (did you mean %q?)", best)
	case len(known) == 0:
		return ""
	case len(known) <= 8:
		return " (known: " + strings.Join(slices.Sorted(maps.Keys(known)), ", ") + ")"
	}
	return ""
}

// CheckApprovals warns of each environment spec.strategy.approvals names in
// which no wave of p asks for an approval: none of its clusters is
// selected or changed, so the approval it names is never asked for.
func CheckApprovals(c *Campaign, p *Plan) (warnings ErrorList) {
	src := c.src
	if src == nil {
		src = &campaignSource{}
	}
	asked := map[string]bool{}
	for _, w := range p.Waves {
		if w.Approval {
			asked[w.Env] = true
		}
	}
	for i, env := range c.Spec.Strategy.Approvals {
		if asked[env] {
			continue
		}
		it := decode.Item{Value: env, Field: decode.Index("spec.strategy.approvals", i)}
		if i < len(src.approvals) && src.approvals[i].Value == env {
			it = src.approvals[i]
		}
		warnings = append(warnings, &FieldError{File: src.file, Line: it.Line, Field: it.Field,
			Reason: fmt.Sprintf("no wave of the plan changes a cluster of %s, so no approval is asked for it", env)})
	}
	return warnings
}
