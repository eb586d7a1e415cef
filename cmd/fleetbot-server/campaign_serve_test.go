package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/audit"
	"github.com/fleetbot/fleetbot/internal/cli"
	"github.com/fleetbot/fleetbot/internal/config"
	"github.com/fleetbot/fleetbot/internal/testenv"
)

// serve runs the bot's Service of the environment's configuration over
// httptest, as `fleetbot serve` does: it holds the bbolt store open until
// the returned stop (or the test's end). It returns the server's URL.
func (e *campaignEnv) serve(t *testing.T) (url string, stop func()) {
	t.Helper()
	cfg, err := config.Load(e.config)
	require.NoError(t, err)
	st, err := openStore(t.Context(), cfg)
	require.NoError(t, err)
	svc, err := newService(cfg, st, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), cfg.ReplicaID, cfg.MirrorDir)
	require.NoError(t, err)
	srv := httptest.NewServer(svc.Handler())
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			srv.Close()
			require.NoError(t, st.Close())
		}
	}
	t.Cleanup(stop)
	return srv.URL, stop
}

// runRaw runs `fleetbot campaign ARGS...` with no flag added.
func runRaw(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"campaign"}, args...))
	err = root.ExecuteContext(context.WithoutCancel(t.Context()))
	return out.String(), err
}

// TestCampaignCommandsThroughServe: while serve holds the bbolt file the
// commands that open it fail, and the same commands given --server answer
// through serve's operations API with the same output and exit codes.
func TestCampaignCommandsThroughServe(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t)
	url, stop := e.serve(t)

	_, _, err := e.run(t, "status", "eks-1-30")
	require.Error(t, err, "serve holds the bbolt file")
	assert.Contains(t, err.Error(), "open store")

	srv := []string{"--server", url}
	out, _, err := e.run(t, append(srv, "status", "eks-1-30")...)
	require.NoError(t, err)
	testenv.CheckGolden(t, "campaign/status.txt", out) // the golden of the direct path

	for _, args := range [][]string{{"status", "nope"}, {"pause", "nope"}, {"export", "nope"}} {
		_, _, err = e.run(t, append(srv, args...)...)
		require.Error(t, err, args)
		assert.Equal(t, 1, cli.ExitCode(err), args)
		assert.Equal(t, "no campaign nope in the store", err.Error(), args)
	}

	out, _, err = e.run(t, append(srv, "pause", "eks-1-30")...)
	require.NoError(t, err)
	assert.Equal(t, "Campaign eks-1-30: Running -> Paused (pause)\n", out)

	out, _, err = e.run(t, append(srv, "pause", "eks-1-30")...)
	require.NoError(t, err, "pausing again changes nothing and is no failure")
	assert.Contains(t, out, "Campaign eks-1-30: Paused; nothing to do: ")

	out, _, err = e.run(t, append(srv, "rollback", "eks-1-30")...)
	require.Error(t, err)
	assert.Equal(t, 1, cli.ExitCode(err))
	assert.Contains(t, err.Error(), "rollback refused: an EKS version change cannot be rolled back: EKS cannot downgrade a control plane. Fix forward: ")
	assert.Empty(t, out)

	// Without --config: the server and the token file are enough.
	out, err = runRaw(t, "export", "eks-1-30", "--format", "json", "--server", url, "--token-file", e.apiTokenFile)
	require.NoError(t, err)
	var report audit.Report
	require.NoError(t, json.Unmarshal([]byte(out), &report))
	assert.Equal(t, audit.Schema, report.Schema)
	assert.Equal(t, "Paused", report.Phase)
	require.Len(t, report.Waves, 2)
	assert.Equal(t, 2, report.Waves[0].PRs[0].Number, "#1 is the campaign's dashboard issue")
	require.NotEmpty(t, report.History)
	assert.Equal(t, "pat", report.History[len(report.History)-1].By, "who paused is in the report")

	viaServe, _, err := e.run(t, append(srv, "export", "eks-1-30")...)
	require.NoError(t, err)
	assert.Contains(t, viaServe, "# Audit report: campaign eks-1-30\n")

	bad := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(bad, []byte("not-the-token-at-all"), 0o600))
	_, _, err = e.run(t, append(srv, "--token-file", bad, "pause", "eks-1-30")...)
	require.Error(t, err)
	assert.Equal(t, 2, cli.ExitCode(err), "a wrong token is a configuration problem: %v", err)

	out, stderr, err := e.run(t, append(srv, "abort", "eks-1-30", "--reason", "wrong version")...)
	require.NoError(t, err, stderr)
	assert.Equal(t, strings.Join([]string{
		"Campaign eks-1-30: Paused -> Aborted (abort)",
		"  wave 1: Open -> Stopped",
		"  wave 1, tenant-a pull request #2: Open -> Closed",
		"  wave 1, tenant-b pull request #3: Open -> Closed",
		"  wave 1, cluster a-dev-1: InPR -> Stopped",
		"  wave 1, cluster a-dev-2: InPR -> Stopped",
		"  wave 1, cluster b-dev-1: InPR -> Stopped",
		"",
	}, "\n"), out)

	_, _, err = e.run(t, append(srv, "resume", "eks-1-30")...)
	require.Error(t, err)
	assert.Equal(t, 1, cli.ExitCode(err))
	assert.Contains(t, err.Error(), "resume refused: ")

	// Serve stopped: the store answers the same report.
	viaServe, _, err = e.run(t, append(srv, "export", "eks-1-30")...)
	require.NoError(t, err)
	stop()
	direct, _, err := e.run(t, "export", "eks-1-30")
	require.NoError(t, err)
	assert.Equal(t, viaServe, direct)
	assert.Contains(t, direct, "| Time | Event | Phase | Detail | By |")

	_, _, err = e.run(t, append(srv, "status", "eks-1-30")...)
	require.Error(t, err)
	assert.Equal(t, 1, cli.ExitCode(err), "serve is gone: %v", err)
}

// TestCampaignServerFlags: what the commands need to reach a server, each
// missing piece a configuration problem.
func TestCampaignServerFlags(t *testing.T) {
	t.Parallel()
	empty := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"status", "x"}, "set --config FILE (the serve configuration), or --server URL with --token-file FILE"},
		{[]string{"status", "x", "--server", "http://127.0.0.1:1"}, "server http://127.0.0.1:1: no token"},
		{[]string{"status", "x", "--server", "http://127.0.0.1:1", "--token-file", empty}, "is empty"},
		{[]string{"status", "x", "--server", "127.0.0.1:1", "--token-file", "/nonexistent/token"}, "--token-file: open /nonexistent/token"},
		{[]string{"export", "x", "--format", "yaml", "--server", "http://127.0.0.1:1"}, `--format "yaml"`},
	}
	for _, tt := range tests {
		_, err := runRaw(t, tt.args...)
		require.Error(t, err, tt.args)
		assert.Contains(t, err.Error(), tt.want, tt.args)
	}
	_, err := runRaw(t, "status", "x", "--server", "http://127.0.0.1:1", "--token-file", empty)
	assert.Equal(t, 2, cli.ExitCode(err))
}
