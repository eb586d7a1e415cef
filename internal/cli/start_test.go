package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

// fleetbot starts as fast as the packages it links initialise, and set and
// plan start with it each time they run: it links the standard library,
// its commands' own packages and these, and runs fleetbot-server for the
// commands that need GitHub's, AWS's or Prometheus's clients (whose
// packages took 13 of the 17 ms a start of the binary that linked both
// spent initialising, BENCHMARKS.md, CLI start). This test says so when a
// change brings another in, so that it is weighed against the start it
// costs.
var linkable = regexp.MustCompile(`^(` +
	`github\.com/fleetbot/fleetbot/(cmd/fleetbot|internal/cli|gitops(/[a-z]+)*|rollout|rollout/decode|deploy)` +
	`|github\.com/spf13/(cobra|pflag)` +
	`|go\.yaml\.in/yaml/v3` +
	`|github\.com/pmezard/go-difflib/difflib` +
	`)$`)

func TestFleetbotLinksOnlyWhatItsCommandsUse(t *testing.T) {
	t.Parallel()
	for _, pkg := range testenv.Deps(t, "cmd/fleetbot") {
		first, _, _ := strings.Cut(pkg, "/")
		if !strings.Contains(first, ".") {
			continue // the standard library
		}
		if !linkable.MatchString(pkg) {
			t.Errorf("fleetbot links %s: its start initialises it for every command, set included; leave it to fleetbot-server, or weigh the start it costs and add it here", pkg)
		}
	}
}

// A command on a fleet's files named first runs from a tree of that command
// alone; what it prints, its errors and its help are those of the whole
// tree.
func TestOneCommandTreeAnswersAsTheWhole(t *testing.T) {
	t.Parallel()
	p := &Program{}
	for name, build := range p.ownCommands() {
		assert.Equal(t, name, build().Name())
		assert.Contains(t, ownOrder, name)
	}
	assert.Len(t, ownOrder, len(p.ownCommands()))

	dir := t.TempDir()
	file := filepath.Join(dir, "f.yaml")
	require.NoError(t, os.WriteFile(file, []byte("a:\n  b: \"1.29\"\n"), 0o600))
	for _, args := range [][]string{
		{"set", "--help"}, {"set"}, {"set", file}, {"set", "--bogus", file, "a.b", "1.30"},
		{"set", file, "a.b", "1.29"}, {"set", file, "a.c", "1"}, {"set", "-h"},
		{"plan", "--help"}, {"plan"}, {"plan", "--format", "xml"},
		{"validate", "--help"}, {"inventory", "--bogus"}, {"init", "--help"}, {"adopt", "--help"},
		{"version"}, {"version", "--help"}, {"version", "extra"},
	} {
		run := func(root *cobra.Command) string {
			var out, errOut bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&errOut)
			root.SetArgs(args)
			err := root.ExecuteContext(t.Context())
			return fmt.Sprintf("out:\n%s\nerr:\n%s\nerror: %v", out.String(), errOut.String(), err)
		}
		one := p.Root(args)
		require.Len(t, one.Commands(), 1, "%q", args)
		assert.Equal(t, run(p.Root(nil)), run(one), "%q", args)
	}
}
