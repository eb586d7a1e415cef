package rollout

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// planField plans a field change over the scalars the inventory matched.
// A scalar that belongs to a cluster moves in that cluster's wave. A scalar
// in a tenant file (Env empty) or a tenant-and-environment file moves in the
// first wave holding a cluster it reaches; every cluster it reaches must then
// be planned, or the plan is refused: editing it would move clusters the plan
// does not list. Scalars in files shared by all tenants are refused.
func (pl *planner) planField(ch *FieldChange) error {
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
	var shared []string
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
		case hit.Tenant == "":
			if hit.Value != ch.To {
				shared = append(shared, where(hit.At))
			}
		default:
			k := hit.Tenant + "\x00" + hit.Env
			byScope[k] = append(byScope[k], hit)
		}
	}
	if len(shared) > 0 {
		return &RefusedError{
			Rule:    RuleFieldShared,
			Message: fmt.Sprintf("%s matched files shared by all tenants (%s): changing them moves every cluster at once; narrow spec.change.field.files", ch.Path, strings.Join(shared, ", ")),
		}
	}

	planned := map[string]bool{}
	var steps []*step
	for _, cl := range pl.candidates() {
		relevant := slices.Concat(byCluster[cl.Name], byScope[cl.Tenant+"\x00"+cl.Env], byScope[cl.Tenant+"\x00"])
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
		s := &step{cluster: cl, from: differ[0].Value, to: ch.To}
		for _, hit := range byCluster[cl.Name] {
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
	drafts := pl.buildWaves(steps, 0)

	var outside []string
	var files []string
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
				return slices.ContainsFunc(d.steps, func(s *step) bool {
					return s.cluster.Tenant == tenant && (env == "" || s.cluster.Env == env)
				})
			})
			drafts[i].extra = append(drafts[i].extra, fieldEdit(hit, ch.To))
		}
	}
	if len(files) > 0 {
		slices.Sort(outside)
		outside = slices.Compact(outside)
		return &RefusedError{
			Rule:     RuleFieldScope,
			Clusters: outside,
			Message: fmt.Sprintf("%s in %s also applies to clusters the plan leaves alone (%s): select them too, or move the value into cluster entries",
				ch.Path, strings.Join(files, ", "), strings.Join(outside, ", ")),
		}
	}
	return pl.finish(drafts)
}

func fieldEdit(hit FieldHit, to string) fileEdit {
	return fileEdit{
		repo: hit.At.Repo, tenant: hit.Tenant, file: hit.At.File,
		edit: Edit{Path: hit.At.Path, Op: OpSet, From: hit.Value, To: to, Line: hit.At.Line},
	}
}
