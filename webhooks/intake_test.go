package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fleetbot/fleetbot/rollout/store"
)

func TestNewConfig(t *testing.T) {
	t.Parallel()
	s := tempStore(t)
	h := newFakeHandler()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no secret", Config{Store: s, Handler: h}, "webhook secret is empty"},
		{"empty secret", Config{Secret: []byte{}, Store: s, Handler: h}, "webhook secret is empty"},
		{"no store", Config{Secret: testSecret, Handler: h}, "webhook intake: store is nil"},
		{"no handler", Config{Secret: testSecret, Store: s}, "webhook intake: handler is nil"},
		{"negative workers", Config{Secret: testSecret, Store: s, Handler: h, Workers: -1}, "webhook intake: workers -1 is negative"},
		{"negative attempts", Config{Secret: testSecret, Store: s, Handler: h, Attempts: -2}, "webhook intake: attempts -2 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, err := New(tt.cfg)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("New() = %v, %v; want error %q", in, err, tt.want)
			}
		})
	}
}

func TestSignature(t *testing.T) {
	t.Parallel()
	body := pushPayload(1)
	sha1Sig := func(b []byte) string {
		mac := hmac.New(sha1.New, testSecret)
		mac.Write(b)
		return "sha1=" + hex.EncodeToString(mac.Sum(nil))
	}
	tests := []struct {
		name   string
		edit   func(r *http.Request)
		status int
	}{
		{"good", func(*http.Request) {}, http.StatusAccepted},
		{"good, upper-case hex", func(r *http.Request) {
			v := r.Header.Get("X-Hub-Signature-256")
			r.Header.Set("X-Hub-Signature-256", "sha256="+strings.ToUpper(strings.TrimPrefix(v, "sha256=")))
		}, http.StatusAccepted},
		{"good, wrong sha1 beside it is never read", func(r *http.Request) {
			r.Header.Set("X-Hub-Signature", "sha1=0000000000000000000000000000000000000000")
		}, http.StatusAccepted},
		{"other secret", func(r *http.Request) {
			r.Header.Set("X-Hub-Signature-256", sign([]byte("another secret"), body))
		}, http.StatusUnauthorized},
		{"missing", func(r *http.Request) { r.Header.Del("X-Hub-Signature-256") }, http.StatusUnauthorized},
		{"sha1 only", func(r *http.Request) {
			r.Header.Del("X-Hub-Signature-256")
			r.Header.Set("X-Hub-Signature", sha1Sig(body))
		}, http.StatusUnauthorized},
		{"no algorithm prefix", func(r *http.Request) {
			r.Header.Set("X-Hub-Signature-256", strings.TrimPrefix(sign(testSecret, body), "sha256="))
		}, http.StatusUnauthorized},
		{"sha1 algorithm in the sha256 header", func(r *http.Request) {
			r.Header.Set("X-Hub-Signature-256", sha1Sig(body))
		}, http.StatusUnauthorized},
		{"truncated", func(r *http.Request) {
			r.Header.Set("X-Hub-Signature-256", sign(testSecret, body)[:60])
		}, http.StatusUnauthorized},
		{"not hex", func(r *http.Request) {
			r.Header.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("zz", 32))
		}, http.StatusUnauthorized},
		{"altered body", func(r *http.Request) {
			altered := slices.Clone(body)
			altered[len(altered)-3] = '9'
			r.Body = io.NopCloser(strings.NewReader(string(altered)))
		}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tempStore(t)
			cfg := testConfig(t, s, newFakeHandler())
			in := newIntake(t, cfg)
			r := request("push", "d-1", body)
			tt.edit(r)
			w := serve(in, r)
			if w.Code != tt.status {
				t.Fatalf("status = %d %q, want %d", w.Code, w.Body, tt.status)
			}
			stored := len(pendingIDs(t, s))
			rejected := counted(in, "push", ResultBadSignature)
			if tt.status == http.StatusAccepted {
				if stored != 1 || rejected != 0 {
					t.Errorf("stored %d deliveries, counted %v bad signatures; want 1 and 0", stored, rejected)
				}
				return
			}
			if stored != 0 || rejected != 1 {
				t.Errorf("stored %d deliveries, counted %v bad signatures; want 0 and 1", stored, rejected)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		size          int64
		contentLength int64 // -1: unknown, the body streams in
		event         string
		status        int
	}{
		{"exactly 25 MiB, streamed", MaxBody, -1, "workflow_run", http.StatusAccepted},
		{"exactly 25 MiB, declared", MaxBody, MaxBody, "workflow_run", http.StatusAccepted},
		{"25 MiB + 1, streamed", MaxBody + 1, -1, "push", http.StatusRequestEntityTooLarge},
		{"25 MiB + 1, declared", MaxBody + 1, MaxBody + 1, "push", http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newIntake(t, testConfig(t, tempStore(t), newFakeHandler()))
			body := &patternReader{left: tt.size}
			r := httptest.NewRequest(http.MethodPost, "/webhook", io.NopCloser(body))
			r.ContentLength = tt.contentLength
			r.Header.Set("X-GitHub-Event", tt.event)
			r.Header.Set("X-GitHub-Delivery", "big")
			r.Header.Set("X-Hub-Signature-256", signStream(tt.size))
			w := serve(in, r)
			if w.Code != tt.status {
				t.Fatalf("status = %d %q, want %d", w.Code, w.Body, tt.status)
			}
			if tt.status != http.StatusRequestEntityTooLarge {
				return
			}
			// The intake stops reading once the limit is passed, and reads
			// nothing when the declared length is over it.
			wantRead := int64(MaxBody + 1)
			if tt.contentLength > 0 {
				wantRead = 0
			}
			if body.read > wantRead {
				t.Errorf("read %d bytes of the body, want at most %d", body.read, wantRead)
			}
			if got := counted(in, tt.event, ResultTooLarge); got != 1 {
				t.Errorf("too_large count = %v, want 1", got)
			}
		})
	}
}

func TestRefusedRequests(t *testing.T) {
	t.Parallel()
	body := pushPayload(1)
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		want   string
	}{
		{"GET", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/webhook", nil) }, http.StatusMethodNotAllowed, "not allowed"},
		{"PUT", func() *http.Request {
			r := request("push", "d", body)
			r.Method = http.MethodPut
			return r
		}, http.StatusMethodNotAllowed, "not allowed"},
		{"no event header", func() *http.Request {
			r := request("push", "d", body)
			r.Header.Del("X-GitHub-Event")
			return r
		}, http.StatusBadRequest, "X-GitHub-Event is missing"},
		{"no delivery header", func() *http.Request {
			r := request("push", "d", body)
			r.Header.Del("X-GitHub-Delivery")
			return r
		}, http.StatusBadRequest, "X-GitHub-Delivery is missing"},
		{"delivery id too long", func() *http.Request {
			return request("push", strings.Repeat("x", 257), body)
		}, http.StatusBadRequest, "longer than 256"},
		{"payload does not decode", func() *http.Request {
			return request("push", "d", []byte(`{"ref": 7}`))
		}, http.StatusBadRequest, "push delivery d: field ref: is a JSON number, want string"},
		{"payload is not JSON", func() *http.Request {
			return request("pull_request", "d", []byte(`<html>`))
		}, http.StatusBadRequest, "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tempStore(t)
			in := newIntake(t, testConfig(t, s, newFakeHandler()))
			w := serve(in, tt.req())
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
				t.Fatalf("answer = %d %q, want %d containing %q", w.Code, w.Body, tt.status, tt.want)
			}
			if tt.status == http.StatusMethodNotAllowed && w.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", w.Header().Get("Allow"))
			}
			if ids := pendingIDs(t, s); len(ids) != 0 {
				t.Errorf("stored %v", ids)
			}
		})
	}
}

func TestPingAndUnhandled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		event  string
		status int
		body   string
	}{
		{"ping", http.StatusOK, "pong\n"},
		{"workflow_run", http.StatusAccepted, "event not handled\n"},
		{"issues", http.StatusAccepted, "event not handled\n"},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			t.Parallel()
			s := tempStore(t)
			h := newFakeHandler()
			in := startIntake(t, testConfig(t, s, h))
			w := serve(in, request(tt.event, "d-1", []byte(`{"zen":"Keep it logically awesome."}`)))
			if w.Code != tt.status || w.Body.String() != tt.body {
				t.Fatalf("answer = %d %q, want %d %q", w.Code, w.Body, tt.status, tt.body)
			}
			if ids := pendingIDs(t, s); len(ids) != 0 {
				t.Errorf("stored %v", ids)
			}
			label := tt.event
			if label != "ping" {
				label = otherEvent // events not acted on share one label
			}
			if got := counted(in, label, ResultUnhandled); got != 1 {
				t.Errorf("unhandled count of %s = %v, want 1", label, got)
			}
			if err := in.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			if h.total() != 0 {
				t.Errorf("handler called %d times", h.total())
			}
		})
	}
}

func TestDuplicateHandledOnce(t *testing.T) {
	t.Parallel()
	s := tempStore(t)
	h := newFakeHandler()
	in := startIntake(t, testConfig(t, s, h))
	body := pushPayload(1)
	if w := serve(in, request("push", "dup", body)); w.Code != http.StatusAccepted || w.Body.String() != "accepted\n" {
		t.Fatalf("first answer = %d %q, want 202 accepted", w.Code, w.Body)
	}
	waitFor(t, "the first copy is processed", func() bool { return len(pendingIDs(t, s)) == 0 })
	for range 2 {
		if w := serve(in, request("push", "dup", body)); w.Code != http.StatusOK || w.Body.String() != "duplicate\n" {
			t.Fatalf("repeated answer = %d %q, want 200 duplicate", w.Code, w.Body)
		}
	}
	if err := in.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := h.callsOf("dup"); n != 1 {
		t.Errorf("Handle called %d times for one delivery, want 1", n)
	}
	if got := counted(in, "push", ResultDuplicate); got != 2 {
		t.Errorf("duplicate count = %v, want 2", got)
	}
}

// failingStore fails every write.
type failingStore struct{ store.Deliveries }

func (failingStore) PutDelivery(context.Context, string, string, []byte, time.Time) (bool, error) {
	return false, errors.New("disk full")
}

// orderStore records whether the delivery was stored before the intake
// wrote its answer.
type orderStore struct {
	store.Deliveries
	w      *httptest.ResponseRecorder
	stored atomic.Bool
	early  atomic.Bool // the answer was written before the store returned
}

func (s *orderStore) PutDelivery(ctx context.Context, id, event string, payload []byte, received time.Time) (bool, error) {
	if s.w.Code != http.StatusOK || s.w.Body.Len() > 0 || len(s.w.Header()) > 0 {
		s.early.Store(true)
	}
	isNew, err := s.Deliveries.PutDelivery(ctx, id, event, payload, received)
	s.stored.Store(err == nil)
	return isNew, err
}

func TestStoredBeforeAnswer(t *testing.T) {
	t.Parallel()
	t.Run("store fails", func(t *testing.T) {
		t.Parallel()
		h := newFakeHandler()
		in := startIntake(t, testConfig(t, failingStore{tempStore(t)}, h))
		w := serve(in, request("push", "d-1", pushPayload(1)))
		if w.Code != http.StatusInternalServerError {
			t.Fatalf("answer = %d %q, want 500", w.Code, w.Body)
		}
		if err := in.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		if h.total() != 0 {
			t.Errorf("an unstored delivery was handled")
		}
		if got := counted(in, "push", ResultAccepted); got != 0 {
			t.Errorf("accepted count = %v, want 0", got)
		}
		if got := counted(in, "push", ResultStoreError); got != 1 {
			t.Errorf("store_error count = %v, want 1", got)
		}
		if n := testutil.CollectAndCount(in.metrics.ack); n != 0 {
			t.Errorf("a 500 was observed as an acknowledgement (%d histograms)", n)
		}
	})
	t.Run("stored, then answered", func(t *testing.T) {
		t.Parallel()
		w := httptest.NewRecorder()
		s := &orderStore{Deliveries: tempStore(t), w: w}
		in := newIntake(t, testConfig(t, s, newFakeHandler()))
		in.ServeHTTP(w, request("push", "d-1", pushPayload(1)))
		if w.Code != http.StatusAccepted {
			t.Fatalf("answer = %d %q, want 202", w.Code, w.Body)
		}
		if !s.stored.Load() || s.early.Load() {
			t.Errorf("stored = %v, answered before storing = %v; want stored first", s.stored.Load(), s.early.Load())
		}
		if ids := pendingIDs(t, s); !slices.Equal(ids, []string{"d-1"}) {
			t.Errorf("pending = %v, want [d-1]", ids)
		}
	})
}

func TestRestartProcessesPending(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// first runs the first intake on s: it stores the deliveries and
		// must stop without processing them.
		first func(t *testing.T, s store.Deliveries, ids []string)
	}{
		{"handler fails", func(t *testing.T, s store.Deliveries, ids []string) {
			h := newFakeHandler()
			h.fail = func(Event, int) error { return errors.New("GitHub is down") }
			cfg := testConfig(t, s, h)
			cfg.Attempts = 2
			in := startIntake(t, cfg)
			postAll(t, in, ids)
			waitFor(t, "every delivery failed", func() bool {
				return counted(in, "push", ResultFailed) == float64(len(ids))
			})
			if err := in.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			if h.total() != 2*len(ids) {
				t.Errorf("Handle called %d times, want %d (2 attempts each)", h.total(), 2*len(ids))
			}
		}},
		{"handler blocks past the shutdown deadline", func(t *testing.T, s store.Deliveries, ids []string) {
			h := newFakeHandler()
			h.gate = make(chan struct{}) // never opened
			cfg := testConfig(t, s, h)
			cfg.Workers = 2
			in := startIntake(t, cfg)
			postAll(t, in, ids)
			waitFor(t, "both workers are busy", func() bool { return h.runningNow() == 2 })
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			err := in.Shutdown(ctx)
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), fmt.Sprintf("%d deliveries left pending", len(ids))) {
				t.Fatalf("Shutdown() = %v, want the deadline and %d left pending", err, len(ids))
			}
		}},
		{"never started", func(t *testing.T, s store.Deliveries, ids []string) {
			in := newIntake(t, testConfig(t, s, newFakeHandler()))
			postAll(t, in, ids)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "fleetbot.db")
			ids := []string{"r-1", "r-2", "r-3"}
			s1 := openStore(t, path)
			tt.first(t, s1, ids)
			if got := pendingIDs(t, s1); !slices.Equal(got, ids) {
				t.Fatalf("pending after the first intake = %v, want %v", got, ids)
			}
			if err := s1.Close(); err != nil {
				t.Fatal(err)
			}

			s2 := openStore(t, path)
			h := newFakeHandler()
			in := startIntake(t, testConfig(t, s2, h))
			if err := in.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := pendingIDs(t, s2); len(got) != 0 {
				t.Errorf("pending after the restart = %v, want none", got)
			}
			for _, id := range ids {
				if n := h.callsOf(id); n != 1 {
					t.Errorf("Handle called %d times for %s, want 1", n, id)
				}
			}
		})
	}
}

func postAll(t *testing.T, h http.Handler, ids []string) {
	t.Helper()
	for i, id := range ids {
		if w := serve(h, request("push", id, pushPayload(i))); w.Code != http.StatusAccepted {
			t.Fatalf("POST %s = %d %q, want 202", id, w.Code, w.Body)
		}
	}
}

func TestShutdownDrains(t *testing.T) {
	t.Parallel()
	s := tempStore(t)
	h := newFakeHandler()
	h.gate = make(chan struct{})
	cfg := testConfig(t, s, h)
	cfg.Workers = 2
	in := startIntake(t, cfg)
	var ids []string
	for i := range 10 {
		ids = append(ids, fmt.Sprintf("drain-%d", i))
	}
	postAll(t, in, ids)
	waitFor(t, "both workers are busy", func() bool { return h.runningNow() == 2 })

	done := make(chan error, 1)
	go func() { done <- in.Shutdown(t.Context()) }()
	waitFor(t, "the intake is shutting down", func() bool { return in.Ready() != nil })
	if w := serve(in, request("push", "late", pushPayload(99))); w.Code != http.StatusServiceUnavailable {
		t.Errorf("answer during shutdown = %d %q, want 503", w.Code, w.Body)
	}
	close(h.gate)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown() = %v", err)
	}
	for _, id := range ids {
		if n := h.callsOf(id); n != 1 {
			t.Errorf("Handle called %d times for %s, want 1", n, id)
		}
	}
	if got := pendingIDs(t, s); len(got) != 0 {
		t.Errorf("pending after a drained shutdown = %v", got)
	}
	if h.callsOf("late") != 0 {
		t.Error("a delivery refused during shutdown was handled")
	}
}

func TestWorkerPoolBound(t *testing.T) {
	t.Parallel()
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			t.Parallel()
			s := tempStore(t)
			h := newFakeHandler()
			h.gate = make(chan struct{})
			cfg := testConfig(t, s, h)
			cfg.Workers = workers
			in := startIntake(t, cfg)
			var ids []string
			for i := range 12 {
				ids = append(ids, fmt.Sprintf("pool-%d", i))
			}
			postAll(t, in, ids)
			waitFor(t, "every worker is busy", func() bool { return h.runningNow() == workers })
			close(h.gate)
			if err := in.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			if h.total() != len(ids) {
				t.Errorf("handled %d deliveries, want %d", h.total(), len(ids))
			}
			if peak := h.peakRunning(); peak != workers {
				t.Errorf("at most %d Handle calls ran at once, want %d", peak, workers)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	t.Run("succeeds on the last attempt", func(t *testing.T) {
		t.Parallel()
		s := tempStore(t)
		h := newFakeHandler()
		h.fail = func(_ Event, call int) error {
			if call < 3 {
				return fmt.Errorf("attempt %d: rate limited", call)
			}
			return nil
		}
		in := startIntake(t, testConfig(t, s, h))
		postAll(t, in, []string{"flaky"})
		if err := in.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := h.callsOf("flaky"); n != 3 {
			t.Errorf("Handle called %d times, want 3", n)
		}
		if got := pendingIDs(t, s); len(got) != 0 {
			t.Errorf("pending = %v, want none", got)
		}
	})
	t.Run("gives up, then Retry queues it again", func(t *testing.T) {
		t.Parallel()
		s := tempStore(t)
		h := newFakeHandler()
		var down atomic.Bool
		down.Store(true)
		h.fail = func(Event, int) error {
			if down.Load() {
				return errors.New("GitHub is down")
			}
			return nil
		}
		in := startIntake(t, testConfig(t, s, h))
		postAll(t, in, []string{"later"})
		failed := func() float64 { return counted(in, "push", ResultFailed) }
		waitFor(t, "the delivery failed", func() bool { return failed() == 1 })
		if n := h.callsOf("later"); n != DefaultAttempts {
			t.Errorf("Handle called %d times, want %d", n, DefaultAttempts)
		}
		if got := pendingIDs(t, s); !slices.Equal(got, []string{"later"}) {
			t.Fatalf("pending = %v, want [later]", got)
		}
		down.Store(false)
		n, err := in.Retry(t.Context())
		if err != nil || n != 1 {
			t.Fatalf("Retry() = %d, %v; want 1", n, err)
		}
		waitFor(t, "the retried delivery is processed", func() bool { return len(pendingIDs(t, s)) == 0 })
		if n := h.callsOf("later"); n != DefaultAttempts+1 {
			t.Errorf("Handle called %d times, want %d", n, DefaultAttempts+1)
		}
	})
	t.Run("a panic is a failure", func(t *testing.T) {
		t.Parallel()
		s := tempStore(t)
		h := newFakeHandler()
		h.fail = func(Event, int) error { panic("nil map") }
		cfg := testConfig(t, s, h)
		cfg.Attempts = 1
		var logs bytes.Buffer
		// The handler writes a line at a time under its lock; logs is read
		// once the workers stopped.
		cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		in := startIntake(t, cfg)
		postAll(t, in, []string{"boom"})
		if err := in.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := pendingIDs(t, s); !slices.Equal(got, []string{"boom"}) {
			t.Errorf("pending = %v, want [boom]", got)
		}
		// The log says where: the panic and the handler's frame.
		var logged bool
		for line := range strings.SplitSeq(logs.String(), "\n") {
			if strings.Contains(line, `"msg":"webhook handler panicked"`) {
				logged = true
				if !strings.Contains(line, `"panic":"nil map"`) || !strings.Contains(line, "fakeHandler).Handle") {
					t.Errorf("the panic's log line has no panic or stack: %s", line)
				}
			}
		}
		if !logged {
			t.Errorf("no log line of the panic in:\n%s", logs.String())
		}
	})
	t.Run("each call has its own deadline", func(t *testing.T) {
		t.Parallel()
		s := tempStore(t)
		h := newFakeHandler()
		h.gate = make(chan struct{}) // never opened: only the timeout ends a call
		cfg := testConfig(t, s, h)
		cfg.HandleTimeout = 10 * time.Millisecond
		cfg.Attempts = 2
		in := startIntake(t, cfg)
		postAll(t, in, []string{"slow"})
		waitFor(t, "the delivery failed", func() bool {
			return counted(in, "push", ResultFailed) == 1
		})
		if n := h.callsOf("slow"); n != 2 {
			t.Errorf("Handle called %d times, want 2", n)
		}
	})
}

// TestOneWorkerPerDelivery checks that a delivery being handled is not
// queued again by Retry or handed to a second worker.
func TestOneWorkerPerDelivery(t *testing.T) {
	t.Parallel()
	s := tempStore(t)
	h := newFakeHandler()
	h.gate = make(chan struct{})
	cfg := testConfig(t, s, h)
	cfg.Workers = 4
	in := startIntake(t, cfg)
	postAll(t, in, []string{"only"})
	waitFor(t, "the delivery is being handled", func() bool { return h.runningNow() == 1 })
	for range 3 {
		if n, err := in.Retry(t.Context()); err != nil || n != 0 {
			t.Fatalf("Retry() = %d, %v; want 0 queued", n, err)
		}
	}
	close(h.gate)
	if err := in.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := h.callsOf("only"); n != 1 {
		t.Errorf("Handle called %d times, want 1", n)
	}
}

// TestQueueOverflow checks that deliveries that do not fit in the queue stay
// stored and are handled once the queue runs dry.
func TestQueueOverflow(t *testing.T) {
	t.Parallel()
	s := tempStore(t)
	h := newFakeHandler()
	h.gate = make(chan struct{})
	cfg := testConfig(t, s, h)
	cfg.Workers = 1
	cfg.QueueSize = 2
	in := startIntake(t, cfg)
	var ids []string
	for i := range 8 {
		ids = append(ids, fmt.Sprintf("over-%d", i))
	}
	postAll(t, in, ids[:1])
	waitFor(t, "the worker is busy", func() bool { return h.runningNow() == 1 })
	postAll(t, in, ids[1:])
	if got := testutil.ToFloat64(in.metrics.queueDepth); got != 2 {
		t.Errorf("queue depth = %v, want 2", got)
	}
	close(h.gate)
	waitFor(t, "every delivery is processed", func() bool { return len(pendingIDs(t, s)) == 0 })
	for _, id := range ids {
		if n := h.callsOf(id); n != 1 {
			t.Errorf("Handle called %d times for %s, want 1", n, id)
		}
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	s := tempStore(t)
	h := newFakeHandler()
	h.fail = func(ev Event, _ int) error {
		if ev.Info().Delivery == "bad" {
			return errors.New("no")
		}
		return nil
	}
	reg := prometheus.NewRegistry()
	cfg := testConfig(t, s, h)
	cfg.Registerer = reg
	cfg.Attempts = 1
	in := newIntake(t, cfg)

	postAll(t, in, []string{"ok-1", "ok-2", "bad"})
	serve(in, request("push", "ok-1", pushPayload(0)))
	serve(in, request("ping", "p", []byte(`{}`)))
	serve(in, request("workflow_job", "wj", []byte(`{}`)))
	forged := request("pull_request", "f", []byte(`{}`))
	forged.Header.Set("X-Hub-Signature-256", sign([]byte("guess"), []byte(`{}`)))
	serve(in, forged)
	forgedOther := request("made_up_event", "f2", []byte(`{}`))
	forgedOther.Header.Set("X-Hub-Signature-256", sign([]byte("guess"), []byte(`{}`)))
	serve(in, forgedOther)
	big := request("push", "big", nil)
	big.ContentLength = MaxBody + 1
	serve(in, big)
	serve(in, request("push", "m", []byte(`{"ref":1}`)))
	if got := testutil.ToFloat64(in.metrics.queueDepth); got != 3 {
		t.Errorf("queue depth before Start = %v, want 3", got)
	}

	if err := in.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := in.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP fleetbot_webhook_deliveries_total Webhook deliveries by event and result: accepted, duplicate, unhandled, bad_signature, too_large, timeout, busy, malformed, store_error, processed, failed.
# TYPE fleetbot_webhook_deliveries_total counter
fleetbot_webhook_deliveries_total{event="other",result="bad_signature"} 1
fleetbot_webhook_deliveries_total{event="other",result="unhandled"} 1
fleetbot_webhook_deliveries_total{event="ping",result="unhandled"} 1
fleetbot_webhook_deliveries_total{event="pull_request",result="bad_signature"} 1
fleetbot_webhook_deliveries_total{event="push",result="accepted"} 3
fleetbot_webhook_deliveries_total{event="push",result="duplicate"} 1
fleetbot_webhook_deliveries_total{event="push",result="failed"} 1
fleetbot_webhook_deliveries_total{event="push",result="malformed"} 1
fleetbot_webhook_deliveries_total{event="push",result="processed"} 2
fleetbot_webhook_deliveries_total{event="push",result="too_large"} 1
# HELP fleetbot_webhook_queue_depth Stored deliveries waiting in the queue for a worker.
# TYPE fleetbot_webhook_queue_depth gauge
fleetbot_webhook_queue_depth 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"fleetbot_webhook_deliveries_total", "fleetbot_webhook_queue_depth"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(in.metrics.processing, "fleetbot_webhook_processing_seconds"); n != 1 {
		t.Errorf("processing histograms = %d, want 1 (push)", n)
	}
	count, err := histogramCount(reg, "fleetbot_webhook_processing_seconds", "event", "push")
	if err != nil || count != 3 {
		t.Errorf("processing observations of push = %d, %v; want 3", count, err)
	}
	// Answered 2xx: three accepted, one duplicate, the ping and the
	// workflow_job unhandled; the refusals are not acknowledgements.
	if n := testutil.CollectAndCount(in.metrics.ack, "fleetbot_webhook_ack_seconds"); n != 3 {
		t.Errorf("acknowledgement histograms = %d, want 3 (accepted, duplicate, unhandled)", n)
	}
	for result, want := range map[string]uint64{ResultAccepted: 3, ResultDuplicate: 1, ResultUnhandled: 2} {
		count, err := histogramCount(reg, "fleetbot_webhook_ack_seconds", "result", result)
		if err != nil || count != want {
			t.Errorf("acknowledgements of %s = %d, %v; want %d", result, count, err, want)
		}
	}
}

// histogramCount returns how many observations the histogram name holds
// where label is value.
func histogramCount(g prometheus.Gatherer, name, label, value string) (uint64, error) {
	families, err := g.Gather()
	if err != nil {
		return 0, err
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetHistogram().GetSampleCount(), nil
				}
			}
		}
	}
	return 0, fmt.Errorf("no %s{%s=%q}", name, label, value)
}

func TestStartTwice(t *testing.T) {
	t.Parallel()
	in := startIntake(t, testConfig(t, tempStore(t), newFakeHandler()))
	if err := in.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "already started") {
		t.Errorf("second Start() = %v, want already started", err)
	}
	if err := in.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := in.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "already shut down") {
		t.Errorf("Start() after Shutdown = %v, want already shut down", err)
	}
}

// TestStartContextDoesNotStopWorkers checks that cancelling Start's context,
// as a signal handler does, leaves the draining to Shutdown.
func TestStartContextDoesNotStopWorkers(t *testing.T) {
	t.Parallel()
	s := tempStore(t)
	h := newFakeHandler()
	h.gate = make(chan struct{})
	in := newIntake(t, testConfig(t, s, h))
	ctx, cancel := context.WithCancel(t.Context())
	if err := in.Start(ctx); err != nil {
		t.Fatal(err)
	}
	postAll(t, in, []string{"sig-1", "sig-2"})
	waitFor(t, "both deliveries are being handled", func() bool { return h.runningNow() == 2 })
	cancel()
	close(h.gate)
	if err := in.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := pendingIDs(t, s); len(got) != 0 {
		t.Errorf("pending = %v, want none: the handlers' contexts ended with Start's", got)
	}
}

// gatedHandler counts its calls by delivery and holds the deliveries it has
// a gate for until the gate closes.
type gatedHandler struct {
	gates map[string]chan struct{}
	mu    sync.Mutex
	calls map[string]int
}

func (h *gatedHandler) Handle(ctx context.Context, ev Event) error {
	id := ev.Info().Delivery
	h.mu.Lock()
	h.calls[id]++
	h.mu.Unlock()
	if g, ok := h.gates[id]; ok {
		select {
		case <-g:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (h *gatedHandler) callsOf(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[id]
}

// staleStore answers the workers' first read of the pending deliveries, once
// armed, with the list as it was before race ran.
type staleStore struct {
	store.Deliveries
	armed atomic.Bool
	race  func()
}

func (s *staleStore) PendingDeliveries(ctx context.Context, after uint64, limit int) ([]store.Delivery, error) {
	pending, err := s.Deliveries.PendingDeliveries(ctx, after, limit)
	if s.armed.CompareAndSwap(true, false) {
		s.race()
	}
	return pending, err
}

// TestOverflowWhileHandling overflows the queue while a delivery is being
// handled, and lets it finish between the workers' read of the pending
// deliveries and their queueing of what they read: it is handled once.
func TestOverflowWhileHandling(t *testing.T) {
	t.Parallel()
	h := &gatedHandler{gates: map[string]chan struct{}{"x": make(chan struct{}), "y": make(chan struct{})}, calls: map[string]int{}}
	s := &staleStore{Deliveries: tempStore(t)}
	cfg := testConfig(t, s, h)
	cfg.Workers = 2
	cfg.QueueSize = 1
	in := startIntake(t, cfg)
	s.race = func() {
		// x, still pending in the list just read, finishes now.
		close(h.gates["x"])
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			in.mu.Lock()
			active := in.active["x"]
			in.mu.Unlock()
			if !active {
				return
			}
			if time.Now().After(deadline) {
				t.Error("x was not let go within 10 s")
				return
			}
		}
	}

	postAll(t, in, []string{"x"})
	waitFor(t, "x is being handled", func() bool { return h.callsOf("x") == 1 })
	postAll(t, in, []string{"y"})
	waitFor(t, "y is being handled", func() bool { return h.callsOf("y") == 1 })
	postAll(t, in, []string{"z", "w"}) // z fills the queue, w is left in the store
	s.armed.Store(true)
	close(h.gates["y"]) // the worker takes z, then reads the store for w

	waitFor(t, "every delivery is processed", func() bool { return len(pendingIDs(t, s.Deliveries)) == 0 && h.callsOf("w") == 1 })
	waitFor(t, "the workers are idle", func() bool { in.mu.Lock(); defer in.mu.Unlock(); return len(in.active) == 0 })
	for _, id := range []string{"x", "y", "z", "w"} {
		if n := h.callsOf(id); n != 1 {
			t.Errorf("Handle called %d times for %s, want 1", n, id)
		}
	}
	if s.armed.Load() {
		t.Error("the workers did not read the store while x was being handled")
	}
}

// pagingStore records the largest list of pending deliveries it returned.
type pagingStore struct {
	store.Deliveries
	mu      sync.Mutex
	largest int
	reads   int
}

func (s *pagingStore) PendingDeliveries(ctx context.Context, after uint64, limit int) ([]store.Delivery, error) {
	pending, err := s.Deliveries.PendingDeliveries(ctx, after, limit)
	s.mu.Lock()
	s.largest = max(s.largest, len(pending))
	s.reads++
	s.mu.Unlock()
	return pending, err
}

// TestBacklogReadByPage starts the intake on a store holding a backlog of
// 600 deliveries, with a queue of 4: they are handled once each, and the
// store is never asked for more than a page of them at once.
func TestBacklogReadByPage(t *testing.T) {
	t.Parallel()
	inner := tempStore(t)
	const backlog = 600
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for i := range backlog {
		_, err := inner.PutDelivery(t.Context(), fmt.Sprintf("b-%03d", i), "push", pushPayload(i), at)
		if err != nil {
			t.Fatal(err)
		}
	}
	s := &pagingStore{Deliveries: inner}
	h := newFakeHandler()
	cfg := testConfig(t, s, h)
	cfg.Workers = 2
	cfg.QueueSize = 4
	startIntake(t, cfg)
	waitFor(t, "the backlog is processed", func() bool { return len(pendingIDs(t, inner)) == 0 })
	for i := range backlog {
		if n := h.callsOf(fmt.Sprintf("b-%03d", i)); n != 1 {
			t.Errorf("Handle called %d times for b-%03d, want 1", n, i)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.largest > loadPage {
		t.Errorf("the store returned %d pending deliveries at once, more than a page (%d)", s.largest, loadPage)
	}
	t.Logf("%d reads of the store, at most %d deliveries each", s.reads, s.largest)
}

// screeningHandler ignores, before decoding, the deliveries of one event.
type screeningHandler struct {
	*fakeHandler
	ignore string
}

func (h screeningHandler) Ignores(_ context.Context, event string, _ []byte) bool {
	return event == h.ignore
}

// TestScreenedDeliveries: a delivery the handler screens out is marked
// processed without being decoded or handled; the others are handled.
func TestScreenedDeliveries(t *testing.T) {
	t.Parallel()
	s := tempStore(t)
	h := screeningHandler{newFakeHandler(), "push"}
	in := startIntake(t, testConfig(t, s, h))
	if w := serve(in, request("push", "screened", pushPayload(1))); w.Code != http.StatusAccepted {
		t.Fatalf("push answered %d %q", w.Code, w.Body)
	}
	if w := serve(in, request("status", "handled", []byte(`{"sha":"abc","state":"success","context":"ci","repository":{"name":"fleet","owner":{"login":"acme"}}}`))); w.Code != http.StatusAccepted {
		t.Fatalf("status answered %d %q", w.Code, w.Body)
	}
	waitFor(t, "both are processed", func() bool { return len(pendingIDs(t, s)) == 0 })
	if err := in.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := h.callsOf("screened"); n != 0 {
		t.Errorf("the screened delivery was handled %d times", n)
	}
	if n := h.callsOf("handled"); n != 1 {
		t.Errorf("the other delivery was handled %d times, want 1", n)
	}
	if got := counted(in, "push", ResultProcessed); got != 1 {
		t.Errorf("processed count of push = %v, want 1", got)
	}
}
