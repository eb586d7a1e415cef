package crashtest

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

var (
	replicaKills = flag.Int("replicas.kills", 12, "kills of replica a in TestReplicas")
	replicaSeed  = flag.Uint64("replicas.seed", 1, "seed of TestReplicas")
)

// paused is the moment of a blow that freezes a replica instead.
const paused moment = "pause"

// TestReplicas runs two campaigns (tenant a; tenants b, c and d; three
// waves each) with two `fleetbot serve` replicas on one DynamoDB table
// (dynalite). Replica a is killed with SIGKILL at random moments and
// started again; replica b is frozen with SIGSTOP past its leases' expiry,
// twice, and resumed. At the end both campaigns Succeeded with exactly one
// pull request per tenant per wave and no cluster edited twice, and the
// writes the replicas sent to the table show that no record was written
// with a token older than one that had written it.
func TestReplicas(t *testing.T) {
	bin := testenv.BuildFleetbot(t)
	endpoint := testenv.Dynalite(t)
	table := testenv.DynamoDBTable(t, "crashtest")
	// Each replica reaches the table through a recorder of its own, which
	// keeps every write it makes.
	rec := &recorder{upstream: endpoint}
	storeYAML := func(replica string) string {
		return fmt.Sprintf("{dynamodb: {table: %s, region: us-east-1, endpoint: %q}}", table, rec.endpoint(t, replica))
	}

	l := startLive(t, map[string]string{
		"eks-1-30-a":   "{tenants: [tenant-a]}",
		"eks-1-30-bcd": "{tenants: [tenant-b, tenant-c, tenant-d]}",
	})
	lease := fmt.Sprintf("leaseDuration: %s\n", leaseDuration)
	a := l.addReplica(bin, "a", storeYAML("a"), lease)
	rb := l.addReplica(bin, "b", storeYAML("b"), lease)
	kills := *replicaKills
	pauseAt := map[int]bool{kills / 3: true, 2 * kills / 3: true}
	blow := 0
	killA := l.killing(a)
	res := l.run(kills+len(pauseAt), *replicaSeed, func(rng *rand.Rand) moment {
		blow++
		if !pauseAt[blow] {
			return killA(rng)
		}
		rb.proc.Pause(t)
		time.Sleep(pauseFor)
		rb.proc.Resume(t)
		return paused
	})
	l.checkEnd()
	fences := checkFences(t, rec.all())
	require.Positive(t, fences.fenced, "no fenced write of a record was recorded")
	t.Logf("%d writes, %d of them fenced writes of records; %d fenced writes from a replica whose lease had passed to another before the other wrote the record", len(rec.all()), fences.fenced, fences.late)
	count := func(r *replica, msg string) int {
		n := 0
		for _, line := range r.logs() {
			if strings.Contains(line, msg) {
				n++
			}
		}
		return n
	}
	// The campaigns were spread: each replica owned one at some time.
	ownedA, ownedB := count(a, "campaign owned"), count(rb, "campaign owned")
	require.Positive(t, ownedA, "replica a never owned a campaign")
	require.Positive(t, ownedB, "replica b never owned a campaign")
	t.Logf("campaigns taken: %d times by a, %d by b; b found a step's lease lost %d times and an ownership lost %d times after a pause",
		ownedA, ownedB, count(rb, "campaign lease lost"), count(rb, "campaign ownership lost"))
	t.Logf("%d kills of a (%d at random, %d inside a fetch, %d inside the opening of a pull request), b paused %d times for %s: both campaigns succeeded in %s",
		kills, res.kills[atRandom], res.kills[inFetch], res.kills[inOpen], res.kills[paused], pauseFor, res.wall.Round(100*time.Millisecond))
}

// The replicas' lease, and how long replica b stays frozen: past it, so
// that a lease b held expires and a takes the campaign over.
const (
	leaseDuration = 5 * time.Second
	pauseFor      = 8 * time.Second
)
