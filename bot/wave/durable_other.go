//go:build !linux

package wave

import (
	"io/fs"
	"os"
	"path/filepath"
)

// durableTree makes every file and directory written under dir durable,
// one fsync each.
func durableTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		if d.IsDir() {
			return syncDir(p)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }() // read-only: the Sync's error is the one
		return f.Sync()
	})
}
