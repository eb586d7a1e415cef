package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

func TestNodeModuleMissingSaysHowToInstall(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	_, err := nodeModule(root, "dynalite")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "make deps")
	assert.Contains(t, err.Error(), filepath.Join(root, "tools", "npm", "node_modules"))
}

func TestNodeModulesInstalled(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"dynalite", "@octokit/openapi", "@octokit/webhooks-examples"} {
		dir := NodeModule(t, name)
		assert.FileExists(t, filepath.Join(dir, "package.json"), name)
	}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func itemKey(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": s(pk)}
}

var tableCount atomic.Int64

// shimTable creates a table with a hash key pk for one test.
func shimTable(t *testing.T, client *dynamodb.Client) string {
	t.Helper()
	name := fmt.Sprintf("testenv-%d", tableCount.Add(1))
	_, err := client.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	require.NoError(t, err)
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 100*time.Millisecond
	})
	require.NoError(t, waiter.Wait(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 10*time.Second))
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name
}

func getItem(t *testing.T, client *dynamodb.Client, table, pk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: itemKey(pk), ConsistentRead: aws.Bool(true)})
	require.NoError(t, err)
	return out.Item
}

// TestTransactWriteItems checks the shim against DynamoDB's documented
// behaviour: all writes or none, and one cancellation reason per item.
func TestTransactWriteItems(t *testing.T) {
	t.Parallel()
	client := DynamoDB(t)
	table := shimTable(t, client)
	ctx := t.Context()
	_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"pk": s("guard"), "token": &types.AttributeValueMemberN{Value: "2"},
	}})
	require.NoError(t, err)

	write := func(token string) error {
		_, err := client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{ConditionCheck: &types.ConditionCheck{
				TableName: aws.String(table), Key: itemKey("guard"),
				ConditionExpression:       aws.String("#t = :t"),
				ExpressionAttributeNames:  map[string]string{"#t": "token"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberN{Value: token}},
			}},
			{Put: &types.Put{
				TableName: aws.String(table), Item: map[string]types.AttributeValue{"pk": s("a"), "v": s(token)},
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			}},
			{Update: &types.Update{
				TableName: aws.String(table), Key: itemKey("b"),
				UpdateExpression:          aws.String("SET #v = :v"),
				ExpressionAttributeNames:  map[string]string{"#v": "v"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": s(token)},
			}},
		}})
		return err
	}

	err = write("1")
	var cancelled *types.TransactionCanceledException
	require.True(t, errors.As(err, &cancelled), "stale guard: %v", err)
	require.Len(t, cancelled.CancellationReasons, 3)
	assert.Equal(t, "ConditionalCheckFailed", aws.ToString(cancelled.CancellationReasons[0].Code))
	assert.Equal(t, "None", aws.ToString(cancelled.CancellationReasons[1].Code))
	assert.Empty(t, getItem(t, client, table, "a"), "a cancelled transaction wrote a")
	assert.Empty(t, getItem(t, client, table, "b"), "a cancelled transaction wrote b")
	assert.NotContains(t, getItem(t, client, table, "guard"), probeAttr, "the condition probe was not undone")

	require.NoError(t, write("2"))
	assert.Equal(t, s("2"), getItem(t, client, table, "a")["v"])
	assert.Equal(t, s("2"), getItem(t, client, table, "b")["v"])
	assert.Len(t, getItem(t, client, table, "guard"), 2, "the condition probe was not undone")

	err = write("2")
	require.True(t, errors.As(err, &cancelled), "existing a: %v", err)
	assert.Equal(t, "None", aws.ToString(cancelled.CancellationReasons[0].Code))
	assert.Equal(t, "ConditionalCheckFailed", aws.ToString(cancelled.CancellationReasons[1].Code))
}

func TestTransactWriteItemsRefusesTwoWritesToOneItem(t *testing.T) {
	t.Parallel()
	client := DynamoDB(t)
	table := shimTable(t, client)
	put := types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: map[string]types.AttributeValue{"pk": s("a")}}}
	_, err := client.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{put, put}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "multiple operations on one item")
	assert.Empty(t, getItem(t, client, table, "a"))
}
