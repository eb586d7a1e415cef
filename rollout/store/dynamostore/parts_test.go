package dynamostore_test

import (
	"bytes"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/rollout/store/dynamostore"
	"github.com/fleetbot/fleetbot/rollout/store/storetest"
)

// partItems counts the items of the table's part partition.
func partItems(t *testing.T, table string) int {
	t.Helper()
	out, err := testenv.DynamoDB(t).Query(t.Context(), &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "part"}},
		ConsistentRead:            aws.Bool(true),
		Select:                    types.SelectCount,
	})
	require.NoError(t, err)
	return int(out.Count)
}

// TestLargeRecordParts: a large record's parts are deleted once a write
// or a delete replaced them, and a refused write leaves none; of two
// replicas writing the same version at once, one wins and its value is
// read back whole.
func TestLargeRecordParts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	table := newTable(t)
	s := dynamostore.New(testenv.DynamoDB(t), table)
	const key = "campaigns/parts/state"
	incompressible := storetest.LargeValue(2<<20, 3)
	for i := range incompressible {
		incompressible[i] ^= byte(i * 7919 >> 3) // beyond what gzip finds
	}

	v, err := s.Put(ctx, key, storetest.LargeValue(4<<20, 1), 0, store.Fence{})
	require.NoError(t, err)
	first := partItems(t, table)
	require.Positive(t, first)
	v, err = s.Put(ctx, key, incompressible, v, store.Fence{})
	require.NoError(t, err)
	second := partItems(t, table)
	assert.Greater(t, second, 1, "2 MiB that do not compress take several parts")
	_, err = s.Put(ctx, key, storetest.LargeValue(4<<20, 2), v-1, store.Fence{})
	require.ErrorIs(t, err, store.ErrConflict)
	assert.Equal(t, second, partItems(t, table), "the first value's parts went with it; a refused write left none")

	// Two replicas write the next version at once.
	other := dynamostore.New(testenv.DynamoDB(t), table)
	values := [][]byte{storetest.LargeValue(3<<20, 4), storetest.LargeValue(3<<20, 5)}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, st := range []store.Store{s, other} {
		wg.Go(func() { _, errs[i] = st.Put(ctx, key, values[i], v, store.Fence{}) })
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, won, "both writes of version %d were taken", v+1)
			won = i
			continue
		}
		require.ErrorIs(t, err, store.ErrConflict)
	}
	require.NotEqual(t, -1, won, "neither write was taken: %v", errs)
	got, err := other.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, v+1, got.Version)
	assert.True(t, bytes.Equal(values[won], got.Value), "the winner's value, whole")

	require.NoError(t, s.Delete(ctx, key, got.Version, store.Fence{}))
	assert.Zero(t, partItems(t, table), "a deleted record leaves no parts")

	// A fenced delete leaves a tombstone, and no parts.
	lease, err := s.Acquire(ctx, "campaign/parts", "replica-a", time.Minute)
	require.NoError(t, err)
	fence := store.Fence{Lease: lease.Name, Token: lease.Token}
	v, err = s.Put(ctx, key, storetest.LargeValue(1<<20, 6), 0, fence)
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, key, v, fence))
	assert.Zero(t, partItems(t, table))
	_, err = s.Get(ctx, key)
	require.ErrorIs(t, err, store.ErrNotFound)
}

// TestOrphanPartsSwept: parts no record item names, left by a process
// stopped in the middle of a write, are deleted by the next large write
// or the delete of their record once they are an hour old; younger ones,
// which a write under way may still name, stay.
func TestOrphanPartsSwept(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	table := newTable(t)
	client := testenv.DynamoDB(t)
	s := dynamostore.New(client, table)
	const key = "campaigns/orphans/state"
	orphan := func(id string, written time.Time) {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(table),
			Item: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "part"}, "sk": &types.AttributeValueMemberS{Value: key + "\x00" + id + "\x000"},
				"val":     &types.AttributeValueMemberB{Value: []byte("left behind")},
				"written": &types.AttributeValueMemberN{Value: strconv.FormatInt(written.UnixNano(), 10)},
			},
		})
		require.NoError(t, err)
	}
	orphan("old", time.Now().Add(-2*time.Hour))
	orphan("young", time.Now().Add(-time.Minute))
	value := storetest.LargeValue(1<<20, 7)
	v, err := s.Put(ctx, key, value, 0, store.Fence{})
	require.NoError(t, err)
	got, err := s.Get(ctx, key)
	require.NoError(t, err)
	require.True(t, bytes.Equal(value, got.Value))
	parts := partItems(t, table)
	assert.Equal(t, 2, parts, "the record's own part and the young orphan")

	orphan("old-again", time.Now().Add(-2*time.Hour))
	require.NoError(t, s.Delete(ctx, key, v, store.Fence{}))
	assert.Equal(t, 1, partItems(t, table), "the young orphan stays")
}
