package ghcontract

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reports collects what Middleware and Transport report.
type reports struct {
	mu   sync.Mutex
	errs []error
}

func (r *reports) add(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *reports) take() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.errs
	r.errs = nil
	return out
}

// sandbox is a tiny stand-in for GitHub: one good route, one that answers
// with a bad body, one that echoes the request body, and git smart HTTP.
func sandbox(t *testing.T, pull []byte) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3/repos/{owner}/{repo}/pulls/{n}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-Sandbox", "1")
		if r.PathValue("n") == "2" {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"number":"two"}`))
			return
		}
		_, _ = w.Write(pull)
	})
	mux.HandleFunc("POST /api/v3/repos/{owner}/{repo}/git/blobs", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if !assert.NoError(t, err) || !assert.Contains(t, string(body), `"content"`) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"url":"https://api.github.com/repos/o/r/git/blobs/3a0f86fb8db8eea7ccbb9a95f325ddbedfb25e15","sha":"3a0f86fb8db8eea7ccbb9a95f325ddbedfb25e15"}`))
	})
	mux.HandleFunc("GET /o/r.git/info/refs", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
		_, _ = w.Write([]byte("001e# service=git-upload-pack\n"))
	})
	return mux
}

func skipGit(r *http.Request) bool { return strings.Contains(r.URL.Path, ".git/") }

// exchanges are the calls both TestMiddleware and TestTransport make, and
// what each must report.
var exchanges = []struct {
	name, method, path, body string
	status                   int
	report                   string // "" for none; else a piece of the one report
}{
	{"good response", "GET", "/api/v3/repos/o/r/pulls/1", "", 200, ""},
	{"bad response", "GET", "/api/v3/repos/o/r/pulls/2", "", 200, "response body /number: got string, want integer"},
	{"request body reaches the handler", "POST", "/api/v3/repos/o/r/git/blobs", `{"content":"aGk=","encoding":"base64"}`, 201, ""},
	{"bad request body", "POST", "/api/v3/repos/o/r/git/blobs", `{"content":"aGk=","encoding":7}`, 201, "request body /encoding: got number, want string"},
	{"skipped route", "GET", "/o/r.git/info/refs", "", 200, ""},
	{"unknown route reported once", "GET", "/api/v3/nonsense", "", 404, "GET /api/v3/nonsense: GitHub documents no operation"},
	{"outside the prefix", "GET", "/repos/o/r/pulls/1", "", 404, "outside the API prefix /api/v3"},
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	s := Default(t, WithPrefix("/api/v3"), WithSkip(skipGit))
	pull := edit(t, validPull(t, s), "", nil)
	var got reports
	srv := httptest.NewServer(s.Middleware(sandbox(t, pull), got.add))
	t.Cleanup(srv.Close)
	for _, ex := range exchanges {
		t.Run(ex.name, func(t *testing.T) {
			resp, body := exchange(t, srv.Client(), srv.URL, ex.method, ex.path, ex.body, true)
			assert.Equal(t, ex.status, resp.StatusCode)
			assertReports(t, got.take(), ex.report)
			if ex.path == "/api/v3/repos/o/r/pulls/1" {
				assert.Equal(t, pull, body, "the response passes through unchanged")
				assert.Equal(t, "1", resp.Header.Get("X-Sandbox"))
				assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
			}
		})
	}
}

func TestTransport(t *testing.T) {
	t.Parallel()
	s := Default(t, WithPrefix("/api/v3"), WithSkip(skipGit))
	pull := edit(t, validPull(t, s), "", nil)
	srv := httptest.NewServer(sandbox(t, pull))
	t.Cleanup(srv.Close)
	var got reports
	client := &http.Client{Transport: s.Transport(srv.Client().Transport, got.add)}
	for _, ex := range exchanges {
		for _, getBody := range []bool{true, false} {
			if ex.body == "" && !getBody {
				continue
			}
			name := ex.name
			if !getBody {
				name += " without GetBody"
			}
			t.Run(name, func(t *testing.T) {
				resp, body := exchange(t, client, srv.URL, ex.method, ex.path, ex.body, getBody)
				assert.Equal(t, ex.status, resp.StatusCode)
				assertReports(t, got.take(), ex.report)
				if ex.path == "/api/v3/repos/o/r/pulls/1" {
					assert.Equal(t, pull, body, "the response reaches the client unchanged")
				}
			})
		}
	}
}

// TestTransportError passes on the error of the transport it wraps and
// reports nothing for a response that never came.
func TestTransportError(t *testing.T) {
	t.Parallel()
	var got reports
	broken := errors.New("connection refused")
	client := &http.Client{Transport: Default(t).Transport(roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, broken
	}), got.add)}
	req, err := http.NewRequestWithContext(t.Context(), "GET", "http://127.0.0.1:1/repos/o/r", nil)
	require.NoError(t, err)
	_, err = client.Do(req) //nolint:bodyclose // there is no response
	require.ErrorIs(t, err, broken)
	assert.Empty(t, got.take())
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// exchange sends one JSON request and reads the whole response. Without
// getBody the request's body is one that cannot be read twice.
func exchange(t *testing.T, c *http.Client, base, method, path, body string, getBody bool) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, rd)
	require.NoError(t, err)
	if !getBody {
		req.GetBody = nil
		req.Body = io.NopCloser(strings.NewReader(body))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	require.NoError(t, err)
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp, data
}

func assertReports(t *testing.T, got []error, want string) {
	t.Helper()
	if want == "" {
		assert.Empty(t, got)
		return
	}
	require.Len(t, got, 1, "%v", got)
	assert.True(t, IsMismatch(got[0]), "%v", got[0])
	assert.Contains(t, got[0].Error(), want)
}

func newGet(t *testing.T, path string) (*http.Request, error) {
	t.Helper()
	return http.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
}
