package rollout

import (
	"strings"
	"testing"
)

// selectorCampaign parses a campaign file whose selector is sel, a YAML
// block indented under "selector:" (line 8 holds its first line).
func selectorCampaign(t *testing.T, sel string) *Campaign {
	t.Helper()
	src := `apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata:
  name: sel-test
spec:
  change:
    eksVersion: {to: "1.30"}
  selector:
` + sel + `
  strategy:
    order: [dev, staging, prod, qa]
`
	c, err := ParseCampaign("campaigns/x.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return c
}

func TestCheckSelector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		selector string
		errs     []string
		warnings []string
	}{
		{name: "empty selects all", selector: "    {}"},
		{name: "known names", selector: "    tenants: [tenant-a, tenant-b]\n    envs: [prod]\n    fleets: [gpu]\n    clusters: [a-prod-gpu-1]"},
		{
			name:     "unknown tenant, with a suggestion",
			selector: "    tenants: [tenant-a, tenant-z]",
			errs:     []string{`campaigns/x.yaml:9: spec.selector.tenants[1]: no tenant "tenant-z" in the fleet (did you mean "tenant-a"?)`},
		},
		{
			name:     "unknown environment lists the known ones",
			selector: "    envs: [qa]",
			errs:     []string{`campaigns/x.yaml:9: spec.selector.envs[0]: no environment "qa" in the fleet (known: dev, prod, staging)`},
		},
		{
			name:     "unknown fleet",
			selector: "    fleets:\n      - cpu\n      - gpus",
			errs:     []string{`campaigns/x.yaml:11: spec.selector.fleets[1]: no fleet "gpus" in the fleet (did you mean "gpu"?)`},
		},
		{
			name:     "unknown cluster",
			selector: "    clusters: [a-dev-cpu-3]",
			errs:     []string{`campaigns/x.yaml:9: spec.selector.clusters[0]: no cluster "a-dev-cpu-3" in the fleet (did you mean "a-dev-cpu-1"?)`},
		},
		{
			name:     "a named cluster the other criteria leave out",
			selector: "    tenants: [tenant-b]\n    clusters: [b-dev-cpu-1, a-dev-cpu-1]",
			errs:     []string{`campaigns/x.yaml:10: spec.selector.clusters[1]: cluster "a-dev-cpu-1" is named, but its tenant tenant-a is not in spec.selector.tenants: the selector can never pick it`},
		},
		{
			name:     "a label key no cluster carries",
			selector: "    labels:\n      addonRelease: release1",
			errs:     []string{`campaigns/x.yaml:10: spec.selector.labels.addonRelease: no cluster of the fleet carries label "addonRelease" (did you mean "addonsRelease"?)`},
		},
		{
			name:     "a label value no cluster carries",
			selector: "    labels:\n      addonsRelease: release2",
			errs:     []string{`campaigns/x.yaml:10: spec.selector.labels.addonsRelease: no cluster of the fleet carries addonsRelease=release2 (did you mean "release0"?)`},
		},
		{
			name:     "names that exist but select nothing together",
			selector: "    tenants: [tenant-c]\n    labels:\n      monitoringRelease: default",
			errs:     []string{`campaigns/x.yaml:8: spec.selector: matches none of the fleet's 21 clusters: every name it uses exists, but no cluster meets all its criteria at once`},
		},
		{
			name:     "an exclusion naming no cluster is a warning",
			selector: "    exclude: [a-dev-cpu-9]",
			warnings: []string{`campaigns/x.yaml:9: spec.selector.exclude[0]: no cluster "a-dev-cpu-9" in the fleet: there is nothing to exclude (did you mean "a-dev-cpu-1"?)`},
		},
		{
			name:     "an exclusion of an unselected cluster is a warning",
			selector: "    envs: [dev]\n    exclude: [a-prod-cpu-1]",
			warnings: []string{`campaigns/x.yaml:10: spec.selector.exclude[0]: cluster "a-prod-cpu-1" is not selected anyway: the exclusion has no effect`},
		},
		{
			name:     "excluding every selected cluster is not a selector error",
			selector: "    clusters: [a-dev-cpu-1]\n    exclude: [a-dev-cpu-1]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			errs, warnings := CheckSelector(selectorCampaign(t, tt.selector), newTestFleet().build())
			if got, want := lines(errs), strings.Join(tt.errs, "\n"); got != want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
			if got, want := lines(warnings), strings.Join(tt.warnings, "\n"); got != want {
				t.Errorf("warnings:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func lines(l ErrorList) string {
	if len(l) == 0 {
		return ""
	}
	return l.Error()
}

// A campaign built in code has no file: problems still name the field.
func TestCheckSelectorWithoutSource(t *testing.T) {
	t.Parallel()
	c := testCampaign(eksTo("1.30"))
	c.Spec.Selector.Tenants = []string{"ops"}
	errs, _ := CheckSelector(c, newTestFleet().build())
	want := `spec.selector.tenants[0]: no tenant "ops" in the fleet (known: tenant-a, tenant-b, tenant-c)`
	if len(errs) != 1 || errs[0].Error() != want {
		t.Fatalf("errors %v, want %q", errs, want)
	}
}

// TestCheckApprovals warns of an approval named for an environment in which
// the plan opens no wave, at the entry's line.
func TestCheckApprovals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, selector, approvals string
		warnings                  []string
	}{
		{name: "none named", selector: "    {}", approvals: "[]"},
		{name: "every one asked", selector: "    {}", approvals: "[staging, prod]"},
		{
			name: "an environment the selector leaves out", selector: "    envs: [dev, staging]", approvals: "\n      - staging\n      - prod",
			warnings: []string{`campaigns/x.yaml:14: spec.strategy.approvals[1]: no wave of the plan changes a cluster of prod, so no approval is asked for it`},
		},
		{
			name: "an environment with no cluster in the fleet", selector: "    {}", approvals: "[qa]",
			warnings: []string{`campaigns/x.yaml:12: spec.strategy.approvals[0]: no wave of the plan changes a cluster of qa, so no approval is asked for it`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := `apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata:
  name: approvals-test
spec:
  change:
    eksVersion: {to: "1.30"}
  selector:
` + tt.selector + `
  strategy:
    order: [dev, staging, prod, qa]
    approvals: ` + tt.approvals + `
`
			c, err := ParseCampaign("campaigns/x.yaml", []byte(src))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			p, err := PlanCampaign(c, newTestFleet().build())
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if got, want := lines(CheckApprovals(c, p)), strings.Join(tt.warnings, "\n"); got != want {
				t.Errorf("warnings:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
