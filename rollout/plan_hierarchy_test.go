package rollout

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hierarchyKey is where the test hierarchy holds the field: the label
// files of newTestFleet double as the files of a hierarchy named addons.
var hierarchyKey = []string{"externalSecret", "labels", "addonsRelease"}

// hierarchyFleet is the test fleet with every cluster's label chain given
// as the chain of a hierarchy field change, the field being addonsRelease.
func hierarchyFleet(b *fleetBuilder) Fleet {
	f := b.build()
	for i := range f.Clusters {
		f.Clusters[i].Chain = slices.Clone(f.Clusters[i].LabelChain)
	}
	return f
}

func fieldOf(level, from, to string) Change {
	return Change{Field: &FieldChange{Hierarchy: "addons", Path: "addonsRelease", Level: level, From: from, To: to, Revertible: true}}
}

// planLines writes each wave of p on one line: index, environment, kind,
// clusters, then each pull request's files and edits.
func planLines(p *Plan) []string {
	var out []string
	for _, w := range p.Waves {
		kind := ""
		switch {
		case w.Cleanup:
			kind = " cleanup"
		case w.Shared:
			kind = " shared"
		}
		if w.Approval {
			kind += " approval"
		}
		var names []string
		for _, c := range w.Clusters {
			names = append(names, c.Name)
		}
		line := fmt.Sprintf("%d %s%s [%s]", w.Index, orDash(w.Env, "-"), kind, strings.Join(names, " "))
		for _, pr := range w.PullRequests {
			line += " | " + orDash(pr.Tenant, "admins") + ":"
			for _, f := range pr.Files {
				for _, e := range f.Edits {
					line += fmt.Sprintf(" %s %s %s->%s", e.Op, f.Path, e.From, e.To)
				}
				if len(f.Reach) > 0 {
					line += fmt.Sprintf(" (reach %d)", len(f.Reach))
				}
			}
		}
		out = append(out, line)
	}
	return out
}

func TestPlanHierarchyField(t *testing.T) {
	t.Parallel()
	staging := func(c *Campaign) {
		c.Spec.Selector.Tenants = []string{"tenant-a"}
		c.Spec.Selector.Envs = []string{"staging"}
	}
	for _, tc := range []struct {
		name   string
		change Change
		tune   func(*Campaign)
		waves  []string
		// values are the effective values after every wave merged, in
		// order, for the clusters that change; every other cluster keeps
		// its value.
		values  map[string]string
		skipped []string
	}{
		{
			name: "env level: the tenant's staging file gets the key", change: fieldOf(LevelEnv, "", "release2"), tune: staging,
			waves: []string{
				"1 staging [a-staging-cpu-1 a-staging-cpu-2 a-staging-gpu-1] | tenant-a: insert " + envFile("tenant-a", "staging") + " ->release2",
			},
			values: map[string]string{"a-staging-cpu-1": "release2", "a-staging-cpu-2": "release2", "a-staging-gpu-1": "release2"},
		},
		{
			name: "a label change at the env level", change: Change{Label: &LabelChange{Key: "addonsRelease", To: "release2", Level: LevelEnv}}, tune: staging,
			waves: []string{
				"1 staging [a-staging-cpu-1 a-staging-cpu-2 a-staging-gpu-1] | tenant-a: insert " + envFile("tenant-a", "staging") + " ->release2",
			},
			values: map[string]string{"a-staging-cpu-1": "release2", "a-staging-cpu-2": "release2", "a-staging-gpu-1": "release2"},
		},
		{
			name: "tenant level: the tenant's file moves with its first wave", change: fieldOf(LevelTenant, "", "release2"),
			tune: func(c *Campaign) { c.Spec.Selector.Tenants = []string{"tenant-b"} },
			waves: []string{
				"1 dev [b-dev-cpu-1 b-dev-gpu-1] | tenant-b: set " + tenantFile("tenant-b") + " release1->release2",
				"2 staging [b-staging-cpu-1 b-staging-gpu-1]",
				"3 prod approval [b-prod-cpu-1 b-prod-gpu-1]",
			},
			values: map[string]string{
				"b-dev-cpu-1": "release2", "b-dev-gpu-1": "release2", "b-staging-cpu-1": "release2",
				"b-staging-gpu-1": "release2", "b-prod-cpu-1": "release2", "b-prod-gpu-1": "release2",
			},
		},
		{
			name: "global level: the fleet admins' file in a last shared wave", change: fieldOf(LevelGlobal, "", "release2"),
			tune: func(c *Campaign) {
				c.Spec.Selector.Tenants = []string{"tenant-a", "tenant-c"}
				c.Spec.Selector.Exclude = []string{"c-prod-gpu-1"}
			},
			waves: []string{
				"1 - shared approval [a-dev-cpu-1 a-dev-cpu-2 a-dev-gpu-1 a-prod-cpu-1 a-prod-cpu-2 a-prod-gpu-1 a-staging-cpu-1 a-staging-cpu-2 a-staging-gpu-1 " +
					"c-dev-cpu-1 c-dev-gpu-1 c-prod-cpu-1 c-staging-cpu-1 c-staging-gpu-1] | admins: set " + globalFile + " release1->release2 (reach 21)",
			},
			values: map[string]string{
				"a-dev-cpu-1": "release2", "a-dev-cpu-2": "release2", "a-dev-gpu-1": "release2", "a-prod-cpu-1": "release2",
				"a-prod-cpu-2": "release2", "a-prod-gpu-1": "release2", "a-staging-cpu-1": "release2", "a-staging-cpu-2": "release2",
				"a-staging-gpu-1": "release2", "c-dev-cpu-1": "release2", "c-dev-gpu-1": "release2", "c-prod-cpu-1": "release2",
				"c-staging-cpu-1": "release2", "c-staging-gpu-1": "release2",
			},
			skipped: []string{"c-prod-gpu-1 excluded"},
		},
		{
			name: "cluster level: own files, then folded up into the tenant's file", change: fieldOf(LevelCluster, "", "release2"), tune: staging,
			waves: []string{
				"1 staging [a-staging-cpu-1 a-staging-cpu-2 a-staging-gpu-1] | tenant-a:" +
					" create " + clusterFile("tenant-a", "staging", "a-staging-cpu-1") + " ->release2" +
					" create " + clusterFile("tenant-a", "staging", "a-staging-cpu-2") + " ->release2" +
					" create " + clusterFile("tenant-a", "staging", "a-staging-gpu-1") + " ->release2",
				"2 - cleanup approval [] | tenant-a: insert " + envFile("tenant-a", "staging") + " ->release2",
				"3 - cleanup [] | tenant-a:" +
					" delete " + clusterFile("tenant-a", "staging", "a-staging-cpu-1") + " release2->" +
					" delete " + clusterFile("tenant-a", "staging", "a-staging-cpu-2") + " release2->" +
					" delete " + clusterFile("tenant-a", "staging", "a-staging-gpu-1") + " release2->",
			},
			values: map[string]string{"a-staging-cpu-1": "release2", "a-staging-cpu-2": "release2", "a-staging-gpu-1": "release2"},
		},
		{
			name: "from-mismatch and at-target", change: fieldOf(LevelCluster, "release0", "release1"),
			tune: func(c *Campaign) { c.Spec.Selector.Clusters = []string{"a-dev-cpu-1", "c-prod-gpu-1"} },
			waves: []string{
				"1 prod approval [c-prod-gpu-1] | tenant-c: set " + clusterFile("tenant-c", "prod", "c-prod-gpu-1") + " release0->release1",
				// tenant-b's own release1 repeats the global one: the fold-up drops it.
				"2 - cleanup approval [] | tenant-b: delete " + tenantFile("tenant-b") + " release1->" +
					" | tenant-c: delete " + clusterFile("tenant-c", "prod", "c-prod-gpu-1") + " release1->",
			},
			values:  map[string]string{"c-prod-gpu-1": "release1"},
			skipped: []string{"a-dev-cpu-1 at-target"},
		},
		{
			name: "from-mismatch", change: fieldOf(LevelTenant, "release0", "release2"),
			tune:    func(c *Campaign) { c.Spec.Selector.Clusters = []string{"a-dev-cpu-1"} },
			skipped: []string{"a-dev-cpu-1 from-mismatch"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := testCampaign(tc.change)
			c.Spec.Strategy.Canary = false
			c.Spec.Strategy.MaxConcurrency = Quantity{Count: 20, IsSet: true}
			tc.tune(c)
			f := hierarchyFleet(newTestFleet())
			p := mustPlan(t, c, f, WithFieldKey(hierarchyKey...))
			if got := planLines(p); !slices.Equal(got, tc.waves) {
				t.Errorf("waves:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.waves, "\n"))
			}
			var skipped []string
			for _, s := range p.Skipped {
				skipped = append(skipped, s.Name+" "+s.Reason)
			}
			if !slices.Equal(skipped, tc.skipped) {
				t.Errorf("skipped %v, want %v", skipped, tc.skipped)
			}
			world := newLabelWorld(f, "addonsRelease", DefaultLabelsKey)
			before := map[string]string{}
			for _, cl := range f.Clusters {
				before[cl.Name] = world.value(cl.Name)
			}
			for _, w := range p.Waves {
				for _, pr := range w.PullRequests {
					world.apply(t, pr)
				}
			}
			for _, cl := range f.Clusters {
				want, ok := tc.values[cl.Name]
				if !ok {
					want = before[cl.Name]
				}
				if got := world.value(cl.Name); got != want {
					t.Errorf("%s: addonsRelease=%s after the plan, want %s", cl.Name, got, want)
				}
			}
		})
	}
}

// TestPlanHierarchyFieldClusterLevelIsTheLabelPlan: at the cluster level, a
// field of a hierarchy is planned as a label change of the same files is,
// wave for wave and edit for edit, fold-up included; every cluster moves
// when its own pull request merges and the clean-up moves none.
func TestPlanHierarchyFieldClusterLevelIsTheLabelPlan(t *testing.T) {
	t.Parallel()
	f := hierarchyFleet(newTestFleet())
	label := mustPlan(t, testCampaign(labelTo("addonsRelease", "release2")), f)
	field := mustPlan(t, testCampaign(fieldOf(LevelCluster, "", "release2")), f, WithFieldKey(hierarchyKey...))
	if !reflect.DeepEqual(field.Waves, label.Waves) {
		t.Errorf("field waves:\n%s\nlabel waves:\n%s", strings.Join(planLines(field), "\n"), strings.Join(planLines(label), "\n"))
	}
	if !slices.ContainsFunc(field.Waves, func(w Wave) bool { return w.Cleanup }) {
		t.Error("the plan has no clean-up wave")
	}
	world := checkLabelPlan(t, field, f, "addonsRelease", "release2", DefaultLabelsKey)
	if got, want := holding(world), map[string]string{globalFile: "release2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after the plan the key is in %v, want %v", got, want)
	}
	if got, want := field.Change.Describe(), "field addonsRelease of hierarchy addons -> release2 at level cluster, revertible"; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
}

func TestPlanHierarchyFieldRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		change  Change
		tune    func(*Campaign)
		fleet   func(*Fleet)
		rule    string
		names   []string
		message string
		opts    []Option
	}{
		{
			name: "a cluster without a file at the level", change: fieldOf(LevelEnv, "", "release2"),
			tune: func(c *Campaign) { c.Spec.Selector.Tenants = []string{"tenant-a"} },
			fleet: func(f *Fleet) {
				for i := range f.Clusters {
					if cl := &f.Clusters[i]; cl.Name == "a-prod-gpu-1" {
						cl.Chain = slices.DeleteFunc(cl.Chain, func(l LabelLevel) bool { return l.Scope == LevelEnv })
					}
				}
			},
			rule: RuleHierarchyLevel, names: []string{"a-prod-gpu-1"},
			message: "hierarchy addons has no file at level env for cluster(s) a-prod-gpu-1",
		},
		{
			name: "a more specific file overrides the level", change: fieldOf(LevelTenant, "", "release2"),
			tune: func(c *Campaign) { c.Spec.Selector.Tenants = []string{"tenant-c"} },
			rule: RuleHierarchyLevel, names: []string{"c-prod-gpu-1"},
			message: "cluster c-prod-gpu-1 takes addonsRelease from " + clusterFile("tenant-c", "prod", "c-prod-gpu-1") + " (line 3), more specific than its tenant file",
		},
		{
			name: "the level's file moves a cluster outside the plan", change: fieldOf(LevelEnv, "", "release2"),
			tune: func(c *Campaign) {
				c.Spec.Selector.Tenants = []string{"tenant-a"}
				c.Spec.Selector.Envs = []string{"staging"}
				c.Spec.Selector.Exclude = []string{"a-staging-gpu-1"}
			},
			rule: RuleFieldScope, names: []string{"a-staging-gpu-1"},
			message: "addonsRelease in " + envFile("tenant-a", "staging") + " also applies to clusters the plan leaves alone (a-staging-gpu-1)",
		},
		{
			name: "a canary a shared file moves", change: fieldOf(LevelGlobal, "", "release2"),
			tune: func(c *Campaign) {
				c.Spec.Strategy.Canary = true
				c.Spec.Selector.Tenants = []string{"tenant-a", "tenant-c"}
				c.Spec.Selector.Exclude = []string{"c-prod-gpu-1"}
			},
			rule: RuleFieldCanary, names: []string{"a-dev-cpu-1", "a-dev-gpu-1", "a-prod-cpu-1", "a-prod-gpu-1", "a-staging-cpu-1", "a-staging-gpu-1"},
			message: "a-dev-cpu-1 (dev, only " + globalFile + " moves it)",
		},
		{
			name: "a global level moving a tenant the selector leaves out", change: fieldOf(LevelGlobal, "", "release2"),
			tune: func(c *Campaign) { c.Spec.Selector.Tenants = []string{"tenant-a"} },
			rule: RuleFieldScope, names: []string{"c-dev-cpu-1", "c-dev-gpu-1", "c-prod-cpu-1", "c-staging-cpu-1", "c-staging-gpu-1"},
			message: "addonsRelease in " + globalFile + " also applies to clusters the plan leaves alone",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := testCampaign(tc.change)
			c.Spec.Strategy.Canary = false
			tc.tune(c)
			f := hierarchyFleet(newTestFleet())
			if tc.fleet != nil {
				tc.fleet(&f)
			}
			_, err := PlanCampaign(c, f, WithFieldKey(hierarchyKey...))
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a refusal", err)
			}
			if re.Rule != tc.rule || !slices.Equal(re.Clusters, tc.names) || !strings.Contains(re.Message, tc.message) {
				t.Errorf("refused (%s) %v: %s\nwant (%s) %v containing %q", re.Rule, re.Clusters, re.Message, tc.rule, tc.names, tc.message)
			}
		})
	}
}

// TestScopeRefusalNamesItsFieldAndHolders: a level's file that would move a
// cluster outside the plan is refused at the field that named the level,
// the label's or the hierarchy field's; a cluster left out because another
// campaign holds it is named as held, since selecting it does not help.
func TestScopeRefusalNamesItsFieldAndHolders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change Change
		opts   []Option
		field  string
	}{
		{"hierarchy field", fieldOf(LevelEnv, "", "release2"), []Option{WithFieldKey(hierarchyKey...)}, "spec.change.field.level"},
		{"label", Change{Label: &LabelChange{Key: "addonsRelease", To: "release2", Level: LevelEnv}}, nil, "spec.change.label.level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := testCampaign(tc.change)
			c.Spec.Strategy.Canary = false
			c.Spec.Selector.Tenants = []string{"tenant-a"}
			c.Spec.Selector.Envs = []string{"staging"}
			f := hierarchyFleet(newTestFleet())
			f.Locks = map[string]string{"a-staging-gpu-1": "eks-1-30"}
			_, err := PlanCampaign(c, f, tc.opts...)
			var re *RefusedError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, RuleFieldScope, re.Rule)
			assert.Equal(t, []string{"a-staging-gpu-1"}, re.Clusters)
			assert.Equal(t, tc.field, re.Field())
			assert.Contains(t, re.Message, "; running campaigns hold a-staging-gpu-1 by eks-1-30, which this campaign cannot take until they end")
		})
	}
}

func TestPlanHierarchyFieldNeedsItsKey(t *testing.T) {
	t.Parallel()
	_, err := PlanCampaign(testCampaign(fieldOf(LevelCluster, "", "release2")), hierarchyFleet(newTestFleet()))
	if err == nil || !strings.Contains(err.Error(), "field addonsRelease of hierarchy addons: the planner was given no key path to edit") {
		t.Errorf("err = %v, want the missing key path named", err)
	}
}

// TestPlanChainsReleased: with WithChainsReleased the planner makes the
// same plan of a label change and of a field of a hierarchy, and leaves
// the fleet's clusters without the chains it read; without it the fleet
// is as given.
func TestPlanChainsReleased(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		campaign *Campaign
		opts     []Option
		chain    func(c *Cluster) []LabelLevel
	}{
		{"label", testCampaign(labelTo("addonsRelease", "release2")), nil, func(c *Cluster) []LabelLevel { return c.LabelChain }},
		{"field of a hierarchy", testCampaign(fieldOf(LevelCluster, "", "release2")), []Option{WithFieldKey(hierarchyKey...)}, func(c *Cluster) []LabelLevel { return c.Chain }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kept := hierarchyFleet(newTestFleet())
			want, err := PlanCampaign(tt.campaign, kept, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range kept.Clusters {
				if len(tt.chain(&c)) == 0 {
					t.Errorf("%s: the chain was released without the option", c.Name)
				}
			}
			released := hierarchyFleet(newTestFleet())
			got, err := PlanCampaign(tt.campaign, released, append(slices.Clone(tt.opts), WithChainsReleased())...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("plan with the chains released:\n%s\nwant:\n%s", strings.Join(planLines(got), "\n"), strings.Join(planLines(want), "\n"))
			}
			for _, c := range released.Clusters {
				if tt.chain(&c) != nil {
					t.Errorf("%s: chain kept", c.Name)
				}
			}
		})
	}
}
