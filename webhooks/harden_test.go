package webhooks

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawPost opens a connection to addr and sends the head of a POST with the
// given headers; the body is written by the caller on the connection.
func rawPost(t *testing.T, addr, event, id, signature string, length int64) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: fleetbot\r\nContent-Type: application/json\r\nX-GitHub-Event: %s\r\nX-GitHub-Delivery: %s\r\nX-Hub-Signature-256: %s\r\nContent-Length: %d\r\n\r\n",
		event, id, signature, length)
	require.NoError(t, err)
	return c
}

// answer reads the status of the response on c and whether the server
// closed the connection after it.
func answer(t *testing.T, c net.Conn) (int, bool) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Close
}

// post sends a signed delivery through a real HTTP client.
func post(t *testing.T, url, event, id string, body []byte) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/webhook", strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", sign(testSecret, body))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestDrippingBodyIsCutOff: a body that trickles in is answered 408 and
// its connection closed once the body timeout passed, while a delivery
// sent meanwhile is acknowledged at once.
func TestDrippingBodyIsCutOff(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, tempStore(t), newFakeHandler())
	cfg.BodyTimeout = 300 * time.Millisecond
	in := startIntake(t, cfg)
	srv := httptest.NewServer(in)
	t.Cleanup(srv.Close)

	drip := rawPost(t, srv.Listener.Addr().String(), "push", "d-drip", sign(testSecret, []byte("{}")), 1000)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				if _, err := drip.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	defer close(stop)
	assert.Equal(t, http.StatusAccepted, post(t, srv.URL, "push", "d-valid", pushPayload(1)), "a delivery is acknowledged while another drips")
	status, closed := answer(t, drip)
	assert.Equal(t, http.StatusRequestTimeout, status)
	assert.True(t, closed, "the connection of a body too slow is closed")
	assert.Equal(t, 1.0, counted(in, "push", ResultTimeout))
}

// TestTooManyBodiesAtOnce: beyond MaxReads bodies being read at once, a
// request answers 503 at once.
func TestTooManyBodiesAtOnce(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, tempStore(t), newFakeHandler())
	cfg.MaxReads = 2
	in := startIntake(t, cfg)
	srv := httptest.NewServer(in)
	t.Cleanup(srv.Close)
	for i := range 2 {
		rawPost(t, srv.Listener.Addr().String(), "push", fmt.Sprintf("d-slow-%d", i), sign(testSecret, []byte("{}")), 100)
	}
	waitFor(t, "both slow bodies being read", func() bool { return len(in.reads) == 2 })
	assert.Equal(t, http.StatusServiceUnavailable, post(t, srv.URL, "push", "d-third", pushPayload(3)))
	assert.Equal(t, 1.0, counted(in, "push", ResultBusy))
}

// TestLargeBodies: a large body with a forged signature is refused and
// leaves nothing behind; a large signed one is stored whole.
func TestLargeBodies(t *testing.T) {
	t.Parallel()
	s := tempStore(t)
	cfg := testConfig(t, s, newFakeHandler())
	cfg.SpoolDir = t.TempDir()
	in := newIntake(t, cfg) // not started: the delivery stays pending
	srv := httptest.NewServer(in)
	t.Cleanup(srv.Close)

	big := []byte(`{"ref":"refs/heads/main","after":"a","repository":{"name":"fleet","owner":{"login":"acme"},"default_branch":"main"},"installation":{"id":7},"commits":[],"pad":"` +
		strings.Repeat("x", 3*spillAt) + `"}`)
	c := rawPost(t, srv.Listener.Addr().String(), "push", "d-forged", sign([]byte("not the secret"), big), int64(len(big)))
	_, err := c.Write(big)
	require.NoError(t, err)
	status, _ := answer(t, c)
	assert.Equal(t, http.StatusUnauthorized, status)

	assert.Equal(t, http.StatusAccepted, post(t, srv.URL, "push", "d-big", big))
	pending, err := s.PendingDeliveries(t.Context(), 0, 0)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, big, pending[0].Payload, "the spooled body is stored byte for byte")
	left, err := os.ReadDir(cfg.SpoolDir)
	require.NoError(t, err)
	assert.Empty(t, left, "no spooled file is left behind")
}

// TestStalledForgedBodiesHoldLittleMemory: 50 connections that send a few
// bytes and stall, and 24 clients with a forged signature that announce
// 25 MiB, send 24 MiB and stall, leave the heap small (bodies past 256 KiB
// wait on disk until their signature is checked), and signed deliveries
// are acknowledged meanwhile.
func TestStalledForgedBodiesHoldLittleMemory(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, tempStore(t), newFakeHandler())
	cfg.SpoolDir = t.TempDir()
	cfg.BodyTimeout = time.Minute // the test ends them itself
	in := startIntake(t, cfg)
	srv := httptest.NewServer(in)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()

	for i := range 50 {
		c := rawPost(t, addr, "push", fmt.Sprintf("d-slow-%d", i), sign(testSecret, []byte("{}")), 4096)
		_, err := c.Write([]byte(`{"ref":`))
		require.NoError(t, err)
	}
	const sent = 24 << 20
	var wg sync.WaitGroup
	for i := range 24 {
		c := rawPost(t, addr, "push", fmt.Sprintf("d-forged-%d", i), sign([]byte("forged"), nil), MaxBody)
		wg.Go(func() {
			_, _ = io.Copy(c, &patternReader{left: sent})
		})
	}
	wg.Wait()
	waitFor(t, "the forged bodies to be read", func() bool {
		var total int64
		entries, _ := os.ReadDir(cfg.SpoolDir)
		for _, e := range entries {
			if info, err := e.Info(); err == nil {
				total += info.Size()
			}
		}
		return total >= 24*(sent-spillAt)
	})
	for i := range 10 {
		assert.Equal(t, http.StatusAccepted, post(t, srv.URL, "push", fmt.Sprintf("d-valid-%d", i), pushPayload(i)))
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	t.Logf("heap in use with 74 stalled requests (24 x 24 MiB forged bodies read): %d MiB", m.HeapInuse>>20)
	assert.Less(t, m.HeapInuse, uint64(64<<20), "stalled bodies are not held in memory")
}
