package decode

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLine(t *testing.T) {
	t.Parallel()
	src := []byte(`apiVersion: fleetbot.io/v1alpha1
spec:
  change:
    eksVersion:
      to: "1.30"
  strategy:
    order:
      - dev
      - prod
  selector:
    labels:
      "team.example.com/tier": gold
`)
	tests := []struct {
		field string
		want  int
	}{
		{"apiVersion", 1},
		{"spec", 2},
		{"spec.change.eksVersion.to", 5},
		{"spec.change.eksVersion.hops", 4},
		{"spec.strategy.order", 7},
		{"spec.strategy.order[1]", 9},
		{"spec.strategy.order[5]", 7},
		{"spec.gates.argocd.tokenEnv", 2},
		{`spec.selector.labels."team.example.com/tier"`, 12},
		{"spec.selector.labels.team.example.com/tier", 11},
		{"metadata.name", 0},
		{"", 0},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, Line(src, tc.field))
		})
	}
}

func TestLineOfNoYAML(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 0, Line([]byte("a: [b"), "a"))
	assert.Equal(t, 0, Line(nil, "a"))
}
