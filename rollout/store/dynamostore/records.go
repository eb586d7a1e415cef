package dynamostore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// Get implements store.Records.
func (s *Store) Get(ctx context.Context, k string) (store.Record, error) {
	item, err := s.get(ctx, partRecord, k)
	if err != nil {
		return store.Record{}, fmt.Errorf("get %s: %w", k, err)
	}
	if item == nil {
		return store.Record{}, fmt.Errorf("get %s: %w", k, store.ErrNotFound)
	}
	rec, err := decodeRecord(item)
	if err != nil {
		return store.Record{}, fmt.Errorf("get %s: %w", k, err)
	}
	return rec, nil
}

func decodeRecord(item map[string]types.AttributeValue) (store.Record, error) {
	v, err := getN(item, attrVersion)
	if err != nil {
		return store.Record{}, err
	}
	return store.Record{Value: getB(item, attrValue), Version: v}, nil
}

// versionCondition is the condition under which a record at version expect
// may be written: absent for 0, at that version otherwise.
func versionCondition(expect int64) (string, map[string]string, map[string]types.AttributeValue) {
	if expect == 0 {
		return "attribute_not_exists(#pk)", names(attrPK), nil
	}
	return "#ver = :expect", names(attrVersion), map[string]types.AttributeValue{":expect": num(expect)}
}

// Put implements store.Records.
func (s *Store) Put(ctx context.Context, k string, value []byte, expectVersion int64, fence store.Fence) (int64, error) {
	if err := store.CheckPut(k, expectVersion, fence); err != nil {
		return 0, err
	}
	next := expectVersion + 1
	item := key(partRecord, k)
	item[attrVersion] = num(next)
	setBinary(item, attrValue, value)
	cond, n, v := versionCondition(expectVersion)
	w := types.TransactWriteItem{Put: &types.Put{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  n,
		ExpressionAttributeValues: v,
	}}
	failed, err := s.write(ctx, fence, w)
	switch {
	case err != nil:
		return 0, fmt.Errorf("put %s: %w", k, err)
	case failed:
		return 0, fmt.Errorf("put %s at version %d: %w", k, expectVersion, store.ErrConflict)
	}
	return next, nil
}

// Delete implements store.Records.
func (s *Store) Delete(ctx context.Context, k string, expectVersion int64, fence store.Fence) error {
	if err := store.CheckDelete(k, expectVersion, fence); err != nil {
		return err
	}
	cond, n, v := versionCondition(expectVersion)
	w := types.TransactWriteItem{Delete: &types.Delete{
		TableName:                 aws.String(s.table),
		Key:                       key(partRecord, k),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  n,
		ExpressionAttributeValues: v,
	}}
	failed, err := s.write(ctx, fence, w)
	if err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	if !failed {
		return nil
	}
	// The condition does not say whether the record was missing or at
	// another version; a read does, for the error only.
	if _, err := s.Get(ctx, k); err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	return fmt.Errorf("delete %s at version %d: %w", k, expectVersion, store.ErrConflict)
}

// write makes one conditional Put or Delete. Unfenced, it is a single
// PutItem or DeleteItem; fenced, it is a transaction that also checks that
// the lease's token is still the fence's. failed reports that w's own
// condition did not hold; a stale fence returns store.ErrFenced.
func (s *Store) write(ctx context.Context, fence store.Fence, w types.TransactWriteItem) (failed bool, err error) {
	if fence == (store.Fence{}) {
		err = s.writeOne(ctx, w)
		if conditionFailed(err) {
			return true, nil
		}
		return false, err
	}
	check := types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                 aws.String(s.table),
		Key:                       key(partLease, fence.Lease),
		ConditionExpression:       aws.String("#token = :token"),
		ExpressionAttributeNames:  names(attrToken),
		ExpressionAttributeValues: map[string]types.AttributeValue{":token": unum(fence.Token)},
	}}
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{check, w},
	})
	reasons := cancelReasons(err)
	switch {
	case err == nil:
		return false, nil
	case len(reasons) != 2:
		return false, err
	case reasons[0] == codeConditionFailed:
		return false, fmt.Errorf("lease %s token %d is not current: %w", fence.Lease, fence.Token, store.ErrFenced)
	case reasons[1] == codeConditionFailed, reasons[1] == codeTransactionConflict, reasons[0] == codeTransactionConflict:
		// Another transaction on the same items raced this one: the caller
		// reads again and retries, as after any version conflict.
		return true, nil
	}
	return false, err
}

func (s *Store) writeOne(ctx context.Context, w types.TransactWriteItem) error {
	switch {
	case w.Put != nil:
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 w.Put.TableName,
			Item:                      w.Put.Item,
			ConditionExpression:       w.Put.ConditionExpression,
			ExpressionAttributeNames:  w.Put.ExpressionAttributeNames,
			ExpressionAttributeValues: w.Put.ExpressionAttributeValues,
		})
		return err
	case w.Delete != nil:
		_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 w.Delete.TableName,
			Key:                       w.Delete.Key,
			ConditionExpression:       w.Delete.ConditionExpression,
			ExpressionAttributeNames:  w.Delete.ExpressionAttributeNames,
			ExpressionAttributeValues: w.Delete.ExpressionAttributeValues,
		})
		return err
	}
	return fmt.Errorf("write holds neither a put nor a delete")
}

// List implements store.Records.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Entry, error) {
	items, err := s.query(ctx, partRecord, prefix)
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	entries := make([]store.Entry, 0, len(items))
	for _, item := range items {
		k := getS(item, attrSK)
		rec, err := decodeRecord(item)
		if err != nil {
			return nil, fmt.Errorf("list %q: record %s: %w", prefix, k, err)
		}
		entries = append(entries, store.Entry{Key: k, Record: rec})
	}
	return entries, nil
}
