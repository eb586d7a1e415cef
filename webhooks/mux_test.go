package webhooks

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// get answers a GET of path on srv with its status and body.
func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestMuxProbes(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	cfg := testConfig(t, tempStore(t), newFakeHandler())
	cfg.Registerer = reg
	in := newIntake(t, cfg)
	var depsErr atomic.Pointer[error]
	ready := func(context.Context) error {
		if p := depsErr.Load(); p != nil {
			return *p
		}
		return nil
	}
	srv := httptest.NewServer(NewMux(in, ready, reg))
	t.Cleanup(srv.Close)

	type probe struct {
		health, ready int
		readyBody     string
	}
	check := func(stage string, want probe) {
		t.Helper()
		if code, body := get(t, srv, "/healthz"); code != want.health || body != "ok\n" {
			t.Errorf("%s: /healthz = %d %q, want %d ok", stage, code, body, want.health)
		}
		if code, body := get(t, srv, "/readyz"); code != want.ready || body != want.readyBody {
			t.Errorf("%s: /readyz = %d %q, want %d %q", stage, code, body, want.ready, want.readyBody)
		}
	}
	check("before Start", probe{200, 503, "not ready: webhook intake not started\n"})
	if err := in.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("started", probe{200, 200, "ready\n"})
	noGitHub := errors.New("GitHub App key not loaded")
	depsErr.Store(&noGitHub)
	check("dependency not ready", probe{200, 503, "not ready: GitHub App key not loaded\n"})
	depsErr.Store(nil)
	check("dependency back", probe{200, 200, "ready\n"})
	if err := in.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("shut down", probe{200, 503, "not ready: webhook intake shutting down\n"})
}

func TestMuxRoutes(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	s := tempStore(t)
	cfg := testConfig(t, s, newFakeHandler())
	cfg.Registerer = reg
	in := newIntake(t, cfg)
	srv := httptest.NewServer(NewMux(in, nil, reg))
	t.Cleanup(srv.Close)

	post := func(path, id string) int {
		t.Helper()
		body := pushPayload(len(id))
		r := request("push", id, body)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = r.Header
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/webhook", "via-webhook"); code != http.StatusAccepted {
		t.Errorf("POST /webhook = %d, want 202", code)
	}
	if code := post("/", "via-root"); code != http.StatusAccepted {
		t.Errorf("POST / = %d, want 202", code)
	}
	if code := post("/elsewhere", "via-elsewhere"); code != http.StatusNotFound {
		t.Errorf("POST /elsewhere = %d, want 404", code)
	}
	if code, _ := get(t, srv, "/webhook"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /webhook = %d, want 405", code)
	}
	// GET / is left to the bot's status page.
	if code, _ := get(t, srv, "/"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET / = %d, want 405", code)
	}
	if got := pendingIDs(t, s); strings.Join(got, ",") != "via-webhook,via-root" {
		t.Errorf("stored %v, want via-webhook and via-root", got)
	}
	code, body := get(t, srv, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{
		`fleetbot_webhook_deliveries_total{event="push",result="accepted"} 2`,
		"fleetbot_webhook_queue_depth 2",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}
