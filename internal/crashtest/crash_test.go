package crashtest

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

var (
	crashKills = flag.Int("crashtest.kills", 20, "kills of serve in each run of TestCrashBolt (make crashtest: 40)")
	crashSeeds = flag.Int("crashtest.seeds", 1, "runs of TestCrashBolt, each with a seed of its own (make crashtest: 5)")
	crashBase  = flag.Bool("crashtest.baseline", false, "also run the campaign once with no kill and report both wall times")
)

// TestCrashBolt runs a three-wave campaign (10 pull requests, 27 clusters)
// with `fleetbot serve` on the default bbolt store, kills it with SIGKILL
// at random moments (some inside a fetch of the fleet repository, some
// inside the opening of a pull request) and starts it again on the same
// directory each time. At the end the campaign Succeeded with exactly one
// pull request per tenant per wave, each cluster was edited by one merge,
// and EKS reports every cluster upgraded.
func TestCrashBolt(t *testing.T) {
	bin := testenv.BuildFleetbot(t)
	var base time.Duration
	if *crashBase {
		t.Run("no kill", func(t *testing.T) {
			l := startLive(t, allTenants)
			l.addReplica(bin, "serve", "{bolt: {path: state.db}}", "")
			res := l.run(0, 0, nil)
			l.checkEnd()
			base = res.wall
			t.Logf("no kill: campaign succeeded in %s", res.wall.Round(100*time.Millisecond))
		})
	}
	for seed := range *crashSeeds {
		t.Run(fmt.Sprintf("seed %d", seed+1), func(t *testing.T) {
			l := startLive(t, allTenants)
			r := l.addReplica(bin, "serve", "{bolt: {path: state.db}}", "")
			res := l.run(*crashKills, uint64(seed+1), l.killing(r))
			l.checkEnd()
			than := ""
			if base > 0 {
				than = fmt.Sprintf(" (no kill: %s)", base.Round(100*time.Millisecond))
			}
			repairs := 0
			for _, line := range r.logs() {
				if strings.Contains(line, "git mirror damaged") {
					repairs++
				}
			}
			t.Logf("%d kills (%d at random, %d inside a fetch, %d inside the opening of a pull request): campaign succeeded in %s%s; the mirror repaired itself %d times",
				*crashKills, res.kills[atRandom], res.kills[inFetch], res.kills[inOpen], res.wall.Round(100*time.Millisecond), than, repairs)
		})
	}
}
