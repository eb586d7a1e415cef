package wave

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

// childEnv, when set, makes the test binary a child that checks out one
// commit into a mirror and exits: "dir|cloneURL|sha".
const childEnv = "FLEETBOT_MIRROR_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(mirrorChild(spec))
	}
	os.Exit(m.Run())
}

// mirrorChild checks a commit out as a serve process would, until killed.
func mirrorChild(spec string) int {
	parts := strings.Split(spec, "|")
	if len(parts) != 3 {
		fmt.Fprintf(os.Stderr, "%s: want dir|cloneURL|sha, got %q\n", childEnv, spec)
		return 2
	}
	if _, err := NewMirror(parts[0], anyToken).Checkout(context.Background(), parts[1], "main", parts[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// anyToken is the credentials gitHTTPServer's tests accept.
func anyToken(context.Context, string) (string, string, error) { return "x-access-token", "t", nil }

// repairs records what a mirror's OnRepair was told.
type repairs struct {
	mu    sync.Mutex
	steps []string
}

func (r *repairs) watch(m *Mirror) *Mirror {
	m.OnRepair = func(_, step string, _ error) {
		r.mu.Lock()
		r.steps = append(r.steps, step)
		r.mu.Unlock()
	}
	return m
}

func (r *repairs) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.steps)
}

// mirrorGit is the bare repository a mirror keeps for cloneURL.
func mirrorGit(dir, cloneURL string) string { return filepath.Join(dir, SafeName(cloneURL), "git") }

// TestMirrorRepairsDamage damages a mirror as a process killed in the
// middle of a fetch or a write may leave it, then opens it again as the
// next process does: the checkout of a new commit succeeds with the right
// files, and the repair is reported with the step that found it.
func TestMirrorRepairsDamage(t *testing.T) {
	t.Parallel()
	// repaired says whether the damage needs a new clone; a damaged ref
	// that still reads as a hash is simply overwritten by the next fetch.
	damages := []struct {
		name     string
		damage   func(t *testing.T, gitDir string)
		repaired bool
	}{
		{"empty ref file", func(t *testing.T, gitDir string) {
			require.NoError(t, os.WriteFile(filepath.Join(gitDir, "refs", "remotes", "origin", "main"), nil, 0o644))
		}, true},
		{"garbage in a ref file", func(t *testing.T, gitDir string) {
			require.NoError(t, os.WriteFile(filepath.Join(gitDir, "refs", "remotes", "origin", "main"), []byte("not a hash\n"), 0o644))
		}, false},
		{"ref to a missing commit", func(t *testing.T, gitDir string) {
			require.NoError(t, os.WriteFile(filepath.Join(gitDir, "refs", "remotes", "origin", "main"), []byte(strings.Repeat("ab", 20)+"\n"), 0o644))
		}, false},
		{"garbage packed-refs", func(t *testing.T, gitDir string) {
			require.NoError(t, os.Remove(filepath.Join(gitDir, "refs", "remotes", "origin", "main")))
			require.NoError(t, os.WriteFile(filepath.Join(gitDir, "packed-refs"), []byte("\x00\x01garbage\n"), 0o644))
		}, true},
		{"truncated pack", func(t *testing.T, gitDir string) {
			packs, err := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "*.pack"))
			require.NoError(t, err)
			require.NotEmpty(t, packs)
			for _, p := range packs {
				info, err := os.Stat(p)
				require.NoError(t, err)
				require.NoError(t, os.Truncate(p, info.Size()/2))
			}
		}, true},
		{"truncated pack index", func(t *testing.T, gitDir string) {
			idx, err := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "*.idx"))
			require.NoError(t, err)
			require.NotEmpty(t, idx)
			for _, p := range idx {
				require.NoError(t, os.Truncate(p, 100))
			}
		}, true},
		{"origin of another repository", func(t *testing.T, gitDir string) {
			cmd := exec.Command("git", "remote", "set-url", "origin", "file:///elsewhere.git")
			cmd.Dir = gitDir
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
		}, true},
		{"corrupt config", func(t *testing.T, gitDir string) {
			require.NoError(t, os.WriteFile(filepath.Join(gitDir, "config"), []byte("[remote \"origin\"\n\turl = \x00\n"), 0o644))
		}, true},
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t)
			shared := strings.Repeat("shared: content\n", 200)
			sha1 := o.commit("main", map[string]string{"a.yaml": "a: 1\n", "shared.yaml": shared})
			dir := t.TempDir()
			_, err := NewMirror(dir, nil).Checkout(t.Context(), o.url(), "main", sha1)
			require.NoError(t, err)
			d.damage(t, mirrorGit(dir, o.url()))

			v2 := map[string]string{"a.yaml": "a: 2\n", "shared.yaml": shared}
			sha2 := o.commit("main", v2)
			var rep repairs
			m := rep.watch(NewMirror(dir, nil))
			got, err := m.Checkout(t.Context(), o.url(), "main", sha2)
			require.NoError(t, err, "checkout after the damage")
			assert.Equal(t, v2, readTree(t, got))
			want := 0
			if d.repaired {
				want = 1
			}
			assert.Equal(t, want, rep.count(), "repairs reported: %v", rep.steps)
			head, err := m.Head(t.Context(), o.url(), "main")
			require.NoError(t, err)
			assert.Equal(t, sha2, head)
			assert.Equal(t, want, rep.count(), "no repair more")
		})
	}
}

// faultyGit serves repositories with git http-backend and, while fault is
// set, fails the fetches: "refuse" answers 503 to everything, "cut" ends
// the pack's answer after its first bytes.
type faultyGit struct {
	fault atomic.Value // string
	srv   *httptest.Server
}

func newFaultyGit(t *testing.T, root string) *faultyGit {
	t.Helper()
	f := &faultyGit{}
	f.fault.Store("")
	inner := gitHTTPServer(t, root, func(string) bool { return true })
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch f.fault.Load().(string) {
		case "refuse":
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		case "cut":
			if strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
				rec := httptest.NewRecorder()
				testenv.Forward(rec, r, inner.URL)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				body := rec.Body.Bytes()
				_, _ = w.Write(body[:len(body)/2])
				// Hijack and drop the connection: the pack ends early.
				if hj, ok := w.(http.Hijacker); ok {
					if c, _, err := hj.Hijack(); err == nil {
						_ = c.Close()
					}
				}
				return
			}
		}
		testenv.Forward(w, r, inner.URL)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// TestMirrorNetworkFaults: a remote that refuses fails the fetch, which is
// not damage: nothing is cloned again. A pack cut short may leave a ref at
// a commit whose objects never arrived (the fetch library updates the refs
// anyway): that is damage, found and repaired by a new clone, which fails
// too while the fault lasts. Either way the next checkout once the remote
// behaves brings the commit.
func TestMirrorNetworkFaults(t *testing.T) {
	t.Parallel()
	for fault, mayRepair := range map[string]bool{"refuse": false, "cut": true} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t)
			sha1 := o.commit("main", map[string]string{"a.yaml": "a: 1\n"})
			git := newFaultyGit(t, filepath.Dir(o.bare))
			cloneURL := git.srv.URL + "/git/origin.git"
			var rep repairs
			m := rep.watch(NewMirror(t.TempDir(), anyToken))
			_, err := m.Checkout(t.Context(), cloneURL, "main", sha1)
			require.NoError(t, err)

			v2 := map[string]string{"a.yaml": "a: 2\n", "b.yaml": strings.Repeat("b\n", 5000)}
			sha2 := o.commit("main", v2)
			git.fault.Store(fault)
			_, err = m.Checkout(t.Context(), cloneURL, "main", sha2)
			require.Error(t, err, "fetch through the fault")
			assert.Contains(t, err.Error(), cloneURL)
			git.fault.Store("")
			got, err := m.Checkout(t.Context(), cloneURL, "main", sha2)
			require.NoError(t, err, "fetch once the remote behaves")
			assert.Equal(t, v2, readTree(t, got))
			if mayRepair {
				t.Logf("repairs: %v", rep.steps)
			} else {
				assert.Zero(t, rep.count(), "a network fault was taken for damage: %v", rep.steps)
			}
		})
	}
}

// TestMirrorKilledInFetch runs a checkout in a child process and kills it
// with SIGKILL while the remote streams the pack, or just after, at
// several moments; the next process's checkout on the same directory
// returns the commit's files.
func TestMirrorKilledInFetch(t *testing.T) {
	t.Parallel()
	for i, delay := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, 60 * time.Millisecond} {
		t.Run(fmt.Sprintf("kill %s after the pack began", delay), func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t)
			sha1 := o.commit("main", map[string]string{"a.yaml": "a: 1\n"})
			inner := gitHTTPServer(t, filepath.Dir(o.bare), func(string) bool { return true })
			began := make(chan struct{}, 1)
			var hold atomic.Bool // the child's fetch: half the pack, then the rest or nothing
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !hold.Load() || !strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
					testenv.Forward(w, r, inner.URL)
					return
				}
				rec := httptest.NewRecorder()
				testenv.Forward(rec, r, inner.URL)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				body := rec.Body.Bytes()
				half := len(body) / 2
				_, _ = w.Write(body[:half])
				w.(http.Flusher).Flush()
				select {
				case began <- struct{}{}:
				default:
				}
				if i%2 == 0 {
					<-r.Context().Done()
					return
				}
				// Odd runs send the rest, so the kill may come while the
				// pack is stored or the refs are written.
				_, _ = w.Write(body[half:])
			}))
			t.Cleanup(srv.Close)
			cloneURL := srv.URL + "/git/origin.git"
			dir := t.TempDir()
			// A first clone, so the kill strikes a fetch into an existing
			// repository, as in serve.
			_, err := NewMirror(dir, anyToken).Checkout(t.Context(), cloneURL, "main", sha1)
			require.NoError(t, err)

			v2 := map[string]string{"a.yaml": "a: 2\n", "b.yaml": strings.Repeat("b\n", 20000)}
			sha2 := o.commit("main", v2)
			hold.Store(true)
			child := exec.Command(os.Args[0], "-test.run=^$")
			child.Env = append(os.Environ(), childEnv+"="+dir+"|"+cloneURL+"|"+sha2)
			var out bytes.Buffer
			child.Stdout, child.Stderr = &out, &out
			require.NoError(t, child.Start())
			select {
			case <-began:
			case <-time.After(30 * time.Second):
				_ = child.Process.Kill()
				t.Fatalf("the child never fetched: %s", out.String())
			}
			time.Sleep(delay)
			require.NoError(t, child.Process.Signal(syscall.SIGKILL))
			_ = child.Wait()
			hold.Store(false)

			var rep repairs
			got, err := rep.watch(NewMirror(dir, anyToken)).Checkout(t.Context(), cloneURL, "main", sha2)
			require.NoError(t, err, "checkout after the kill (child said: %s)", out.String())
			assert.Equal(t, v2, readTree(t, got))
			t.Logf("repairs: %v", rep.steps)
		})
	}
}

// TestMirrorHalfWrittenCheckout: a checkout a killed process was writing
// (a temporary directory, never renamed into place) is removed when the
// repository is next opened, and the commit is checked out whole.
func TestMirrorHalfWrittenCheckout(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	v1 := map[string]string{"a.yaml": "a: 1\n", "b/c.yaml": "c: 1\n"}
	sha1 := o.commit("main", v1)
	dir := t.TempDir()
	_, err := NewMirror(dir, nil).Checkout(t.Context(), o.url(), "main", sha1)
	require.NoError(t, err)
	root := filepath.Join(dir, SafeName(o.url()))
	require.NoError(t, os.RemoveAll(filepath.Join(root, "trees")))
	half := filepath.Join(root, ".checkout-4242")
	require.NoError(t, os.MkdirAll(filepath.Join(half, "b"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(half, "a.yaml"), []byte("a: "), 0o644))

	got, err := NewMirror(dir, nil).Checkout(t.Context(), o.url(), "main", sha1)
	require.NoError(t, err)
	assert.Equal(t, v1, readTree(t, got))
	assert.NoDirExists(t, half, "the half-written checkout stays")
}
