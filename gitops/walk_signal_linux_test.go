package gitops

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestListFilesUnderSignals lists a directory of many entries while the
// process is sent signals without pause. The kernel ends a directory read
// early when a signal is pending (Go's own preemption and profiling send
// them), so a read that leaves room in the buffer does not mean the
// directory has ended: the walk must read to the empty read.
func TestListFilesUnderSignals(t *testing.T) {
	root := t.TempDir()
	const n = 6000
	for i := range n {
		require.NoError(t, os.WriteFile(filepath.Join(root, fmt.Sprintf("file-%05d.yaml", i)), nil, 0o600))
	}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			_ = syscall.Kill(os.Getpid(), syscall.SIGURG) // what Go preempts with; ignored otherwise
		}
	}()
	defer func() { stop.Store(true); <-done }()
	for range 50 {
		files, err := listFiles(t.Context(), root, 2)
		require.NoError(t, err)
		if !assert.Equal(t, n, len(files), "files listed") {
			return
		}
	}
}
