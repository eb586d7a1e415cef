package rollout

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// planField plans a field change over the scalars the inventory matched.
//
// A scalar that belongs to a cluster moves in that cluster's wave. A scalar
// in a tenant file (Env empty) or a tenant-and-environment file moves in the
// first wave holding a cluster it reaches; every cluster it reaches must then
// be planned, or the plan is refused: editing it would move clusters the plan
// does not list.
//
// A scalar in a file serving many tenants (Tenant empty) moves in a shared
// wave of its own, the fleet admins' pull request: after the other waves of
// its environment for an environment's file (Env set), after every
// environment for a global file. The wave holds every planned cluster the
// file serves (Reach), whatever the wave size. A cluster's own scalar
// overrides such a file: the file does not move a cluster that has one.
// Every other cluster the file serves must be planned, or the plan is
// refused. With canaries asked for, a canary such a file moves cannot go
// first, and the plan is refused: the canary needs a scalar of its own. A
// file whose Reach is empty is refused: nothing says which clusters it moves.
func (pl *planner) planField(ch *FieldChange) error {
	if ch.Hierarchy != "" {
		return pl.planHierarchyField(ch)
	}
	if ch.Files == "" || ch.Path == "" {
		return errors.New("spec.change.field needs files and path")
	}
	pl.plan.Change = PlanChange{Kind: KindField, Files: ch.Files, Path: ch.Path, From: ch.From, To: ch.To, Revertible: ch.Revertible}
	hits := slices.Clone(pl.fleet.Fields)
	slices.SortFunc(hits, func(a, b FieldHit) int {
		return cmp.Or(strings.Compare(a.At.Repo, b.At.Repo), strings.Compare(a.At.File, b.At.File),
			slices.Compare(a.At.Path, b.At.Path), cmp.Compare(a.At.Line, b.At.Line))
	})
	byName := make(map[string]*Cluster, len(pl.clusters))
	for _, cl := range pl.clusters {
		byName[cl.Name] = cl
	}
	byCluster := map[string][]FieldHit{}
	byScope := map[string][]FieldHit{} // tenant+"\x00"+env, env may be empty
	var wide []FieldHit                // files serving many tenants, with their reach
	reachOf := map[string][]int{}      // cluster -> indices in wide
	var unknown []string
	for _, hit := range hits {
		switch {
		case hit.Cluster != "":
			cl, ok := byName[hit.Cluster]
			if !ok {
				return fmt.Errorf("field %s at %s names cluster %s, which is not in the fleet", ch.Path, where(hit.At), hit.Cluster)
			}
			if hit.Tenant != cl.Tenant {
				return fmt.Errorf("field %s at %s belongs to tenant %q but cluster %s is tenant %q's", ch.Path, where(hit.At), hit.Tenant, cl.Name, cl.Tenant)
			}
			byCluster[hit.Cluster] = append(byCluster[hit.Cluster], hit)
		case hit.Tenant == "" && len(hit.Reach) == 0:
			if hit.Value != ch.To {
				unknown = append(unknown, where(hit.At))
			}
		case hit.Tenant == "":
			reach, err := checkReach(hit, byName, ch.Path)
			if err != nil {
				return err
			}
			hit.Reach = reach
			for _, name := range reach {
				reachOf[name] = append(reachOf[name], len(wide))
			}
			wide = append(wide, hit)
		default:
			k := hit.Tenant + "\x00" + hit.Env
			byScope[k] = append(byScope[k], hit)
		}
	}
	if len(unknown) > 0 {
		return &RefusedError{
			Rule: RuleFieldShared,
			Message: fmt.Sprintf("%s matched files shared by all tenants (%s) and the inventory does not say which clusters they serve: changing them would move clusters the plan cannot list; narrow spec.change.field.files",
				ch.Path, strings.Join(unknown, ", ")),
		}
	}

	planned := map[string]bool{}
	var steps []*step
	for _, cl := range pl.candidates() {
		own := byCluster[cl.Name]
		local := slices.Concat(own, byScope[cl.Tenant+"\x00"+cl.Env], byScope[cl.Tenant+"\x00"])
		var shared []FieldHit
		if len(own) == 0 { // a cluster's own scalar overrides the shared files
			for _, i := range reachOf[cl.Name] {
				shared = append(shared, wide[i])
			}
		}
		relevant := slices.Concat(local, shared)
		if len(relevant) == 0 {
			pl.skip(cl, ReasonNoMatch, fmt.Sprintf("no %s in files %s", ch.Path, ch.Files))
			continue
		}
		var differ []FieldHit
		for _, hit := range relevant {
			if hit.Value != ch.To {
				differ = append(differ, hit)
			}
		}
		if len(differ) == 0 {
			pl.skip(cl, ReasonAtTarget, fmt.Sprintf("%s=%s", ch.Path, ch.To))
			continue
		}
		if ch.From != "" {
			if i := slices.IndexFunc(differ, func(h FieldHit) bool { return h.Value != ch.From }); i >= 0 {
				pl.skip(cl, ReasonFromMismatch, fmt.Sprintf("%s is %s at %s, the campaign moves it from %s", ch.Path, differ[i].Value, where(differ[i].At), ch.From))
				continue
			}
		}
		moves := func(h FieldHit) bool { return h.Value != ch.To }
		s := &step{
			cluster: cl, from: differ[0].Value, to: ch.To,
			shared: !slices.ContainsFunc(local, moves),
			late:   slices.ContainsFunc(shared, moves),
		}
		for _, hit := range own {
			if hit.Value != ch.To {
				s.edits = append(s.edits, fieldEdit(hit, ch.To))
			}
		}
		steps = append(steps, s)
		planned[cl.Name] = true
	}
	if err := pl.checkOrder(steps); err != nil {
		return err
	}

	tail, last, outside, files := sharedWaves(ch, wide, byName, byCluster, planned)
	drafts := pl.buildWaves(steps, 0, tail)
	err := canariesFirst(ch.Path, steps, func(s *step) string {
		for _, i := range reachOf[s.cluster.Name] {
			if wide[i].Value != ch.To {
				return wide[i].At.File
			}
		}
		return ""
	})
	if err != nil {
		return err
	}

	for _, k := range sortedKeys(byScope) {
		tenant, env, _ := strings.Cut(k, "\x00")
		var in, out []string
		for _, cl := range pl.clusters {
			if cl.Tenant == tenant && (env == "" || cl.Env == env) {
				if planned[cl.Name] {
					in = append(in, cl.Name)
				} else {
					out = append(out, cl.Name)
				}
			}
		}
		for _, hit := range byScope[k] {
			if hit.Value == ch.To || len(in) == 0 {
				continue
			}
			if len(out) > 0 {
				outside = append(outside, out...)
				files = append(files, where(hit.At))
				continue
			}
			i := slices.IndexFunc(drafts, func(d waveDraft) bool {
				return !d.shared && slices.ContainsFunc(d.steps, func(s *step) bool {
					return s.cluster.Tenant == tenant && (env == "" || s.cluster.Env == env)
				})
			})
			drafts[i].extra = append(drafts[i].extra, fieldEdit(hit, ch.To))
		}
	}
	if len(files) > 0 {
		return scopeRefusal(ch.Path, files, outside, "give them a value of their own (cluster entries or cluster-level files)", "spec.change.field.files")
	}
	if len(last) > 0 && len(pl.campaign.Spec.Strategy.Approvals) > 0 {
		last[0].approval = true
	}
	return pl.finish(append(drafts, last...))
}

// scopeRefusal refuses files that would move clusters outside the plan
// (rule field-scope); hint says what else than selecting them would do,
// field the field of the campaign file that chose the files.
func scopeRefusal(path string, files, outside []string, hint, field string) error {
	slices.Sort(outside)
	outside = slices.Compact(outside)
	return &RefusedError{
		Rule:     RuleFieldScope,
		At:       field,
		Clusters: outside,
		Message: fmt.Sprintf("%s in %s also applies to clusters the plan leaves alone (%s): select them too, or %s",
			path, strings.Join(files, ", "), strings.Join(outside, ", "), hint),
	}
}

// checkReach returns the sorted reach of a file serving many tenants, after
// checking that it names clusters of the fleet, of the file's environment
// when it has one.
func checkReach(hit FieldHit, byName map[string]*Cluster, path string) ([]string, error) {
	reach := slices.Sorted(slices.Values(hit.Reach))
	reach = slices.Compact(reach)
	for _, name := range reach {
		cl, ok := byName[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("field %s at %s serves cluster %s, which is not in the fleet", path, where(hit.At), name)
		case hit.Env != "" && cl.Env != hit.Env:
			return nil, fmt.Errorf("field %s at %s belongs to environment %s but serves cluster %s of %s", path, where(hit.At), hit.Env, name, cl.Env)
		}
	}
	return reach, nil
}

// sharedWaves plans the files serving many tenants that differ from the
// target: one wave per environment and repository, in tail by environment,
// and one per repository of global files, in last. A file moves the
// clusters it serves that have no scalar of their own; when one of them is
// not planned, the file and those clusters go to files and outside, for the
// caller's refusal. A file none of whose clusters is planned is left alone.
func sharedWaves(ch *FieldChange, wide []FieldHit, byName map[string]*Cluster, byCluster map[string][]FieldHit,
	planned map[string]bool) (tail map[string][]waveDraft, last []waveDraft, outside, files []string) {
	type group struct {
		env, repo string
		from      map[string]string // planned cluster -> its value before the wave
		edits     []fileEdit
	}
	groups := map[string]*group{}
	for _, hit := range wide {
		if hit.Value == ch.To {
			continue
		}
		var in, out []string
		for _, name := range hit.Reach {
			switch {
			case planned[name]:
				in = append(in, name)
			case len(byCluster[name]) == 0:
				out = append(out, name)
			}
		}
		if len(in) == 0 {
			continue
		}
		if len(out) > 0 {
			outside = append(outside, out...)
			files = append(files, where(hit.At))
			continue
		}
		k := hit.Env + "\x00" + hit.At.Repo
		g := groups[k]
		if g == nil {
			g = &group{env: hit.Env, repo: hit.At.Repo, from: map[string]string{}}
			groups[k] = g
		}
		for _, name := range in {
			if _, ok := g.from[name]; ok {
				continue
			}
			g.from[name] = hit.Value
			if len(byCluster[name]) > 0 {
				g.from[name] = ch.To // its own scalar already moved it
			}
		}
		e := fieldEdit(hit, ch.To)
		e.tenant, e.admin, e.reach = "", true, hit.Reach
		g.edits = append(g.edits, e)
	}
	tail = map[string][]waveDraft{}
	for _, k := range sortedKeys(groups) {
		g := groups[k]
		d := waveDraft{env: g.env, shared: true, extra: g.edits}
		for _, name := range sortedKeys(g.from) {
			d.steps = append(d.steps, &step{cluster: byName[name], from: g.from[name], to: ch.To})
		}
		slices.SortFunc(d.steps, byTenantName)
		if g.env == "" {
			last = append(last, d)
		} else {
			tail[g.env] = append(tail[g.env], d)
		}
	}
	return tail, last, outside, files
}

// canariesFirst refuses canaries that a file serving many clusters moves
// (file names it): the file moves them with every other cluster it serves,
// so they cannot be verified first. Only a value of their own lets them go
// first.
func canariesFirst(path string, steps []*step, file func(*step) string) error {
	var names, details []string
	for _, s := range steps {
		if !s.canary || !s.late {
			continue
		}
		names = append(names, s.cluster.Name)
		details = append(details, fmt.Sprintf("%s (%s, only %s moves it)", s.cluster.Name, s.cluster.Env, file(s)))
	}
	if len(names) == 0 {
		return nil
	}
	verb, own, obj := "has", "its", "it"
	if len(names) > 1 {
		verb, own, obj = "have", "their", "each"
	}
	return &RefusedError{
		Rule:     RuleFieldCanary,
		Clusters: names,
		Message: fmt.Sprintf("strategy.canary puts canaries first, but %s %s no %s of %s own: give %s a cluster-level override of %s (a key in its cluster entry or a file of cluster scope) so it can go first, or set strategy.canary: false",
			strings.Join(details, ", "), verb, path, own, obj, path),
	}
}

func fieldEdit(hit FieldHit, to string) fileEdit {
	return fileEdit{
		repo: hit.At.Repo, tenant: hit.Tenant, file: hit.At.File,
		edit: Edit{Path: hit.At.Path, Op: OpSet, From: hit.Value, To: to, Line: hit.At.Line, Document: hit.At.Document},
	}
}
