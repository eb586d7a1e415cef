package demo_test

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/benchfleet"
	"github.com/fleetbot/fleetbot/internal/demo"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/rollout/store/dynamostore"
)

// TestDemoDynamoDB runs the demo campaign over 80 generated clusters with
// the bot's store in DynamoDB (dynalite), as replicas of serve share it:
// the campaign's state outgrows the 400 KB a DynamoDB item holds long
// before the end, and the campaign still succeeds, every cluster at 1.30.
func TestDemoDynamoDB(t *testing.T) {
	t.Parallel()
	client, table := testenv.DynamoDB(t), testenv.DynamoDBTable(t, "demo")

	fleet := filepath.Join(t.TempDir(), "fleet")
	require.NoError(t, benchfleet.Generate(fleet, benchfleet.Options{Tenants: 4, PerEnv: 10,
		Owners: true, Accounts: true, CanaryTenants: 1, OneFleet: true, NoLabels: true}))
	var out bytes.Buffer
	res, err := demo.Run(t.Context(), demo.Options{
		FleetDir: fleet, CampaignFile: budgetCampaign(t), Out: &out, Speed: 600, Dir: t.TempDir(),
		Timeout:   10 * time.Minute,
		OpenStore: func() (store.Store, error) { return dynamostore.New(client, table), nil },
	})
	require.NoError(t, err, "output so far:\n%s", out.String())
	require.Equal(t, rollout.CampaignSucceeded, res.State, "output:\n%s", out.String())
	upgraded := 0
	for _, w := range res.Waves {
		for _, c := range w.Clusters {
			assert.Equal(t, "1.30", c.Version, "EKS version of %s", c.Name)
			upgraded++
		}
	}
	assert.Equal(t, 80, upgraded)

	st, err := dynamostore.New(client, table).Get(t.Context(), "campaigns/eks-1-30/state")
	require.NoError(t, err)
	assert.Greater(t, len(st.Value), 400<<10, "the state outgrew a DynamoDB item")
	t.Logf("the campaign's state at its end: %d KB in version %d", len(st.Value)>>10, st.Version)
}
