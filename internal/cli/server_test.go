package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// execCall is what runServer asked exec to run.
type execCall struct {
	ran       bool
	path      string
	argv, env []string
}

// fakeServer puts an executable fleetbot-server alone on PATH and returns
// its path.
func fakeServer(t *testing.T) string {
	dir := t.TempDir()
	path := filepath.Join(dir, ServerName)
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755))
	t.Setenv("PATH", dir)
	return path
}

// runFleetbot carries out args as fleetbot's Main does, recording the
// program it would replace itself with.
func runFleetbot(t *testing.T, args ...string) (execCall, string, error) {
	var call execCall
	p := &Program{exec: func(path string, argv, env []string) error {
		call = execCall{ran: true, path: path, argv: argv, env: env}
		return nil
	}}
	root := p.Root(args)
	var out strings.Builder
	root.SetOut(&out)
	root.SetErr(&out)
	err := p.run(root, args)
	return call, out.String(), err
}

// Each command of fleetbot-server, with its flags and its help, is handed
// over as typed, with fleetbot's build; plan only when it asks EKS.
func TestServerCommandsRunInFleetbotServer(t *testing.T) {
	server := fakeServer(t)
	build := buildEnv + "=" + readBuildInfo(debug.ReadBuildInfo).build()
	for _, args := range [][]string{
		{"serve", "--config", "fleetbot.yaml"},
		{"serve", "--help"},
		{"campaign", "status", "--server", "https://fleetbot.example", "eks-1-30"},
		{"store", "init", "--config", "fleetbot.yaml"},
		{"sandbox", "--dir", "x", "--addr", "127.0.0.1:0"},
		{"demo", "--fail", "a-stg-cpu-2"},
		{"plan", "--repo", exampleFleet, "--campaign", eksCampaign, "--preflight"},
	} {
		call, out, err := runFleetbot(t, args...)
		require.NoError(t, err, args)
		require.True(t, call.ran, "%v ran in fleetbot", args)
		assert.Equal(t, server, call.path, args)
		assert.Equal(t, append([]string{ServerName}, args...), call.argv)
		assert.Contains(t, call.env, build, args)
		assert.Empty(t, out, "fleetbot wrote nothing itself for %v", args)
	}
	for _, args := range [][]string{
		{"plan", "--repo", exampleFleet, "--campaign", eksCampaign},
		{"help", "plan"},
		{"--help"},
	} {
		call, out, err := runFleetbot(t, args...)
		require.NoError(t, err, args)
		assert.False(t, call.ran, "%v runs in fleetbot", args)
		assert.NotEmpty(t, out, args)
	}
}

// The help of a command of fleetbot-server, and the shell's completion of
// its command line, are fleetbot-server's; of fleetbot's own, fleetbot's.
func TestServerAnswersHelpAndCompletion(t *testing.T) {
	fakeServer(t)
	for _, tc := range []struct {
		args     []string
		inServer bool
	}{
		{[]string{"help", "serve"}, true},
		{[]string{"help", "campaign", "status"}, true},
		{[]string{"__complete", "serve", "--c"}, true},
		{[]string{"__completeNoDesc", "campaign", "st"}, true},
		{[]string{"help", "plan"}, false},
		{[]string{"help"}, false},
		{[]string{"__complete", "set", "--q"}, false},
		{[]string{"__complete", "se"}, false},
		{[]string{"__complete", ""}, false},
	} {
		call, out, err := runFleetbot(t, tc.args...)
		require.NoError(t, err, tc.args)
		assert.Equal(t, tc.inServer, call.ran, tc.args)
		if tc.inServer {
			assert.Equal(t, append([]string{ServerName}, tc.args...), call.argv)
		} else {
			assert.NotEmpty(t, out, tc.args)
		}
	}
}

// fleetbot --help lists fleetbot-server's commands beside its own.
func TestHelpListsServerCommands(t *testing.T) {
	_, out, err := runFleetbot(t, "--help")
	require.NoError(t, err)
	for _, c := range serverCommands {
		name, _, _ := strings.Cut(c.use, " ")
		assert.Regexp(t, `\n  `+name+` +`+regexp.QuoteMeta(c.short)+`\n`, out)
	}
}

// Without fleetbot-server, its commands fail with exit status 2, saying
// where it was looked for and how to install it.
func TestServerMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	self, err := os.Executable()
	require.NoError(t, err)
	for _, args := range [][]string{{"serve", "--config", "fleetbot.yaml"}, {"help", "serve"}, {"plan", "--repo", exampleFleet, "--campaign", eksCampaign, "--preflight"}} {
		call, _, err := runFleetbot(t, args...)
		require.Error(t, err, args)
		assert.False(t, call.ran)
		assert.Equal(t, 2, ExitCode(err), args)
		assert.Equal(t, "this command runs in fleetbot-server, which is neither at "+filepath.Join(filepath.Dir(self), ServerName)+
			" nor on PATH: install it beside fleetbot (make build, or go install github.com/fleetbot/fleetbot/cmd/...@VERSION)", err.Error())
	}
}

// fleetbot-server refuses a command line fleetbot of another build handed
// over, and carries out one of its own build's.
func TestServerChecksTheBuild(t *testing.T) {
	p := &Program{Server: []*cobra.Command{}}
	p.Root([]string{"version"})
	t.Setenv(buildEnv, "0.0.9, commit 0123abc")
	err := p.checkBuild()
	require.Error(t, err)
	assert.Equal(t, 2, ExitCode(err))
	assert.Equal(t, "fleetbot-server is "+p.about().build()+" but the fleetbot that ran it is 0.0.9, commit 0123abc: install both from the same build", err.Error())
	_, set := os.LookupEnv(buildEnv)
	assert.False(t, set, "what fleetbot-server runs does not inherit the check")

	t.Setenv(buildEnv, p.about().build())
	require.NoError(t, p.checkBuild())
	require.NoError(t, p.checkBuild(), "run by no fleetbot at all")
}

func TestServerCommand(t *testing.T) {
	t.Parallel()
	cmd := ServerCommand(&cobra.Command{Use: "sandbox", Long: "long"})
	assert.Equal(t, "sandbox --dir DIR [--addr 127.0.0.1:PORT]", cmd.Use)
	assert.Equal(t, "Run a local GitHub sandbox for demos and tests", cmd.Short)
	assert.Equal(t, "long", cmd.Long)
	assert.PanicsWithValue(t, "cli: set is not a command of fleetbot-server", func() { ServerCommand(&cobra.Command{Use: "set"}) })
}
