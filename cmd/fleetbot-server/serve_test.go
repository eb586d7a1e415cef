package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/cli"
	"github.com/fleetbot/fleetbot/internal/testenv"
)

// TestServeConfigErrors runs serve on broken configuration files, and on
// none: each gives exit status 2 and a message naming the file, the line
// and the field, or the flag.
func TestServeConfigErrors(t *testing.T) {
	t.Parallel()
	cases := []string{
		"", // no --config at all
		"missing.yaml",
		"not-yaml.yaml",
		"missing-fields.yaml",
		"unknown-key.yaml",
		"bad-values.yaml",
		"empty-secret.yaml",
		"dynamodb-no-table.yaml",
	}
	var got strings.Builder
	for _, c := range cases {
		root := newRootCmd()
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		args, name := []string{"serve", "--config", "testdata/serve/" + c}, c
		if c == "" {
			args, name = args[:1], "no --config"
		}
		root.SetArgs(args)
		err := root.ExecuteContext(t.Context())
		require.Error(t, err, name)
		assert.Equal(t, 2, cli.ExitCode(err), name)
		fmt.Fprintf(&got, "== %s\n%s\n", name, err)
	}
	testenv.CheckGolden(t, "serve/errors.txt", got.String())
}

// syncBuffer is a bytes.Buffer safe to write from the command while the
// test reads it.
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

// TestServeStartsAndStops starts serve against a GitHub stand-in that knows
// no installation, checks its probes and metrics, and stops it by cancelling
// its context.
// servedProcess is `fleetbot serve` started by startServe.
type servedProcess struct {
	addr   string // the listen address
	stderr *syncBuffer
	done   chan error // serve's result
	cancel context.CancelFunc
}

// get asks the listen address for path.
func (p servedProcess) get(path string) (int, string) {
	return httpGetAt("http://" + p.addr + path)
}

func httpGetAt(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// startServe runs `fleetbot serve` on a bbolt store against a GitHub that
// answers 404 to everything (calling onGitHub on each request), with extra
// appended to its configuration, and waits until it listens.
func startServe(t *testing.T, extra string, onGitHub func()) servedProcess {
	t.Helper()
	dir, _ := testenv.ServeDir(t, "replicaID: test-replica\n"+extra, onGitHub)
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	p := servedProcess{stderr: &syncBuffer{}, done: make(chan error, 1), cancel: cancel}
	root := newRootCmd()
	root.SetOut(io.Discard)
	root.SetErr(p.stderr)
	root.SetArgs([]string{"serve", "--config", filepath.Join(dir, "fleetbot.yaml")})
	go func() { p.done <- root.ExecuteContext(ctx) }()

	listening := regexp.MustCompile(`listening on (\S+)`)
	require.Eventually(t, func() bool {
		m := listening.FindStringSubmatch(p.stderr.String())
		if m != nil {
			p.addr = m[1]
		}
		return m != nil
	}, 30*time.Second, 20*time.Millisecond, "serve did not start: %s", p.stderr)
	return p
}

func TestServeStartsAndStops(t *testing.T) {
	t.Parallel()
	var ghCalls sync.WaitGroup
	ghCalls.Add(1)
	var once sync.Once
	srv := startServe(t, "", func() { once.Do(ghCalls.Done) })
	addr, stderr, done, cancel := srv.addr, srv.stderr, srv.done, srv.cancel
	get := srv.get
	code, _ := get("/healthz")
	assert.Equal(t, http.StatusOK, code)
	require.Eventually(t, func() bool { c, _ := get("/readyz"); return c == http.StatusOK }, 10*time.Second, 20*time.Millisecond)

	ghCalls.Wait() // the first reconcile pass asked GitHub
	require.Eventually(t, func() bool {
		_, body := get("/metrics")
		return strings.Contains(body, "fleetbot_reconcile_total 1")
	}, 10*time.Second, 20*time.Millisecond)
	_, body := get("/metrics")
	for _, series := range []string{`fleetbot_campaigns{phase="Running"} 0`, "fleetbot_github_requests_total", "go_goroutines"} {
		assert.Contains(t, body, series)
	}

	// The status page answers, naming what it could not read.
	code, body = get("/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "<h1>Fleet status</h1>")
	assert.Contains(t, body, "the fleet could not be read")
	code, body = get("/api/v1/campaigns")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"campaigns": []`)

	// A delivery without a valid signature is refused.
	resp, err := http.Post("http://"+addr+"/webhook", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.NotEqual(t, http.StatusAccepted, resp.StatusCode)
	assert.Less(t, resp.StatusCode, 500)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "stderr: %s", stderr)
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
	_, err = http.Get("http://" + addr + "/healthz")
	assert.Error(t, err, "serve still answers after it stopped")
}

// TestServeMetricsOnItsOwnAddress: with metricsListen, /metrics answers
// there and not on the public listen address, whose other routes stay.
func TestServeMetricsOnItsOwnAddress(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	p := startServe(t, "metricsListen: 127.0.0.1:"+port+"\n", func() {})
	require.Contains(t, p.stderr.String(), "/metrics on 127.0.0.1:"+port)

	code, _ := p.get("/metrics")
	assert.Equal(t, http.StatusNotFound, code, "/metrics is not on the webhook port")
	code, _ = p.get("/healthz")
	assert.Equal(t, http.StatusOK, code)

	metrics := "http://127.0.0.1:" + port
	require.Eventually(t, func() bool {
		_, body := httpGetAt(metrics + "/metrics")
		return strings.Contains(body, "fleetbot_reconcile_total 1")
	}, 10*time.Second, 20*time.Millisecond)
	for _, path := range []string{"/", "/healthz", "/api/v1/campaigns"} {
		code, _ := httpGetAt(metrics + path)
		assert.Equal(t, http.StatusNotFound, code, "%s is not on the metrics port", path)
	}
	code, _ = httpGetAt(metrics + "/webhook")
	assert.Equal(t, http.StatusNotFound, code, "no webhook on the metrics port")

	p.cancel()
	select {
	case err := <-p.done:
		require.NoError(t, err, "stderr: %s", p.stderr)
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
	_, err := http.Get(metrics + "/metrics")
	assert.Error(t, err, "the metrics port still answers after serve stopped")
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	return port
}
