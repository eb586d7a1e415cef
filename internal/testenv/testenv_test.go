package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
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

// testTable creates a table with a hash key pk for one test.
func testTable(t *testing.T, client *dynamodb.Client) string {
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

// TestDynaliteConditions checks what the DynamoDB store's fencing rests
// on, straight against dynalite: a conditional write is refused with
// ConditionalCheckFailedException and changes nothing, and a condition
// comparing a number attribute holds or not as DynamoDB documents.
func TestDynaliteConditions(t *testing.T) {
	t.Parallel()
	client := DynamoDB(t)
	table := testTable(t, client)
	fenced := func(token string) error {
		_, err := client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
			TableName:                 aws.String(table),
			Key:                       itemKey("a"),
			UpdateExpression:          aws.String("SET #f = :t"),
			ConditionExpression:       aws.String("attribute_not_exists(#f) OR #f <= :t"),
			ExpressionAttributeNames:  map[string]string{"#f": "fence"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberN{Value: token}},
		})
		return err
	}
	require.NoError(t, fenced("5"), "first write")
	require.NoError(t, fenced("5"), "same token")
	require.NoError(t, fenced("12"), "later token (compared as a number, not as text)")
	var ccf *types.ConditionalCheckFailedException
	require.ErrorAs(t, fenced("9"), &ccf, "earlier token")
	assert.Equal(t, "12", getItem(t, client, table, "a")["fence"].(*types.AttributeValueMemberN).Value)
}

// TestDynaliteOutlivesAnAbandonedRequest: a client that drops a request
// before its body arrived (an SDK timing out on a loaded machine) leaves
// dynalite answering the others; dynalite's own handler threw, and every
// test after it failed.
func TestDynaliteOutlivesAnAbandonedRequest(t *testing.T) {
	t.Parallel()
	client := DynamoDB(t)
	url := Dynalite(t)
	for range 3 {
		conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		require.NoError(t, err)
		_, err = fmt.Fprint(conn, "POST / HTTP/1.1\r\nHost: dynalite\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 100\r\n\r\n{")
		require.NoError(t, err)
		require.NoError(t, conn.Close())
	}
	time.Sleep(200 * time.Millisecond) // the server reads the close
	_, err := client.ListTables(t.Context(), &dynamodb.ListTablesInput{})
	require.NoError(t, err, "dynalite still answers")
	require.True(t, healthy(t.Context(), url))
}
