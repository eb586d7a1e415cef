package wave

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// durableTree makes every file written under dir durable with one
// syncfs(2) of the file system holding it: a tree of thousands of files
// costs one system call, not one fsync each.
func durableTree(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = unix.Syncfs(int(d.Fd()))
	return errors.Join(err, d.Close())
}
