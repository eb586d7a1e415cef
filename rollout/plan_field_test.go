package rollout

import (
	"errors"
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
