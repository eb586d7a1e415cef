package gitrepo

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ClearStaleLocks removes the lock files (NAME.lock) that git processes
// left in the repository when they were killed while writing it, and
// returns their paths. A git process creates a lock file before it writes a
// ref, packed-refs, HEAD or the configuration, and removes it when done;
// one left behind refuses every later write of that file. Call it only when
// no git process can be writing the repository, such as when the server
// that owns it starts.
func (r *Repo) ClearStaleLocks() ([]string, error) {
	var removed []string
	objects := filepath.Join(r.path, "objects")
	err := filepath.WalkDir(r.path, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path == objects:
			return fs.SkipDir // objects are written whole under other names
		case d.IsDir() || !d.Type().IsRegular() || !strings.HasSuffix(d.Name(), ".lock"):
			return nil
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed = append(removed, path)
		return nil
	})
	if err != nil {
		return removed, r.errorf("clear stale locks", err)
	}
	return removed, nil
}
