package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/cli"
	"github.com/fleetbot/fleetbot/internal/config"
	"github.com/fleetbot/fleetbot/internal/sandbox"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store/boltstore"
)

// campaignEnv is a sandboxed GitHub holding the test fleet with the
// eks-1-30 campaign, and a serve configuration whose bbolt store the bot
// filled: the campaign started and wave 1's pull requests are open.
type campaignEnv struct {
	sandbox *httptest.Server
	gh      *sandbox.Server // what sandbox serves
	token   string
	config  string
	// apiToken is the token of the serve's operations API, in the file
	// apiTokenFile that the configuration names.
	apiToken     string
	apiTokenFile string
}

func newCampaignEnv(t *testing.T) *campaignEnv {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	e := &campaignEnv{token: "sandbox-token", apiToken: "api-token-0123456789abcdef"}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sb, err := sandbox.New(sandbox.Config{Dir: filepath.Join(dir, "sandbox"), Token: e.token, AppID: 7, AppKey: &key.PublicKey, BaseURL: "http://" + ln.Addr().String()})
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	e.gh = sb
	e.sandbox = httptest.NewUnstartedServer(sb.Handler())
	_ = e.sandbox.Listener.Close()
	e.sandbox.Listener = ln
	e.sandbox.Start()
	t.Cleanup(e.sandbox.Close)

	e.rest(t, http.MethodPost, "/orgs/acme/repos", map[string]any{"name": "fleet"}, nil)
	e.rest(t, http.MethodPost, "/orgs/acme/teams", map[string]any{"name": "payments"}, nil)
	work := filepath.Join(dir, "work")
	require.NoError(t, os.CopyFS(work, os.DirFS("testdata/campaign/fleet")))
	push := "http://person:" + e.token + "@" + strings.TrimPrefix(e.sandbox.URL, "http://") + "/acme/fleet.git"
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "fleet and campaign"}, {"push", "-q", push, "HEAD:refs/heads/main"}} {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
			"GIT_AUTHOR_NAME=Fleet Admin", "GIT_AUTHOR_EMAIL=admin@example.com",
			"GIT_COMMITTER_NAME=Fleet Admin", "GIT_COMMITTER_EMAIL=admin@example.com")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %s: %s", args[0], out)
	}

	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret"), []byte("s3cret\n"), 0o600))
	e.apiTokenFile = filepath.Join(dir, "api-token")
	require.NoError(t, os.WriteFile(e.apiTokenFile, []byte(e.apiToken+"\n"), 0o600))
	e.config = filepath.Join(dir, "fleetbot.yaml")
	require.NoError(t, os.WriteFile(e.config, fmt.Appendf(nil, `appID: 7
privateKeyFile: key.pem
webhookSecretFile: secret
apiBaseURL: %s/
store:
  bolt:
    path: state.db
mirrorDir: mirror
campaigns:
  repository: acme/fleet
  path: campaigns
repositories: [acme/fleet]
replicaID: test
api:
  tokenFile: api-token
`, e.sandbox.URL), 0o600))

	// The bot starts the campaign as serve's first pass would.
	cfg, err := config.Load(e.config)
	require.NoError(t, err)
	st, err := openStore(ctx, cfg)
	require.NoError(t, err)
	svc, err := newService(cfg, st, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), cfg.ReplicaID, cfg.MirrorDir)
	require.NoError(t, err)
	require.NoError(t, svc.Bot().Reconcile(ctx))
	state, ok, err := svc.Bot().State(ctx, "eks-1-30")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, rollout.WaveOpen, state.Waves[0].Phase)
	require.NoError(t, st.Close())
	return e
}

// rest calls the sandbox as its admin.
func (e *campaignEnv) rest(t *testing.T, method, path string, body, out any) {
	t.Helper()
	e.restAs(t, "", method, path, body, out)
}

// restAs calls the sandbox as user, or as its admin when user is empty.
func (e *campaignEnv) restAs(t *testing.T, user, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.sandbox.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.token)
	if user != "" {
		req.Header.Set(sandbox.AsHeader, user)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, path, data)
	if out != nil {
		require.NoError(t, json.Unmarshal(data, out))
	}
}

// run runs `fleetbot campaign ARGS... --config FILE`.
func (e *campaignEnv) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append(append([]string{"campaign"}, args...), "--config", e.config, "--by", "pat"))
	err = root.ExecuteContext(context.WithoutCancel(t.Context()))
	return out.String(), errOut.String(), err
}

// TestCampaignCommands drives a started campaign from the command line:
// status as a table and as JSON, bad input, an unknown campaign, a pause, a
// rollback refused with the fix-forward path, the abort closing the open
// pull requests on GitHub, and a resume refused after it.
func TestCampaignCommands(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t)

	out, _, err := e.run(t, "status", "eks-1-30")
	require.NoError(t, err)
	testenv.CheckGolden(t, "campaign/status.txt", out)

	out, _, err = e.run(t, "status", "--json", "eks-1-30")
	require.NoError(t, err)
	var st rollout.State
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	assert.Equal(t, rollout.CampaignRunning, st.Phase)
	assert.Len(t, st.Waves, 2)

	_, _, err = e.run(t, "skip", "eks-1-30", "a-dev-1")
	require.Error(t, err)
	assert.Equal(t, 1, cli.ExitCode(err))
	assert.Contains(t, err.Error(), "--reason is required")

	_, _, err = e.run(t, "skip", "eks-1-30")
	require.ErrorContains(t, err, "missing CLUSTER")

	_, _, err = e.run(t, "approve", "eks-1-30", "two")
	require.ErrorContains(t, err, `WAVE "two"`)

	// While another process (serve) holds the bbolt file, the command says
	// how to reach that process instead.
	cfg, err := config.Load(e.config)
	require.NoError(t, err)
	held, err := openStore(t.Context(), cfg)
	require.NoError(t, err)
	_, _, err = e.run(t, "status", "eks-1-30")
	require.NoError(t, held.Close())
	require.ErrorIs(t, err, boltstore.ErrLocked)
	assert.Contains(t, err.Error(), "send the command to serve: --server URL --token-file FILE")

	for _, args := range [][]string{{"status", "nope"}, {"pause", "nope"}} {
		_, _, err = e.run(t, args...)
		require.Error(t, err, args)
		assert.Equal(t, 1, cli.ExitCode(err))
		assert.Equal(t, "no campaign nope in the store", err.Error())
	}

	out, _, err = e.run(t, "pause", "eks-1-30")
	require.NoError(t, err)
	assert.Equal(t, "Campaign eks-1-30: Running -> Paused (pause)\n", out)

	out, _, err = e.run(t, "pause", "eks-1-30")
	require.NoError(t, err, "pausing again changes nothing and is no failure")
	assert.Contains(t, out, "Campaign eks-1-30: Paused; nothing to do: ")

	out, _, err = e.run(t, "rollback", "eks-1-30")
	require.Error(t, err)
	assert.Equal(t, 1, cli.ExitCode(err))
	assert.Contains(t, err.Error(), "rollback refused: an EKS version change cannot be rolled back: EKS cannot downgrade a control plane. Fix forward: ")
	assert.Empty(t, out)

	out, stderr, err := e.run(t, "abort", "eks-1-30", "--reason", "wrong version")
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
	for _, n := range []int{2, 3} { // #1 is the campaign's dashboard issue
		var pr struct {
			State string `json:"state"`
		}
		e.rest(t, http.MethodGet, fmt.Sprintf("/repos/acme/fleet/pulls/%d", n), nil, &pr)
		assert.Equal(t, "closed", pr.State, "pull request #%d", n)
	}

	out, _, err = e.run(t, "status", "eks-1-30")
	require.NoError(t, err)
	assert.Regexp(t, `\nAborted on \S+Z by \S+: wrong version\n`, out, "who aborted it and why")
	assert.Regexp(t, `\n2 +Pending \(not reached\) `, out, "the wave it never opened")
	assert.Regexp(t, ` a-prod-1 +NotReached `, out, "its clusters")

	_, _, err = e.run(t, "resume", "eks-1-30")
	require.Error(t, err)
	assert.Equal(t, 1, cli.ExitCode(err))
	assert.Contains(t, err.Error(), "resume refused: ")
}

// TestPrintStatusWaveKinds: the status table names clean-up and revert
// waves and says why a wave was skipped.
func TestPrintStatusWaveKinds(t *testing.T) {
	t.Parallel()
	st := rollout.State{Campaign: "addons-r2", Phase: rollout.CampaignRollingBack, Policy: rollout.Policy{Change: rollout.KindLabel, Revertible: true}, Waves: []rollout.WaveState{
		{Number: 1, Phase: rollout.WaveSucceeded, RevertedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
			Clusters: []rollout.ClusterState{{Name: "a-1", Tenant: "t1", Phase: rollout.ClusterSucceeded}}},
		{Number: 2, Kind: rollout.WaveCleanup, Phase: rollout.WaveSkipped, SkipReason: "not every cluster carries the new value (b-1)",
			Clusters: []rollout.ClusterState{{Name: "a-1", Tenant: rollout.SharedTenant, Phase: rollout.ClusterPending}}},
		{Number: 3, Kind: rollout.WaveRevert, Reverts: 1, Phase: rollout.WaveOpen,
			PRs:      []rollout.PRState{{Tenant: "t1", Status: rollout.PRStatusOpen, Number: 7}},
			Clusters: []rollout.ClusterState{{Name: "a-1", Tenant: "t1", Phase: rollout.ClusterInPR}}},
	}, History: []rollout.Evidence{{At: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Event: "rollback", From: "Running", To: "RollingBack", By: "pat"}}}
	var out strings.Builder
	require.NoError(t, printStatus(&out, st))
	assert.Contains(t, out.String(), "Campaign addons-r2: RollingBack\n")
	assert.Contains(t, out.String(), "\nRollback asked for on 2026-12-01T10:00:00Z by pat\n")
	assert.Contains(t, out.String(), "2 clean-up")
	assert.Contains(t, out.String(), "skipped: not every cluster carries the new value (b-1)")
	assert.Contains(t, out.String(), "3 revert of 1")
	assert.Contains(t, out.String(), "#7")
	assert.Regexp(t, `\n1 +Succeeded \(revert asked\) `, out.String(), "its revert wave is still open")

	st.Waves[2].Phase = rollout.WaveSucceeded
	out.Reset()
	require.NoError(t, printStatus(&out, st))
	assert.Regexp(t, `\n1 +Succeeded \(reverted\) `, out.String())
}

// TestPrintStatusHaltedAndSkipped: a campaign halted for failures since
// retried says a resume is what is left; a wave whose every cluster was
// skipped says so.
func TestPrintStatusHaltedAndSkipped(t *testing.T) {
	t.Parallel()
	st := rollout.State{Campaign: "eks-1-30", Phase: rollout.CampaignHalted, HaltReason: "1 cluster failed or timed out, over the budget of 0",
		HaltedForFailures: true, Policy: rollout.Policy{Change: rollout.KindEKSVersion}, Waves: []rollout.WaveState{
			{Number: 1, Phase: rollout.WaveSucceeded, Clusters: []rollout.ClusterState{{Name: "a-1", Tenant: "t1", Phase: rollout.ClusterSucceeded}}},
			{Number: 2, Phase: rollout.WaveSucceeded, Clusters: []rollout.ClusterState{{Name: "b-1", Tenant: "t1", Phase: rollout.ClusterSkipped, SkipReason: "gone"}}},
		}}
	var out strings.Builder
	require.NoError(t, printStatus(&out, st))
	assert.Contains(t, out.String(), "\nHalted: 1 cluster failed or timed out, over the budget of 0\n")
	assert.Contains(t, out.String(), "\nWaiting for a person to resume it (halted: 1 cluster failed or timed out, over the budget of 0; retried or skipped since)\n")
	assert.Regexp(t, `\n2 +Succeeded \(every cluster skipped\) `, out.String())

	st.Waves[0].Clusters[0].Phase = rollout.ClusterFailed
	out.Reset()
	require.NoError(t, printStatus(&out, st))
	assert.NotContains(t, out.String(), "Waiting for", "the halt's line says it all while it fails")
}
