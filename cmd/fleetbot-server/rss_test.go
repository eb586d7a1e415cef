package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
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
	srv := testenv.StartServe(t, testenv.BuildFleetbot(t), "")
	addr, secret := srv.Addr, srv.Secret
	before := testenv.ProcStatus(t, srv.PID, "VmRSS")

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

	peak := testenv.ProcStatus(t, srv.PID, "VmHWM")
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
