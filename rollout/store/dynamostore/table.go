package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// CreateTable creates the state table (partition key pk, sort key sk, both
// strings, billed per request) and waits until it is active; it reports
// whether it created it. A table that already exists with that key schema
// is left as it is.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) (bool, error) {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return false, fmt.Errorf("create table %s: %w", table, err)
	}
	return err == nil, waitActive(ctx, client, table)
}

// waitActive polls the table until it is active and checks its key schema.
func waitActive(ctx context.Context, client *dynamodb.Client, table string) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return fmt.Errorf("describe table %s: %w", table, err)
		}
		if err := checkSchema(out.Table); err != nil {
			return fmt.Errorf("table %s: %w", table, err)
		}
		if out.Table.TableStatus == types.TableStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for table %s to be active (now %s): %w", table, out.Table.TableStatus, ctx.Err())
		case <-tick.C:
		}
	}
}

// checkSchema refuses a table whose keys are not pk (hash) and sk (range).
func checkSchema(t *types.TableDescription) error {
	want := map[string]types.KeyType{attrPK: types.KeyTypeHash, attrSK: types.KeyTypeRange}
	if len(t.KeySchema) != len(want) {
		return fmt.Errorf("key schema has %d keys, want pk (hash) and sk (range)", len(t.KeySchema))
	}
	for _, k := range t.KeySchema {
		if want[aws.ToString(k.AttributeName)] != k.KeyType {
			return fmt.Errorf("key %s is %s, want pk (hash) and sk (range)", aws.ToString(k.AttributeName), k.KeyType)
		}
	}
	return nil
}

// ErrNoTTL reports an endpoint that does not implement DynamoDB's time to
// live (a local test server); serve's retention pass still prunes.
var ErrNoTTL = errors.New("the endpoint does not implement time to live")

// EnableTTL turns DynamoDB's time to live on for the table, on AttrTTL,
// unless it is on already; enabled says it was turned on now. TTL on
// another attribute is an error naming it: it would delete other items.
func EnableTTL(ctx context.Context, client *dynamodb.Client, table string) (enabled bool, err error) {
	out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		return false, fmt.Errorf("describe time to live of %s: %w", table, err)
	}
	if d := out.TimeToLiveDescription; d != nil {
		attr := aws.ToString(d.AttributeName)
		switch d.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			if attr == AttrTTL {
				return false, nil
			}
			return false, fmt.Errorf("table %s: time to live is on attribute %q; fleetbot needs it on %q (turn it off first)", table, attr, AttrTTL)
		case types.TimeToLiveStatusDisabling:
			return false, fmt.Errorf("table %s: time to live is being turned off; run this again in an hour, once DynamoDB lets it be turned on", table)
		}
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(AttrTTL), Enabled: aws.Bool(true)},
	})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "UnknownOperationException" {
		return false, fmt.Errorf("table %s: %w", table, ErrNoTTL)
	}
	if err != nil {
		return false, fmt.Errorf("turn time to live on for %s: %w", table, err)
	}
	return true, nil
}
