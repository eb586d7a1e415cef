package fakeeks_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/fakeeks"
)

// closeCounter is a request body that counts its closes.
type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// The client sends a copy of the body, whole, and closes the caller's body
// once it has it, before the request leaves.
func TestHTTPClientSendsACopyOfTheBody(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write([]byte(r.Header.Get("Content-Length") + " " + string(b)))
	}))
	t.Cleanup(srv.Close)
	body := &closeCounter{Reader: strings.NewReader(`{"clusterName":"prod-cpu-1"}`)}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, body)
	require.NoError(t, err)
	resp, err := fakeeks.HTTPClient().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, `28 {"clusterName":"prod-cpu-1"}`, string(got))
	assert.Equal(t, 1, body.closed)
}
