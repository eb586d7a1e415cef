package main

import (
	"flag"
	"os"
	"testing"

	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/internal/cli"
	"github.com/fleetbot/fleetbot/internal/testenv"
)

var _ = flag.Bool("update", false, "rewrite golden files")

// The example fleet and two of its campaigns.
const (
	exampleFleet  = "../../examples/fleet"
	eksCampaign   = "../../examples/campaigns/eks-1-30.yaml"
	labelCampaign = "../../examples/campaigns/addons-release2.yaml"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Stop()
	os.Exit(code)
}

// newRootCmd is fleetbot-server's command tree, its command line set apart.
func newRootCmd() *cobra.Command { return program().Root(nil) }

// runCLI runs fleetbot-server in-process with args and returns stdout,
// stderr and the exit code main would use.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, err := execCLI(t, args...)
	if err != nil {
		code = cli.ExitCode(err)
	}
	return stdout, stderr, code
}

// execCLI runs fleetbot-server in-process with args and returns stdout,
// stderr and the error the command returned.
func execCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return testenv.Execute(t, newRootCmd(), args...)
}
