package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNotFound reports that a repository, ref, object or path does not exist.
var ErrNotFound = errors.New("not found")

// ErrStale reports that UpdateRef or DeleteRef lost a compare-and-swap: the
// ref no longer holds the value the caller expected.
var ErrStale = errors.New("ref changed since it was read")

// ErrInvalid reports input the repository cannot take: a malformed SHA, ref
// name, path, mode or signature, or a change that clashes with the tree.
var ErrInvalid = errors.New("invalid input")

// ErrIsDir reports that FileAt found a directory where a file was asked for;
// list it with Tree(rev + ":" + path).
var ErrIsDir = errors.New("is a directory")

// emptyTree is the object ID of the tree with no entries, which git knows
// without storing it.
const emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

// zeroSHA is the value git's update-ref takes as "the ref must not exist".
const zeroSHA = "0000000000000000000000000000000000000000"

// Repo is a bare git repository on disk. Its methods are safe for concurrent
// use; see WithLock for how writes are serialized.
type Repo struct {
	path string
	lock *repoLock
}

// Init creates a bare repository at path, whose parent directories are made as
// needed, with HEAD pointing at refs/heads/<defaultBranch> and pushes over
// HTTP allowed. The path must not exist yet (the error then wraps
// fs.ErrExist).
func Init(path, defaultBranch string) (*Repo, error) {
	if path == "" {
		return nil, fmt.Errorf("init repository: empty path: %w", ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("init repository %s: %w", path, err)
	}
	if err := checkBranchName(defaultBranch); err != nil {
		return nil, fmt.Errorf("init repository %s: default branch: %w", abs, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("init repository %s: %w", abs, err)
	}
	// Mkdir, not MkdirAll: two callers racing for one path get one winner.
	if err := os.Mkdir(abs, 0o755); err != nil {
		return nil, fmt.Errorf("init repository %s: %w", abs, err)
	}
	r := &Repo{path: abs, lock: lockFor(abs)}
	ctx := context.Background()
	steps := [][]string{
		{"init", "--quiet", "--bare", "--initial-branch=" + defaultBranch, abs},
		{"--git-dir=" + abs, "config", "http.receivepack", "true"},
	}
	for _, args := range steps {
		if _, err := runGit(ctx, "", nil, nil, args...); err != nil {
			_ = os.RemoveAll(abs)
			return nil, fmt.Errorf("init repository %s: %w", abs, err)
		}
	}
	return r, nil
}

// Open opens the bare repository at path. A path that does not exist is
// ErrNotFound; a directory that is not a bare repository is an error too.
func Open(path string) (*Repo, error) {
	if path == "" {
		return nil, fmt.Errorf("open repository: empty path: %w", ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open repository %s: %w", abs, ErrNotFound)
		}
		return nil, fmt.Errorf("open repository %s: %w", abs, err)
	}
	key, known := bareKey(abs)
	if _, ok := bares.Load(key); !known || !ok {
		out, err := runGit(context.Background(), "", nil, nil, "--git-dir="+abs, "rev-parse", "--is-bare-repository")
		if err != nil {
			return nil, fmt.Errorf("open repository %s: %w", abs, err)
		}
		if strings.TrimSpace(string(out)) != "true" {
			return nil, fmt.Errorf("open repository %s: not a bare repository", abs)
		}
		if known {
			bares.Store(key, true)
		}
	}
	return &Repo{path: abs, lock: lockFor(abs)}, nil
}

// bares remembers the repositories git said were bare, each by bareKey: the
// sandbox opens its repository for every request, and asking git each time
// was a process per request.
var bares sync.Map // bareKey -> true

// bareKey names what git's answer rests on: the directory and its config
// file as it is now (a config written since, or one removed, is asked
// again). known is false when there is no config file to go by.
func bareKey(abs string) (key string, known bool) {
	fi, err := os.Stat(filepath.Join(abs, "config"))
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	return fmt.Sprintf("%s\x00%d\x00%d", abs, fi.Size(), fi.ModTime().UnixNano()), true
}

// Path returns the absolute path of the repository's directory.
func (r *Repo) Path() string { return r.path }

// DefaultBranch returns the branch HEAD points at, such as "main".
func (r *Repo) DefaultBranch(ctx context.Context) (string, error) {
	out, err := r.git(ctx, nil, "symbolic-ref", "--quiet", "HEAD")
	if err != nil {
		return "", r.errorf("read default branch", err)
	}
	ref := strings.TrimSpace(string(out))
	branch, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		return "", r.errorf("read default branch", fmt.Errorf("HEAD points at %s, not a branch", ref))
	}
	return branch, nil
}

// SetDefaultBranch points HEAD at refs/heads/<branch>. The branch need not
// exist yet, as after Init.
func (r *Repo) SetDefaultBranch(ctx context.Context, branch string) error {
	op := "set default branch " + branch
	if err := checkBranchName(branch); err != nil {
		return r.errorf(op, err)
	}
	return r.write(ctx, func() error {
		if _, err := r.gitRefWrite(ctx, "symbolic-ref", "HEAD", "refs/heads/"+branch); err != nil {
			return r.errorf(op, err)
		}
		return nil
	})
}

// errorf names the repository and the operation in an error.
func (r *Repo) errorf(op string, err error) error {
	return fmt.Errorf("%s in %s: %w", op, r.path, err)
}

// git runs git on the repository and returns its standard output.
func (r *Repo) git(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	return runGit(ctx, r.path, stdin, nil, args...)
}

// gitRefWrite runs a git process that writes a ref. Once started it runs to
// its end even if ctx ends meanwhile: git takes a ref's lock file and
// removes it when it is done, and a process killed in between leaves the
// lock behind, which refuses every later write of that ref.
func (r *Repo) gitRefWrite(ctx context.Context, args ...string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return runGit(context.WithoutCancel(ctx), r.path, nil, nil, args...)
}

// gitError is a git process that exited with an error; it carries git's own
// words.
type gitError struct {
	args   []string
	stderr string
	err    error
}

func (e *gitError) Error() string {
	cmd := "git"
	for _, a := range e.args {
		if !strings.HasPrefix(a, "--git-dir=") {
			cmd += " " + a
			break
		}
	}
	if e.stderr == "" {
		return fmt.Sprintf("%s: %v", cmd, e.err)
	}
	return fmt.Sprintf("%s: %s (%v)", cmd, e.stderr, e.err)
}

func (e *gitError) Unwrap() error { return e.err }

// exitCode returns the exit status of a failed git process, or -1 when the
// error is not an exit.
func exitCode(err error) int {
	var ee interface{ ExitCode() int } // *exec.ExitError, or a remembered exitStatus
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// runGit runs git in a clean environment. gitDir, when set, is passed as
// --git-dir; extraEnv adds variables such as the author's identity.
func runGit(ctx context.Context, gitDir string, stdin []byte, extraEnv []string, args ...string) ([]byte, error) {
	if gitDir != "" {
		args = append([]string{"--git-dir=" + gitDir}, args...)
	}
	gitProcesses.Add(1)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = append(gitEnv(), extraEnv...)
	cmd.Dir = os.TempDir()
	cmd.WaitDelay = 5 * time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &gitError{args: args, stderr: strings.TrimSpace(stderr.String()), err: err}
	}
	return stdout.Bytes(), nil
}

// gitProcesses counts the git processes started, for the tests of what
// saves them.
var gitProcesses atomic.Int64

var (
	homeOnce sync.Once
	homeDir  string
	homeErr  error
)

// privateHome returns an empty directory, private to this user, used as HOME
// and XDG_CONFIG_HOME so that no user configuration reaches git. It is one
// fixed directory per user, so processes do not leave one behind each; if it
// is not a plain, private, empty directory of ours, a new one is made.
func privateHome() string {
	homeOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("gitrepo-home-%d", os.Getuid()))
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			homeDir, homeErr = os.MkdirTemp("", "gitrepo-home-")
			return
		}
		if isPrivateEmptyDir(dir) {
			homeDir = dir
			return
		}
		homeDir, homeErr = os.MkdirTemp("", "gitrepo-home-")
	})
	if homeErr != nil {
		// Without a private directory, a path that cannot exist keeps git
		// from finding any user file.
		return "/nonexistent/gitrepo-home"
	}
	return homeDir
}

// isPrivateEmptyDir reports whether dir is a directory, not a symlink, that
// only its owner, this user, can enter, and that holds nothing.
func isPrivateEmptyDir(dir string) bool {
	info, err := os.Lstat(dir)
	if err != nil || !info.IsDir() || info.Mode().Perm() != 0o700 || !ownedByMe(info) {
		return false
	}
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
}

// gitEnv is the whole environment of every git process: nothing is inherited
// from the caller but PATH.
func gitEnv() []string {
	home := privateHome()
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	return []string{
		"PATH=" + path,
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_ATTR_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=/bin/false",
		"GIT_OPTIONAL_LOCKS=0",
		"GIT_LITERAL_PATHSPECS=1",
		"LC_ALL=C",
		"LANG=C",
		"TZ=UTC",
	}
}

// checkBranchName accepts a name git takes as refs/heads/<name>.
func checkBranchName(name string) error {
	if name == "" || strings.HasPrefix(name, "-") || strings.ContainsAny(name, "\x00\n") {
		return fmt.Errorf("branch name %q: %w", name, ErrInvalid)
	}
	return checkRefName("refs/heads/" + name)
}

// checkRefName accepts a full ref name under refs/ that follows the rules of
// git-check-ref-format(1).
func checkRefName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("ref name %q %s: %w", name, why, ErrInvalid)
	}
	if !strings.HasPrefix(name, "refs/") {
		return bad("must start with refs/")
	}
	if strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".") {
		return bad("must not end with / or .")
	}
	if strings.Contains(name, "..") || strings.Contains(name, "@{") {
		return bad("must not contain .. or @{")
	}
	for _, c := range []byte(name) {
		if c < 0x20 || c == 0x7f || strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return bad(fmt.Sprintf("must not contain %q", c))
		}
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return bad("has an empty component, one starting with . or one ending with .lock")
		}
	}
	return nil
}

// isSHA reports whether s is a full hexadecimal object ID.
func isSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range []byte(s) {
		hex := '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
		if !hex {
			return false
		}
	}
	return true
}

// checkSHA accepts a full object ID and returns it in lower case.
func checkSHA(what, sha string) (string, error) {
	if !isSHA(sha) {
		return "", fmt.Errorf("%s %q is not a full SHA: %w", what, sha, ErrInvalid)
	}
	return strings.ToLower(sha), nil
}

// checkRev accepts a revision expression that cannot be taken for an option
// and fits on one line of git's batch input.
func checkRev(what, rev string) error {
	if rev == "" || strings.HasPrefix(rev, "-") || strings.ContainsAny(rev, "\x00\n\r") {
		return fmt.Errorf("%s %q: %w", what, rev, ErrInvalid)
	}
	return nil
}
