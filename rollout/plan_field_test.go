package rollout

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

const amiPath = "services.eks.config.*.ami_release"

// withAMIs gives every cluster an ami_release in its blueprint entry.
func withAMIs(f Fleet, value string) Fleet {
	for _, c := range f.Clusters {
		f.Fields = append(f.Fields, FieldHit{
			At: Location{Repo: testRepo, File: c.VersionAt.File,
				Path: []string{"services", "eks", "config", c.Name, "ami_release"}, Line: c.VersionAt.Line + 1},
			Value: value, Tenant: c.Tenant, Env: c.Env, Cluster: c.Name,
		})
	}
	return f
}

func fieldCampaign() *Campaign {
	return testCampaign(Change{Field: &FieldChange{Files: "blueprints/*/*.yaml", Path: amiPath, To: "v2", Revertible: true}})
}

func envHit(tenant, env, value string) FieldHit {
	return FieldHit{
		At:    Location{Repo: testRepo, File: blueprintFile(tenant, env), Path: []string{"defaults", "ami_release"}, Line: 4},
		Value: value, Tenant: tenant, Env: env,
	}
}

func TestPlanField(t *testing.T) {
	t.Parallel()
	f := withAMIs(newTestFleet().build(), "v1")
	f.Fields[0].Value = "v2" // a-dev-cpu-1 is done
	f.Fields = slices.DeleteFunc(f.Fields, func(h FieldHit) bool { return h.Cluster == "c-prod-cpu-1" })
	p := mustPlan(t, fieldCampaign(), f)
	want := map[string]string{"a-dev-cpu-1": ReasonAtTarget, "c-prod-cpu-1": ReasonNoMatch}
	if got := skippedReasons(p); !mapsEqual(got, want) {
		t.Errorf("skipped %v, want %v", got, want)
	}
	if ch := p.Change; ch.Kind != KindField || ch.Files != "blueprints/*/*.yaml" || ch.Path != amiPath || ch.To != "v2" || !ch.Revertible {
		t.Errorf("change %+v", p.Change)
	}
	for _, w := range p.Waves {
		edits := 0
		for _, pr := range w.PullRequests {
			for _, fc := range pr.Files {
				for _, e := range fc.Edits {
					edits++
					name := e.Path[3]
					if !slices.ContainsFunc(w.Clusters, func(c WaveCluster) bool { return c.Name == name }) {
						t.Errorf("wave %d edits %s's ami, which is not in the wave", w.Index, name)
					}
					if e.Op != OpSet || e.From != "v1" || e.To != "v2" || e.Quote {
						t.Errorf("edit %+v", e)
					}
				}
			}
		}
		if edits != len(w.Clusters) {
			t.Errorf("wave %d: %d edits for %d clusters", w.Index, edits, len(w.Clusters))
		}
	}
}

func TestPlanFieldScopes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		sel   Selector
		hit   FieldHit
		wave  string // names of the wave that carries the hit
		rule  string
		names []string
	}{
		{
			name: "environment file goes with the first wave of that tenant and environment",
			hit:  envHit("tenant-b", "staging", "v1"),
			wave: "staging a-staging-cpu-2,b-staging-cpu-1,c-staging-cpu-1",
		},
		{
			name: "tenant file goes with the first wave of that tenant",
			hit:  FieldHit{At: Location{Repo: testRepo, File: "blueprints/tenant-c/common.yaml", Path: []string{"ami_release"}}, Value: "v1", Tenant: "tenant-c"},
			wave: "dev a-dev-cpu-2,b-dev-cpu-1,c-dev-cpu-1",
		},
		{
			name: "a file reaching a cluster outside the plan is refused",
			sel:  Selector{Exclude: []string{"b-staging-gpu-1"}},
			hit:  envHit("tenant-b", "staging", "v1"),
			rule: RuleFieldScope, names: []string{"b-staging-gpu-1"},
		},
		{
			name: "a file of a tenant outside the selection is left alone",
			sel:  Selector{Tenants: []string{"tenant-a"}},
			hit:  envHit("tenant-b", "staging", "v1"),
		},
		{
			name: "a shared file is refused",
			hit:  FieldHit{At: Location{Repo: testRepo, File: "blueprints/defaults.yaml", Path: []string{"ami_release"}, Line: 2}, Value: "v1"},
			rule: RuleFieldShared,
		},
		{
			name: "a shared file at the target is fine",
			hit:  FieldHit{At: Location{Repo: testRepo, File: "blueprints/defaults.yaml", Path: []string{"ami_release"}, Line: 2}, Value: "v2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := withAMIs(newTestFleet().build(), "v1")
			f.Fields = append(f.Fields, tt.hit)
			c := fieldCampaign()
			c.Spec.Selector = tt.sel
			p, err := PlanCampaign(c, f)
			if tt.rule != "" {
				var refused *RefusedError
				if !errors.As(err, &refused) || refused.Rule != tt.rule || !slices.Equal(refused.Clusters, tt.names) {
					t.Fatalf("error %v, want refusal %s of %v", err, tt.rule, tt.names)
				}
				if !strings.Contains(err.Error(), tt.hit.At.File) {
					t.Errorf("refusal %q does not name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkOwnership(t, p, f)
			var carriers []string
			names := waveNames(p)
			for i, w := range p.Waves {
				for _, pr := range w.PullRequests {
					for _, fc := range pr.Files {
						if slices.ContainsFunc(fc.Edits, func(e Edit) bool { return slices.Equal(e.Path, tt.hit.At.Path) }) {
							carriers = append(carriers, strings.TrimPrefix(names[i], "1:"))
						}
					}
				}
			}
			var want []string
			if tt.wave != "" {
				want = []string{tt.wave}
			}
			if !slices.Equal(carriers, want) {
				t.Errorf("hit carried by waves %v, want %v", carriers, want)
			}
		})
	}
}

// envConfig is an environment's add-on configuration, shared by every
// tenant's clusters in that environment.
func envConfig(env string) string { return "environments/" + env + "/addons/addons-config.yaml" }

// stackConfig is the add-on configuration of one Kubernetes version stack,
// shared by the clusters of every environment on that version.
const stackConfig = "addons/stacks/1.29/addons-config.yaml"

// sharedHit is a scalar of a file serving every cluster of reach: one
// environment's when env is set, any otherwise.
func sharedHit(file, env, value string, reach []string) FieldHit {
	return FieldHit{
		At:    Location{Repo: testRepo, File: file, Path: []string{"amiRelease"}, Line: 3},
		Value: value, Env: env, Reach: reach,
	}
}

// ownHit is a cluster's own scalar, in its cluster-level file.
func ownHit(f Fleet, name, value string) FieldHit {
	i := slices.IndexFunc(f.Clusters, func(c Cluster) bool { return c.Name == name })
	c := f.Clusters[i]
	return FieldHit{
		At:    Location{Repo: testRepo, File: "environments/" + c.Env + "/clusters/" + name + "/addons.yaml", Path: []string{"amiRelease"}, Line: 2},
		Value: value, Tenant: c.Tenant, Env: c.Env, Cluster: name, Reach: []string{name},
	}
}

// envClusters names the clusters of env (every environment when empty), by
// tenant then name as waves list them.
func envClusters(f Fleet, env string) []string {
	var out []string
	for _, c := range f.Clusters {
		if env == "" || c.Env == env {
			out = append(out, c.Name)
		}
	}
	slices.Sort(out) // names start with the tenant's letter
	return out
}

func without(names []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(drop, n) })
}

func TestPlanFieldShared(t *testing.T) {
	t.Parallel()
	base := newTestFleet().build()
	dev, staging, prod, all := envClusters(base, "dev"), envClusters(base, "staging"), envClusters(base, "prod"), envClusters(base, "")
	wave := func(tag string, names []string) string { return tag + " " + strings.Join(names, ",") }
	envFiles := func(f *Fleet, value string) {
		f.Fields = append(f.Fields, sharedHit(envConfig("dev"), "dev", value, dev),
			sharedHit(envConfig("staging"), "staging", value, staging), sharedHit(envConfig("prod"), "prod", value, prod))
	}
	devOnly := func(f *Fleet, c *Campaign, value string) {
		c.Spec.Selector.Envs = []string{"dev"}
		f.Fields = append(f.Fields, sharedHit(envConfig("dev"), "dev", value, dev))
	}
	tests := []struct {
		name    string
		canary  bool
		edit    func(f *Fleet, c *Campaign)
		waves   []string
		skipped map[string]string
		rule    string
		names   []string
		message string // a part of the refusal or error
		check   func(t *testing.T, p *Plan)
	}{
		{
			name:  "an environment's file is a wave of its own, after that environment, holding every cluster it serves",
			edit:  func(f *Fleet, _ *Campaign) { envFiles(f, "v1") },
			waves: []string{wave("dev(shared)", dev), wave("staging(shared)", staging), wave("prod(shared)", prod)},
		},
		{
			name:    "canaries the file moves cannot go first",
			canary:  true,
			edit:    func(f *Fleet, _ *Campaign) { envFiles(f, "v1") },
			rule:    RuleFieldCanary,
			names:   []string{"a-dev-cpu-1", "a-dev-gpu-1", "a-prod-cpu-1", "a-prod-gpu-1", "a-staging-cpu-1", "a-staging-gpu-1"},
			message: "a-dev-cpu-1 (dev, only " + envConfig("dev") + " moves it), a-dev-gpu-1",
		},
		{
			name:   "canaries go first through a value of their own, picked among the clusters that have one",
			canary: true,
			edit: func(f *Fleet, c *Campaign) {
				devOnly(f, c, "v1")
				f.Fields = append(f.Fields, ownHit(*f, "a-dev-cpu-1", "v1"), ownHit(*f, "b-dev-gpu-1", "v1"))
			},
			waves: []string{"dev(canary) a-dev-cpu-1,b-dev-gpu-1", wave("dev(shared)", dev)},
			check: func(t *testing.T, p *Plan) {
				canary, env := p.Waves[0], p.Waves[1]
				if len(canary.PullRequests) != 2 || canary.PullRequests[0].Files[0].Edits[0].From != "v1" {
					t.Errorf("the canary wave edits the canaries' own files, one pull request per tenant: %+v", canary.PullRequests)
				}
				for _, c := range env.Clusters {
					wantFrom := "v1"
					if c.Name == "a-dev-cpu-1" || c.Name == "b-dev-gpu-1" {
						wantFrom = "v2" // moved by their own value already
					}
					if c.From != wantFrom || c.To != "v2" || c.Canary {
						t.Errorf("shared wave: %s goes %s -> %s (canary %v), want %s -> v2", c.Name, c.From, c.To, c.Canary, wantFrom)
					}
				}
			},
		},
		{
			name: "a cluster whose own value is at the target is skipped",
			edit: func(f *Fleet, c *Campaign) {
				devOnly(f, c, "v1")
				f.Fields = append(f.Fields, ownHit(*f, "c-dev-gpu-1", "v2"))
			},
			waves:   []string{wave("dev(shared)", without(dev, "c-dev-gpu-1"))},
			skipped: map[string]string{"c-dev-gpu-1": ReasonAtTarget},
		},
		{
			name: "an excluded cluster the file moves is refused",
			edit: func(f *Fleet, c *Campaign) {
				devOnly(f, c, "v1")
				c.Spec.Selector.Exclude = []string{"b-dev-cpu-1"}
			},
			rule: RuleFieldScope, names: []string{"b-dev-cpu-1"}, message: envConfig("dev") + ":3 in org/fleet also applies",
		},
		{
			name: "locked and disabled clusters the file moves are refused",
			edit: func(f *Fleet, c *Campaign) {
				devOnly(f, c, "v1")
				f.Locks["c-dev-cpu-1"] = "other"
				f.Clusters[slices.IndexFunc(f.Clusters, func(c Cluster) bool { return c.Name == "a-dev-gpu-1" })].Disabled = true
			},
			rule: RuleFieldScope, names: []string{"a-dev-gpu-1", "c-dev-cpu-1"}, message: "(a-dev-gpu-1, c-dev-cpu-1)",
		},
		{
			name: "an excluded cluster pinned by its own value is left alone",
			edit: func(f *Fleet, c *Campaign) {
				devOnly(f, c, "v1")
				c.Spec.Selector.Exclude = []string{"b-dev-cpu-1"}
				f.Fields = append(f.Fields, ownHit(*f, "b-dev-cpu-1", "v1"))
			},
			waves:   []string{wave("dev(shared)", without(dev, "b-dev-cpu-1"))},
			skipped: map[string]string{"b-dev-cpu-1": ReasonExcluded},
		},
		{
			name: "a file serving tenants the selector leaves out is refused",
			edit: func(f *Fleet, c *Campaign) {
				devOnly(f, c, "v1")
				c.Spec.Selector.Tenants = []string{"tenant-a"}
			},
			rule: RuleFieldScope, names: []string{"b-dev-cpu-1", "b-dev-gpu-1", "c-dev-cpu-1", "c-dev-gpu-1"},
		},
		{
			name:  "an environment outside the selection is left alone",
			edit:  func(f *Fleet, c *Campaign) { envFiles(f, "v1"); c.Spec.Selector.Envs = []string{"dev"} },
			waves: []string{wave("dev(shared)", dev)},
		},
		{
			name: "a global file is the last wave, after every environment",
			edit: func(f *Fleet, _ *Campaign) {
				f.Fields = append(f.Fields, sharedHit(envConfig("dev"), "dev", "v1", dev), sharedHit(stackConfig, "", "v1", all))
			},
			waves: []string{wave("dev(shared)", dev), wave("(shared)", all)},
		},
		{
			name: "a version stack's file moves the clusters it serves, last",
			edit: func(f *Fleet, _ *Campaign) {
				f.Fields = append(f.Fields, sharedHit(stackConfig, "", "v1", []string{"b-prod-gpu-1", "a-dev-cpu-1"}),
					ownHit(*f, "c-staging-cpu-1", "v1"))
			},
			waves:   []string{"staging c-staging-cpu-1", "(shared) a-dev-cpu-1,b-prod-gpu-1"},
			skipped: map[string]string{},
		},
		{
			name:   "a global file moving a canary is refused like an environment's",
			canary: true,
			edit: func(f *Fleet, _ *Campaign) {
				f.Fields = append(f.Fields, sharedHit(stackConfig, "", "v1", []string{"a-dev-cpu-1"}))
			},
			rule: RuleFieldCanary, names: []string{"a-dev-cpu-1"}, message: "set strategy.canary: false",
		},
		{
			name: "a file holding another value than from is left alone",
			edit: func(f *Fleet, c *Campaign) {
				devOnly(f, c, "v0")
				c.Spec.Change.Field.From = "v1"
			},
		},
		{
			name: "a file at the target changes nothing",
			edit: func(f *Fleet, c *Campaign) { devOnly(f, c, "v2") },
		},
		{
			name: "a file serving clusters the inventory does not name is refused",
			edit: func(f *Fleet, c *Campaign) { devOnly(f, c, "v1"); f.Fields[0].Reach = nil },
			rule: RuleFieldShared, message: "does not say which clusters they serve",
		},
		{
			name:    "a file serving a cluster not in the fleet is an error",
			edit:    func(f *Fleet, c *Campaign) { devOnly(f, c, "v1"); f.Fields[0].Reach = []string{"zz"} },
			message: "field amiRelease at " + envConfig("dev") + ":3 in org/fleet serves cluster zz, which is not in the fleet",
		},
		{
			name:    "an environment's file serving another environment's cluster is an error",
			edit:    func(f *Fleet, c *Campaign) { devOnly(f, c, "v1"); f.Fields[0].Reach = append(dev, "a-prod-cpu-1") },
			message: "belongs to environment dev but serves cluster a-prod-cpu-1 of prod",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newTestFleet().build()
			c := testCampaign(Change{Field: &FieldChange{Files: "environments/**/*.yaml", Path: "amiRelease", To: "v2", Revertible: true}})
			c.Spec.Strategy.Canary = tt.canary
			tt.edit(&f, c)
			p, err := PlanCampaign(c, f)
			var refused *RefusedError
			switch {
			case tt.rule != "":
				if !errors.As(err, &refused) || refused.Rule != tt.rule || !slices.Equal(refused.Clusters, tt.names) {
					t.Fatalf("error %v, want refusal %s of %v", err, tt.rule, tt.names)
				}
				if !strings.Contains(err.Error(), tt.message) {
					t.Errorf("refusal %q does not say %q", err, tt.message)
				}
				return
			case tt.waves == nil && tt.message != "":
				wantBadInput(t, err, tt.message)
				return
			case err != nil:
				t.Fatal(err)
			}
			checkOwnership(t, p, f)
			if got := waveNames(p); !slices.Equal(got, tt.waves) {
				t.Errorf("waves:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.waves, "\n"))
			}
			if tt.skipped != nil {
				got := skippedReasons(p)
				maps.DeleteFunc(got, func(_, reason string) bool { return reason == ReasonNoMatch })
				if !mapsEqual(got, tt.skipped) {
					t.Errorf("skipped %v, want %v", got, tt.skipped)
				}
			}
			checkSharedWaves(t, p, f)
			if tt.check != nil {
				tt.check(t, p)
			}
			c.Spec.Gates.Terraform = &TerraformGate{}
			s, err := StartState(c, p)
			if err != nil {
				t.Fatalf("the machine does not start the plan: %v", err)
			}
			for i, w := range p.Waves {
				for _, cl := range s.Waves[i].Clusters {
					if (cl.Tenant == SharedTenant) != w.Shared {
						t.Errorf("machine wave %d holds %s under %q; shared wave: %v", i+1, cl.Name, cl.Tenant, w.Shared)
					}
				}
			}
		})
	}
}

// checkSharedWaves checks what every wave of a field plan carries: a shared
// wave is one admin pull request of shared files, each naming what it
// serves, and holds every planned cluster those files serve; any other wave
// carries no shared file. The approval goes to the first wave of prod and
// to the last wave when it is global.
func checkSharedWaves(t *testing.T, p *Plan, f Fleet) {
	t.Helper()
	reach := map[string][]string{}
	for _, h := range f.Fields {
		if h.Tenant == "" {
			reach[h.At.File] = slices.Sorted(slices.Values(h.Reach))
		}
	}
	planned := plannedNames(p)
	firstProd := slices.IndexFunc(p.Waves, func(w Wave) bool { return w.Env == "prod" })
	for i, w := range p.Waves {
		wantApproval := i == firstProd || (w.Shared && w.Env == "")
		if w.Approval != wantApproval {
			t.Errorf("wave %d (%s): approval %v, want %v", w.Index, w.Env, w.Approval, wantApproval)
		}
		for _, pr := range w.PullRequests {
			for _, fc := range pr.Files {
				want, isShared := reach[fc.Path]
				if !isShared {
					if len(fc.Reach) > 0 {
						t.Errorf("wave %d: %s names a reach %v", w.Index, fc.Path, fc.Reach)
					}
					continue
				}
				if !w.Shared || !pr.Admin || len(w.PullRequests) != 1 {
					t.Errorf("wave %d carries shared file %s: shared %v, admin %v, %d pull requests", w.Index, fc.Path, w.Shared, pr.Admin, len(w.PullRequests))
				}
				if !slices.Equal(fc.Reach, want) {
					t.Errorf("wave %d: %s reaches %v, want %v", w.Index, fc.Path, fc.Reach, want)
				}
				var held []string
				for _, c := range w.Clusters {
					held = append(held, c.Name)
				}
				slices.Sort(held)
				for _, name := range want {
					if slices.Contains(planned, name) && !slices.Contains(held, name) {
						t.Errorf("wave %d changes %s, which serves planned cluster %s, without holding it", w.Index, fc.Path, name)
					}
				}
				for _, name := range held {
					if !slices.Contains(want, name) {
						t.Errorf("wave %d holds %s, which %s does not serve", w.Index, name, fc.Path)
					}
				}
			}
		}
	}
}
