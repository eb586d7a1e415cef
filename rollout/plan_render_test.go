package rollout

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goldenEKS is an EKS plan with a cluster two minors behind (two hops), a
// picked canary, and every skip reason.
func goldenEKS(t *testing.T) *Plan {
	b := newTestFleet()
	b.cluster("b-staging-gpu-1").Version = "1.28"
	b.cluster("a-prod-cpu-2").Version = "1.30"
	b.cluster("c-prod-gpu-1").Version = "1.31"
	b.locks["b-prod-cpu-1"] = "labels-q3"
	c := testCampaign(eksTo("1.30"))
	c.Metadata.Name = "eks-1-30"
	b.cluster("c-staging-cpu-1").Disabled = true
	c.Spec.Selector.Exclude = []string{"c-dev-cpu-1"}
	return mustPlan(t, c, b.build())
}

// goldenNothing is a plan with no wave: every selected cluster is at the
// target but one, which is disabled.
func goldenNothing(t *testing.T) *Plan {
	b := newTestFleet()
	for i := range b.clusters {
		b.clusters[i].Version = "1.30"
	}
	b.cluster("a-dev-gpu-1").Version = "1.29"
	b.cluster("a-dev-gpu-1").Disabled = true
	c := testCampaign(eksTo("1.30"))
	c.Metadata.Name = "eks-1-30"
	c.Spec.Selector.Envs = []string{"dev"}
	return mustPlan(t, c, b.build())
}

// goldenLabel is a label plan whose clean-up raises the global defaults (an
// admin pull request) while tenant-b keeps its pin for an excluded cluster.
func goldenLabel(t *testing.T) *Plan {
	c := testCampaign(labelTo("addonsRelease", "release2"))
	c.Metadata.Name = "addons-release2"
	c.Spec.Selector.Exclude = []string{"b-dev-cpu-1"}
	c.Spec.Strategy.MaxConcurrency = Quantity{Percent: 50, IsSet: true}
	return mustPlan(t, c, newTestFleet().build())
}

// goldenField is a field plan over files serving many clusters: each
// environment's add-on configuration after that environment's canaries,
// which go first through values of their own, then a version stack's file
// last; an excluded cluster keeps its own pinned value.
func goldenField(t *testing.T) *Plan {
	f := newTestFleet().build()
	for _, env := range []string{"dev", "staging", "prod"} {
		f.Fields = append(f.Fields, sharedHit(envConfig(env), env, "v1", envClusters(f, env)))
	}
	f.Fields = append(f.Fields, sharedHit(stackConfig, "", "v1", envClusters(f, "")))
	for _, name := range []string{"a-dev-cpu-1", "b-dev-gpu-1", "a-staging-cpu-1", "a-staging-gpu-1", "a-prod-cpu-1", "c-prod-gpu-1", "b-prod-cpu-1"} {
		f.Fields = append(f.Fields, ownHit(f, name, "v1"))
	}
	c := testCampaign(Change{Field: &FieldChange{Files: "environments/**/*.yaml", Path: "amiRelease", To: "v2", Revertible: true}})
	c.Metadata.Name = "ami-v2"
	c.Spec.Selector.Exclude = []string{"b-prod-cpu-1"}
	return mustPlan(t, c, f)
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		plan func(*testing.T) *Plan
	}{{"eks", goldenEKS}, {"label", goldenLabel}, {"nothing", goldenNothing}, {"field", goldenField}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.plan(t)
			js, err := RenderJSON(p)
			if err != nil {
				t.Fatal(err)
			}
			planGolden(t, tt.name+".json", string(js))
			planGolden(t, tt.name+".txt", RenderTable(p))
			mmd := RenderMermaid(p)
			planGolden(t, tt.name+".mmd", mmd)
			checkMermaid(t, mmd)
			var back Plan
			if err := json.Unmarshal(js, &back); err != nil {
				t.Fatalf("the JSON does not read back: %v", err)
			}
			again, _ := RenderJSON(&back)
			if string(again) != string(js) {
				t.Errorf("the JSON does not round-trip")
			}
		})
	}
}

var mermaidLine = []*regexp.Regexp{
	regexp.MustCompile(`^flowchart TD$`),
	regexp.MustCompile(`^ +[a-z][a-z0-9]*\["[^"]*"\]$`),
	regexp.MustCompile(`^ +[a-z][a-z0-9]*\{\{"[^"]*"\}\}$`),
	regexp.MustCompile(`^  subgraph [a-z][a-z0-9]*\["[^"]*"\]$`),
	regexp.MustCompile(`^  end$`),
	regexp.MustCompile(`^  [a-z][a-z0-9]* --> [a-z][a-z0-9]*$`),
	regexp.MustCompile(`^  classDef [a-z]+ [a-z-]+:#[0-9a-f]{6}(,[a-z-]+:#[0-9a-f]{6})*$`),
	regexp.MustCompile(`^  class [a-z0-9]+(,[a-z0-9]+)* [a-z]+$`),
}

// checkMermaid checks the diagram's shape: known statement forms only,
// balanced subgraphs, edges between declared nodes, each node declared once.
func checkMermaid(t *testing.T, mmd string) {
	t.Helper()
	declared := map[string]bool{}
	depth := 0
	node := regexp.MustCompile(`^ +([a-z][a-z0-9]*)(\[|\{\{)`)
	for i, line := range strings.Split(strings.TrimSuffix(mmd, "\n"), "\n") {
		ok := false
		for _, re := range mermaidLine {
			ok = ok || re.MatchString(line)
		}
		if !ok {
			t.Errorf("line %d is not a statement the renderer should write: %q", i+1, line)
		}
		switch {
		case strings.HasPrefix(line, "  subgraph "):
			depth++
		case line == "  end":
			depth--
		case strings.Contains(line, " --> "):
			ends := strings.Fields(line)
			if !declared[ends[0]] || !declared[ends[2]] {
				t.Errorf("line %d links an undeclared node: %q", i+1, line)
			}
		default:
			if m := node.FindStringSubmatch(line); m != nil && !strings.HasPrefix(line, "  subgraph") {
				if declared[m[1]] {
					t.Errorf("node %s declared twice", m[1])
				}
				declared[m[1]] = true
			}
		}
		if depth < 0 || depth > 1 {
			t.Errorf("line %d: subgraph depth %d", i+1, depth)
		}
	}
	if depth != 0 {
		t.Errorf("unclosed subgraph")
	}
}

func TestRenderMermaidCounts(t *testing.T) {
	t.Parallel()
	w := Wave{Index: 3, Env: "prod"}
	for i := range 6 {
		w.Clusters = append(w.Clusters, WaveCluster{Name: fmt.Sprintf("c%d", i), Tenant: fmt.Sprintf("t%d", i%2), From: "1.29", To: "1.30"})
	}
	p := &Plan{Campaign: "x", Change: PlanChange{Kind: KindEKSVersion, To: "1.30", Hops: []string{"1.30"}}, Waves: []Wave{w}}
	got := RenderMermaid(p)
	if !strings.Contains(got, `w3["wave 3 · prod<br/>6 clusters of 2 tenants → 1.30"]`) {
		t.Errorf("a wave of six clusters shows counts:\n%s", got)
	}
	checkMermaid(t, got)
	empty := RenderMermaid(&Plan{Campaign: "x"})
	if empty != "flowchart TD\n  empty[\"x: nothing to change\"]\n" {
		t.Errorf("empty plan: %q", empty)
	}
	checkMermaid(t, empty)
}

func TestRenderTableEmpty(t *testing.T) {
	t.Parallel()
	got := RenderTable(&Plan{Campaign: "x", Change: PlanChange{Kind: KindField, Path: "a.b", Files: "*.yaml", To: "1"}})
	want := "Campaign x: field a.b in *.yaml -> 1, forward-only\n0 waves, 0 cluster steps, 0 pull requests, 0 skipped\n\n" +
		"Nothing to do: the plan changes no cluster.\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestDescribeReachUpTo(t *testing.T) {
	t.Parallel()
	f := FileChange{Path: "env/prod.yaml", Reach: []string{"a", "b", "c"}}
	for _, tc := range []struct {
		n    int
		want string
	}{
		{3, "env/prod.yaml reaches 3 clusters: a, b, c"},
		{10, "env/prod.yaml reaches 3 clusters: a, b, c"},
		{2, "env/prod.yaml reaches 3 clusters: a, b, and 1 more"},
		{0, "env/prod.yaml reaches 3 clusters: and 3 more"},
	} {
		assert.Equal(t, tc.want, f.DescribeReachUpTo(tc.n), "n=%d", tc.n)
	}
	assert.Equal(t, f.DescribeReachUpTo(3), f.DescribeReach())
	assert.Empty(t, FileChange{Path: "x"}.DescribeReachUpTo(5), "a file of one cluster reaches none")

	// The plan's table names the first ReachShown clusters of a file.
	var names []string
	for i := range ReachShown + 7 {
		names = append(names, fmt.Sprintf("c%03d", i))
	}
	p := &Plan{Campaign: "c", Change: PlanChange{Kind: KindField, Path: "a", To: "2"}, Waves: []Wave{{Index: 1, Shared: true,
		PullRequests: []PullRequest{{Admin: true, Files: []FileChange{{Path: "global.yaml", Reach: names}}}}}}}
	table := RenderTable(p)
	assert.Contains(t, table, fmt.Sprintf("  wave 1: global.yaml reaches %d clusters: c000, c001,", ReachShown+7))
	assert.Contains(t, table, fmt.Sprintf(", c%03d, and 7 more\n", ReachShown-1))
}

func TestPlanIdle(t *testing.T) {
	t.Parallel()
	assert.NoError(t, (&Plan{Waves: []Wave{{}}}).Idle())
	err := (&Plan{Skipped: []SkippedCluster{{Name: "a", Reason: ReasonAtTarget}, {Name: "b", Reason: ReasonAtTarget}, {Name: "c", Reason: ReasonLocked}}}).Idle()
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "spec.selector", fe.Field)
	assert.Equal(t, "nothing to do: all 3 clusters selected are skipped (2 at-target, 1 locked); a campaign that changes no cluster does not start", fe.Reason)
	require.ErrorAs(t, (&Plan{}).Idle(), &fe)
	assert.Equal(t, "nothing to do: the plan changes no cluster; a campaign that changes no cluster does not start", fe.Reason)
}

// TestLeftOut: the clusters a plan leaves alone, by reason, those held by
// other campaigns named with the campaign, up to a number.
func TestLeftOut(t *testing.T) {
	t.Parallel()
	locked := func(name, holder string) SkippedCluster {
		return SkippedCluster{Name: name, Reason: ReasonLocked, Detail: "held by campaign " + holder}
	}
	p := &Plan{Skipped: []SkippedCluster{
		locked("d-prod-1", "blk-d"), {Name: "a-dev-1", Reason: ReasonAtTarget}, locked("d-prod-2", "blk-d"),
		locked("c-stg-1", "eks-1-30"), {Name: "b-dev-1", Reason: ReasonExcluded}, {Name: "a-dev-2", Reason: ReasonAtTarget},
	}}
	assert.Equal(t, "3 held by other campaigns (`d-prod-1`, `d-prod-2`: held by campaign blk-d; `c-stg-1`: held by campaign eks-1-30), 2 at-target, 1 excluded", p.LeftOut(10))
	assert.Equal(t, "3 held by other campaigns (`d-prod-1`, 1 more: held by campaign blk-d; 1 more: held by campaign eks-1-30), 2 at-target, 1 excluded", p.LeftOut(1))
	assert.Equal(t, "1 at-target", (&Plan{Skipped: []SkippedCluster{{Name: "x", Reason: ReasonAtTarget}}}).LeftOut(10))
	assert.Empty(t, (&Plan{}).LeftOut(10))
}
