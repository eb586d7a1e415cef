package demo_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/internal/demo"
	"github.com/fleetbot/fleetbot/internal/sandbox"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
)

// The API-budget campaign's size and pace. CI runs a small fleet; the
// figures of BENCHMARKS.md come from
//
//	go test ./internal/demo -run TestAPIBudget -v -timeout 60m \
//	  -budget.clusters=1000 -budget.tenants=100 -budget.speed=60
var (
	budgetClusters = flag.Int("budget.clusters", 40, "clusters of the API-budget campaign's generated fleet")
	budgetTenants  = flag.Int("budget.tenants", 4, "tenants the clusters are shared among")
	budgetSpeed    = flag.Float64("budget.speed", 600, "how much faster than the wall clock the campaign's clock runs")
)

// TestAPIBudget runs the demo campaign (every cluster to EKS 1.30, dev then
// prod, canary first, half a fleet at a time) over a generated fleet, the
// owners merging, the simulated clusters upgrading, the bot reconciling
// once a simulated minute as serve does, against a sandbox that counts the
// bot's requests per installation per simulated hour and refuses them past
// GitHub's 5,000. It reports the peak hour, and the calls per reconcile
// pass and per pull request; the peak hour stays under the budget, nothing
// is refused, every cluster is upgraded.
func TestAPIBudget(t *testing.T) {
	t.Parallel()
	res, use := runBudget(t, sandbox.DefaultRateLimit)
	assert.Equal(t, rollout.CampaignSucceeded, res.State)
	assert.Less(t, use.peak.Requests, sandbox.DefaultRateLimit, "the peak hour is under the budget")
	assert.Zero(t, use.refused, "no request was refused")
}

// TestAPIBudgetSmall runs the same campaign on a budget of 30 requests an
// hour, less than its busiest hour needs (about 50 since a wave pull
// request opens in 5 calls): the bot slows itself before GitHub would
// refuse, so nothing is refused, and the campaign still succeeds, later.
func TestAPIBudgetSmall(t *testing.T) {
	t.Parallel()
	const limit = 30
	res, use := runBudget(t, limit)
	assert.Equal(t, rollout.CampaignSucceeded, res.State)
	assert.Zero(t, use.refused, "no request was refused")
	assert.Positive(t, use.paced, "the bot held requests back")
	assert.LessOrEqual(t, use.peak.Requests, limit)
}

// budgetUse is what the bot's installation spent over a run.
type budgetUse struct {
	hours   []sandbox.Usage
	peak    sandbox.Usage
	refused int
	paced   int
	calls   int
}

// runBudget runs the campaign over a generated fleet against a sandbox
// budget of limit requests an hour, checks every cluster reached 1.30 and
// logs the figures.
func runBudget(t *testing.T, limit int) (demo.Result, budgetUse) {
	t.Helper()
	fleet := filepath.Join(t.TempDir(), "fleet")
	require.NoError(t, generateFleet(fleet, *budgetClusters, *budgetTenants))
	campaign := budgetCampaign(t)
	var out bytes.Buffer
	started := time.Now()
	res, err := demo.Run(t.Context(), demo.Options{
		FleetDir: fleet, CampaignFile: campaign, Out: &out, Speed: *budgetSpeed, Dir: t.TempDir(),
		Timeout: 55 * time.Minute, RateLimit: limit, ReconcileInterval: bot.DefaultReconcileInterval,
	})
	require.NoError(t, err, "output so far:\n%s", out.String())
	upgraded := 0
	for _, w := range res.Waves {
		for _, c := range w.Clusters {
			assert.Equal(t, "1.30", c.Version, "EKS version of %s", c.Name)
			upgraded++
		}
	}
	assert.Equal(t, *budgetClusters, upgraded, "every cluster is in the campaign")

	var use budgetUse
	for _, u := range res.GitHub.Hours {
		if !strings.HasPrefix(u.Budget, "installation ") {
			continue
		}
		use.hours = append(use.hours, u)
		use.refused += u.Refused
		if u.Requests > use.peak.Requests {
			use.peak = u
		}
	}
	require.NotEmpty(t, use.hours, "the sandbox counted the installation's requests")
	for _, n := range res.GitHub.Paced {
		use.paced += n
	}
	byEndpoint := map[string]int{}
	pulls := 0
	notModified := 0
	for _, c := range res.GitHub.Calls {
		use.calls += c.Count
		if c.Status == "304" {
			notModified += c.Count
		}
		byEndpoint[c.Method+" "+c.Endpoint] += c.Count
		if c.Method == "POST" && c.Endpoint == "/repos/{owner}/{repo}/pulls" && c.Status == "201" {
			pulls += c.Count
		}
	}
	var report strings.Builder
	fmt.Fprintf(&report, "%d clusters, %d tenants, budget %d/h, speed %gx, %s of wall time, %d simulated hours\n",
		*budgetClusters, *budgetTenants, limit, *budgetSpeed, time.Since(started).Round(time.Second), len(use.hours))
	fmt.Fprintf(&report, "peak hour %d requests (%s), refused %d, held back %d\n", use.peak.Requests, use.peak.Hour.Format("15:04"), use.refused, use.paced)
	fmt.Fprintf(&report, "calls %d (%d of them free 304s), reconcile passes %d, pull requests opened %d\n", use.calls, notModified, res.GitHub.Passes, pulls)
	for _, u := range use.hours {
		fmt.Fprintf(&report, "  hour %s: %d requests, %d refused\n", u.Hour.Format("15:04"), u.Requests, u.Refused)
	}
	endpoints := make([]string, 0, len(byEndpoint))
	for e := range byEndpoint {
		endpoints = append(endpoints, e)
	}
	slices.SortFunc(endpoints, func(a, b string) int { return byEndpoint[b] - byEndpoint[a] })
	for _, e := range endpoints {
		fmt.Fprintf(&report, "  %6d %s\n", byEndpoint[e], e)
	}
	t.Logf("API budget:\n%s", report.String())
	return res, use
}

// budgetCampaign is the demo campaign with a progress deadline long enough
// for a busy machine (see testDeadline).
func budgetCampaign(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "examples", "demo", "eks-1-30.yaml"))
	require.NoError(t, err)
	edited := strings.Replace(string(src), "progressDeadline: 2h", testDeadline, 1)
	require.NotEqual(t, string(src), edited, "the demo campaign's progress deadline is 2h")
	path := filepath.Join(t.TempDir(), "eks-1-30.yaml")
	require.NoError(t, os.WriteFile(path, []byte(edited), 0o644))
	return path
}

// generateFleet writes a fleet repository of clusters EKS clusters at 1.29
// shared evenly among tenants, each tenant with a dev and a prod blueprint
// and one owner; the first cluster of each tenant's environments is a
// canary of the cpu fleet.
func generateFleet(dir string, clusters, tenants int) error {
	if tenants <= 0 || clusters < 2*tenants || clusters%(2*tenants) != 0 {
		return fmt.Errorf("generate a fleet: %d clusters do not share evenly among %d tenants of two environments", clusters, tenants)
	}
	perEnv := clusters / tenants / 2
	var owners strings.Builder
	files := map[string]string{}
	for ti := range tenants {
		tenant := fmt.Sprintf("tenant-%03d", ti)
		fmt.Fprintf(&owners, "  %s:\n    users: [owner-%03d]\n", tenant, ti)
		for _, env := range []string{"dev", "prod"} {
			var bp strings.Builder
			fmt.Fprintf(&bp, "tenant: %s\nenv: %s\nregion: eu-west-1\naccount_id: \"%012d\"\nservices:\n  eks:\n    enabled: true\n    config:\n",
				tenant, env, 100000000000+ti)
			for ci := range perEnv {
				fmt.Fprintf(&bp, "      t%03d-%s-%02d:\n        fleet: cpu\n        is_canary: %t\n        version: \"1.29\"\n"+
					"        nodegroups:\n          system:\n            instance_types: [m6i.large]\n            min_size: 2\n            max_size: 4\n",
					ti, env, ci, ti == 0 && ci == 0)
			}
			files["tenants/"+tenant+"/"+env+".yaml"] = bp.String()
		}
	}
	files[".fleetbot.yaml"] = "apiVersion: fleetbot.io/v1alpha1\nkind: Layout\nblueprints:\n  paths:\n    - tenants/*/*.yaml\n" +
		"  tenant: tenant\n  env: env\n  region: region\n  account: account_id\n  clusters: services.eks.config\n" +
		"  fleet: fleet\n  canary: is_canary\n  version: version\nowners:\n" + owners.String() + "admins:\n  users: [pat]\n"
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
