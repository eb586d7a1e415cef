package rollout

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCampaignProblems(t *testing.T) {
	t.Parallel()
	const file = "acme/fleet/campaigns/eks.yaml"
	src := []byte(`apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata:
  name: eks
spec:
  change:
    eksVersion:
      to: "1.30"
  strategy:
    order: [dev]
  gates:
    argocd:
      tokenEnv: ARGOCD_TOKEN
`)
	_, parseErr := ParseCampaign(file, []byte("apiVersion: v9\n"))
	var parsed ErrorList
	require.ErrorAs(t, parseErr, &parsed)
	tests := []struct {
		name string
		err  error
		want ErrorList
	}{
		{name: "none"},
		{name: "invalid file", err: parseErr, want: parsed},
		{name: "a gate without a place", err: fmt.Errorf("gates: %w", &FieldError{Field: "spec.gates.argocd.tokenEnv", Reason: "environment variable ARGOCD_TOKEN is not set or empty"}),
			want: ErrorList{{File: file, Line: 13, Field: "spec.gates.argocd.tokenEnv", Reason: "environment variable ARGOCD_TOKEN is not set or empty"}}},
		{name: "the planner's rule", err: fmt.Errorf("plan: %w", &RefusedError{Rule: RuleEnvOrder, Message: "environment(s) prod are not in strategy.order"}),
			want: ErrorList{{File: file, Line: 10, Field: "spec.strategy.order", Reason: "plan refused (env-order): environment(s) prod are not in strategy.order"}}},
		{name: "a rule the file does not write", err: &RefusedError{Rule: RuleOneMinorPerHop, Message: "set hops"},
			want: ErrorList{{File: file, Line: 7, Field: "spec.change.eksVersion.hops", Reason: "plan refused (one-minor-per-hop): set hops"}}},
		{name: "problems of other files keep their place", err: ErrorList{
			{File: file, Line: 8, Field: "spec.change.eksVersion.to", Reason: "is old"},
			{File: "acme/fleet/tenants/a.yaml", Line: 3, Reason: "is broken"},
		}, want: ErrorList{
			{File: "acme/fleet/tenants/a.yaml", Line: 3, Reason: "is broken"},
			{File: file, Line: 8, Field: "spec.change.eksVersion.to", Reason: "is old"},
		}},
		{name: "anything else is the whole file's", err: errors.New("cluster a-dev-1 is held by campaign other"),
			want: ErrorList{{File: file, Reason: "cluster a-dev-1 is held by campaign other"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, CampaignProblems(file, src, tc.err))
		})
	}
}

func TestRefusedErrorField(t *testing.T) {
	t.Parallel()
	for rule, want := range map[string]string{
		RuleOneMinorPerHop: "spec.change.eksVersion.hops",
		RuleEnvOrder:       "spec.strategy.order",
		RuleFieldShared:    "spec.change.field.files",
		RuleFieldScope:     "spec.change.field.files",
		"another":          "",
	} {
		assert.Equal(t, want, (&RefusedError{Rule: rule}).Field(), rule)
	}
}
