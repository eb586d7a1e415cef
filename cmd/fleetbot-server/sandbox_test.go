package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

// TestSandboxServes starts `fleetbot sandbox` in-process on port 0, uses it
// as a script would, and stops it.
func TestSandboxServes(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	root := newRootCmd()
	root.SetOut(pw)
	root.SetErr(io.Discard)
	root.SetArgs([]string{"sandbox", "--dir", t.TempDir(), "--addr", "127.0.0.1:0", "--token", "tok",
		"--app-id", "7", "--app-key-file", keyFile})
	done := make(chan error, 1)
	go func() {
		done <- root.ExecuteContext(ctx)
		_ = pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	require.True(t, lines.Scan(), "no address printed")
	url, ok := strings.CutPrefix(lines.Text(), "sandbox listening on ")
	require.True(t, ok, "first line %q", lines.Text())
	rest := make(chan string, 1)
	go func() {
		var b strings.Builder
		for lines.Scan() {
			b.WriteString(lines.Text() + "\n")
		}
		rest <- b.String()
	}()

	call := func(method, path, auth, body string) (int, map[string]any) {
		r, err := http.NewRequestWithContext(t.Context(), method, url+path, strings.NewReader(body))
		require.NoError(t, err)
		r.Header.Set("Authorization", auth)
		res, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		defer res.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&m))
		return res.StatusCode, m
	}
	status, repo := call("POST", "/orgs/acme/repos", "Bearer tok", `{"name":"fleet","auto_init":true}`)
	require.Equal(t, http.StatusCreated, status, "%v", repo)
	assert.Equal(t, url+"/acme/fleet.git", repo["clone_url"])
	now := time.Now()
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": "7", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}).SignedString(key)
	require.NoError(t, err)
	status, app := call("GET", "/app", "Bearer "+signed, "")
	require.Equal(t, http.StatusOK, status, "%v", app)
	assert.EqualValues(t, 7, app["id"])
	status, _ = call("GET", "/repos/acme/fleet", "Bearer nope", "")
	assert.Equal(t, http.StatusUnauthorized, status)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("sandbox did not stop")
	}
	out := "sandbox listening on http://ADDR\n" + <-rest
	testenv.CheckGolden(t, "sandbox/serve.golden", out)
}

func TestSandboxRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", ":8080", "192.0.2.1:80", "example.com:80"} {
		t.Run(addr, func(t *testing.T) {
			t.Parallel()
			_, _, code := runCLI(t, "sandbox", "--dir", t.TempDir(), "--addr", addr)
			assert.Equal(t, 1, code)
			assert.ErrorContains(t, checkLoopback(addr), "loopback only")
		})
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0"} {
		assert.NoError(t, checkLoopback(addr), addr)
	}
}
