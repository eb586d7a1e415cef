//go:build unix

package cli

import "syscall"

// replaceProcess runs the program at path in place of this process.
func replaceProcess(path string, argv, env []string) error {
	return syscall.Exec(path, argv, env)
}
