package fleetsim

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/fleetbot/fleetbot/gitops"
)

// mirror is the simulator's bare copy of the branch it follows, fetched
// through git's smart HTTP as any CI runner would.
type mirror struct {
	dir    string // the bare repository
	trees  string // where commits are unpacked for loading
	url    string // the fetch URL, with the token as password
	token  string // hidden in error messages
	branch string
}

// open creates the bare repository unless it exists.
func (m *mirror) open(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(m.dir, "HEAD")); err == nil {
		return nil
	}
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return fmt.Errorf("mirror %s: %w", m.dir, err)
	}
	_, err := m.git(ctx, "init", "-q", "--bare", ".")
	return err
}

// fetch brings the branch up to date and returns its head.
func (m *mirror) fetch(ctx context.Context) (string, error) {
	ref := "refs/heads/" + m.branch
	if _, err := m.git(ctx, "fetch", "-q", "--no-tags", m.url, "+"+ref+":"+ref); err != nil {
		return "", err
	}
	out, err := m.git(ctx, "rev-parse", "--verify", ref+"^{commit}")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// chain returns the commits on the first-parent chain from after since up
// to head, oldest first; all of head's chain when since is empty.
func (m *mirror) chain(ctx context.Context, since, head string) ([]string, error) {
	rng := head
	if since != "" {
		rng = since + ".." + head
	}
	out, err := m.git(ctx, "rev-list", "--first-parent", "--reverse", rng)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// parent returns commit's first parent, "" for a root commit.
func (m *mirror) parent(ctx context.Context, commit string) (string, error) {
	out, err := m.git(ctx, "rev-list", "--parents", "-n", "1", commit)
	if err != nil {
		return "", err
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		return "", nil
	}
	return f[1], nil
}

// load unpacks commit and reads its fleet inventory.
func (m *mirror) load(ctx context.Context, commit string) (*gitops.Inventory, error) {
	dir := filepath.Join(m.trees, commit)
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if err := m.unpack(ctx, commit, dir); err != nil {
		return nil, fmt.Errorf("unpack %s: %w", short(commit), err)
	}
	inv, err := gitops.Load(ctx, []string{dir})
	if err != nil {
		return nil, fmt.Errorf("load the fleet at %s: %w", short(commit), err)
	}
	return inv, nil
}

// unpack writes the files of commit into dir through git archive.
func (m *mirror) unpack(ctx context.Context, commit, dir string) error {
	cmd := m.command(ctx, "archive", "--format=tar", commit)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	extractErr := extract(tar.NewReader(out), dir)
	if extractErr != nil {
		_, _ = io.Copy(io.Discard, out)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git archive: %w: %s", err, m.hide(stderr.String()))
	}
	return extractErr
}

// extract writes the directories and regular files of an archive under dir;
// other entries (links, the commit's pax header) are skipped.
func extract(tr *tar.Reader, dir string) error {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(strings.TrimSuffix(h.Name, "/"))
		if h.Typeflag != tar.TypeDir && h.Typeflag != tar.TypeReg {
			continue
		}
		if !filepath.IsLocal(name) {
			return fmt.Errorf("archive entry %q leaves the tree", h.Name)
		}
		path := filepath.Join(dir, name)
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := writeFile(path, tr); err != nil {
			return err
		}
	}
}

func writeFile(path string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// git runs a git command in the bare repository and returns its output.
func (m *mirror) git(ctx context.Context, args ...string) ([]byte, error) {
	cmd := m.command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", args[0], err, m.hide(strings.TrimSpace(stderr.String())))
	}
	return out, nil
}

func (m *mirror) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = m.dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	return cmd
}

// hide keeps the token out of messages.
func (m *mirror) hide(s string) string {
	if m.token == "" {
		return s
	}
	return strings.ReplaceAll(s, m.token, "***")
}

// short abbreviates a commit SHA as GitHub does.
func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
