package rollout

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// waveDraft is a wave before its pull requests are assembled.
type waveDraft struct {
	env      string
	hop      int
	canary   bool
	approval bool
	cleanup  bool
	shared   bool   // changes files serving many clusters, in an admin pull request
	step     string // the blue-green step (StepGreen, ...); empty in place
	traffic  int    // the green clusters' share after a traffic step
	steps    []*step
	extra    []fileEdit // edits not tied to one cluster (field changes, clean-up)
}

// buildWaves splits one hop's steps into waves: environments in strategy
// order, canaries first within an environment, waves packed under the size
// and per-tenant caps, then the environment's tail (the shared waves of a
// field change; nil for other changes). Steps marked shared are carried by
// the tail and packed only as canaries, which the caller refuses.
func (pl *planner) buildWaves(steps []*step, hop int, tail map[string][]waveDraft) []waveDraft {
	st := pl.campaign.Spec.Strategy
	byEnv := map[string][]*step{}
	for _, s := range steps {
		byEnv[s.cluster.Env] = append(byEnv[s.cluster.Env], s)
	}
	var out []waveDraft
	for _, env := range st.Order {
		envSteps := byEnv[env]
		if len(envSteps) == 0 && len(tail[env]) == 0 {
			continue
		}
		var canaries, rest []*step
		if st.Canary && len(envSteps) > 0 {
			canaries, rest = splitCanaries(envSteps)
		} else {
			rest = envSteps
		}
		rest = slices.DeleteFunc(rest, func(s *step) bool { return s.shared })
		n := len(canaries) + len(rest)
		limit := st.MaxConcurrency.Of(n)
		if limit <= 0 {
			limit = n
		}
		first := len(out)
		for _, group := range pack(canaries, limit, st.MaxPerTenant) {
			out = append(out, waveDraft{env: env, hop: hop, canary: true, steps: group})
		}
		for _, group := range pack(rest, limit, st.MaxPerTenant) {
			out = append(out, waveDraft{env: env, hop: hop, steps: group})
		}
		out = append(out, tail[env]...)
		if slices.Contains(st.Approvals, env) && len(out) > first {
			out[first].approval = true
		}
	}
	return out
}

// splitCanaries returns the canary steps of each fleet and the rest. A fleet
// with no flagged canary among its steps gets one picked: the first cluster by
// name of the tenant with the most steps in that fleet (ties go to the tenant
// first by name), among the steps that can go first when there are any.
func splitCanaries(steps []*step) (canaries, rest []*step) {
	byFleet := map[string][]*step{}
	for _, s := range steps {
		byFleet[s.cluster.Fleet] = append(byFleet[s.cluster.Fleet], s)
	}
	for _, fl := range sortedKeys(byFleet) {
		group := byFleet[fl]
		flagged := false
		for _, s := range group {
			if s.cluster.Canary {
				flagged = true
				break
			}
		}
		if !flagged {
			pickCanary(group).picked = true
		}
		for _, s := range group {
			if s.cluster.Canary || s.picked {
				s.canary = true
				canaries = append(canaries, s)
			} else {
				rest = append(rest, s)
			}
		}
	}
	return canaries, rest
}

func pickCanary(group []*step) *step {
	// A cluster a shared file moves cannot go first: prefer one that can.
	if own := slices.DeleteFunc(slices.Clone(group), func(s *step) bool { return s.late }); len(own) > 0 {
		group = own
	}
	count := map[string]int{}
	for _, s := range group {
		count[s.cluster.Tenant]++
	}
	best := group[0]
	for _, s := range group[1:] {
		if cmp.Or(cmp.Compare(count[best.cluster.Tenant], count[s.cluster.Tenant]),
			strings.Compare(s.cluster.Tenant, best.cluster.Tenant),
			strings.Compare(s.cluster.Name, best.cluster.Name)) < 0 {
			best = s
		}
	}
	return best
}

// pack splits steps into the fewest waves that respect limit (clusters per
// wave) and perTenant (clusters of one tenant per wave, 0 for no cap), with
// sizes differing by at most one. Steps are laid out tenant by tenant, the
// largest tenant first, and dealt round-robin over the waves: a tenant's run
// of c steps lands at most ceil(c/waves) times in a wave.
func pack(steps []*step, limit, perTenant int) [][]*step {
	if len(steps) == 0 {
		return nil
	}
	byTenant := map[string][]*step{}
	for _, s := range steps {
		byTenant[s.cluster.Tenant] = append(byTenant[s.cluster.Tenant], s)
	}
	waves := ceilDiv(len(steps), limit)
	tenants := sortedKeys(byTenant)
	for _, t := range tenants {
		if perTenant > 0 {
			waves = max(waves, ceilDiv(len(byTenant[t]), perTenant))
		}
	}
	slices.SortStableFunc(tenants, func(a, b string) int {
		return cmp.Compare(len(byTenant[b]), len(byTenant[a]))
	})
	out := make([][]*step, waves)
	i := 0
	for _, t := range tenants {
		group := byTenant[t]
		slices.SortFunc(group, byFleetName)
		for _, s := range group {
			out[i%waves] = append(out[i%waves], s)
			i++
		}
	}
	for _, w := range out {
		slices.SortFunc(w, byTenantName)
	}
	return out
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func byFleetName(a, b *step) int {
	return cmp.Or(strings.Compare(a.cluster.Fleet, b.cluster.Fleet), strings.Compare(a.cluster.Name, b.cluster.Name))
}

func byTenantName(a, b *step) int {
	return cmp.Or(strings.Compare(a.cluster.Tenant, b.cluster.Tenant), strings.Compare(a.cluster.Name, b.cluster.Name))
}

// finish turns drafts into the plan's waves, numbering them and grouping their
// edits into pull requests. It consumes drafts: a step's edits are in the
// one draft that holds it with them, and each draft's steps and edits, its
// steps' too, are let go once its pull requests are made (a label plan of
// 100,000 clusters has two edits a cluster, 256 bytes each, which the pull
// requests would otherwise hold a second time until the plan is made: 202
// MiB live at the last wave, 144 MiB with them let go).
func (pl *planner) finish(drafts []waveDraft) error {
	own := owners{}
	for i, d := range drafts {
		w := Wave{
			Index:    len(pl.plan.Waves) + 1,
			Env:      d.env,
			Hop:      d.hop,
			Canary:   d.canary,
			Approval: d.approval,
			Cleanup:  d.cleanup,
			Shared:   d.shared,
			Step:     d.step,
			Traffic:  d.traffic,
			Clusters: make([]WaveCluster, 0, len(d.steps)),
		}
		n := len(d.extra)
		for _, s := range d.steps {
			n += len(s.edits)
		}
		// The wave's edits stay where the steps hold them (each step's
		// own, dropped below once the pull requests are made).
		edits := make([]*fileEdit, 0, n)
		for _, s := range d.steps {
			cl := s.cluster
			w.Clusters = append(w.Clusters, WaveCluster{
				Name: cl.Name, Tenant: cl.Tenant, Env: cl.Env, Fleet: cl.Fleet,
				Canary: s.canary, PickedCanary: s.picked, From: s.from, To: s.to, Green: s.green,
			})
			for k := range s.edits {
				e := &s.edits[k]
				if len(e.reach) == 0 {
					e.edit.Cluster = cl.Name
				}
				edits = append(edits, e)
			}
		}
		for k := range d.extra {
			edits = append(edits, &d.extra[k])
		}
		prs, err := own.pullRequests(edits)
		if err != nil {
			return fmt.Errorf("wave %d: %w", w.Index, err)
		}
		w.PullRequests = prs
		pl.plan.Waves = append(pl.plan.Waves, w)
		for _, s := range d.steps {
			s.edits = nil
		}
		drafts[i].steps, drafts[i].extra = nil, nil
	}
	return nil
}

// owners remembers which tenant owns each file the plan edits, so that no pull
// request ever carries another tenant's file.
type owners map[fileID]string

// fileID names a file of a repository as a map key, without joining the
// two into a new string for each look-up.
type fileID struct{ repo, file string }

func fileKey(repo, file string) string { return repo + "\x00" + file }

func (o owners) claim(e *fileEdit) error {
	owner := e.tenant
	if e.admin {
		owner = ""
	}
	k := fileID{e.repo, e.file}
	prev, ok := o[k]
	switch {
	case !ok:
		o[k] = owner
	case prev != owner:
		return fmt.Errorf("file %s in %s belongs to tenant %q and tenant %q: mark it shared or split it",
			e.file, e.repo, prev, owner)
	}
	return nil
}

// pullRequests groups the edits of order into one pull request per
// (repository, tenant), admin pull requests apart, everything sorted. order
// is sorted so, in place: each pull request's files and each file's edits
// then lie side by side, no map of files for each pull request.
func (o owners) pullRequests(order []*fileEdit) ([]PullRequest, error) {
	for _, e := range order {
		if err := o.claim(e); err != nil {
			return nil, err
		}
	}
	// Stable: a file's first edit says whether it is created, and with
	// what content.
	slices.SortStableFunc(order, func(a, b *fileEdit) int {
		return cmp.Or(comparePR(a, b), strings.Compare(a.file, b.file))
	})
	n := 0
	for i, e := range order {
		if i == 0 || comparePR(order[i-1], e) != 0 {
			n++
		}
	}
	out := make([]PullRequest, 0, n)
	for i := 0; i < len(order); {
		first := order[i]
		// The pull request's files and their edits are made room for
		// once: a wave of a large fleet has a hundred thousand.
		end, files := i, 0
		for ; end < len(order) && comparePR(order[end], first) == 0; end++ {
			if end == i || order[end].file != order[end-1].file {
				files++
			}
		}
		pr := PullRequest{Repo: first.repo, Tenant: first.prTenant(), Admin: first.admin, Files: make([]FileChange, 0, files)}
		edits := make([]Edit, 0, end-i)
		for i < end {
			e := order[i]
			fc := FileChange{Path: e.file, Create: e.create, Delete: e.delete, Content: e.content, CopyOf: e.copyOf, Reach: e.reach}
			from := len(edits)
			for ; i < end && order[i].file == fc.Path; i++ {
				edits = append(edits, order[i].edit)
			}
			fc.Edits = edits[from:len(edits):len(edits)]
			slices.SortFunc(fc.Edits, func(a, b Edit) int { return slices.Compare(a.Path, b.Path) })
			for j := 1; j < len(fc.Edits); j++ {
				if slices.Equal(fc.Edits[j].Path, fc.Edits[j-1].Path) {
					return nil, fmt.Errorf("file %s in %s: key %s is edited twice",
						fc.Path, pr.Repo, strings.Join(fc.Edits[j].Path, "."))
				}
			}
			pr.Files = append(pr.Files, fc)
		}
		out = append(out, pr)
	}
	return out, nil
}

// prTenant is the tenant of the pull request carrying e: none for an
// admin one.
func (e *fileEdit) prTenant() string {
	if e.admin {
		return ""
	}
	return e.tenant
}

// comparePR orders edits by their pull request: by repository, a tenant's
// before the admins', then by tenant.
func comparePR(a, b *fileEdit) int {
	return cmp.Or(strings.Compare(a.repo, b.repo), compareBool(a.admin, b.admin), strings.Compare(a.prTenant(), b.prTenant()))
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	default:
		return 1
	}
}
