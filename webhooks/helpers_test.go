package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/rollout/store/boltstore"
)

var testSecret = []byte("It's a Secret to Everybody")

// sign returns the X-Hub-Signature-256 value of body under secret.
func sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// pushPayload is a small push event; n makes each one different.
func pushPayload(n int) []byte {
	return fmt.Appendf(nil, `{"ref":"refs/heads/main","before":"b%d","after":"a%d",`+
		`"repository":{"name":"fleet","owner":{"login":"acme"},"default_branch":"main"},`+
		`"installation":{"id":7},"sender":{"login":"dev"},`+
		`"commits":[{"added":["tenants/a/%d.yaml"],"modified":[],"removed":[]}]}`, n, n, n)
}

// request builds a signed delivery of event with the given id and body.
func request(event, id string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-GitHub-Event", event)
	r.Header.Set("X-GitHub-Delivery", id)
	r.Header.Set("X-Hub-Signature-256", sign(testSecret, body))
	return r
}

// serve runs one request through h and returns the answer.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// openStore opens a bbolt store at path and closes it when the test ends.
func openStore(t testing.TB, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func tempStore(t testing.TB) *boltstore.Store {
	t.Helper()
	return openStore(t, filepath.Join(t.TempDir(), "fleetbot.db"))
}

// testLogger writes the intake's logs to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fakeHandler records its calls. fail, when set, decides the answer of
// each call; gate, when set, holds every call until it is closed or the
// call's context ends.
type fakeHandler struct {
	fail func(ev Event, call int) error
	gate chan struct{}

	mu      sync.Mutex
	calls   map[string]int
	running int
	peak    int
	events  []Event
}

func newFakeHandler() *fakeHandler { return &fakeHandler{calls: map[string]int{}} }

func (h *fakeHandler) Handle(ctx context.Context, ev Event) error {
	h.mu.Lock()
	id := ev.Info().Delivery
	h.calls[id]++
	call := h.calls[id]
	h.events = append(h.events, ev)
	h.running++
	h.peak = max(h.peak, h.running)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.running--
		h.mu.Unlock()
	}()
	if h.gate != nil {
		select {
		case <-h.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if h.fail != nil {
		return h.fail(ev, call)
	}
	return nil
}

func (h *fakeHandler) callsOf(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[id]
}

func (h *fakeHandler) total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

func (h *fakeHandler) runningNow() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.running
}

func (h *fakeHandler) peakRunning() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peak
}

// testConfig is a Config for a test: a fresh registry, quick retries.
func testConfig(t testing.TB, s store.Deliveries, h Handler) Config {
	return Config{
		Secret:     testSecret,
		Store:      s,
		Handler:    h,
		Registerer: prometheus.NewRegistry(),
		Logger:     testLogger(t),
		Backoff:    time.Millisecond,
	}
}

// newIntake builds an Intake and shuts it down when the test ends.
func newIntake(t testing.TB, cfg Config) *Intake {
	t.Helper()
	in, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = in.Shutdown(ctx)
	})
	return in
}

// startIntake builds an Intake, starts it and shuts it down when the test
// ends.
func startIntake(t testing.TB, cfg Config) *Intake {
	t.Helper()
	in := newIntake(t, cfg)
	if err := in.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return in
}

// counted returns fleetbot_webhook_deliveries_total{event, result}.
func counted(in *Intake, event, result string) float64 {
	return testutil.ToFloat64(in.metrics.deliveries.WithLabelValues(event, result))
}

// waitFor polls cond until it holds, failing the test after 10 s. It bounds
// a wait on background work; it measures nothing.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func pendingIDs(t testing.TB, s store.Deliveries) []string {
	t.Helper()
	pending, err := s.PendingDeliveries(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range pending {
		ids = append(ids, d.ID)
	}
	return ids
}

// patternReader yields n bytes of a repeating alphabet without holding them.
type patternReader struct {
	left, read int64
}

// alphabetBlock repeats the alphabet; Read copies from it at the offset
// that continues the pattern.
var alphabetBlock = func() []byte {
	b := make([]byte, 26*1024)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}()

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	total := 0
	for len(p) > 0 && r.left > 0 {
		src := alphabetBlock[r.read%26:]
		n := copy(p[:min(int64(len(p)), r.left)], src)
		p = p[n:]
		r.left -= int64(n)
		r.read += int64(n)
		total += n
	}
	return total, nil
}

// signStream returns the signature of the n bytes a patternReader yields.
func signStream(n int64) string {
	mac := hmac.New(sha256.New, testSecret)
	_, _ = io.Copy(mac, &patternReader{left: n})
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
