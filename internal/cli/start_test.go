package cli

import (
	"regexp"
	"strings"
	"testing"

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
