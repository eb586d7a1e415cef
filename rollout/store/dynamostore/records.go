package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// Get implements store.Records.
func (s *Store) Get(ctx context.Context, k string) (store.Record, error) {
	for attempt := 1; ; attempt++ {
		item, err := s.get(ctx, partRecord, k)
		if err != nil {
			return store.Record{}, fmt.Errorf("get %s: %w", k, err)
		}
		if item == nil || deleted(item) {
			return store.Record{}, fmt.Errorf("get %s: %w", k, store.ErrNotFound)
		}
		rec, err := s.decodeRecord(ctx, k, item)
		if errors.Is(err, errPartGone) && attempt < maxAttempts {
			continue // written again meanwhile: read the new one
		}
		if err != nil {
			return store.Record{}, fmt.Errorf("get %s: %w", k, err)
		}
		return rec, nil
	}
}

// decodeRecord reads the record that item, the record item of k, holds.
func (s *Store) decodeRecord(ctx context.Context, k string, item map[string]types.AttributeValue) (store.Record, error) {
	v, err := getN(item, attrVersion)
	if err != nil {
		return store.Record{}, err
	}
	value, err := s.value(ctx, k, item)
	if err != nil {
		return store.Record{}, err
	}
	return store.Record{Value: value, Version: v}, nil
}

// deleted reports whether a record item is the tombstone a fenced Delete
// leaves: the record is gone, its fence stays.
func deleted(item map[string]types.AttributeValue) bool {
	v, ok := item[attrDeleted].(*types.AttributeValueMemberBOOL)
	return ok && v.Value
}

// condition builds a condition expression and its names and values.
type condition struct {
	parts  []string
	names  map[string]string
	values map[string]types.AttributeValue
}

func (c *condition) add(expr string, names map[string]string, values map[string]types.AttributeValue) {
	c.parts = append(c.parts, "("+expr+")")
	if c.names == nil {
		c.names, c.values = map[string]string{}, map[string]types.AttributeValue{}
	}
	maps.Copy(c.names, names)
	maps.Copy(c.values, values)
}

func (c *condition) expr() *string { return aws.String(strings.Join(c.parts, " AND ")) }

// writeCondition is the condition under which a record at version expect
// may be written by fence: absent or a tombstone for 0, at that version
// otherwise; and, fenced, never written by a later token.
func writeCondition(expect int64, fence store.Fence) *condition {
	c := &condition{}
	if expect == 0 {
		c.add("attribute_not_exists(#pk) OR #deleted = :true", names(attrPK, attrDeleted),
			map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true}})
	} else {
		c.add("#ver = :expect AND attribute_not_exists(#deleted)", names(attrVersion, attrDeleted),
			map[string]types.AttributeValue{":expect": num(expect)})
	}
	if fence != (store.Fence{}) {
		// Tokens of one lease only are compared: a record another
		// lease wrote last (a report written under each commit's lease)
		// takes this one's.
		c.add("attribute_not_exists(#fence) OR #lease <> :lease OR #fence <= :token", names(attrFence, attrLease),
			map[string]types.AttributeValue{":token": unum(fence.Token), ":lease": str(fence.Lease)})
	}
	return c
}

// Put implements store.Records. The record is one item, written with
// UpdateItem so that the fence it carries stays through unfenced writes. A
// fenced write first reads the lease and is refused unless its token is the
// lease's; the item's condition then refuses it if a later token wrote the
// record meanwhile, and records the token (docs/store.md).
func (s *Store) Put(ctx context.Context, k string, value []byte, expectVersion int64, fence store.Fence) (int64, error) {
	if err := store.CheckPut(k, expectVersion, fence); err != nil {
		return 0, err
	}
	if err := s.checkFence(ctx, fence); err != nil {
		return 0, fmt.Errorf("put %s: %w", k, err)
	}
	next := expectVersion + 1
	c := writeCondition(expectVersion, fence)
	set := []string{"#ver = :next"}
	c.names["#ver"] = attrVersion
	c.values[":next"] = num(next)
	remove := []string{"#deleted"}
	c.names["#deleted"] = attrDeleted
	maps.Copy(c.names, names(attrPartID, attrPartCount, attrPartSum))
	var parts partRef
	switch {
	case len(value) > maxInline:
		var err error
		if parts, err = s.writeParts(ctx, k, value); err != nil {
			return 0, fmt.Errorf("put %s: %w", k, err)
		}
		set = append(set, "#pid = :pid", "#pcount = :pcount", "#psum = :psum")
		c.values[":pid"], c.values[":pcount"], c.values[":psum"] = str(parts.id), num(int64(parts.count)), str(parts.sum)
		remove = append(remove, "#val")
	case len(value) > 0:
		set = append(set, "#val = :val")
		c.values[":val"] = &types.AttributeValueMemberB{Value: value}
		remove = append(remove, "#pid", "#pcount", "#psum")
	default:
		remove = append(remove, "#val", "#pid", "#pcount", "#psum")
	}
	c.names["#val"] = attrValue
	if fence != (store.Fence{}) {
		set = append(set, "#fence = :token", "#lease = :lease")
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(partRecord, k),
		UpdateExpression:          aws.String("SET " + strings.Join(set, ", ") + " REMOVE " + strings.Join(remove, ", ")),
		ConditionExpression:       c.expr(),
		ExpressionAttributeNames:  c.names,
		ExpressionAttributeValues: c.values,
		ReturnValues:              types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		// Refused: no item names the parts. (After any other error the
		// write may have been made: its parts stay.)
		s.deleteParts(ctx, k, parts)
		return 0, s.whyRefused(ctx, "put", k, expectVersion, fence)
	}
	if err != nil {
		return 0, fmt.Errorf("put %s: %w", k, err)
	}
	s.deleteReplaced(ctx, k, out.Attributes)
	if parts.count > 0 {
		s.sweepParts(ctx, k, parts.id)
	}
	return next, nil
}

// deleteReplaced deletes the parts of the record item old that a write
// just replaced.
func (s *Store) deleteReplaced(ctx context.Context, k string, old map[string]types.AttributeValue) {
	if ref, ok, err := partsOf(old); err == nil && ok {
		s.deleteParts(ctx, k, ref)
	}
}

// Delete implements store.Records. Unfenced, the item goes; fenced, it
// stays as a tombstone that keeps the fence, so a holder whose lease
// passed on cannot write the record again.
func (s *Store) Delete(ctx context.Context, k string, expectVersion int64, fence store.Fence) error {
	if err := store.CheckDelete(k, expectVersion, fence); err != nil {
		return err
	}
	if err := s.checkFence(ctx, fence); err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	c := writeCondition(expectVersion, fence)
	var (
		old map[string]types.AttributeValue
		err error
	)
	if fence == (store.Fence{}) {
		var out *dynamodb.DeleteItemOutput
		out, err = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 aws.String(s.table),
			Key:                       key(partRecord, k),
			ConditionExpression:       c.expr(),
			ExpressionAttributeNames:  c.names,
			ExpressionAttributeValues: c.values,
			ReturnValues:              types.ReturnValueAllOld,
		})
		if err == nil {
			old = out.Attributes
		}
	} else {
		maps.Copy(c.names, names(attrValue, attrPartID, attrPartCount, attrPartSum))
		c.values[":true"] = &types.AttributeValueMemberBOOL{Value: true}
		var out *dynamodb.UpdateItemOutput
		out, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       key(partRecord, k),
			UpdateExpression:          aws.String("SET #deleted = :true, #fence = :token, #lease = :lease REMOVE #val, #pid, #pcount, #psum"),
			ConditionExpression:       c.expr(),
			ExpressionAttributeNames:  c.names,
			ExpressionAttributeValues: c.values,
			ReturnValues:              types.ReturnValueAllOld,
		})
		if err == nil {
			old = out.Attributes
		}
	}
	if conditionFailed(err) {
		return s.whyRefused(ctx, "delete", k, expectVersion, fence)
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	s.deleteReplaced(ctx, k, old)
	s.sweepParts(ctx, k, "")
	return nil
}

// checkFence refuses a fenced write whose token is not the lease's
// current one, as far as a read can tell: a lease that changes hands
// between this read and the write is caught by the record's own fence
// once the new holder wrote it.
func (s *Store) checkFence(ctx context.Context, fence store.Fence) error {
	if fence == (store.Fence{}) {
		return nil
	}
	cur, _, err := s.readLease(ctx, fence.Lease)
	if err != nil {
		return fmt.Errorf("read lease %s: %w", fence.Lease, err)
	}
	if cur.Token != fence.Token {
		return fmt.Errorf("lease %s token %d is not current (%d is): %w", fence.Lease, fence.Token, cur.Token, store.ErrFenced)
	}
	return nil
}

// whyRefused reads the record after its condition failed and says why: a
// later token wrote it (store.ErrFenced), it is missing (store.ErrNotFound,
// for a delete or an update), or it is at another version
// (store.ErrConflict).
func (s *Store) whyRefused(ctx context.Context, op, k string, expect int64, fence store.Fence) error {
	item, err := s.get(ctx, partRecord, k)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, k, err)
	}
	if fence != (store.Fence{}) && item != nil {
		if f, err := getU(item, attrFence); err == nil && f > fence.Token && getS(item, attrLease) == fence.Lease {
			return fmt.Errorf("%s %s: written by lease %s token %d, after token %d: %w", op, k, getS(item, attrLease), f, fence.Token, store.ErrFenced)
		}
	}
	if op == "delete" && (item == nil || deleted(item)) {
		return fmt.Errorf("%s %s: %w", op, k, store.ErrNotFound)
	}
	return fmt.Errorf("%s %s at version %d: %w", op, k, expect, store.ErrConflict)
}

// List implements store.Records; tombstones are left out. A record written
// again while it is listed is read again on its own.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Entry, error) {
	items, err := s.query(ctx, partRecord, prefix)
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	entries := make([]store.Entry, 0, len(items))
	for _, item := range items {
		if deleted(item) {
			continue
		}
		k := getS(item, attrSK)
		rec, err := s.decodeRecord(ctx, k, item)
		if errors.Is(err, errPartGone) {
			rec, err = s.Get(ctx, k)
			if errors.Is(err, store.ErrNotFound) {
				continue // deleted since
			}
		}
		if err != nil {
			return nil, fmt.Errorf("list %q: record %s: %w", prefix, k, err)
		}
		entries = append(entries, store.Entry{Key: k, Record: rec})
	}
	return entries, nil
}
