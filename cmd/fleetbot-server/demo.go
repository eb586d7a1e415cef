package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/internal/cli"
	"github.com/fleetbot/fleetbot/internal/demo"
)

// demoOptions are the flags of `fleetbot demo`.
type demoOptions struct {
	fail     []string
	hold     []string
	rollback int
	json     bool
	fleet    string
	campaign string
	speed    float64
}

func newDemoCmd() *cobra.Command {
	opts := &demoOptions{}
	cmd := cli.ServerCommand(&cobra.Command{
		Use: "demo",
		Long: `Run a campaign end to end on this machine, with no account anywhere: a local
GitHub (the sandbox) holding the fleet repository, a simulated fleet whose
Terraform CI, Argo CD and EKS react to merges, and the real bot with its real
gates. The demo plays the tenant owners, who approve and merge each wave's pull
requests, and prints what happens, then a summary of every wave and cluster
with the version EKS reports.

--fail CLUSTER makes that cluster's Terraform apply fail: the campaign halts,
the demo checks that no later wave opened, skips the cluster and resumes.
--hold CLUSTER gives that cluster an EKS upgrade insight in ERROR (a removed
API still called): the pre-flight check holds it out of its pull request; if
that halts the campaign, the demo fixes the cause, retries it and resumes.
--rollback-after N rolls a revertible campaign back once wave N baked: revert
waves open one at a time, last wave first, and the demo merges them too.
--json prints only the final state on stdout; the progress goes to stderr.
--speed is how many times faster than the wall clock the simulated clock runs.

Run it from the repository root, where the default files are.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd, opts)
		},
	})
	f := cmd.Flags()
	f.StringArrayVar(&opts.fail, "fail", nil, "cluster whose Terraform apply fails (repeatable)")
	f.StringArrayVar(&opts.hold, "hold", nil, "cluster the pre-flight check holds back with an upgrade insight in ERROR (repeatable)")
	f.IntVar(&opts.rollback, "rollback-after", 0, "roll the campaign back once this wave baked")
	f.BoolVar(&opts.json, "json", false, "print only the final state, as JSON, on stdout")
	f.StringVar(&opts.fleet, "fleet", "examples/fleet", "directory of the fleet repository's files")
	f.StringVar(&opts.campaign, "campaign", "examples/demo/eks-1-30.yaml", "campaign file to run")
	f.Float64Var(&opts.speed, "speed", demo.DefaultSpeed, "how many times faster than the wall clock the simulated clock runs")
	return cmd
}

func runDemo(cmd *cobra.Command, opts *demoOptions) error {
	if opts.speed < 1 {
		return fmt.Errorf("--speed %g: want 1 or more", opts.speed)
	}
	if err := demoFile(opts.fleet, "--fleet", true); err != nil {
		return err
	}
	if err := demoFile(opts.campaign, "--campaign", false); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	progress := out
	if opts.json {
		progress = cmd.ErrOrStderr()
	}
	res, err := demo.Run(cmd.Context(), demo.Options{
		FleetDir: opts.fleet, CampaignFile: opts.campaign, Fail: opts.fail, Hold: opts.hold, RollbackAfter: opts.rollback, Out: progress, Speed: opts.speed,
	})
	var unknown *demo.UnknownClusterError
	if errors.As(err, &unknown) {
		flag := "--fail"
		if slices.Contains(opts.hold, unknown.Cluster) {
			flag = "--hold"
		}
		return fmt.Errorf("%s %q: %w", flag, unknown.Cluster, err)
	}
	if err != nil {
		return err
	}
	if !opts.json {
		return nil
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// demoFile checks that a default or given path exists and is a directory
// (dir) or a file, naming the flag and where to run from when it is not.
func demoFile(path, flag string, dir bool) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: no such file or directory; run fleetbot demo from the repository root, or give %s", flag, path, flag)
	case err != nil:
		return fmt.Errorf("%s %s: %w", flag, path, err)
	case dir && !fi.IsDir():
		return fmt.Errorf("%s %s: not a directory", flag, path)
	case !dir && fi.IsDir():
		return fmt.Errorf("%s %s: a directory, want a campaign file", flag, path)
	}
	return nil
}
