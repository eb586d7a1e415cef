package main

import (
	"errors"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode maps an error from a command to the process exit code: 1 unless the
// command asked for another one.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func newRootCmd() *cobra.Command {
	info := readBuildInfo(debug.ReadBuildInfo)
	root := &cobra.Command{
		Use:           "fleetbot",
		Short:         "Upgrade fleets of EKS clusters through Git, wave by wave",
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version prints what `fleetbot version` prints.
		Version: info.String(),
	}
	root.SetVersionTemplate("{{.Version}}")
	root.Flags().BoolP("version", "v", false, "print the version, commit, build date and Go version")
	root.AddCommand(commands()...)
	root.AddCommand(newVersionCmd(info))
	return root
}
