package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/webhooks"
)

// TestServeRSSUnderStalledBodies runs `fleetbot serve` as its own process,
// built as it ships (no race detector), and holds 50 connections that
// dribble a body and 24 that each send 24 MiB of a forged 25 MiB delivery
// and stall, while signed deliveries keep coming. The process's peak
// resident memory (VmHWM) stays under 100 MiB, and every signed delivery
// is acknowledged.
func TestServeRSSUnderStalledBodies(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "fleetbot")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	github := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message":"Not Found"}`)
	}))
	t.Cleanup(github.Close)
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600))
	secret := []byte("s3cret")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret"), secret, 0o600))
	cfg := fmt.Sprintf(`appID: 42
privateKeyFile: key.pem
webhookSecretFile: secret
apiBaseURL: %s/
listen: 127.0.0.1:0
store: {bolt: {path: state.db}}
mirrorDir: mirror
campaigns: {repository: acme/fleet, path: campaigns}
repositories: [acme/fleet]
reconcileInterval: 1h
`, github.URL)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fleetbot.yaml"), []byte(cfg), 0o600))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--config", filepath.Join(dir, "fleetbot.yaml"))
	cmd.Env = append(os.Environ(), "TMPDIR="+dir) // the spooled bodies
	var stderr syncBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	listening := regexp.MustCompile(`listening on (\S+)`)
	var addr string
	require.Eventually(t, func() bool {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	}, time.Minute, 20*time.Millisecond, "serve did not start: %s", &stderr)
	before := testenv.ProcStatus(t, cmd.Process.Pid, "VmRSS")

	// 50 connections that announce a small body and send a few bytes.
	for i := range 50 {
		c := openDelivery(t, addr, fmt.Sprintf("slow-%d", i), "sha256="+strings.Repeat("0", 64), 4096)
		_, err := c.Write([]byte(`{"ref":`))
		require.NoError(t, err)
	}
	// 24 that announce 25 MiB under a forged signature, send 24 MiB and
	// stall until serve cuts them off.
	const sent = 24 << 20
	var forged sync.WaitGroup
	var whole atomic.Int32 // forged bodies sent up to their stall
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = 'a'
	}
	for i := range 24 {
		c := openDelivery(t, addr, fmt.Sprintf("forged-%d", i), "sha256="+strings.Repeat("f", 64), webhooks.MaxBody)
		forged.Go(func() {
			for left := sent; left > 0; left -= len(chunk) {
				if _, err := c.Write(chunk); err != nil {
					return // cut off
				}
			}
			whole.Add(1)
			// Stalled: the next thing on the connection is serve's
			// answer, once its body deadline passed.
			_ = c.SetReadDeadline(time.Now().Add(time.Minute))
			_, _ = http.ReadResponse(bufio.NewReader(c), nil)
		})
	}
	// Signed deliveries meanwhile: each is acknowledged.
	for i := range 20 {
		body := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/webhook", strings.NewReader(string(body)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "ping")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("valid-%d", i))
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "a signed ping during the load")
	}
	forged.Wait() // each forged body was answered (or its connection closed)
	require.Equal(t, int32(24), whole.Load(), "serve read each forged body up to its stall")

	peak := testenv.ProcStatus(t, cmd.Process.Pid, "VmHWM")
	t.Logf("serve's resident memory: %d MiB at start, %d MiB at its peak under 74 stalled requests (24 x 24 MiB forged)", before>>10, peak>>10)
	assert.Less(t, peak, int64(100<<10), "peak RSS in KiB: stalled bodies are not held in memory")
}

// openDelivery opens a connection and sends the headers of a webhook
// delivery announcing length bytes.
func openDelivery(t *testing.T, addr, id, signature string, length int64) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: fleetbot\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: %s\r\nX-Hub-Signature-256: %s\r\nContent-Length: %d\r\n\r\n",
		id, signature, length)
	require.NoError(t, err)
	return c
}
