package rollout

import (
	"slices"
	"testing"
	"time"
)

// TestRevertSharedWave rolls back a campaign whose environment's file
// merged: the revert wave waits on the fleet admins' pull request, like the
// wave it reverts, holds every cluster the file moved, and its pull request
// sets the file back, reaching the same clusters.
func TestRevertSharedWave(t *testing.T) {
	t.Parallel()
	f := newTestFleet().build()
	dev := envClusters(f, "dev")
	f.Fields = append(f.Fields, sharedHit(envConfig("dev"), "dev", "v1", dev))
	c := testCampaign(Change{Field: &FieldChange{Files: "environments/**/*.yaml", Path: "amiRelease", To: "v2", Revertible: true}})
	c.Spec.Strategy.Canary = false
	c.Spec.Selector.Envs = []string{"dev"}
	c.Spec.Gates.Terraform = &TerraformGate{}
	p := mustPlan(t, c, f)
	if len(p.Waves) != 1 || !p.Waves[0].Shared {
		t.Fatalf("want one shared wave: %v", waveNames(p))
	}
	s, err := StartState(c, p)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 1, 6, 10, 0, 0, 0, time.UTC)
	step := func(e Event, minutes int) []Action {
		t.Helper()
		var acts []Action
		s, acts, err = Transition(s, e, t0.Add(time.Duration(minutes)*time.Minute))
		if err != nil {
			t.Fatalf("%s: %v", e.Kind(), err)
		}
		return acts
	}
	step(ScheduleCampaign{By: "ops"}, 0)
	acts := step(Tick{CanOpen: true}, 0)
	open := openWave(t, acts, 1)
	if len(open.PRs) != 1 || open.PRs[0].Tenant != SharedTenant || !slices.Equal(open.PRs[0].Clusters, dev) {
		t.Fatalf("wave 1 opens %+v, want the fleet admins' pull request for %v", open.PRs, dev)
	}
	step(PROpened{Wave: 1, Tenant: SharedTenant, Number: 11}, 1)
	step(PRMerged{Wave: 1, Tenant: SharedTenant, Number: 11, SHA: "aaa"}, 2)
	acts = step(Rollback{By: "ops"}, 3)
	revert := openWave(t, acts, 2)
	if w := s.Waves[1]; w.Kind != WaveRevert || w.Reverts != 1 {
		t.Fatalf("wave 2 is %s reverting %d, want a revert of wave 1", w.Kind, w.Reverts)
	}
	if len(revert.PRs) != 1 || revert.PRs[0].Tenant != SharedTenant || !slices.Equal(revert.PRs[0].Clusters, dev) {
		t.Fatalf("the revert wave opens %+v, want the fleet admins' pull request for %v", revert.PRs, dev)
	}

	pr := p.Waves[0].PullRequests[0]
	back, err := Inverse(pr.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	want := FileChange{Path: envConfig("dev"), Edits: []Edit{{Path: []string{"amiRelease"}, Op: OpSet, From: "v2", To: "v1"}}}
	if !pr.Admin || !equalFile(back, want) || !slices.Equal(back.Reach, dev) {
		t.Errorf("revert of %+v (admin %v) is %+v, want %+v reaching %v", pr.Files[0], pr.Admin, back, want, dev)
	}
	for _, name := range dev {
		if _, v, ok := p.Expected(1, name, true); !ok || v != "v1" {
			t.Errorf("%s after the revert: %q (%v), want v1", name, v, ok)
		}
	}
}

// openWave returns the OpenWave action for wave n among acts.
func openWave(t *testing.T, acts []Action, n int) OpenWave {
	t.Helper()
	for _, a := range acts {
		if o, ok := a.(OpenWave); ok && o.Wave == n {
			return o
		}
	}
	t.Fatalf("no OpenWave for wave %d in %+v", n, acts)
	return OpenWave{}
}
