package gh

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock whose Sleep records the wait and moves time on at once.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

// newFakeClock starts at the wall clock's second, so that resets the chain
// reads lie in the future for go-github too, which checks them on its own.
func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Now().Truncate(time.Second)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// recorded is one request a fake server received.
type recorded struct {
	Method string
	Path   string // escaped
	Query  string
	Body   string
	Header http.Header
}

// fake is an httptest server that records requests and answers with handle.
type fake struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	handle http.HandlerFunc
}

func newFake(t *testing.T, handle http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: string(body), Header: r.Header.Clone()})
		f.mu.Unlock()
		f.handle(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// tokenClient is a static-token client of f with a fake clock and its own
// metrics.
func tokenClient(t *testing.T, f *fake, edit ...func(*Config)) (*Client, *Metrics, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	m := NewMetrics(nil)
	cfg := Config{BaseURL: f.srv.URL + "/", Metrics: m, Clock: clock}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := NewTokenClient(cfg, "static-token")
	if err != nil {
		t.Fatal(err)
	}
	return c, m, clock
}

// reply writes a JSON answer.
func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

var testKey struct {
	once sync.Once
	key  *rsa.PrivateKey
	pem  []byte
}

// appKey returns an RSA key made for the test binary, and its PEM.
func appKey(t testing.TB) (*rsa.PrivateKey, []byte) {
	t.Helper()
	testKey.once.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey.key = key
		testKey.pem = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	})
	return testKey.key, testKey.pem
}
