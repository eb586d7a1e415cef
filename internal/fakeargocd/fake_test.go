package fakeargocd_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/argocontract"
	"github.com/fleetbot/fleetbot/internal/fakeargocd"
	"github.com/fleetbot/fleetbot/internal/testenv"
)

const token = "secret-token"

var loaded struct {
	once     sync.Once
	contract *argocontract.Contract
	err      error
}

func contract(t *testing.T) *argocontract.Contract {
	t.Helper()
	path := filepath.Join(testenv.ModuleRoot(t), argocontract.SwaggerPath)
	loaded.once.Do(func() { loaded.contract, loaded.err = argocontract.LoadContract(path) })
	require.NoError(t, loaded.err)
	return loaded.contract
}

// start serves fake behind the contract; any mismatch fails the test.
func start(t *testing.T, fake http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(contract(t).Wrap(fake, func(err error) { t.Errorf("contract: %v", err) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(t *testing.T, url, bearer string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(body, &out), string(body))
	return resp.StatusCode, out
}

func names(list map[string]any) []string {
	var out []string
	for _, it := range list["items"].([]any) {
		m := it.(map[string]any)
		if meta, ok := m["metadata"].(map[string]any); ok {
			out = append(out, meta["name"].(string))
		} else {
			out = append(out, m["name"].(string))
		}
	}
	return out
}

var at = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)

func fleet() *fakeargocd.Server {
	s := fakeargocd.New(token, fakeargocd.WithClock(func() time.Time { return at }))
	s.SetCluster(fakeargocd.Cluster{Name: "dev-1", Server: "https://dev-1.example.com", Labels: map[string]string{"fleet": "cpu"}})
	s.SetCluster(fakeargocd.Cluster{Name: "dev-2", Server: "https://dev-2.example.com"})
	s.SetApplication(fakeargocd.Application{Name: "metrics-dev-1", Project: "addons", DestName: "dev-1",
		Labels: map[string]string{"team": "platform", "tier": "core"}, RepoURL: "https://github.com/acme/fleet.git", Path: "metrics"})
	s.SetApplication(fakeargocd.Application{Name: "logging-dev-1", Project: "addons", DestServer: "https://dev-1.example.com",
		Labels: map[string]string{"team": "platform"}, RepoURL: "https://github.com/acme/fleet.git", Path: "logging",
		SyncStatus: fakeargocd.OutOfSync, Health: fakeargocd.Degraded, HealthMessage: "CrashLoopBackOff",
		Phase: fakeargocd.PhaseRunning, OperationMessage: "syncing"})
	s.SetApplication(fakeargocd.Application{Name: "web-dev-2", Project: "apps", DestName: "dev-2",
		Labels: map[string]string{"team": "web"}, Sources: []fakeargocd.Source{
			{RepoURL: "https://charts.example.com", Chart: "web", TargetRevision: "1.2.3"},
			{RepoURL: "https://github.com/acme/fleet.git", Path: "values"},
		}, SyncStatus: fakeargocd.Synced, Revisions: []string{"1.2.3", "abc"}, Health: fakeargocd.Healthy})
	return s
}

func TestListApplicationsFilters(t *testing.T) {
	t.Parallel()
	base := start(t, fleet())
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"logging-dev-1", "metrics-dev-1", "web-dev-2"}},
		{"?selector=team%3Dplatform", []string{"logging-dev-1", "metrics-dev-1"}},
		{"?selector=team%3D%3Dplatform%2Ctier", []string{"metrics-dev-1"}},
		{"?selector=%21tier", []string{"logging-dev-1", "web-dev-2"}},
		{"?selector=tier%21%3Dcore", []string{"logging-dev-1", "web-dev-2"}},
		{"?selector=team+in+%28web%2Cdata%29", []string{"web-dev-2"}},
		{"?selector=team+notin+%28web%29", []string{"logging-dev-1", "metrics-dev-1"}},
		{"?projects=apps", []string{"web-dev-2"}},
		{"?projects=apps&projects=addons", []string{"logging-dev-1", "metrics-dev-1", "web-dev-2"}},
		{"?project=addons&selector=tier", []string{"metrics-dev-1"}},
		{"?projects=none", nil},
		{"?name=web-dev-2", []string{"web-dev-2"}},
		{"?repo=https%3A%2F%2Fcharts.example.com", []string{"web-dev-2"}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			t.Parallel()
			status, body := get(t, base+"/api/v1/applications"+tc.query, token)
			require.Equal(t, http.StatusOK, status, body)
			assert.Equal(t, tc.want, names(body))
		})
	}
}

func TestGetApplicationAndClusters(t *testing.T) {
	t.Parallel()
	base := start(t, fleet())

	status, app := get(t, base+"/api/v1/applications/logging-dev-1", token)
	require.Equal(t, http.StatusOK, status)
	st := app["status"].(map[string]any)
	assert.Equal(t, "OutOfSync", st["sync"].(map[string]any)["status"])
	assert.Equal(t, map[string]any{"status": "Degraded", "message": "CrashLoopBackOff"}, st["health"])
	op := st["operationState"].(map[string]any)
	assert.Equal(t, "Running", op["phase"])
	assert.NotContains(t, op, "finishedAt", "a running operation has not finished")

	status, body := get(t, base+"/api/v1/applications/nothing", token)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, `applications.argoproj.io "nothing" not found`, body["message"])

	status, body = get(t, base+"/api/v1/applications/web-dev-2?projects=addons", token)
	assert.Equal(t, http.StatusNotFound, status, "an application outside the projects asked for is not found")
	assert.EqualValues(t, 5, body["code"])

	status, body = get(t, base+"/api/v1/clusters", token)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{"dev-1", "dev-2"}, names(body))
	status, body = get(t, base+"/api/v1/clusters?name=dev-1", token)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{"dev-1"}, names(body))
	assert.Equal(t, map[string]any{"fleet": "cpu"}, body["items"].([]any)[0].(map[string]any)["labels"])

	status, body = get(t, base+"/api/v1/applications?selector=team+in+(a", token)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body["message"], "unable to parse selector")
}

func TestBearerTokenRequired(t *testing.T) {
	t.Parallel()
	base := start(t, fleet())
	for _, path := range []string{"/api/v1/applications", "/api/v1/applications/metrics-dev-1", "/api/v1/clusters"} {
		status, body := get(t, base+path, "")
		assert.Equal(t, http.StatusUnauthorized, status, path)
		assert.Equal(t, "no session information", body["message"], path)
		assert.EqualValues(t, 16, body["code"], path)
		status, body = get(t, base+path, "wrong")
		assert.Equal(t, http.StatusUnauthorized, status, path)
		assert.Contains(t, body["message"], "invalid session", path)
	}
}

func TestSync(t *testing.T) {
	t.Parallel()
	s := fleet()
	base := start(t, s)
	// By destination name and by the server URL dev-1 is registered with.
	assert.Equal(t, 2, s.Sync("dev-1", "f00d", fakeargocd.Healthy))
	for _, name := range []string{"metrics-dev-1", "logging-dev-1"} {
		a, ok := s.Application("", name)
		require.True(t, ok)
		assert.Equal(t, fakeargocd.Synced, a.SyncStatus, name)
		assert.Equal(t, "f00d", a.Revision, name)
		assert.Equal(t, fakeargocd.Healthy, a.Health, name)
		assert.Equal(t, fakeargocd.PhaseSucceeded, a.Phase, name)
	}
	// A multi-source application moves its Git sources, not its charts.
	assert.Equal(t, 1, s.Sync("dev-2", "beef", fakeargocd.Progressing))
	_, body := get(t, base+"/api/v1/applications/web-dev-2", token)
	sync := body["status"].(map[string]any)["sync"].(map[string]any)
	assert.Equal(t, []any{"1.2.3", "beef"}, sync["revisions"])
	assert.Equal(t, 0, s.Sync("dev-9", "beef", fakeargocd.Healthy))
	assert.Positive(t, s.Requests())
}

// TestRemoveCluster: a removed cluster's secret and its applications, by
// name and by server URL, are gone from the API; the others stay.
func TestRemoveCluster(t *testing.T) {
	t.Parallel()
	s := fleet()
	base := start(t, s)
	n, ok := s.RemoveCluster("dev-1")
	assert.True(t, ok)
	assert.Equal(t, 2, n, "metrics-dev-1 by name, logging-dev-1 by server URL")

	status, body := get(t, base+"/api/v1/clusters", token)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{"dev-2"}, names(body))
	status, body = get(t, base+"/api/v1/clusters?name=dev-1", token)
	require.Equal(t, http.StatusOK, status)
	assert.Empty(t, names(body))
	status, body = get(t, base+"/api/v1/applications", token)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{"web-dev-2"}, names(body))
	status, _ = get(t, base+"/api/v1/applications/metrics-dev-1", token)
	assert.Equal(t, http.StatusNotFound, status)
	_, found := s.Cluster("dev-1")
	assert.False(t, found)

	n, ok = s.RemoveCluster("dev-1")
	assert.False(t, ok, "nothing is left to remove")
	assert.Zero(t, n)
	// Applications bound by name go even when no secret was registered.
	s.SetApplication(fakeargocd.Application{Name: "orphan", DestName: "dev-9", RepoURL: "https://github.com/acme/fleet.git"})
	n, ok = s.RemoveCluster("dev-9")
	assert.False(t, ok)
	assert.Equal(t, 1, n)
}

func TestSelectorParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sel    string
		labels map[string]string
		want   bool
		bad    bool
	}{
		{sel: "", labels: nil, want: true},
		{sel: "a=1", labels: map[string]string{"a": "1"}, want: true},
		{sel: "a = 1", labels: map[string]string{"a": "2"}, want: false},
		{sel: "a!=1", labels: map[string]string{}, want: true},
		{sel: "a,b", labels: map[string]string{"a": ""}, want: false},
		{sel: "example.com/a in (x, y)", labels: map[string]string{"example.com/a": "y"}, want: true},
		{sel: "a notin (x)", labels: map[string]string{}, want: true},
		{sel: "!a", labels: map[string]string{"a": "x"}, want: false},
		{sel: "a in (x", bad: true},
		{sel: "a,,b", bad: true},
		{sel: "-a=1", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.sel, func(t *testing.T) {
			t.Parallel()
			s, err := fakeargocd.ParseSelector(tc.sel)
			if tc.bad {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, s.Matches(tc.labels))
		})
	}
}

// TestContractCatchesMismatches: the contract is not a formality; each of
// these exchanges breaks Argo CD's description and must be reported.
func TestContractCatchesMismatches(t *testing.T) {
	t.Parallel()
	c := contract(t)
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	responses := []struct {
		name, path, body string
		status           int
		header           http.Header
		want             string
	}{
		{name: "wrong type", path: "/api/v1/applications", status: 200,
			body: `{"items":[{"status":{"health":{"status":3}}}]}`, want: "/items/0/status/health/status"},
		{name: "undocumented field", path: "/api/v1/applications/x", status: 200,
			body: `{"metadata":{"name":"x"},"status":{"healthStatus":"Healthy"}}`, want: "/status"},
		{name: "bad time", path: "/api/v1/clusters", status: 200,
			body: `{"items":[{"name":"a","connectionState":{"attemptedAt":"yesterday"}}]}`, want: "/items/0/connectionState/attemptedAt"},
		{name: "labels not strings", path: "/api/v1/clusters", status: 200,
			body: `{"items":[{"name":"a","labels":{"x":1}}]}`, want: "/items/0/labels/x"},
		{name: "error body", path: "/api/v1/clusters", status: 401,
			body: `{"code":"sixteen"}`, want: "/code"},
		{name: "not JSON", path: "/api/v1/clusters", status: 200, body: `<html>`, want: "not JSON"},
		{name: "content type", path: "/api/v1/clusters", status: 200, body: `{}`,
			header: http.Header{"Content-Type": {"text/plain"}}, want: "Content-Type"},
		{name: "unknown path", path: "/api/v2/things", status: 200, body: `{}`, want: "no operation"},
	}
	for _, tc := range responses {
		t.Run("response "+tc.name, func(t *testing.T) {
			t.Parallel()
			h := tc.header
			if h == nil {
				h = jsonHeader
			}
			err := c.CheckResponse(http.MethodGet, tc.path, tc.status, h, []byte(tc.body))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	requests := []struct{ name, url, want string }{
		{"undeclared parameter", "/api/v1/applications?cluster=a", `query parameter "cluster" is not declared`},
		{"single value repeated", "/api/v1/applications?selector=a&selector=b", `"selector" is given 2 times`},
		{"unknown path", "/api/v1/nothing", "no operation"},
	}
	for _, tc := range requests {
		t.Run("request "+tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, tc.url, nil)
			err := c.CheckRequest(r)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	ok := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/api/v1/applications?projects=a&projects=b&selector=x", nil)
	assert.NoError(t, c.CheckRequest(ok), "projects is an array and may repeat")
	// Wrap reports what it sees and passes the traffic through unchanged.
	var reported []string
	var mu sync.Mutex
	srv := httptest.NewServer(c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte(`{"items":"none"}`))
	}), func(err error) { mu.Lock(); reported = append(reported, err.Error()); mu.Unlock() }))
	defer srv.Close()
	status, body := get(t, srv.URL+"/api/v1/clusters?bogus=1", "")
	assert.Equal(t, http.StatusTeapot, status)
	assert.Equal(t, map[string]any{"items": "none"}, body)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, reported, 2)
	assert.Contains(t, reported[0], `"bogus" is not declared`)
	assert.Contains(t, reported[1], "response 418")
	assert.Contains(t, reported[1], "definitions/runtimeError")
}
