package rollout

import (
	"fmt"
	"strings"
	"testing"
)

func TestStartState(t *testing.T) {
	t.Parallel()
	withGates := func(c *Campaign) { c.Spec.Gates.Terraform = &TerraformGate{} }
	tests := []struct {
		name   string
		change Change
		edit   func(c *Campaign, p *Plan)
		err    string // a substring of the error; empty for none
		check  func(t *testing.T, s State)
	}{
		{
			name:   "no gates is refused",
			change: eksTo("1.30"),
			err:    "policy: no gates",
		},
		{
			name:   "approvals keep the plan's wave numbers",
			change: eksTo("1.30"),
			edit:   func(c *Campaign, _ *Plan) { withGates(c) },
			check: func(t *testing.T, s State) {
				if len(s.Waves) != 9 || len(s.Policy.Approvals) != 1 || !s.Policy.Approvals[7] {
					t.Errorf("%d waves, approvals %v: want 9 waves, approval before wave 7", len(s.Waves), s.Policy.Approvals)
				}
				if s.Policy.Revertible || s.Policy.Change != KindEKSVersion {
					t.Errorf("an EKS upgrade is forward-only: %+v", s.Policy)
				}
			},
		},
		{
			name:   "a clean-up wave is a wave of the state",
			change: labelTo("addonsRelease", "release2"),
			edit:   func(c *Campaign, _ *Plan) { withGates(c) },
			check: func(t *testing.T, s State) {
				if !s.Policy.Revertible {
					t.Error("a label change is revertible")
				}
				// The plan asks for an approval before prod and before the
				// clean-up.
				if len(s.Policy.Approvals) != 2 {
					t.Errorf("approvals %v over %d waves: want two, before prod and before the clean-up", s.Policy.Approvals, len(s.Waves))
				}
				if last := s.Waves[len(s.Waves)-1]; last.Kind != WaveCleanup {
					t.Errorf("last wave is %q, want a clean-up", last.Kind)
				}
			},
		},
		{
			name:   "two hops: a cluster once per hop",
			change: eksTo("1.31"),
			edit:   func(c *Campaign, _ *Plan) { withGates(c) },
			check: func(t *testing.T, s State) {
				n := 0
				for _, w := range s.Waves {
					for _, c := range w.Clusters {
						if c.Name == "a-dev-cpu-1" {
							n++
						}
					}
				}
				if n != 2 {
					t.Errorf("a-dev-cpu-1 is in %d waves, want 2", n)
				}
			},
		},
		{
			name:   "shared files in a wave of clusters",
			change: eksTo("1.30"),
			edit: func(c *Campaign, p *Plan) {
				withGates(c)
				p.Waves[0].PullRequests = append(p.Waves[0].PullRequests, PullRequest{Repo: "fleet", Admin: true})
			},
			err: "wave 1 changes files shared by all tenants (fleet) along with clusters",
		},
		{
			name:   "one tenant in two repositories",
			change: eksTo("1.30"),
			edit: func(c *Campaign, p *Plan) {
				withGates(c)
				pr := p.Waves[1].PullRequests[0]
				pr.Repo = "other"
				p.Waves[1].PullRequests = append(p.Waves[1].PullRequests, pr)
			},
			err: "wave 2: tenant tenant-a has pull requests in " + testRepo + " and other",
		},
		{
			name:   "a tenant's files in a shared wave",
			change: eksTo("1.30"),
			edit: func(c *Campaign, p *Plan) {
				withGates(c)
				p.Waves[0].Shared = true
			},
			err: "wave 1 changes files shared by all tenants along with tenant tenant-a's files",
		},
		{
			name:   "a shared wave in two repositories",
			change: eksTo("1.30"),
			edit: func(c *Campaign, p *Plan) {
				withGates(c)
				p.Waves[0].Shared = true
				p.Waves[0].PullRequests = []PullRequest{{Repo: "fleet", Admin: true}, {Repo: "other", Admin: true}}
			},
			err: "wave 1: the fleet admins have pull requests in fleet and other",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testCampaign(tt.change)
			p := mustPlan(t, c, newTestFleet().build())
			if tt.edit != nil {
				tt.edit(c, p)
			}
			s, err := StartState(c, p)
			// CheckStart refuses what StartState refuses, with its words.
			if checked := CheckStart(c, p); fmt.Sprint(checked) != fmt.Sprint(err) {
				t.Errorf("CheckStart: %v; StartState: %v", checked, err)
			}
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			case tt.check != nil:
				tt.check(t, s)
			}
		})
	}
}
