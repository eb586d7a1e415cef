//go:build unix

package sandbox

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDirFreedWhileAChildHoldsIt: a server's Close frees its directory at
// once even while another descriptor of its lock file is open, as in a
// process forked to start a git that has not reached exec yet.
func TestDirFreedWhileAChildHoldsIt(t *testing.T) {
	t.Parallel()
	cfg := Config{Dir: t.TempDir(), Token: testToken}
	first, err := New(cfg)
	require.NoError(t, err)
	child, err := syscall.Dup(int(first.dirLock.Fd()))
	require.NoError(t, err)
	defer func() { _ = syscall.Close(child) }()
	first.Close()
	second, err := New(cfg)
	require.NoError(t, err, "the directory is free once the first server closed")
	second.Close()
}
