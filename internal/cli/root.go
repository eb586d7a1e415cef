package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
)

// exitError carries a process exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Exit is err with the process exit code code.
func Exit(code int, err error) error { return &exitError{code: code, err: err} }

// ExitCode maps an error from a command to the process exit code: 1 unless
// the command asked for another one.
func ExitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// PreflightFunc answers `plan --preflight`: it asks EKS whether each
// cluster of plan p is ready for its first hop and writes the answers to w.
// fleetbot-server has it; it links the EKS client.
type PreflightFunc func(ctx context.Context, w io.Writer, c *rollout.Campaign, p *rollout.Plan, clusters []gitops.Cluster) error

// Program is one of fleetbot's two programs: fleetbot, the Program with no
// Server commands, carries out the commands that read and edit a fleet's
// files and runs fleetbot-server for the others; fleetbot-server carries
// out both.
type Program struct {
	// Server are fleetbot-server's own commands.
	Server []*cobra.Command
	// Preflight answers plan --preflight.
	Preflight PreflightFunc

	info *buildInfo // about's, once read
	args []string
	// exec replaces the process with another program (nil:
	// replaceProcess); tests record what it would run.
	exec func(path string, argv, env []string) error
}

// Root is the command tree of p for the command line args.
func (p *Program) Root(args []string) *cobra.Command {
	p.args = args
	root := &cobra.Command{
		Use:           "fleetbot",
		Short:         "Upgrade fleets of EKS clusters through Git, wave by wave",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.Flags().BoolP("version", "v", false, "print the version, commit, build date and Go version")
	root.SetArgs(args)
	own := p.ownCommands()
	if len(args) > 0 {
		if build := own[args[0]]; build != nil {
			// One of the commands on a fleet's files, asked neither for
			// help nor for a completion (those name help or __complete
			// first): its tree holds it alone. Building the others, and
			// cobra's completion commands, cost about a millisecond of
			// every `fleetbot set` (BENCHMARKS.md, CLI start).
			if cmd := build(); !cmd.HasSubCommands() {
				root.CompletionOptions.DisableDefaultCmd = true
				root.AddCommand(cmd)
				return root
			}
		}
	}
	// --version prints what `fleetbot version` prints. Only the whole
	// tree's root takes it (a command's tree names the command first).
	root.Version = p.about().String()
	root.SetVersionTemplate("{{.Version}}")
	for _, name := range ownOrder {
		root.AddCommand(own[name]())
	}
	if p.Server != nil {
		root.AddCommand(p.Server...)
	} else {
		for _, c := range serverCommands {
			root.AddCommand(p.inServer(c.use, c.short))
		}
	}
	return root
}

// about says which fleetbot this is, read from the build once it is asked.
func (p *Program) about() buildInfo {
	if p.info == nil {
		b := readBuildInfo(debug.ReadBuildInfo)
		p.info = &b
	}
	return *p.info
}

// ownOrder is the order of the Program's own commands (ownCommands) in
// its help.
var ownOrder = []string{"inventory", "init", "adopt", "validate", "set", "plan", "app", "version"}

// ownCommands builds each of the commands both programs carry out, by
// name.
func (p *Program) ownCommands() map[string]func() *cobra.Command {
	return map[string]func() *cobra.Command{
		"inventory": newInventoryCmd,
		"init":      newInitCmd,
		"adopt":     newAdoptCmd,
		"validate":  newValidateCmd,
		"set":       newSetCmd,
		"plan":      func() *cobra.Command { return newPlanCmd(p.Preflight, p.runServer) },
		"app":       newAppCmd,
		"version":   func() *cobra.Command { return newVersionCmd(p.about()) },
	}
}

// Main carries out the command line args, exiting with the status of a
// command that failed.
func (p *Program) Main(args []string) {
	if err := p.run(p.Root(args), args); err != nil {
		fmt.Fprintln(os.Stderr, "fleetbot:", err)
		os.Exit(ExitCode(err))
	}
}

// run carries out the command line args with root, p's command tree for
// them.
func (p *Program) run(root *cobra.Command, args []string) error {
	if err := p.checkBuild(); err != nil {
		return err
	}
	if p.answeredByServer(root, args) {
		return p.runServer()
	}
	if cmd, _, err := root.Find(args); err == nil && cmd.Annotations[loadsFleet] != "" {
		_, _ = limitMemory()
	}
	return root.ExecuteContext(context.Background())
}
