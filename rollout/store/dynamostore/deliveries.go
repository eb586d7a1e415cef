package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// seqKey is the sort key of a pending item: zero-padded so that sort-key
// order is arrival order.
func seqKey(seq int64) string { return fmt.Sprintf("%020d", seq) }

// PutDelivery implements store.Deliveries. A delivery is two items written
// together: the delivery itself, keyed by id so a second copy is refused, and
// a pending item keyed by an arrival number taken from a counter.
func (s *Store) PutDelivery(ctx context.Context, id, event string, payload []byte, received time.Time) (bool, error) {
	if id == "" {
		return false, fmt.Errorf("put delivery of event %s: id is empty", event)
	}
	// Seen before: answer without spending an arrival number.
	item, err := s.get(ctx, partDelivery, id)
	if err != nil {
		return false, fmt.Errorf("put delivery %s: %w", id, err)
	}
	if item != nil {
		return false, nil
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(partMeta, metaSeq),
		UpdateExpression:          aws.String("ADD #n :one"),
		ExpressionAttributeNames:  names(attrCount),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return false, fmt.Errorf("put delivery %s: take arrival number: %w", id, err)
	}
	seq, err := getN(out.Attributes, attrCount)
	if err != nil {
		return false, fmt.Errorf("put delivery %s: arrival number: %w", id, err)
	}
	body := func(part, sk string) map[string]types.AttributeValue {
		it := key(part, sk)
		it[attrID] = str(id)
		it[attrEvent] = str(event)
		it[attrReceived] = num(received.UnixNano())
		it[attrSeq] = num(seq)
		if s.deliveryTTL > 0 {
			it[AttrTTL] = num(received.Add(s.deliveryTTL).Unix())
		}
		setBinary(it, attrPayload, payload)
		return it
	}
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     body(partDelivery, id),
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: names(attrPK),
		}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: body(partPending, seqKey(seq))}},
	}})
	if reasons := cancelReasons(err); len(reasons) == 2 && reasons[0] == codeConditionFailed {
		// Another replica stored the same delivery since the read.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("put delivery %s: %w", id, err)
	}
	return true, nil
}

// PendingDeliveries implements store.Deliveries.
func (s *Store) PendingDeliveries(ctx context.Context, after uint64, limit int) ([]store.Delivery, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk > :after"),
		ExpressionAttributeNames:  names(attrPK, attrSK),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(partPending), ":after": str(seqKey(int64(after)))},
		ConsistentRead:            aws.Bool(true),
	}
	if limit > 0 {
		in.Limit = aws.Int32(int32(min(limit, 1000)))
	}
	var out []store.Delivery
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() && (limit <= 0 || len(out) < limit) {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list pending deliveries: %w", err)
		}
		for _, item := range page.Items {
			if limit > 0 && len(out) == limit {
				break
			}
			received, err := getN(item, attrReceived)
			if err != nil {
				return nil, fmt.Errorf("list pending deliveries: %s: %w", getS(item, attrID), err)
			}
			seq, err := getN(item, attrSeq)
			if err != nil {
				return nil, fmt.Errorf("list pending deliveries: %s: %w", getS(item, attrID), err)
			}
			out = append(out, store.Delivery{
				ID:       getS(item, attrID),
				Event:    getS(item, attrEvent),
				Payload:  getB(item, attrPayload),
				Received: time.Unix(0, received),
				Seq:      uint64(seq),
			})
		}
	}
	return out, nil
}

// MarkProcessed implements store.Deliveries: the delivery is kept, flagged
// and without its payload (the id recognises a redelivery), and its pending
// item goes.
func (s *Store) MarkProcessed(ctx context.Context, id string) error {
	item, err := s.get(ctx, partDelivery, id)
	if err != nil {
		return fmt.Errorf("mark delivery %s processed: %w", id, err)
	}
	if item == nil {
		return fmt.Errorf("mark delivery %s processed: %w", id, store.ErrNotFound)
	}
	if v, ok := item[attrProcessed].(*types.AttributeValueMemberBOOL); ok && v.Value {
		return nil
	}
	seq, err := getN(item, attrSeq)
	if err != nil {
		return fmt.Errorf("mark delivery %s processed: %w", id, err)
	}
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{
			TableName:                 aws.String(s.table),
			Key:                       key(partDelivery, id),
			UpdateExpression:          aws.String("SET #processed = :true REMOVE #payload"),
			ExpressionAttributeNames:  names(attrProcessed, attrPayload),
			ExpressionAttributeValues: map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true}},
		}},
		{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(partPending, seqKey(seq))}},
	}})
	if err != nil {
		return fmt.Errorf("mark delivery %s processed: %w", id, err)
	}
	return nil
}

// PruneDeliveries implements store.Deliveries: it reads the deliveries'
// keys and times (not their payloads) and deletes the old ones with their
// pending items.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time) (int, error) {
	fail := func(err error) (int, error) {
		return 0, fmt.Errorf("prune deliveries received before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	items, err := s.query(ctx, partDelivery, "", attrSK, attrReceived, attrSeq, attrProcessed)
	if err != nil {
		return fail(err)
	}
	n := 0
	for _, item := range items {
		received, err := getN(item, attrReceived)
		if err != nil {
			return fail(err)
		}
		if !time.Unix(0, received).Before(before) {
			continue
		}
		id := getS(item, attrSK)
		if v, ok := item[attrProcessed].(*types.AttributeValueMemberBOOL); !ok || !v.Value {
			seq, err := getN(item, attrSeq)
			if err != nil {
				return fail(err)
			}
			if _, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key(partPending, seqKey(seq))}); err != nil {
				return fail(err)
			}
		}
		if _, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key(partDelivery, id)}); err != nil {
			return fail(err)
		}
		n++
	}
	return n, nil
}
