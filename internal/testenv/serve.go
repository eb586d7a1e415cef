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
	"slices"
	"strings"
	"sync"
	"syscall"
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

// BuildFleetbot builds fleetbot and fleetbot-server as they ship, side by
// side (no race detector, whatever the test runs with), and returns
// fleetbot's path: it runs fleetbot-server for serve, as it does for a
// person.
func BuildFleetbot(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "fleetbot")
	build := exec.CommandContext(context.Background(), "go", "build", "-o", dir+string(filepath.Separator), "./cmd/fleetbot", "./cmd/fleetbot-server")
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
	p := RunServe(t, bin, filepath.Join(dir, "fleetbot.yaml"), dir)
	return Served{Addr: p.Addr, PID: p.PID, Secret: secret, Dir: dir}
}

// Serve is a `fleetbot serve` process RunServe started.
type Serve struct {
	Addr string // host:port it listens on
	PID  int

	cmd    *exec.Cmd
	exited chan struct{} // closed once it exited and its output was read
	err    error         // how it exited

	mu    sync.Mutex
	lines []string // its standard error so far, a line each
}

// RunServe runs bin (BuildFleetbot's) as `fleetbot serve --config config`,
// with TMPDIR (spooled bodies) in dir, and waits until it listens. It keeps
// what serve writes to standard error (its logs). The test's end kills it.
func RunServe(t testing.TB, bin, config, dir string) *Serve {
	t.Helper()
	return RunServeEnv(t, bin, config, dir)
}

// RunServeEnv is RunServe with env (NAME=value each) added to serve's
// environment.
func RunServeEnv(t testing.TB, bin, config, dir string, env ...string) *Serve {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), bin, "serve", "--config", config)
	cmd.Env = append(append(os.Environ(), "TMPDIR="+dir), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Serve{PID: cmd.Process.Pid, cmd: cmd, exited: make(chan struct{})}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.exited
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		listening := regexp.MustCompile(`listening on (\S+)`)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.lines = append(s.lines, line)
			s.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		s.err = cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.Addr = <-addr:
		return s
	case <-s.exited:
		t.Fatalf("serve exited before it listened: %v\n%s", s.err, strings.Join(s.Lines(), "\n"))
	case <-time.After(time.Minute):
		t.Fatal("serve did not start within a minute")
	}
	return nil
}

// Lines returns what serve wrote to standard error so far, a line each.
func (s *Serve) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lines)
}

// Kill kills serve with SIGKILL, as a crash or the OOM killer would, and
// waits until it is gone.
func (s *Serve) Kill(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill serve: %v%s", err, s.Gone())
	}
	<-s.exited
}

// Pause freezes serve with SIGSTOP, as a stalled machine or a long
// garbage-collection pause would; Resume lets it go on.
func (s *Serve) Pause(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("pause serve: %v%s", err, s.Gone())
	}
}

// Gone says, once serve exited, how it exited and what it wrote last (""
// while it runs): for a failure that finds it gone when it should run.
func (s *Serve) Gone() string {
	select {
	case <-s.exited:
	default:
		return ""
	}
	lines := s.Lines()
	lines = lines[max(0, len(lines)-40):]
	return fmt.Sprintf(" (it exited: %v; its last %d lines:)\n%s", s.err, len(lines), strings.Join(lines, "\n"))
}

// Resume lets a paused serve go on with SIGCONT.
func (s *Serve) Resume(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("resume serve: %v%s", err, s.Gone())
	}
}

// Exited is closed once serve exited and its output was read.
func (s *Serve) Exited() <-chan struct{} { return s.exited }

// Stop asks serve to stop with SIGTERM, waits (at most wait) until it
// exited, and returns how it exited: nil when it stopped cleanly.
func (s *Serve) Stop(t testing.TB, wait time.Duration) error {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stop serve: %v%s", err, s.Gone())
	}
	select {
	case <-s.exited:
		return s.err
	case <-time.After(wait):
		t.Fatalf("serve did not stop within %s", wait)
		return nil
	}
}
