package demo_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/internal/benchfleet"
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

// TestAPIBudgetSmall runs the same campaign on a budget of 15 requests an
// hour for the bot's installation, less than its busiest hour needs (about
// 50 since a wave pull request opens in 5 calls, and still about 20 when a
// busy machine stretches the bot's work over more simulated hours): the bot
// slows itself before GitHub would refuse, so nothing is refused, and the
// campaign still succeeds, later. The owners and the simulated Terraform
// CI keep GitHub's 5,000 an hour of their own.
func TestAPIBudgetSmall(t *testing.T) {
	t.Parallel()
	const limit = 15
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
	// others counts the requests of the other budgets by name: the App's
	// own JWT calls (its slug), the tenant owners the demo plays, the
	// simulated Terraform CI.
	others map[string]int
}

// runBudget runs the campaign over a generated fleet against a sandbox
// budget of limit requests an hour, checks every cluster reached 1.30 and
// logs the figures.
func runBudget(t *testing.T, limit int) (demo.Result, budgetUse) {
	t.Helper()
	fleet := filepath.Join(t.TempDir(), "fleet")
	require.NoError(t, benchfleet.Generate(fleet, budgetFleet(t)))
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

	use := budgetUse{others: map[string]int{}}
	for _, u := range res.GitHub.Hours {
		if !strings.HasPrefix(u.Budget, "installation ") {
			use.others[u.Budget] += u.Requests
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
	byEndpoint, byStatus, failed := map[string]int{}, map[string]int{}, map[string]int{}
	pulls := 0
	notModified := 0
	appCalls := 0 // signed with the App's JWT: the App's budget
	for _, c := range res.GitHub.Calls {
		use.calls += c.Count
		switch {
		case c.Status == "304":
			notModified += c.Count
		case c.Status != "error" && (strings.HasPrefix(c.Endpoint, "/app") || c.Endpoint == "/repos/{owner}/{repo}/installation"):
			appCalls += c.Count
		}
		byEndpoint[c.Method+" "+c.Endpoint] += c.Count
		byStatus[c.Status] += c.Count
		if c.Status == "error" {
			failed[c.Method+" "+c.Endpoint] += c.Count
		}
		if c.Method == "POST" && c.Endpoint == "/repos/{owner}/{repo}/pulls" && c.Status == "201" {
			pulls += c.Count
		}
	}
	// Every call the bot made is counted by exactly one budget: its
	// installation's, or the App's for those signed with its JWT; an
	// attempt that got no answer may or may not have reached the count.
	lost := byStatus["error"]
	counted := sumRequests(use.hours)
	assert.LessOrEqual(t, counted, use.calls-notModified-appCalls, "the installation counted a call the bot did not make")
	assert.GreaterOrEqual(t, counted, use.calls-notModified-appCalls-lost, "the installation did not count a call the bot made")
	var report strings.Builder
	fmt.Fprintf(&report, "%d clusters, %d tenants, budget %d/h, speed %gx, %s of wall time, %d simulated hours\n",
		*budgetClusters, *budgetTenants, limit, *budgetSpeed, time.Since(started).Round(time.Second),
		int(use.hours[len(use.hours)-1].Hour.Sub(use.hours[0].Hour)/time.Hour)+1)
	fmt.Fprintf(&report, "peak hour %d requests (%s), refused %d, held back %d\n", use.peak.Requests, use.peak.Hour.Format(hourFormat), use.refused, use.paced)
	fmt.Fprintf(&report, "calls %d (%d of them free 304s), reconcile passes %d, pull requests opened %d\n", use.calls, notModified, res.GitHub.Passes, pulls)
	fmt.Fprintf(&report, "the installation's budget counted %d of the %d calls that are not 304s; other budgets (the App's own JWT calls, the owners the demo plays, the simulated Terraform CI) counted:",
		counted, use.calls-notModified)
	for _, name := range slices.Sorted(maps.Keys(use.others)) {
		fmt.Fprintf(&report, " %s %d", name, use.others[name])
	}
	fmt.Fprintln(&report)
	fmt.Fprint(&report, "calls by status:")
	for _, st := range slices.Sorted(maps.Keys(byStatus)) {
		fmt.Fprintf(&report, " %s %d", st, byStatus[st])
	}
	fmt.Fprintln(&report)
	if len(failed) > 0 {
		// An attempt with no answer counts where the sandbox admitted it
		// before the bot gave up on it, not otherwise.
		fmt.Fprint(&report, "attempts that ended in a transport error, by endpoint:")
		for _, e := range slices.Sorted(maps.Keys(failed)) {
			fmt.Fprintf(&report, " %s %d;", e, failed[e])
		}
		fmt.Fprintln(&report)
	}
	writeHours(&report, use.hours)
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

// hourFormat names a simulated hour in the report: the run starts at the
// wall clock's time and spans more than a day at 1,000 clusters.
const hourFormat = "Jan 2 15:04"

// writeHours writes one line per simulated hour from the first the sandbox
// counted to the last, an hour it does not list (nothing counted) as 0,
// numbered from the first.
func writeHours(w io.Writer, hours []sandbox.Usage) {
	if len(hours) == 0 {
		return
	}
	counted := make(map[time.Time]sandbox.Usage, len(hours))
	for _, u := range hours {
		counted[u.Hour] = u
	}
	first, last := hours[0].Hour, hours[len(hours)-1].Hour
	for i, h := 0, first; !h.After(last); i, h = i+1, h.Add(time.Hour) {
		u := counted[h]
		fmt.Fprintf(w, "  hour %2d (%s): %d requests, %d refused\n", i+1, h.Format(hourFormat), u.Requests, u.Refused)
	}
}

// budgetFleet describes the generated fleet of -budget.clusters shared
// evenly among -budget.tenants, each tenant with a dev and a prod
// blueprint, an owner and an AWS account, every cluster in the cpu fleet
// and the first tenant's first cluster of each environment its canary:
// the campaign's first wave of an environment is one cluster. It has no
// label files: the campaign changes no label, and they would slow each
// of the bot's passes, so fewer would fit in a simulated hour.
func budgetFleet(t *testing.T) benchfleet.Options {
	t.Helper()
	clusters, tenants := *budgetClusters, *budgetTenants
	if tenants <= 0 || clusters <= 0 || clusters%(benchfleet.Envs*tenants) != 0 {
		t.Fatalf("-budget.clusters=%d do not share evenly among -budget.tenants=%d of %d environments", clusters, tenants, benchfleet.Envs)
	}
	return benchfleet.Options{Tenants: tenants, PerEnv: clusters / tenants / benchfleet.Envs,
		Owners: true, Accounts: true, CanaryTenants: 1, OneFleet: true, NoLabels: true}
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

// sumRequests adds up the requests of hours.
func sumRequests(hours []sandbox.Usage) int {
	n := 0
	for _, u := range hours {
		n += u.Requests
	}
	return n
}
