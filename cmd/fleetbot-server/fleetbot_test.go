package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/cli"
	"github.com/fleetbot/fleetbot/internal/testenv"
)

// fleetbot shows fleetbot-server's commands in its help, each with the
// usage line and summary fleetbot-server has for it, and nothing else.
func TestFleetbotStandsForEachServerCommand(t *testing.T) {
	t.Parallel()
	server := map[string]string{}
	for _, c := range program().Server {
		server[c.Name()] = c.Use + "\t" + c.Short
	}
	for _, c := range (&cli.Program{}).Root(nil).Commands() {
		if c.DisableFlagParsing {
			assert.Equal(t, server[c.Name()], c.Use+"\t"+c.Short, "fleetbot %s", c.Name())
			delete(server, c.Name())
		}
	}
	assert.Empty(t, server, "fleetbot-server commands fleetbot does not show")
}

// The binaries as they ship: fleetbot hands serve, campaign and their help
// to fleetbot-server beside it, whose answers and exit codes are the
// person's; run by another build's fleetbot, fleetbot-server refuses.
func TestFleetbotRunsFleetbotServer(t *testing.T) {
	t.Parallel()
	bin := testenv.BuildFleetbot(t)
	run := func(env []string, name string, args ...string) (string, int) {
		cmd := exec.CommandContext(t.Context(), filepath.Join(filepath.Dir(bin), name), args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil {
			require.ErrorAs(t, err, &exit, "%s %v", name, args)
			return string(out), exit.ExitCode()
		}
		return string(out), 0
	}

	out, code := run(nil, "fleetbot", "serve", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Run fleetbot as a GitHub App: verify and store each webhook delivery")
	assert.Contains(t, out, "fleetbot serve --config FILE [flags]")

	missing := filepath.Join(t.TempDir(), "fleetbot.yaml")
	out, code = run(nil, "fleetbot", "campaign", "status", "--config", missing, "eks-1-30")
	assert.Equal(t, 2, code, out)
	assert.Equal(t, "fleetbot: "+missing+": cannot read the configuration file: no such file or directory\n", out)

	out, code = run(nil, "fleetbot", "plan", "--repo", exampleFleet, "--campaign", labelCampaign, "--preflight")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "this campaign has no eksVersion change", "fleetbot-server's plan answered")

	fleetbot, _ := run(nil, "fleetbot", "version")
	server, _ := run(nil, cli.ServerName, "version")
	assert.Equal(t, fleetbot, server, "one build")

	out, code = run([]string{"FLEETBOT_CLI_BUILD=0.0.9, commit 0123abc"}, cli.ServerName, "version")
	assert.Equal(t, 2, code, out)
	assert.Contains(t, out, "but the fleetbot that ran it is 0.0.9, commit 0123abc: install both from the same build")
	out, code = run([]string{"FLEETBOT_CLI_BUILD=0.0.9, commit 0123abc"}, "fleetbot", "demo", "--help")
	assert.Equal(t, 0, code, "fleetbot says its own build, whatever it inherited: %s", out)
}
