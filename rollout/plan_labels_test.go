package rollout

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// holding lists the files holding the key after a plan, by path.
func holding(w *labelWorld) map[string]string {
	out := map[string]string{}
	for k, labels := range w.files {
		if v, ok := labels[w.key]; ok {
			_, path, _ := strings.Cut(k, "\x00")
			out[path] = v
		}
	}
	return out
}

func TestPlanLabelRolloutEdits(t *testing.T) {
	t.Parallel()
	c := testCampaign(labelTo("addonsRelease", "release2"))
	c.Spec.Selector.Envs = []string{"dev", "prod"}
	c.Spec.Selector.Fleets = []string{"gpu"}
	p := mustPlan(t, c, newTestFleet().build())
	want := map[string]FileChange{
		"a-dev-gpu-1": {Path: clusterFile("tenant-a", "dev", "a-dev-gpu-1"), Edits: []Edit{{
			Path: []string{"externalSecret", "labels", "addonsRelease"}, Op: OpInsert, To: "release2"}}},
		"b-dev-gpu-1": {Path: clusterFile("tenant-b", "dev", "b-dev-gpu-1"), Create: true,
			Content: "externalSecret:\n  labels:\n    addonsRelease: \"release2\"\n",
			Edits:   []Edit{{Path: []string{"externalSecret", "labels", "addonsRelease"}, Op: OpCreate, To: "release2"}}},
		"c-prod-gpu-1": {Path: clusterFile("tenant-c", "prod", "c-prod-gpu-1"), Edits: []Edit{{
			Path: []string{"externalSecret", "labels", "addonsRelease"}, Op: OpSet, From: "release0", To: "release2", Line: 3}}},
	}
	seen := 0
	for _, w := range p.Waves {
		if w.Cleanup {
			continue
		}
		for _, cl := range w.Clusters {
			fc, ok := want[cl.Name]
			if !ok {
				continue
			}
			seen++
			pr := w.PullRequests[slices.IndexFunc(w.PullRequests, func(pr PullRequest) bool { return pr.Tenant == cl.Tenant })]
			i := slices.IndexFunc(pr.Files, func(f FileChange) bool { return f.Path == fc.Path })
			if i < 0 || !equalFile(pr.Files[i], fc) {
				t.Errorf("%s: files %+v, want %+v", cl.Name, pr.Files, fc)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("saw %d of the %d clusters", seen, len(want))
	}
}

func TestPlanLabelCleanup(t *testing.T) {
	t.Parallel()
	untouched := map[string]string{
		globalFile:             "release1",
		tenantFile("tenant-b"): "release1",
		clusterFile("tenant-c", "prod", "c-prod-gpu-1"): "release0",
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(out, kv[i])
			} else {
				out[kv[i]] = kv[i+1]
			}
		}
		return out
	}
	var devFiles []string
	for _, n := range []string{"a-dev-cpu-1", "release2", "a-dev-cpu-2", "release2", "a-dev-gpu-1", "release2", "b-dev-cpu-1", "release2", "b-dev-gpu-1", "release2", "c-dev-cpu-1", "release2", "c-dev-gpu-1", "release2"} {
		if strings.HasPrefix(n, "release") {
			devFiles = append(devFiles, n)
			continue
		}
		devFiles = append(devFiles, clusterFile("tenant-"+n[:1], "dev", n))
	}
	bFiles := []string{}
	for _, n := range []string{"b-dev-gpu-1", "b-staging-cpu-1", "b-staging-gpu-1", "b-prod-cpu-1", "b-prod-gpu-1"} {
		env := strings.Split(n, "-")[1]
		bFiles = append(bFiles, clusterFile("tenant-b", env, n), "release2")
	}
	tests := []struct {
		name    string
		sel     Selector
		from    string
		final   map[string]string
		cleanup int // clean-up waves
		skipped map[string]string
	}{
		{"one tenant folds into its defaults", Selector{Tenants: []string{"tenant-a"}},
			"", with(untouched, tenantFile("tenant-a"), "release2"), 2, map[string]string{}},
		{"every cluster folds into the global defaults", Selector{},
			"", map[string]string{globalFile: "release2"}, 2, map[string]string{}},
		{"an excluded pin stays", Selector{Exclude: []string{"c-prod-gpu-1"}},
			"", map[string]string{globalFile: "release2", clusterFile("tenant-c", "prod", "c-prod-gpu-1"): "release0"}, 2,
			map[string]string{"c-prod-gpu-1": ReasonExcluded}},
		{"an excluded cluster inheriting a tenant pin keeps the pin", Selector{Exclude: []string{"b-dev-cpu-1"}},
			"", with(map[string]string{globalFile: "release2", tenantFile("tenant-b"): "release1"}, bFiles...), 2,
			map[string]string{"b-dev-cpu-1": ReasonExcluded}},
		{"a tenant pin is raised in place", Selector{Tenants: []string{"tenant-b"}},
			"", with(untouched, tenantFile("tenant-b"), "release2"), 2, map[string]string{}},
		{"nothing to fold into keeps cluster files", Selector{Envs: []string{"dev"}},
			"", with(untouched, devFiles...), 0, map[string]string{}},
		{"an existing environment file takes the value", Selector{Tenants: []string{"tenant-a"}, Envs: []string{"staging"}},
			"", with(untouched, envFile("tenant-a", "staging"), "release2"), 2, map[string]string{}},
		{"from skips other values", Selector{},
			"release1", map[string]string{globalFile: "release2", clusterFile("tenant-c", "prod", "c-prod-gpu-1"): "release0"}, 2,
			map[string]string{"c-prod-gpu-1": ReasonFromMismatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testCampaign(labelTo("addonsRelease", "release2"))
			c.Spec.Change.Label.From = tt.from
			c.Spec.Selector = tt.sel
			f := newTestFleet().build()
			p := mustPlan(t, c, f)
			world := checkLabelPlan(t, p, f, "addonsRelease", "release2", DefaultLabelsKey)
			if got := holding(world); !mapsEqual(got, tt.final) {
				t.Errorf("files holding the label after the plan:\n%v\nwant:\n%v", got, tt.final)
			}
			cleanup := 0
			for i, w := range p.Waves {
				if !w.Cleanup {
					continue
				}
				cleanup++
				if len(w.Clusters) != 0 {
					t.Errorf("clean-up wave %d lists clusters", w.Index)
				}
				if w.Approval != (cleanup == 1) {
					t.Errorf("clean-up wave %d: approval %v, want it on the first clean-up wave only", w.Index, w.Approval)
				}
				if i < len(p.Waves)-1 && !p.Waves[i+1].Cleanup {
					t.Errorf("clean-up wave %d comes before rollout wave %d", w.Index, p.Waves[i+1].Index)
				}
			}
			if cleanup != tt.cleanup {
				t.Errorf("%d clean-up waves, want %d", cleanup, tt.cleanup)
			}
			if got := skippedReasons(p); !mapsEqual(got, tt.skipped) {
				t.Errorf("skipped %v, want %v", got, tt.skipped)
			}
		})
	}
}

// TestPlanLabelKeepsOutsideFiles checks that clean-up leaves the own file of
// a cluster outside the plan alone, even when its override became redundant.
func TestPlanLabelKeepsOutsideFiles(t *testing.T) {
	t.Parallel()
	b := newTestFleet()
	b.setLabel(clusterFile("tenant-a", "dev", "a-dev-gpu-1"), "addonsRelease", "release2")
	b.locks["a-prod-gpu-1"] = "other"
	b.setLabel(clusterFile("tenant-a", "prod", "a-prod-gpu-1"), "addonsRelease", "release2")
	c := testCampaign(labelTo("addonsRelease", "release2"))
	c.Spec.Selector.Tenants = []string{"tenant-a"}
	c.Spec.Selector.Exclude = []string{"a-dev-gpu-1"}
	f := b.build()
	p := mustPlan(t, c, f)
	world := checkLabelPlan(t, p, f, "addonsRelease", "release2", DefaultLabelsKey)
	want := map[string]string{
		globalFile: "release1", tenantFile("tenant-b"): "release1", tenantFile("tenant-a"): "release2",
		clusterFile("tenant-c", "prod", "c-prod-gpu-1"): "release0",
		clusterFile("tenant-a", "dev", "a-dev-gpu-1"):   "release2",
		clusterFile("tenant-a", "prod", "a-prod-gpu-1"): "release2",
	}
	if got := holding(world); !mapsEqual(got, want) {
		t.Errorf("files holding the label:\n%v\nwant:\n%v", got, want)
	}
	if got := skippedReasons(p); !mapsEqual(got, map[string]string{"a-dev-gpu-1": ReasonExcluded, "a-prod-gpu-1": ReasonLocked}) {
		t.Errorf("skipped %v", got)
	}
}

// TestPlanLabelSharedAlone checks that the global defaults change in a pull
// request of the fleet admins that carries nothing else.
func TestPlanLabelSharedAlone(t *testing.T) {
	t.Parallel()
	p := mustPlan(t, testCampaign(labelTo("addonsRelease", "release2")), newTestFleet().build())
	admin := 0
	for _, w := range p.Waves {
		for _, pr := range w.PullRequests {
			if !pr.Admin {
				continue
			}
			admin++
			if pr.Tenant != "" || len(pr.Files) != 1 || pr.Files[0].Path != globalFile {
				t.Errorf("wave %d: admin pull request %+v, want the global file alone", w.Index, pr)
			}
		}
	}
	if admin != 1 {
		t.Errorf("%d admin pull requests, want 1", admin)
	}
}

func TestPlanLabelAtTarget(t *testing.T) {
	t.Parallel()
	b := newTestFleet()
	b.setLabel(tenantFile("tenant-c"), "addonsRelease", "release2")
	c := testCampaign(labelTo("addonsRelease", "release2"))
	c.Spec.Selector.Tenants = []string{"tenant-c"}
	p := mustPlan(t, c, b.build())
	want := map[string]string{
		"c-dev-cpu-1": ReasonAtTarget, "c-dev-gpu-1": ReasonAtTarget, "c-staging-cpu-1": ReasonAtTarget,
		"c-staging-gpu-1": ReasonAtTarget, "c-prod-cpu-1": ReasonAtTarget,
	}
	if got := skippedReasons(p); !mapsEqual(got, want) {
		t.Errorf("skipped %v, want %v", got, want)
	}
	if got := waveNames(p); !slices.Equal(got, []string{"prod(canary) c-prod-gpu-1", "cleanup "}) {
		t.Errorf("waves %v", got)
	}
	checkLabelPlan(t, p, b.build(), "addonsRelease", "release2", DefaultLabelsKey)
}

func TestPlanLabelsKeyOption(t *testing.T) {
	t.Parallel()
	c := testCampaign(labelTo("addonsRelease", "release2"))
	c.Spec.Selector.Clusters = []string{"b-dev-cpu-1"}
	p := mustPlan(t, c, newTestFleet().build(), WithLabelsKey("fleet", "secret", "labels"))
	fc := p.Waves[0].PullRequests[0].Files[0]
	if fc.Content != "fleet:\n  secret:\n    labels:\n      addonsRelease: \"release2\"\n" {
		t.Errorf("content %q", fc.Content)
	}
	if got := strings.Join(fc.Edits[0].Path, "."); got != "fleet.secret.labels.addonsRelease" || p.Change.Path != got {
		t.Errorf("edit path %s, change path %s", got, p.Change.Path)
	}
}

func TestPlanLabelBadHierarchy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(f *Fleet)
		want string
	}{
		{"no chain", func(f *Fleet) { f.Clusters[0].LabelChain = nil }, "cluster a-dev-cpu-1: the inventory gives no label files for it"},
		{"tenant file of two tenants", func(f *Fleet) {
			for i := range f.Clusters {
				if f.Clusters[i].Tenant == "tenant-b" {
					f.Clusters[i].LabelChain[1].File = tenantFile("tenant-a")
				}
			}
		}, `applies to tenants "tenant-a" and "tenant-b" but is not marked shared`},
		{"own file of two clusters", func(f *Fleet) {
			f.Clusters[1].LabelChain[3] = f.Clusters[0].LabelChain[3]
		}, "a cluster's own file must be its alone"},
		{"shared for one only", func(f *Fleet) { f.Clusters[4].LabelChain[0].Shared = false }, "is shared for one cluster and not for another"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newTestFleet().build()
			tt.edit(&f)
			_, err := PlanCampaign(testCampaign(labelTo("addonsRelease", "release2")), f)
			wantBadInput(t, err, tt.want)
		})
	}
}

func TestNeedsQuote(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"release2": false, "default": false, "true": true, "No": true, "1.30": true, "42": true, "": true,
		"a: b": true, "-x": true, "x #y": true, " x": true, "null": true, "v1-2": false,
	} {
		if got := needsQuote(v); got != want {
			t.Errorf("needsQuote(%q) = %v, want %v", v, got, want)
		}
	}
}
