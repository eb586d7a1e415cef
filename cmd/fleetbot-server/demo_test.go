package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

// runDemoCmd runs `fleetbot demo args...` in-process and returns its
// stdout, stderr and error.
func runDemoCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"demo"}, args...))
	err := root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// TestDemoFlagErrors checks that bad flags are refused before anything
// starts, each error naming the flag.
func TestDemoFlagErrors(t *testing.T) {
	t.Parallel()
	root := testenv.ModuleRoot(t)
	fleet := filepath.Join(root, "examples", "fleet")
	campaign := filepath.Join(root, "examples", "demo", "eks-1-30.yaml")
	missing := filepath.Join(t.TempDir(), "nowhere")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown cluster", []string{"--fleet", fleet, "--campaign", campaign, "--fail", "z-prod-cpu-9"},
			[]string{`--fail "z-prod-cpu-9": cluster "z-prod-cpu-9" is not one the campaign changes`, "such as a-dev-cpu-1, b-dev-gpu-1, a-dev-cpu-2, a-dev-gpu-1"}},
		{"cluster already at the target", []string{"--fleet", fleet, "--campaign", campaign, "--fail", "b-dev-cpu-1"},
			[]string{`--fail "b-dev-cpu-1"`, "not one the campaign changes"}},
		{"missing fleet", []string{"--fleet", missing, "--campaign", campaign},
			[]string{"--fleet " + missing + ": no such file or directory; run fleetbot demo from the repository root"}},
		{"missing campaign", []string{"--fleet", fleet, "--campaign", missing},
			[]string{"--campaign " + missing + ": no such file or directory"}},
		{"fleet is a file", []string{"--fleet", campaign, "--campaign", campaign},
			[]string{"--fleet " + campaign + ": not a directory"}},
		{"campaign is a directory", []string{"--fleet", fleet, "--campaign", fleet},
			[]string{"--campaign " + fleet + ": a directory, want a campaign file"}},
		{"speed below one", []string{"--fleet", fleet, "--campaign", campaign, "--speed", "0.5"},
			[]string{"--speed 0.5: want 1 or more"}},
		{"arguments", []string{"now"}, []string{`unknown command "now"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, _, err := runDemoCmd(t, tt.args...)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Empty(t, out)
		})
	}
}

// TestDemoNeedsRepositoryRoot runs the demo with its default files from a
// directory that has none: the error says where to run it from.
func TestDemoNeedsRepositoryRoot(t *testing.T) {
	t.Chdir(t.TempDir())
	_, _, err := runDemoCmd(t)
	require.Error(t, err)
	assert.Equal(t, "--fleet examples/fleet: no such file or directory; run fleetbot demo from the repository root, or give --fleet", err.Error())
}

// TestDemoJSON runs the real demo on the dev environment of the demo
// campaign with one cluster made to fail, and checks the --json output:
// only the final state on stdout, in its documented shape, the progress on
// stderr.
func TestDemoJSON(t *testing.T) {
	t.Parallel()
	root := testenv.ModuleRoot(t)
	src, err := os.ReadFile(filepath.Join(root, "examples", "demo", "eks-1-30.yaml"))
	require.NoError(t, err)
	dev := strings.Replace(string(src), "selector: {}", "selector: {envs: [dev]}", 1)
	require.NotEqual(t, string(src), dev, "the demo campaign selects with `selector: {}`")
	// At --speed 2400 the 2h deadline is 3 seconds of wall time, short for
	// a machine busy with the rest of the suite; 12h is 18 seconds.
	dev = strings.Replace(dev, "progressDeadline: 2h", "progressDeadline: 12h", 1)
	campaign := filepath.Join(t.TempDir(), "eks-1-30-dev.yaml")
	require.NoError(t, os.WriteFile(campaign, []byte(dev), 0o644))

	out, progress, err := runDemoCmd(t, "--json", "--speed", "2400", "--fail", "a-dev-gpu-1",
		"--fleet", filepath.Join(root, "examples", "fleet"), "--campaign", campaign)
	require.NoError(t, err, "progress:\n%s", progress)
	t.Logf("progress:\n%s", progress)

	var got struct {
		Campaign string `json:"campaign"`
		State    string `json:"state"`
		Waves    []struct {
			Index        int    `json:"index"`
			State        string `json:"state"`
			PullRequests []struct {
				Number int    `json:"number"`
				Tenant string `json:"tenant"`
				Merged bool   `json:"merged"`
			} `json:"pullRequests"`
			Clusters []struct {
				Name    string `json:"name"`
				State   string `json:"state"`
				Version string `json:"version"`
			} `json:"clusters"`
		} `json:"waves"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&got), "stdout:\n%s", out)
	assert.False(t, dec.More(), "stdout holds one JSON document")
	assert.Equal(t, "eks-1-30", got.Campaign)
	assert.Equal(t, "Succeeded", got.State)
	require.Len(t, got.Waves, 2)

	type cluster struct{ wave, name, state, version string }
	var clusters []cluster
	prs := map[string]int{}
	for i, w := range got.Waves {
		assert.Equal(t, i+1, w.Index)
		assert.Equal(t, "Succeeded", w.State)
		for _, pr := range w.PullRequests {
			assert.True(t, pr.Merged, "#%d merged", pr.Number)
			assert.Positive(t, pr.Number)
			prs[pr.Tenant]++
		}
		for _, c := range w.Clusters {
			clusters = append(clusters, cluster{string(rune('0' + w.Index)), c.Name, c.State, c.Version})
		}
	}
	assert.Equal(t, []cluster{
		{"1", "a-dev-cpu-1", "Succeeded", "1.30"},
		{"1", "b-dev-gpu-1", "Succeeded", "1.30"},
		{"2", "a-dev-cpu-2", "Succeeded", "1.30"},
		{"2", "a-dev-gpu-1", "Skipped", "1.29"},
	}, clusters)
	assert.Equal(t, map[string]int{"tenant-a": 2, "tenant-b": 1}, prs)

	assert.Contains(t, progress, "wave 1/2 (dev, canary) opens")
	assert.Contains(t, progress, "HALTED")
	assert.Contains(t, progress, "a-dev-gpu-1  skipped by pat: demo: ")
	assert.Contains(t, progress, "campaign eks-1-30 succeeded: 3 clusters upgraded in 2 waves, 1 skipped")
}
