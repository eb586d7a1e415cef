package testenv

import (
	"bytes"
	"testing"

	"github.com/spf13/cobra"
)

// Execute runs the command tree root in-process with the command line
// args, as the program would, and returns what it wrote to standard output
// and standard error and the error it returned.
func Execute(t *testing.T, root *cobra.Command, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}
