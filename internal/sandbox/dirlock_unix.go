//go:build unix

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir holds the sandbox's directory for this server, with an exclusive
// lock on the open file f (DIR/sandbox.lock) until it is closed: a second
// sandbox on the same directory would write the same repositories and
// state file, and could not tell its own git lock files from ones left over.
func lockDir(dir string, f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	switch {
	case errors.Is(err, syscall.EWOULDBLOCK):
		return fmt.Errorf("sandbox dir %s is in use by another sandbox", dir)
	case err != nil:
		return fmt.Errorf("lock sandbox dir %s: %w", dir, err)
	}
	return nil
}

// unlockDir lets go of the lock before f is closed. Closing alone is not
// enough: the lock belongs to the open file, which a process this one is
// starting (a git, forked but not yet executing) shares for a moment, and
// it would hold the lock until then.
func unlockDir(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
