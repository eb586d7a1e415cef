//go:build !linux

package testenv

import (
	"os/exec"
	"testing"
)

// dieWithParent does nothing where the kernel cannot tie a child's life to
// its parent's; Stop still ends it.
func dieWithParent(*exec.Cmd) {}

// ProcStatus needs /proc: elsewhere it fails the test.
func ProcStatus(t testing.TB, pid int, field string) int64 {
	t.Helper()
	t.Fatalf("reading %s of process %d needs /proc (Linux)", field, pid)
	return 0
}
