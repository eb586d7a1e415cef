package bot

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/wave"
)

func TestRepoOfCloneURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want string // empty: an error
	}{
		{"https://github.com/acme/fleet.git", "acme/fleet"},
		{"https://github.com/globex/fleet", "globex/fleet"},
		{"https://ghe.example.com/globex/fleet.git", "globex/fleet"},
		{"http://127.0.0.1:8080/globex/fleet.git", "globex/fleet"},
		{"https://x-access-token:secret@github.com/acme/fleet.git", "acme/fleet"},
		{"https://github.com/fleet.git", ""},
		{"https://github.com/", ""},
		{"https://github.com/acme/.git", ""},
		{"://not a url", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			got, err := repoOfCloneURL(tt.url)
			if tt.want == "" {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), "secret")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.String())
		})
	}
}

// TestWatchRepairs: the mirror's repairs are counted by step, from zero,
// and logged with the repository, the step and the error.
func TestWatchRepairs(t *testing.T) {
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	m := wave.NewMirror(t.TempDir(), nil)
	require.NoError(t, watchRepairs(m, reg, slog.New(slog.NewTextHandler(&logs, nil))))
	require.NotNil(t, m.OnRepair)
	m.OnRepair("https://github.com/acme/fleet.git", "fetch", errors.New("ref file is empty"))

	count := func(step string) float64 {
		families, err := reg.Gather()
		require.NoError(t, err)
		for _, f := range families {
			if f.GetName() != "fleetbot_mirror_repairs_total" {
				continue
			}
			for _, s := range f.GetMetric() {
				if s.GetLabel()[0].GetValue() == step {
					return s.GetCounter().GetValue()
				}
			}
		}
		t.Fatalf("no series of step %s", step)
		return 0
	}
	assert.InDelta(t, 1, count("fetch"), 0)
	assert.InDelta(t, 0, count("open"), 0)
	assert.InDelta(t, 0, count("read"), 0)
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "repo=https://github.com/acme/fleet.git step=fetch")
	assert.Contains(t, logs.String(), `err="ref file is empty"`)
	require.Error(t, watchRepairs(m, reg, nil), "registered twice")
}
