package dynamostore_test

import (
	"context"
	"fmt"
	"regexp"
	"sync/atomic"
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

var tables atomic.Int64

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// newTable creates a table of its own for one test and deletes it after.
func newTable(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("fleetbot-%d-%s", tables.Add(1), unsafeName.ReplaceAllString(t.Name(), "-"))
	if len(name) > 200 {
		name = name[:200]
	}
	client := testenv.DynamoDB(t)
	created, err := dynamostore.CreateTable(t.Context(), client, name)
	require.NoError(t, err)
	require.True(t, created)
	t.Cleanup(func() {
		_, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		assert.NoError(t, err, "delete table %s", name)
	})
	return name
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, now func() time.Time) store.Store {
			return dynamostore.New(testenv.DynamoDB(t), newTable(t), dynamostore.WithClock(now))
		},
		Share: func(t *testing.T, s store.Store, now func() time.Time) store.Store {
			return dynamostore.New(testenv.DynamoDB(t), s.(*dynamostore.Store).Table(), dynamostore.WithClock(now))
		},
		Reopen: func(t *testing.T, s store.Store, now func() time.Time) store.Store {
			require.NoError(t, s.Close())
			return dynamostore.New(testenv.DynamoDB(t), s.(*dynamostore.Store).Table(), dynamostore.WithClock(now))
		},
	})
}

func TestCreateTable(t *testing.T) {
	t.Parallel()
	client := testenv.DynamoDB(t)
	name := newTable(t)
	created, err := dynamostore.CreateTable(t.Context(), client, name)
	require.NoError(t, err, "create an existing table again")
	assert.False(t, created)

	other := name + "-other-keys"
	_, err = client.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String(other),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	require.NoError(t, err)
	_, err = dynamostore.CreateTable(t.Context(), client, other)
	require.Error(t, err, "a table with other keys")
	assert.Contains(t, err.Error(), other)
	assert.Contains(t, err.Error(), "want pk (hash) and sk (range)")
}

func TestUnreachableEndpoint(t *testing.T) {
	t.Parallel()
	client := dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String("http://127.0.0.1:1"),
		Credentials:      testenv.DynamoDB(t).Options().Credentials,
		RetryMaxAttempts: 1,
	})
	s := dynamostore.New(client, "fleetbot-nowhere")
	_, err := s.Put(t.Context(), "campaigns/x", []byte("x"), 0, store.Fence{})
	require.Error(t, err)
	assert.NotErrorIs(t, err, store.ErrConflict, "a network error is not a conflict")
	assert.Contains(t, err.Error(), "put campaigns/x")
}
