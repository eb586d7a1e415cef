package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// ServerName is the program fleetbot runs for the commands that talk to
// GitHub, AWS, Prometheus or a store (serverCommands): it links their
// clients, whose start-up every run of fleetbot set or plan would otherwise
// pay. It is looked for beside fleetbot, then on PATH.
const ServerName = "fleetbot-server"

// buildEnv carries fleetbot's build to fleetbot-server, which refuses to
// run for another build (a command line one build accepts may mean
// something else to another).
const buildEnv = "FLEETBOT_CLI_BUILD"

// serverCommands are the commands fleetbot-server carries out, with the
// line `fleetbot --help` shows for each: ServerCommand gives fleetbot-server
// the same.
var serverCommands = []struct{ use, short string }{
	{"serve --config FILE", "Run the GitHub App: receive webhooks and roll campaigns out"},
	{"store", "Set up the store serve keeps its state in"},
	{"campaign", "Show, steer and export a running campaign: status, pause, resume, retry, skip, approve, rollback, abort, export"},
	{"sandbox --dir DIR [--addr 127.0.0.1:PORT]", "Run a local GitHub sandbox for demos and tests"},
	{"demo [--fail CLUSTER] [--hold CLUSTER] [--rollback-after N] [--json] [--fleet DIR] [--campaign FILE] [--speed N]", "Run a whole campaign on this machine: a local GitHub, a simulated fleet, the real bot"},
}

// ServerCommand gives cmd, a command of fleetbot-server whose Use is its
// name, the usage line and the summary `fleetbot --help` shows for it. It
// panics for a name that is not in serverCommands, a mistake no input can
// make.
func ServerCommand(cmd *cobra.Command) *cobra.Command {
	for _, c := range serverCommands {
		if name, _, _ := strings.Cut(c.use, " "); name == cmd.Use {
			cmd.Use, cmd.Short = c.use, c.short
			return cmd
		}
	}
	panic("cli: " + cmd.Use + " is not a command of " + ServerName)
}

// inServer is the command of fleetbot that stands for a command of
// fleetbot-server: it takes the command line as it is, flags and
// --help included, and runs fleetbot-server with it.
func (p *Program) inServer(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:                use,
		Short:              short,
		DisableFlagParsing: true,
		RunE:               func(*cobra.Command, []string) error { return p.runServer() },
	}
}

// answeredByServer says whether args ask, of a command of
// fleetbot-server's, its help (`help serve`) or the shell's completion of
// its command line (`__complete serve --c`): fleetbot-server knows its
// flags and arguments.
func (p *Program) answeredByServer(root *cobra.Command, args []string) bool {
	if p.Server != nil || len(args) < 2 {
		return false
	}
	switch args[0] {
	case "help", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
	default:
		return false
	}
	cmd, _, err := root.Find(args[1:])
	return err == nil && cmd != root && cmd.DisableFlagParsing
}

// runServer replaces this process with fleetbot-server, given the same
// arguments: the same process id, signals and exit status, as if fleetbot
// had carried the command out itself (on Windows, which cannot replace a
// process, fleetbot runs it as a child and exits with its status). It
// returns only when fleetbot-server cannot be run.
func (p *Program) runServer() error {
	path, err := serverPath()
	if err != nil {
		return err
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, buildEnv+"=") })
	env = append(env, buildEnv+"="+p.about().build())
	run := p.exec
	if run == nil {
		run = replaceProcess
	}
	if err := run(path, append([]string{ServerName}, p.args...), env); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("run %s: %w", path, err)}
	}
	return nil
}

// serverPath finds fleetbot-server: beside this program (through symbolic
// links), else on PATH.
func serverPath() (string, error) {
	beside := ServerName + " beside fleetbot"
	if self, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(self); err == nil {
			self = real
		}
		beside = filepath.Join(filepath.Dir(self), ServerName)
		if fi, err := os.Stat(beside); err == nil && fi.Mode().IsRegular() {
			return beside, nil
		}
	}
	path, err := exec.LookPath(ServerName)
	if err == nil {
		return path, nil
	}
	if !errors.Is(err, exec.ErrNotFound) {
		return "", &exitError{code: 2, err: err}
	}
	return "", &exitError{code: 2, err: fmt.Errorf("this command runs in %s, which is neither at %s nor on PATH: install it beside fleetbot (make build, or go install github.com/fleetbot/fleetbot/cmd/...@VERSION)", ServerName, beside)}
}

// checkBuild refuses, in fleetbot-server, to carry out a command line that
// fleetbot of another build handed over.
func (p *Program) checkBuild() error {
	from, ok := os.LookupEnv(buildEnv)
	if !ok || p.Server == nil {
		return nil
	}
	if err := os.Unsetenv(buildEnv); err != nil {
		return err
	}
	if own := p.about().build(); from != own {
		return &exitError{code: 2, err: fmt.Errorf("%s is %s but the fleetbot that ran it is %s: install both from the same build", ServerName, own, from)}
	}
	return nil
}
