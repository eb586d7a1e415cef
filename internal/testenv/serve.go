package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// ServeDir writes a directory for `fleetbot serve`: an App key, a webhook
// secret and fleetbot.yaml (bbolt store state.db, listen on a free loopback
// port, an hour between reconcile passes, extra appended), against a GitHub
// that answers 404 to everything, calling onGitHub (when not nil) on each
// request. It returns the directory and the secret.
func ServeDir(t testing.TB, extra string, onGitHub func()) (string, []byte) {
	t.Helper()
	github := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if onGitHub != nil {
			onGitHub()
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`)
	}))
	t.Cleanup(github.Close)
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("serve-test-secret")
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
`, github.URL) + extra
	files := map[string][]byte{
		"key.pem":       pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"secret":        secret,
		"fleetbot.yaml": []byte(cfg),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, secret
}

// BuildFleetbot builds cmd/fleetbot as it ships (no race detector, whatever
// the test runs with) and returns the binary's path.
func BuildFleetbot(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fleetbot")
	build := exec.CommandContext(context.Background(), "go", "build", "-o", bin, "./cmd/fleetbot")
	build.Dir = ModuleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Served is a `fleetbot serve` process StartServe started.
type Served struct {
	Addr   string // host:port it listens on
	PID    int
	Secret []byte // the webhook secret
	Dir    string // its configuration, store and TMPDIR (spooled bodies)
}

// StartServe runs bin (BuildFleetbot's) as `fleetbot serve` on a bbolt
// store, against a GitHub that answers 404 to everything, with extra
// appended to its configuration, and waits until it listens. The test's
// end kills it.
func StartServe(t testing.TB, bin, extra string) Served {
	t.Helper()
	return StartServeWith(t, bin, extra, nil)
}

// StartServeWith is StartServe, calling prepare (when not nil) with serve's
// directory before serve starts: its bbolt store is state.db there.
func StartServeWith(t testing.TB, bin, extra string, prepare func(dir string)) Served {
	t.Helper()
	dir, secret := ServeDir(t, extra, nil)
	if prepare != nil {
		prepare(dir)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "--config", filepath.Join(dir, "fleetbot.yaml"))
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		listening := regexp.MustCompile(`listening on (\S+)`)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		return Served{Addr: a, PID: cmd.Process.Pid, Secret: secret, Dir: dir}
	case <-time.After(time.Minute):
		t.Fatal("serve did not start within a minute")
		return Served{}
	}
}
