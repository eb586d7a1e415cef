package rollout

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestPlanEKSWaves(t *testing.T) {
	t.Parallel()
	b := newTestFleet()
	f := b.build()
	p := mustPlan(t, testCampaign(eksTo("1.30")), f)
	want := []string{
		"1:dev(canary) a-dev-cpu-1,a-dev-gpu-1",
		"1:dev a-dev-cpu-2,b-dev-cpu-1,c-dev-cpu-1",
		"1:dev b-dev-gpu-1,c-dev-gpu-1",
		"1:staging(canary) a-staging-cpu-1,a-staging-gpu-1",
		"1:staging a-staging-cpu-2,b-staging-cpu-1,c-staging-cpu-1",
		"1:staging b-staging-gpu-1,c-staging-gpu-1",
		"1:prod(canary) a-prod-cpu-1,a-prod-gpu-1",
		"1:prod a-prod-cpu-2,b-prod-cpu-1,c-prod-cpu-1",
		"1:prod b-prod-gpu-1,c-prod-gpu-1",
	}
	if got := waveNames(p); !slices.Equal(got, want) {
		t.Fatalf("waves:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range p.Waves {
		if w.Approval != (w.Index == 7) {
			t.Errorf("wave %d (%s): approval %v; only prod's first wave needs one", w.Index, w.Env, w.Approval)
		}
	}
	first := p.Waves[0].Clusters
	if first[0].PickedCanary || !first[0].Canary {
		t.Errorf("a-dev-cpu-1 is flagged is_canary: want canary, not picked: %+v", first[0])
	}
	if !first[1].PickedCanary || !first[1].Canary {
		t.Errorf("a-dev-gpu-1 is the picked gpu canary: %+v", first[1])
	}
}

func TestPlanEKSEdits(t *testing.T) {
	t.Parallel()
	b := newTestFleet()
	p := mustPlan(t, testCampaign(eksTo("1.30")), b.build())
	w := p.Waves[1] // a-dev-cpu-2, b-dev-cpu-1, c-dev-cpu-1
	if len(w.PullRequests) != 3 {
		t.Fatalf("wave 2: %d pull requests, want one per tenant (3)", len(w.PullRequests))
	}
	pr := w.PullRequests[0]
	if pr.Tenant != "tenant-a" || pr.Repo != testRepo || pr.Admin {
		t.Fatalf("first pull request: %+v", pr)
	}
	wantFile := FileChange{Path: blueprintFile("tenant-a", "dev"), Edits: []Edit{{
		Path: []string{"services", "eks", "config", "a-dev-cpu-2", "version"},
		Op:   OpSet, From: "1.29", To: "1.30", Quote: true, Line: b.cluster("a-dev-cpu-2").VersionAt.Line,
	}}}
	if len(pr.Files) != 1 || !equalFile(pr.Files[0], wantFile) {
		t.Errorf("tenant-a's pull request: %+v, want %+v", pr.Files, wantFile)
	}
	// The canary wave holds two clusters of one blueprint: one file, two edits.
	canary := p.Waves[0].PullRequests
	if len(canary) != 1 || len(canary[0].Files) != 1 || len(canary[0].Files[0].Edits) != 2 {
		t.Errorf("canary wave: want one pull request, one file, two edits: %+v", canary)
	}
}

func equalFile(a, b FileChange) bool {
	return a.Path == b.Path && a.Create == b.Create && a.Content == b.Content &&
		slices.EqualFunc(a.Edits, b.Edits, func(x, y Edit) bool {
			return slices.Equal(x.Path, y.Path) && x.Op == y.Op && x.From == y.From && x.To == y.To && x.Quote == y.Quote && x.Line == y.Line
		})
}

func plannedNames(p *Plan) []string {
	var out []string
	for _, w := range p.Waves {
		for _, c := range w.Clusters {
			out = append(out, c.Name)
		}
	}
	slices.Sort(out)
	return out
}

func TestPlanSkips(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		edit     func(b *fleetBuilder, c *Campaign)
		skipped  map[string]string
		detail   string // of the first skipped cluster, when set
		planned  int
		selected []string // when set, exactly these are planned
	}{
		{
			name:    "at target",
			edit:    func(b *fleetBuilder, _ *Campaign) { b.cluster("b-dev-cpu-1").Version = "1.30" },
			skipped: map[string]string{"b-dev-cpu-1": ReasonAtTarget},
			detail:  "at 1.30",
			planned: 20,
		},
		{
			name:    "ahead is never downgraded",
			edit:    func(b *fleetBuilder, _ *Campaign) { b.cluster("c-prod-gpu-1").Version = "1.31" },
			skipped: map[string]string{"c-prod-gpu-1": ReasonAhead},
			detail:  "at 1.31, above 1.30: EKS cannot downgrade a control plane",
			planned: 20,
		},
		{
			name:    "excluded",
			edit:    func(_ *fleetBuilder, c *Campaign) { c.Spec.Selector.Exclude = []string{"a-prod-cpu-2"} },
			skipped: map[string]string{"a-prod-cpu-2": ReasonExcluded},
			detail:  "named by selector.exclude",
			planned: 20,
		},
		{
			name:    "locked by another campaign",
			edit:    func(b *fleetBuilder, _ *Campaign) { b.locks["b-prod-gpu-1"] = "labels-q3" },
			skipped: map[string]string{"b-prod-gpu-1": ReasonLocked},
			detail:  "held by campaign labels-q3",
			planned: 20,
		},
		{
			name: "disabled",
			edit: func(b *fleetBuilder, _ *Campaign) {
				cl := b.cluster("c-prod-cpu-1")
				cl.Disabled = true
				cl.DisabledAt = &Location{File: blueprintFile("tenant-c", "prod"), Path: []string{"services", "eks", "enabled"}, Line: 5}
			},
			skipped: map[string]string{"c-prod-cpu-1": ReasonDisabled},
			detail:  "services.eks.enabled: false at " + blueprintFile("tenant-c", "prod") + ":5",
			planned: 20,
		},
		{
			name:    "a disabled canary is not planned, even as the canary",
			edit:    func(b *fleetBuilder, _ *Campaign) { b.cluster("a-dev-cpu-1").Disabled = true },
			skipped: map[string]string{"a-dev-cpu-1": ReasonDisabled},
			detail:  "enabled: false in the fleet files",
			planned: 20,
		},
		{
			name: "excluded wins over disabled",
			edit: func(b *fleetBuilder, c *Campaign) {
				b.cluster("a-prod-cpu-2").Disabled = true
				c.Spec.Selector.Exclude = []string{"a-prod-cpu-2"}
			},
			skipped: map[string]string{"a-prod-cpu-2": ReasonExcluded},
			planned: 20,
		},
		{
			name:    "a lock of its own does not count",
			edit:    func(b *fleetBuilder, _ *Campaign) { b.locks["b-prod-gpu-1"] = "test-campaign" },
			skipped: map[string]string{},
			planned: 21,
		},
		{
			name: "not selected is not listed",
			edit: func(b *fleetBuilder, c *Campaign) {
				c.Spec.Selector.Tenants = []string{"tenant-b"}
				b.cluster("a-dev-cpu-1").Version = "1.30"
			},
			skipped:  map[string]string{},
			selected: []string{"b-dev-cpu-1", "b-dev-gpu-1", "b-prod-cpu-1", "b-prod-gpu-1", "b-staging-cpu-1", "b-staging-gpu-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newTestFleet()
			c := testCampaign(eksTo("1.30"))
			tt.edit(b, c)
			p := mustPlan(t, c, b.build())
			if got := skippedReasons(p); !mapsEqual(got, tt.skipped) {
				t.Errorf("skipped %v, want %v", got, tt.skipped)
			}
			if tt.detail != "" && p.Skipped[0].Detail != tt.detail {
				t.Errorf("detail %q, want %q", p.Skipped[0].Detail, tt.detail)
			}
			got := plannedNames(p)
			if tt.selected != nil && !slices.Equal(got, tt.selected) {
				t.Errorf("planned %v, want %v", got, tt.selected)
			}
			if tt.selected == nil && len(got) != tt.planned {
				t.Errorf("planned %d clusters, want %d", len(got), tt.planned)
			}
			for name := range tt.skipped {
				if slices.Contains(got, name) {
					t.Errorf("skipped cluster %s is in a wave", name)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestPlanSelector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sel  Selector
		want []string
	}{
		{"tenants", Selector{Tenants: []string{"tenant-c"}}, []string{"c-dev-cpu-1", "c-dev-gpu-1", "c-prod-cpu-1", "c-prod-gpu-1", "c-staging-cpu-1", "c-staging-gpu-1"}},
		{"envs and fleets", Selector{Envs: []string{"prod"}, Fleets: []string{"gpu"}}, []string{"a-prod-gpu-1", "b-prod-gpu-1", "c-prod-gpu-1"}},
		{"clusters", Selector{Clusters: []string{"b-dev-gpu-1", "a-prod-cpu-2"}}, []string{"a-prod-cpu-2", "b-dev-gpu-1"}},
		{"labels", Selector{Labels: map[string]string{"enable_metrics_server": "true"}}, []string{"a-dev-gpu-1"}},
		{"labels all must match", Selector{Labels: map[string]string{"enable_metrics_server": "true", "addonsRelease": "release0"}}, nil},
		{"every criterion applies", Selector{Tenants: []string{"tenant-a"}, Envs: []string{"staging"}, Fleets: []string{"cpu"}, Exclude: []string{"a-staging-cpu-1"}}, []string{"a-staging-cpu-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testCampaign(eksTo("1.30"))
			c.Spec.Selector = tt.sel
			p := mustPlan(t, c, newTestFleet().build())
			if got := plannedNames(p); !slices.Equal(got, tt.want) {
				t.Errorf("planned %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPlanEKSHops(t *testing.T) {
	t.Parallel()
	b := newTestFleet()
	b.cluster("b-staging-gpu-1").Version = "1.28"
	p := mustPlan(t, testCampaign(eksTo("1.30")), b.build())
	if !slices.Equal(p.Change.Hops, []string{"1.29", "1.30"}) {
		t.Fatalf("hops %v, want [1.29 1.30]", p.Change.Hops)
	}
	hop := 0
	var steps []WaveCluster
	for _, w := range p.Waves {
		if w.Hop < hop {
			t.Fatalf("wave %d is hop %d after hop %d", w.Index, w.Hop, hop)
		}
		hop = w.Hop
		for _, c := range w.Clusters {
			if c.Name == "b-staging-gpu-1" {
				steps = append(steps, c)
			}
			if w.Hop == 1 && c.Name != "b-staging-gpu-1" {
				t.Errorf("hop 1 holds %s, which is one minor behind", c.Name)
			}
		}
	}
	if len(steps) != 2 || steps[0].From != "1.28" || steps[0].To != "1.29" || steps[1].From != "1.29" || steps[1].To != "1.30" {
		t.Fatalf("b-staging-gpu-1 steps %+v, want 1.28 -> 1.29 then 1.29 -> 1.30", steps)
	}
	if !p.Waves[0].Canary || !p.Waves[0].Clusters[0].PickedCanary || p.Waves[0].Env != "staging" {
		t.Errorf("hop 1's only wave is the picked canary of its fleet: %+v", p.Waves[0])
	}
	// Every hop opens prod with an approval.
	approvals := 0
	for _, w := range p.Waves {
		if w.Approval {
			approvals++
			if w.Env != "prod" {
				t.Errorf("wave %d (%s) asks for approval", w.Index, w.Env)
			}
		}
	}
	if approvals != 1 { // hop 1 has no prod cluster
		t.Errorf("%d approval waves, want 1", approvals)
	}
	if n := len(plannedNames(p)); n != 22 {
		t.Errorf("%d cluster steps, want 21 clusters + 1 extra hop", n)
	}
}

func TestPlanRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		edit     func(b *fleetBuilder, c *Campaign)
		rule     string
		clusters []string
		message  string
	}{
		{
			name: "hops refuse",
			edit: func(b *fleetBuilder, c *Campaign) {
				c.Spec.Change.EKSVersion.Hops = HopsRefuse
				b.cluster("b-staging-gpu-1").Version = "1.28"
				b.cluster("a-prod-cpu-2").Version = "1.27"
			},
			rule:     RuleOneMinorPerHop,
			clusters: []string{"a-prod-cpu-2", "b-staging-gpu-1"},
			message:  "a-prod-cpu-2 (1.27), b-staging-gpu-1 (1.28) are more than one minor below 1.30",
		},
		{
			name:     "environment not in the order",
			edit:     func(_ *fleetBuilder, c *Campaign) { c.Spec.Strategy.Order = []string{"dev", "prod"} },
			rule:     RuleEnvOrder,
			clusters: []string{"a-staging-cpu-1", "a-staging-cpu-2", "a-staging-gpu-1", "b-staging-cpu-1", "b-staging-gpu-1", "c-staging-cpu-1", "c-staging-gpu-1"},
			message:  "environment(s) staging are not in strategy.order [dev prod]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newTestFleet()
			c := testCampaign(eksTo("1.30"))
			tt.edit(b, c)
			_, err := PlanCampaign(c, b.build())
			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("error %v, want a *RefusedError", err)
			}
			if refused.Rule != tt.rule || !slices.Equal(refused.Clusters, tt.clusters) {
				t.Errorf("refused %s %v, want %s %v", refused.Rule, refused.Clusters, tt.rule, tt.clusters)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("message %q does not say %q", err, tt.message)
			}
		})
	}
	t.Run("narrowing the selector to the order plans", func(t *testing.T) {
		t.Parallel()
		c := testCampaign(eksTo("1.30"))
		c.Spec.Strategy.Order = []string{"dev", "prod"}
		c.Spec.Selector.Envs = []string{"dev", "prod"}
		if got := len(plannedNames(mustPlan(t, c, newTestFleet().build()))); got != 14 {
			t.Errorf("planned %d clusters, want 14", got)
		}
	})
}

func TestPlanBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(b *fleetBuilder, c *Campaign)
		want string
	}{
		{"version not 1.NN", func(b *fleetBuilder, _ *Campaign) { b.cluster("b-dev-gpu-1").Version = "1.3x" },
			`cluster b-dev-gpu-1: version "1.3x" at blueprints/tenant-b/dev.yaml:20 in org/fleet is not a 1.NN version`},
		{"version read as a number", func(b *fleetBuilder, _ *Campaign) { b.cluster("b-dev-gpu-1").Version = "1.030" },
			`version "1.030"`},
		{"target not 1.NN", func(_ *fleetBuilder, c *Campaign) { c.Spec.Change.EKSVersion.To = "2.0" },
			`spec.change.eksVersion.to "2.0" is not a 1.NN version`},
		{"hops unknown", func(_ *fleetBuilder, c *Campaign) { c.Spec.Change.EKSVersion.Hops = "skip" },
			`spec.change.eksVersion.hops "skip"`},
		{"duplicate cluster", func(b *fleetBuilder, _ *Campaign) {
			b.addCluster("tenant-b", "dev", "cpu", "a-dev-cpu-1", "1.29", false)
		},
			`cluster "a-dev-cpu-1" is listed twice`},
		{"no change", func(_ *fleetBuilder, c *Campaign) { c.Spec.Change = Change{} },
			"spec.change names no change"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newTestFleet()
			c := testCampaign(eksTo("1.30"))
			tt.edit(b, c)
			_, err := PlanCampaign(c, b.build())
			wantBadInput(t, err, tt.want)
		})
	}
}

func TestPlanCanaries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		edit   func(b *fleetBuilder, c *Campaign)
		env    string
		waves  []string
		picked []string
	}{
		{
			name:   "flagged canary first, one picked for the fleet without",
			env:    "dev",
			waves:  []string{"1:dev(canary) a-dev-cpu-1,a-dev-gpu-1", "1:dev a-dev-cpu-2,b-dev-cpu-1,c-dev-cpu-1", "1:dev b-dev-gpu-1,c-dev-gpu-1"},
			picked: []string{"a-dev-gpu-1"},
		},
		{
			name: "picked from the tenant with the most clusters",
			edit: func(b *fleetBuilder, c *Campaign) {
				b.addCluster("tenant-c", "prod", "gpu", "c-prod-gpu-0", "1.29", false)
				c.Spec.Selector.Envs = []string{"prod"}
				c.Spec.Selector.Fleets = []string{"gpu"}
			},
			env:    "prod",
			waves:  []string{"1:prod(canary) c-prod-gpu-0", "1:prod a-prod-gpu-1,b-prod-gpu-1,c-prod-gpu-1"},
			picked: []string{"c-prod-gpu-0"},
		},
		{
			name: "several flagged canaries share canary waves",
			edit: func(b *fleetBuilder, c *Campaign) {
				b.cluster("b-dev-cpu-1").Canary = true
				b.cluster("c-dev-gpu-1").Canary = true
				c.Spec.Strategy.MaxConcurrency = Quantity{Count: 2, IsSet: true}
				c.Spec.Selector.Envs = []string{"dev"}
			},
			env:   "dev",
			waves: []string{"1:dev(canary) a-dev-cpu-1,c-dev-gpu-1", "1:dev(canary) b-dev-cpu-1", "1:dev a-dev-cpu-2,b-dev-gpu-1", "1:dev a-dev-gpu-1,c-dev-cpu-1"},
		},
		{
			name: "no canary waves without strategy.canary",
			edit: func(_ *fleetBuilder, c *Campaign) {
				c.Spec.Strategy.Canary = false
				c.Spec.Strategy.MaxConcurrency = Quantity{Count: 4, IsSet: true}
				c.Spec.Selector.Envs = []string{"dev"}
			},
			env:   "dev",
			waves: []string{"1:dev a-dev-cpu-1,a-dev-gpu-1,b-dev-gpu-1,c-dev-gpu-1", "1:dev a-dev-cpu-2,b-dev-cpu-1,c-dev-cpu-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newTestFleet()
			c := testCampaign(eksTo("1.30"))
			if tt.edit != nil {
				tt.edit(b, c)
			}
			p := mustPlan(t, c, b.build())
			var got, picked []string
			for i, name := range waveNames(p) {
				if p.Waves[i].Env == tt.env {
					got = append(got, name)
				}
				for _, cl := range p.Waves[i].Clusters {
					if cl.PickedCanary && cl.Env == tt.env {
						picked = append(picked, cl.Name)
					}
				}
			}
			if !slices.Equal(got, tt.waves) {
				t.Errorf("waves:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.waves, "\n"))
			}
			if !slices.Equal(picked, tt.picked) {
				t.Errorf("picked canaries %v, want %v", picked, tt.picked)
			}
		})
	}
}

func TestPlanCaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		limit     Quantity
		perTenant int
		maxSize   int // per environment of 7 clusters, 2 of them canaries
		waves     int // per environment
	}{
		{"count", Quantity{Count: 2, IsSet: true}, 0, 2, 1 + 3},
		{"percent of the environment", Quantity{Percent: 50, IsSet: true}, 0, 3, 1 + 2},
		{"small percent is at least one", Quantity{Percent: 1, IsSet: true}, 0, 1, 2 + 5},
		{"no limit", Quantity{}, 0, 5, 1 + 1},
		{"per tenant splits tenant-a's two canaries", Quantity{}, 1, 3, 2 + 2},
		{"both", Quantity{Count: 2, IsSet: true}, 1, 2, 2 + 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testCampaign(eksTo("1.30"))
			c.Spec.Strategy.MaxConcurrency = tt.limit
			c.Spec.Strategy.MaxPerTenant = tt.perTenant
			c.Spec.Strategy.Approvals = nil
			p := mustPlan(t, c, newTestFleet().build())
			perEnv := map[string]int{}
			biggest := 0
			for _, w := range p.Waves {
				perEnv[w.Env]++
				biggest = max(biggest, len(w.Clusters))
				tenants := map[string]int{}
				for _, cl := range w.Clusters {
					tenants[cl.Tenant]++
					if tt.perTenant > 0 && tenants[cl.Tenant] > tt.perTenant {
						t.Errorf("wave %d holds %d clusters of %s, cap %d", w.Index, tenants[cl.Tenant], cl.Tenant, tt.perTenant)
					}
				}
			}
			if biggest != tt.maxSize {
				t.Errorf("largest wave %d, want %d", biggest, tt.maxSize)
			}
			for env, n := range perEnv {
				if n != tt.waves {
					t.Errorf("%s has %d waves, want %d", env, n, tt.waves)
				}
			}
		})
	}
}
