package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
)

const testToken = "0123456789abcdef-test-token"

// syncBuffer is a log destination handlers write to from the server's
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// opsServer serves the operations API of b with token over httptest, and
// returns its URL and the log it writes.
func opsServer(t *testing.T, b *Bot, token string) (string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	b.log = slog.New(slog.NewTextHandler(logs, nil))
	mux := http.NewServeMux()
	registerOpsAPI(mux, b, []byte(token))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, logs
}

// call sends one request with the Authorization header given (none when
// empty) and returns the status and the body.
func call(t *testing.T, method, url, auth, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	return resp.StatusCode, string(data)
}

func TestOpsAPIOffSaysSo(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	url, _ := opsServer(t, w.bot(t, "r1", nil), "")
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/campaigns/eks-1-30/state"},
		{http.MethodPost, "/api/v1/campaigns/eks-1-30/operations"},
	} {
		code, body := call(t, r.method, url+r.path, "Bearer anything", `{"kind":"pause","by":"pat"}`)
		assert.Equal(t, http.StatusServiceUnavailable, code, r.path)
		assert.Contains(t, body, "the operations API is off: set api.tokenFile", r.path)
	}
}

func TestOpsAPIAuthentication(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	url, logs := opsServer(t, b, testToken)
	tests := []struct {
		name string
		auth string
		want int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong", "Bearer wrong-token-of-some-length", http.StatusUnauthorized},
		{"a prefix of the token", "Bearer " + testToken[:10], http.StatusUnauthorized},
		{"another scheme", "Basic " + testToken, http.StatusUnauthorized},
		{"no scheme", testToken, http.StatusUnauthorized},
		{"right", "Bearer " + testToken, http.StatusOK},
		{"right, scheme in lower case", "bearer " + testToken, http.StatusOK},
	}
	for _, tt := range tests {
		for _, r := range []struct{ method, path, body string }{
			{http.MethodGet, "/api/v1/campaigns/eks-1-30/state", ""},
			{http.MethodPost, "/api/v1/campaigns/eks-1-30/operations", `{"kind":"nope","by":"pat"}`},
		} {
			code, body := call(t, r.method, url+r.path, tt.auth, r.body)
			want := tt.want
			if want == http.StatusOK && r.method == http.MethodPost {
				want = http.StatusBadRequest // authenticated, then the unknown kind is refused
			}
			assert.Equal(t, want, code, "%s: %s %s: %s", tt.name, r.method, r.path, body)
		}
	}
	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.CampaignRunning, st.Phase, "no request changed the campaign")
	assert.Contains(t, logs.String(), "without the right bearer token")
	assert.NotContains(t, logs.String(), testToken[:10], "no token, right or wrong, is logged")
	assert.NotContains(t, logs.String(), "wrong-token")
}

// TestOpsAPIOperations runs each operation kind through the API, with the
// client `fleetbot campaign` uses, on one campaign in turn.
func TestOpsAPIOperations(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	b.cfg.Gates = failGates{"a-dev-1": true}
	started(t, w, b)
	url, _ := opsServer(t, b, testToken)
	c, err := NewOpsClient(url+"/", []byte(testToken), nil)
	require.NoError(t, err)
	ctx := t.Context()

	st, ok, err := c.State(ctx, campaign)
	require.NoError(t, err)
	require.True(t, ok)
	want, _ := w.state(t, campaign)
	assert.Equal(t, want, st, "GET answers the state as the store holds it")
	_, ok, err = c.State(ctx, "nope")
	require.NoError(t, err)
	assert.False(t, ok)
	_, _, err = c.Operate(ctx, "nope", rollout.Pause{By: "pat"})
	require.ErrorIs(t, err, ErrNoCampaign)

	refused := func(t *testing.T, err error, reason string) {
		t.Helper()
		var ee *rollout.EventError
		require.ErrorAs(t, err, &ee)
		assert.NotErrorIs(t, err, rollout.ErrIgnored)
		assert.Contains(t, ee.Reason, reason)
	}

	before, after, err := c.Operate(ctx, campaign, rollout.Pause{By: "pat"})
	require.NoError(t, err)
	assert.Equal(t, rollout.CampaignRunning, before.Phase)
	assert.Equal(t, rollout.CampaignPaused, after.Phase)
	last := after.History[len(after.History)-1]
	assert.Equal(t, "pat", last.By, "who paused is recorded")

	_, after, err = c.Operate(ctx, campaign, rollout.Pause{By: "pat"})
	require.ErrorIs(t, err, rollout.ErrIgnored)
	var ee *rollout.EventError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, rollout.CampaignPaused, after.Phase)

	_, _, err = c.Operate(ctx, campaign, rollout.Rollback{By: "pat"})
	refused(t, err, "EKS cannot downgrade a control plane")

	_, after, err = c.Operate(ctx, campaign, rollout.Resume{By: "pat"})
	require.NoError(t, err)
	assert.Equal(t, rollout.CampaignRunning, after.Phase)

	// Wave 1 merges; a-dev-1's gate fails and the campaign halts.
	w.api.merge(t, 1, "aaaa")
	w.api.merge(t, 2, "bbbb")
	require.NoError(t, b.Reconcile(ctx))

	_, _, err = c.Operate(ctx, campaign, rollout.Retry{Cluster: "a-prod-1", By: "pat"})
	refused(t, err, "")
	b.cfg.Gates = passGates{}
	_, after, err = c.Operate(ctx, campaign, rollout.Retry{Cluster: "a-dev-1", By: "pat"})
	require.NoError(t, err)
	assert.Equal(t, rollout.ClusterSucceeded, after.Waves[0].Clusters[0].Phase)

	_, _, err = c.Operate(ctx, campaign, rollout.SkipCluster{Cluster: "a-dev-1", Reason: "decommissioned", By: "sam"})
	refused(t, err, "")
	_, _, err = c.Operate(ctx, campaign, rollout.Approve{Wave: 2, By: "pat"})
	refused(t, err, "")

	_, after, err = c.Operate(ctx, campaign, rollout.Resume{By: "pat"})
	require.NoError(t, err)
	assert.Equal(t, rollout.CampaignRunning, after.Phase)
	_, after, err = c.Operate(ctx, campaign, rollout.SkipCluster{Cluster: "b-prod-1", Reason: "decommissioned", By: "sam"})
	require.NoError(t, err)
	assert.Equal(t, rollout.ClusterSkipped, after.Waves[1].Clusters[1].Phase)
	assert.Equal(t, "decommissioned", after.Waves[1].Clusters[1].SkipReason)

	_, after, err = c.Operate(ctx, campaign, rollout.Abort{Reason: "enough", By: "pat"})
	require.NoError(t, err)
	assert.Equal(t, rollout.CampaignAborted, after.Phase)
	_, _, err = c.Operate(ctx, campaign, rollout.Resume{By: "pat"})
	refused(t, err, "")
}

// TestOpsClientOlderServer: a server without the state route (a serve
// older than the client) is no answer, not an unknown campaign.
func TestOpsClientOlderServer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	c, err := NewOpsClient(srv.URL+"/", []byte(testToken), nil)
	require.NoError(t, err)
	_, ok, err := c.State(t.Context(), campaign)
	require.ErrorIs(t, err, ErrUnanswered)
	assert.False(t, ok)
	assert.Contains(t, err.Error(), "answered 404")
}

func TestOpsAPIBadOperations(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	url, _ := opsServer(t, b, testToken)
	tests := []struct{ body, want string }{
		{`{"kind":"dance","by":"pat"}`, `unknown operation \"dance\"`},
		{`{"kind":"pause"}`, "by is required"},
		{`{"kind":"skip","cluster":"a-dev-1","by":"pat"}`, "skip needs a cluster and a reason"},
		{`{"kind":"approve","wave":0,"by":"pat"}`, "approve needs a wave number from 1"},
		{`{"kind":"pause","by":"pat","when":"now"}`, `unknown field \"when\"`},
		{`not json`, "operation: "},
	}
	for _, tt := range tests {
		code, body := call(t, http.MethodPost, url+"/api/v1/campaigns/eks-1-30/operations", "Bearer "+testToken, tt.body)
		assert.Equal(t, http.StatusBadRequest, code, tt.body)
		assert.Contains(t, body, tt.want, tt.body)
	}
	code, body := call(t, http.MethodPost, url+"/api/v1/campaigns/nope/operations", "Bearer "+testToken, `{"kind":"pause","by":"pat"}`)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, body, "campaign nope: no such campaign")
	code, _ = call(t, http.MethodPost, url+"/api/v1/campaigns/eks-1-30/operations", "Bearer "+testToken, `{"kind":"rollback","by":"pat"}`)
	assert.Equal(t, http.StatusConflict, code)
}

// TestOpsAPIActionsFailed: a retry the machine takes whose pull request
// GitHub does not open answers 502 with the new state, and the client
// returns an error that is no machine's answer.
func TestOpsAPIActionsFailed(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	w.api.close(t, 1)
	require.NoError(t, b.Reconcile(t.Context()))
	w.ensure.mu.Lock()
	w.ensure.fail["tenant-a"] = errors.New("github is down")
	w.ensure.mu.Unlock()
	url, _ := opsServer(t, b, testToken)

	code, body := call(t, http.MethodPost, url+"/api/v1/campaigns/eks-1-30/operations", "Bearer "+testToken, `{"kind":"retry","by":"pat"}`)
	require.Equal(t, http.StatusBadGateway, code, body)
	var res OperationResult
	require.NoError(t, json.Unmarshal([]byte(body), &res))
	assert.Equal(t, OutcomeApplied, res.Outcome)
	assert.Contains(t, res.ActionsError, "github is down")
	require.NotNil(t, res.State)
	assert.Equal(t, 2, res.State.Waves[0].PRs[0].Attempt, "the machine took the retry")
}

// failingStateWrites is a store whose writes of campaign states fail while
// failing is set, as a store that stopped answering would.
type failingStateWrites struct {
	store.Store
	failing atomic.Bool
}

func (s *failingStateWrites) Put(ctx context.Context, key string, value []byte, version int64, fence store.Fence) (int64, error) {
	if s.failing.Load() && strings.HasSuffix(key, "/state") {
		return 0, errors.New("store unavailable")
	}
	return s.Store.Put(ctx, key, value, version, fence)
}

// TestOpsAPINotTaken: an operation whose state the store does not write was
// not taken: 502 with outcome not-taken and why, the stored state as it
// was, and the client's error matching ErrNotTaken, not an operation taken
// whose actions failed.
func TestOpsAPINotTaken(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	fs := &failingStateWrites{Store: w.store}
	w.store = fs
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	url, _ := opsServer(t, b, testToken)
	fs.failing.Store(true)

	code, body := call(t, http.MethodPost, url+"/api/v1/campaigns/eks-1-30/operations", "Bearer "+testToken, `{"kind":"pause","by":"pat"}`)
	require.Equal(t, http.StatusBadGateway, code, body)
	var res OperationResult
	require.NoError(t, json.Unmarshal([]byte(body), &res))
	assert.Equal(t, OutcomeNotTaken, res.Outcome)
	assert.Contains(t, res.Error, "store unavailable")
	assert.Empty(t, res.ActionsError)
	st, _ := w.state(t, campaign)
	assert.Equal(t, rollout.CampaignRunning, st.Phase, "the pause is not in the store")

	client, err := NewOpsClient(url, []byte(testToken), nil)
	require.NoError(t, err)
	_, _, err = client.Operate(t.Context(), campaign, rollout.Pause{By: "pat"})
	require.ErrorIs(t, err, ErrNotTaken)
	assert.ErrorContains(t, err, "store unavailable")

	fs.failing.Store(false)
	_, _, err = client.Operate(t.Context(), campaign, rollout.Pause{By: "pat"})
	require.NoError(t, err, "asked again once the store answers, it is taken")
}

// TestOpsAPICommands: the commands run on a campaign are listed through the
// API as the store holds them; an unknown campaign is an error.
func TestOpsAPICommands(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	rec := CommandRecord{Comment: 7, PR: "acme/fleet#1", By: "pat", At: testTime, Commands: []CommandResult{{Line: 1, Raw: "/fleet pause", Outcome: rollout.CommandTaken, Detail: "the campaign went from Running to Paused"}}}
	_, err := putJSON(t.Context(), w.store, commandsKey(campaign, 7), rec, 0, store.Fence{})
	require.NoError(t, err)
	url, _ := opsServer(t, b, testToken)
	c, err := NewOpsClient(url+"/", []byte(testToken), nil)
	require.NoError(t, err)

	got, err := c.Commands(t.Context(), campaign)
	require.NoError(t, err)
	direct, err := b.Commands(t.Context(), campaign)
	require.NoError(t, err)
	assert.Equal(t, []CommandRecord{rec}, direct)
	assert.Equal(t, direct, got)
	_, err = c.Commands(t.Context(), "nope")
	require.ErrorIs(t, err, ErrNoCampaign)
	code, _ := call(t, "GET", url+"/api/v1/campaigns/"+campaign+"/commands", "", "")
	assert.Equal(t, 401, code)
}
