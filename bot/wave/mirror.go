package wave

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// ErrStaleMirror reports that the mirror still lacks the wanted commit after
// fetching: GitHub announced a commit the clone URL does not serve (yet), or
// the SHA is wrong. The caller retries later rather than read another tree.
var ErrStaleMirror = errors.New("stale mirror")

// DefaultKeep is how many checked-out trees a Mirror keeps per repository
// when Keep is zero.
const DefaultKeep = 8

// keepFor is how long a tree stays on disk after its last Checkout even
// when more than Keep trees exist, so that a caller still reading it is not
// pulled from under.
const keepFor = 10 * time.Minute

// Mirror keeps a local copy of blueprint repositories and hands out their
// files at exact commits. Each clone URL gets one bare repository under the
// mirror's directory, fetched over HTTPS with credentials asked for at each
// fetch; each commit asked for is written out once into a directory of its
// own that is never changed afterwards, so readers of one commit are not
// disturbed by a Checkout of another. A Mirror is safe for concurrent use;
// two processes must not share one directory at the same time, but a
// process may reopen the directory a previous one left.
type Mirror struct {
	dir  string
	auth AuthFunc

	// Keep is how many checked-out trees stay on disk per repository
	// (DefaultKeep when zero); older ones are removed once unused for ten
	// minutes.
	Keep int
	// OnRepair, when set, is told of each repository the mirror found
	// damaged (an empty or garbled ref, a corrupt object or pack, an
	// unreadable configuration: what a process killed in the middle of a
	// fetch may leave) and cloned again: the clone URL without
	// credentials, the step that found it (RepairSteps) and the error.
	OnRepair func(repo, step string, err error)

	mu    sync.Mutex
	repos map[string]*mirrorRepo
	// durable makes the files written under a directory durable; a tree
	// is renamed into place only once it returned (durableTree).
	durable func(dir string) error
}

// mirrorRepo is one mirrored repository; mu serialises every use of it.
type mirrorRepo struct {
	mu   sync.Mutex
	url  string
	root string
	repo *git.Repository
}

// AuthFunc gives the basic-auth credentials of an HTTP(S) fetch of cloneURL
// (for GitHub: "x-access-token" and a token of the installation that covers
// that repository, which may not be the one of another repository).
type AuthFunc func(ctx context.Context, cloneURL string) (user, password string, err error)

// NewMirror returns a mirror keeping its clones under dir. auth, when not
// nil, is called at every HTTP(S) fetch, because tokens expire, with the
// clone URL being fetched.
func NewMirror(dir string, auth AuthFunc) *Mirror {
	return &Mirror{dir: dir, auth: auth, repos: map[string]*mirrorRepo{}, durable: durableTree}
}

// Checkout returns a directory holding exactly the files of commit wantSHA
// of the repository at cloneURL: no file of another commit, none missing.
// It clones on first use and fetches when the commit is not present locally;
// if the commit is still missing after the fetch, it returns an error
// matching ErrStaleMirror naming the repository, the commit and where
// origin/branch stands. The directory must be treated as read-only.
func (m *Mirror) Checkout(ctx context.Context, cloneURL, branch, wantSHA string) (string, error) {
	if !plumbing.IsHash(wantSHA) {
		return "", fmt.Errorf("checkout %s: commit %q is not a full SHA-1", redact(cloneURL), wantSHA)
	}
	wantSHA = strings.ToLower(wantSHA)
	r := m.repo(cloneURL)
	r.mu.Lock()
	defer r.mu.Unlock()

	tree := filepath.Join(r.root, "trees", wantSHA)
	if _, err := os.Stat(tree); err == nil {
		now := time.Now()
		if err := os.Chtimes(tree, now, now); err != nil {
			return "", fmt.Errorf("checkout %s at %s: %w", redact(cloneURL), wantSHA, err)
		}
		return tree, nil
	}
	err := m.recovering(r, func() error {
		fetched, err := m.open(ctx, r)
		if err != nil {
			return err
		}
		hash := plumbing.NewHash(wantSHA)
		commit, err := r.repo.CommitObject(hash)
		if errors.Is(err, plumbing.ErrObjectNotFound) && !fetched {
			if err = m.fetch(ctx, r); err != nil {
				return err
			}
			commit, err = r.repo.CommitObject(hash)
		}
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			if verr := verify(r.repo); verr != nil {
				// A fetch cut short can leave a ref at a commit whose
				// objects never arrived: the copy is damaged, not merely
				// behind.
				return &fetchError{err: fmt.Errorf("%s: after fetching, a ref names a commit the mirror lacks: %w", redact(cloneURL), verr), repo: r.repo}
			}
			head := "missing"
			if h, herr := r.head(branch); herr == nil {
				head = "at " + h
			}
			return fmt.Errorf("%s has no commit %s after fetching (origin/%s is %s): %w", redact(cloneURL), wantSHA, branch, head, ErrStaleMirror)
		}
		if err != nil {
			return &readError{fmt.Errorf("read commit %s of %s: %w", wantSHA, redact(cloneURL), err)}
		}
		if err := writeTree(commit, r.root, tree, m.durable); err != nil {
			return &readError{fmt.Errorf("check out %s of %s: %w", wantSHA, redact(cloneURL), err)}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	m.prune(filepath.Join(r.root, "trees"), wantSHA)
	return tree, nil
}

// Fetch brings the mirror of cloneURL up to date with the remote, cloning it
// on first use. It is what a push event calls.
func (m *Mirror) Fetch(ctx context.Context, cloneURL string) error {
	r := m.repo(cloneURL)
	r.mu.Lock()
	defer r.mu.Unlock()
	return m.recovering(r, func() error {
		fetched, err := m.open(ctx, r)
		if err != nil || fetched {
			return err
		}
		return m.fetch(ctx, r)
	})
}

// Head returns the commit the mirror holds for origin/branch, as of its last
// fetch (cloning on first use); it does not fetch otherwise.
func (m *Mirror) Head(ctx context.Context, cloneURL, branch string) (string, error) {
	r := m.repo(cloneURL)
	r.mu.Lock()
	defer r.mu.Unlock()
	var h string
	err := m.recovering(r, func() error {
		if _, err := m.open(ctx, r); err != nil {
			return err
		}
		var err error
		if h, err = r.head(branch); err != nil {
			err = fmt.Errorf("mirror of %s: branch %s: %w", redact(cloneURL), branch, err)
			if !errors.Is(err, plumbing.ErrReferenceNotFound) {
				err = &readError{err}
			}
		}
		return err
	})
	return h, err
}

// Tree returns the tree of commit sha, which the mirror holds (a Checkout
// of it put it there): the base a new commit on sha is written on, known
// without asking GitHub.
func (m *Mirror) Tree(ctx context.Context, cloneURL, sha string) (string, error) {
	if !plumbing.IsHash(sha) {
		return "", fmt.Errorf("tree of %s: commit %q is not a full SHA-1", redact(cloneURL), sha)
	}
	r := m.repo(cloneURL)
	r.mu.Lock()
	defer r.mu.Unlock()
	var tree string
	err := m.recovering(r, func() error {
		if _, err := m.open(ctx, r); err != nil {
			return err
		}
		c, err := r.repo.CommitObject(plumbing.NewHash(strings.ToLower(sha)))
		if err != nil {
			err = fmt.Errorf("tree of commit %s of %s: %w", sha, redact(cloneURL), err)
			if !errors.Is(err, plumbing.ErrObjectNotFound) {
				err = &readError{err}
			}
			return err
		}
		tree = c.TreeHash.String()
		return nil
	})
	return tree, err
}

// FileBefore returns the file at path (slash-separated, from the
// repository's root) as it was just before commit sha, at its first
// parent: what a merge commit changed the base branch's file from. The
// mirror must hold sha (a fetch after the merge put it there). It returns
// an error wrapping fs.ErrNotExist when the parent has no such file.
func (m *Mirror) FileBefore(ctx context.Context, cloneURL, sha, file string) ([]byte, error) {
	if !plumbing.IsHash(sha) {
		return nil, fmt.Errorf("%s before %s: commit %q is not a full SHA-1", file, redact(cloneURL), sha)
	}
	r := m.repo(cloneURL)
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []byte
	err := m.recovering(r, func() error {
		if _, err := m.open(ctx, r); err != nil {
			return err
		}
		c, err := r.repo.CommitObject(plumbing.NewHash(strings.ToLower(sha)))
		if err != nil {
			return fmt.Errorf("commit %s of %s: %w", sha, redact(cloneURL), err)
		}
		parent, err := c.Parent(0)
		if err != nil {
			return fmt.Errorf("parent of commit %s of %s: %w", sha, redact(cloneURL), err)
		}
		f, err := parent.File(file)
		if errors.Is(err, object.ErrFileNotFound) {
			return fmt.Errorf("%s at %s: %w", file, parent.Hash, fs.ErrNotExist)
		}
		if err != nil {
			return fmt.Errorf("%s at %s: %w", file, parent.Hash, err)
		}
		text, err := f.Contents()
		out = []byte(text)
		return err
	})
	return out, err
}

// head reads refs/remotes/origin/branch.
func (r *mirrorRepo) head(branch string) (string, error) {
	ref, err := r.repo.Reference(plumbing.NewRemoteReferenceName(git.DefaultRemoteName, branch), true)
	if err != nil {
		return "", err
	}
	return ref.Hash().String(), nil
}

// repo returns the one mirrorRepo of cloneURL.
func (m *Mirror) repo(cloneURL string) *mirrorRepo {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.repos[cloneURL]
	if !ok {
		r = &mirrorRepo{url: cloneURL, root: filepath.Join(m.dir, SafeName(cloneURL))}
		m.repos[cloneURL] = r
	}
	return r
}

// open opens the bare repository of r, or creates and fetches it when this
// is the first use of the clone URL; fetched says whether it just fetched.
// A clone interrupted earlier is completed by the fetch, since every step is
// checked again.
func (m *Mirror) open(ctx context.Context, r *mirrorRepo) (fetched bool, err error) {
	if r.repo != nil {
		return false, nil
	}
	// Checkouts a crashed process left half-written, and packs a fetch
	// cut short left behind.
	for _, pattern := range []string{filepath.Join(r.root, ".checkout-*"), filepath.Join(r.root, "git", "objects", "pack", "tmp_pack_*")} {
		if tmps, err := filepath.Glob(pattern); err == nil {
			for _, tmp := range tmps {
				_ = os.RemoveAll(tmp)
			}
		}
	}
	gitDir := filepath.Join(r.root, "git")
	repo, err := git.PlainOpen(gitDir)
	fresh := errors.Is(err, git.ErrRepositoryNotExists)
	if fresh {
		if err := os.MkdirAll(r.root, 0o755); err != nil {
			return false, fmt.Errorf("mirror of %s: %w", redact(r.url), err)
		}
		repo, err = git.PlainInit(gitDir, true)
	}
	if err != nil {
		return false, &readError{fmt.Errorf("mirror of %s: open %s: %w", redact(r.url), gitDir, err)}
	}
	remote, err := repo.Remote(git.DefaultRemoteName)
	switch {
	case err == nil && !slices.Equal(remote.Config().URLs, []string{r.url}):
		return false, &readError{fmt.Errorf("mirror of %s: its origin is another repository", redact(r.url))}
	case err != nil && !errors.Is(err, git.ErrRemoteNotFound):
		return false, &readError{fmt.Errorf("mirror of %s: read its origin: %w", redact(r.url), err)}
	case errors.Is(err, git.ErrRemoteNotFound):
		fresh = true
		_, err = repo.CreateRemote(&config.RemoteConfig{
			Name:  git.DefaultRemoteName,
			URLs:  []string{r.url},
			Fetch: []config.RefSpec{fetchSpec},
		})
		if err != nil {
			return false, &readError{fmt.Errorf("mirror of %s: add remote: %w", redact(r.url), err)}
		}
	}
	r.repo = repo
	if !fresh && hasRemoteBranch(repo) {
		return false, nil
	}
	if err := m.fetch(ctx, r); err != nil {
		r.repo = nil
		return false, err
	}
	return true, nil
}

// hasRemoteBranch reports whether a fetch ever brought a branch, which an
// interrupted first clone did not.
func hasRemoteBranch(repo *git.Repository) bool {
	refs, err := repo.References()
	if err != nil {
		return false
	}
	defer refs.Close()
	found := errors.New("found")
	err = refs.ForEach(func(ref *plumbing.Reference) error {
		if ref.Name().IsRemote() {
			return found
		}
		return nil
	})
	return errors.Is(err, found)
}

// fetchSpec mirrors every branch as a remote-tracking branch.
const fetchSpec = config.RefSpec("+refs/heads/*:refs/remotes/origin/*")

// fetch fetches every branch of origin, pruning the deleted ones.
func (m *Mirror) fetch(ctx context.Context, r *mirrorRepo) error {
	var auth transport.AuthMethod
	if m.auth != nil && isHTTP(r.url) {
		user, password, err := m.auth(ctx, r.url)
		if err != nil {
			return fmt.Errorf("fetch %s: credentials: %w", redact(r.url), err)
		}
		auth = &githttp.BasicAuth{Username: user, Password: password}
	}
	err := r.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: git.DefaultRemoteName,
		RefSpecs:   []config.RefSpec{fetchSpec},
		Auth:       auth,
		Tags:       git.NoTags,
		Force:      true,
		Prune:      true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return &fetchError{err: fmt.Errorf("fetch %s: %w", redact(r.url), err), repo: r.repo}
	}
	return nil
}

// RepairSteps are the steps at which the mirror may find a repository
// damaged: opening it, fetching into it, or reading from it.
var RepairSteps = []string{"open", "fetch", "read"}

// readError is a failure to read the local copy: damage, unless the
// request itself was wrong.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// fetchError is a failed fetch: the network, the credentials or the
// remote, unless the local copy proves damaged (verify).
type fetchError struct {
	err  error
	repo *git.Repository // the local copy fetched into
}

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// recovering runs op on r; when op fails on damage to the local copy,
// the bare repository is removed, OnRepair told, and op run again, which
// clones it anew. A failed fetch is damage only when the local copy does
// not verify; a stale mirror, a missing branch, a cancelled context and
// the network are not. The trees checked out stay: each was written whole
// before it was renamed into place.
func (m *Mirror) recovering(r *mirrorRepo, op func() error) error {
	err := op()
	step := m.damage(r, err)
	if step == "" {
		return err
	}
	if m.OnRepair != nil {
		m.OnRepair(redact(r.url), step, err)
	}
	r.repo = nil
	if rmErr := os.RemoveAll(filepath.Join(r.root, "git")); rmErr != nil {
		return fmt.Errorf("%w; removing the damaged mirror failed: %w", err, rmErr)
	}
	return op()
}

// damage returns the step at which err shows the local copy of r damaged,
// "" when it does not.
func (m *Mirror) damage(r *mirrorRepo, err error) string {
	var fe *fetchError
	var re *readError
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ""
	case errors.As(err, &fe):
		if verify(fe.repo) == nil {
			return ""
		}
		return "fetch"
	case errors.As(err, &re):
		if r.repo == nil {
			return "open"
		}
		return "read"
	}
	return ""
}

// verify reads what a fetch relies on: the configuration, and every
// reference with the commit it points at.
func verify(repo *git.Repository) error {
	if _, err := repo.Config(); err != nil {
		return err
	}
	refs, err := repo.References()
	if err != nil {
		return err
	}
	defer refs.Close()
	return refs.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() != plumbing.HashReference {
			return nil
		}
		_, err := repo.CommitObject(ref.Hash())
		return err
	})
}

// writeTree writes the files of commit into dst through a temporary
// directory renamed into place once durable says its files are on disk,
// so dst is either absent or complete, even after a crash or a power loss
// (a tree present is trusted from then on, by this process and the next).
func writeTree(commit *object.Commit, root, dst string, durable func(dir string) error) error {
	tree, err := commit.Tree()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(root, ".checkout-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }() // gone after the rename
	err = tree.Files().ForEach(func(f *object.File) error {
		return writeFile(tmp, f)
	})
	if err != nil {
		return err
	}
	if err := durable(tmp); err != nil {
		return fmt.Errorf("make the files written durable: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		if _, serr := os.Stat(dst); serr == nil {
			return nil // written meanwhile by a previous process
		}
		return err
	}
	// The rename itself, in the directory that holds the trees.
	return syncDir(filepath.Dir(dst))
}

// syncDir makes the entries of directory dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// writeFile writes one file of a tree under dir, refusing paths that would
// leave it.
func writeFile(dir string, f *object.File) error {
	name := path.Clean(f.Name)
	if name != f.Name || !fs.ValidPath(name) || slices.Contains(strings.Split(name, "/"), ".git") {
		return fmt.Errorf("tree entry %q: unsafe path", f.Name)
	}
	dst := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	rd, err := f.Reader()
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	defer func() { _ = rd.Close() }() // a read-only blob reader
	if f.Mode == filemode.Symlink {
		target, err := io.ReadAll(rd)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		return os.Symlink(string(target), dst)
	}
	perm := os.FileMode(0o644)
	if f.Mode == filemode.Executable {
		perm = 0o755
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rd); err != nil {
		_ = out.Close() // the copy error says more
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	return out.Close()
}

// prune removes the least recently used trees beyond Keep, sparing keep and
// any tree used within keepFor. Failures only leave files behind.
func (m *Mirror) prune(dir, keep string) {
	limit := m.Keep
	if limit <= 0 {
		limit = DefaultKeep
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) <= limit {
		return
	}
	type tree struct {
		name string
		used time.Time
	}
	var trees []tree
	for _, e := range entries {
		if info, err := e.Info(); err == nil && e.IsDir() {
			trees = append(trees, tree{e.Name(), info.ModTime()})
		}
	}
	slices.SortFunc(trees, func(a, b tree) int { return b.used.Compare(a.used) })
	for _, t := range trees[min(limit, len(trees)):] {
		if t.name != keep && time.Since(t.used) > keepFor {
			_ = os.RemoveAll(filepath.Join(dir, t.name))
		}
	}
}

// SafeName is the directory name of a clone URL inside a mirror: readable
// host and path, without credentials, plus a hash of the whole URL so two
// URLs never share a directory.
func SafeName(cloneURL string) string {
	sum := sha256.Sum256([]byte(cloneURL))
	readable := redact(cloneURL)
	if u, err := url.Parse(readable); err == nil && u.Scheme != "" {
		readable = u.Host + u.Path
	}
	readable = strings.TrimSuffix(strings.ToLower(readable), ".git")
	var b strings.Builder
	for _, c := range readable {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '_':
			b.WriteRune(c)
		case !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-.")
	if len(name) > 64 {
		name = name[len(name)-64:]
	}
	return strings.TrimLeft(name, "-.") + "-" + hex.EncodeToString(sum[:6])
}

// redact drops the credentials a URL may carry, for messages and names.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

func isHTTP(raw string) bool {
	return strings.HasPrefix(raw, "https://") || strings.HasPrefix(raw, "http://")
}
