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

// Delivery states, in the delivery item's state attribute.
const (
	// stateStoring: the delivery item is written, its pending item may
	// not be yet (a process stopped between the two).
	stateStoring = "storing"
	// statePending: both items are written.
	statePending = "pending"
)

// PutDelivery implements store.Deliveries. A delivery is two items, each
// written on its own with a condition: the delivery itself, keyed by id so
// a second copy is refused, then a pending item keyed by an arrival number
// taken from a counter; last the delivery is marked pending. A process
// stopped between the writes leaves a delivery in state storing, which was
// never answered: the next PutDelivery of the same id completes it and
// reports it new. Two replicas completing it at once are told apart by the
// pending item's condition: one of them reports it new.
func (s *Store) PutDelivery(ctx context.Context, id, event string, payload []byte, received time.Time) (bool, error) {
	if id == "" {
		return false, fmt.Errorf("put delivery of event %s: id is empty", event)
	}
	item, err := s.get(ctx, partDelivery, id)
	if err != nil {
		return false, fmt.Errorf("put delivery %s: %w", id, err)
	}
	if item == nil {
		if item, err = s.newDelivery(ctx, id, event, payload, received); err != nil {
			return false, fmt.Errorf("put delivery %s: %w", id, err)
		}
		if item == nil {
			return false, nil // another replica stored it since the read
		}
	}
	if _, processed := item[attrProcessed]; processed || getS(item, attrState) != stateStoring {
		return false, nil
	}
	isNew, err := s.completeDelivery(ctx, id, item)
	if err != nil {
		return false, fmt.Errorf("put delivery %s: %w", id, err)
	}
	return isNew, nil
}

// newDelivery takes an arrival number and writes the delivery item in
// state storing; nil when it exists already.
func (s *Store) newDelivery(ctx context.Context, id, event string, payload []byte, received time.Time) (map[string]types.AttributeValue, error) {
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(partMeta, metaSeq),
		UpdateExpression:          aws.String("ADD #n :one"),
		ExpressionAttributeNames:  names(attrCount),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return nil, fmt.Errorf("take arrival number: %w", err)
	}
	seq, err := getN(out.Attributes, attrCount)
	if err != nil {
		return nil, fmt.Errorf("arrival number: %w", err)
	}
	it := key(partDelivery, id)
	it[attrID] = str(id)
	it[attrEvent] = str(event)
	it[attrReceived] = num(received.UnixNano())
	it[attrSeq] = num(seq)
	it[attrState] = str(stateStoring)
	if s.deliveryTTL > 0 {
		it[AttrTTL] = num(received.Add(s.deliveryTTL).Unix())
	}
	setBinary(it, attrPayload, payload)
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     it,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: names(attrPK),
	})
	if conditionFailed(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return it, nil
}

// completeDelivery writes the pending item of a delivery in state storing
// and marks it pending; isNew is false when another process wrote the
// pending item first.
func (s *Store) completeDelivery(ctx context.Context, id string, delivery map[string]types.AttributeValue) (isNew bool, err error) {
	seq, err := getN(delivery, attrSeq)
	if err != nil {
		return false, err
	}
	pending := key(partPending, seqKey(seq))
	for _, a := range []string{attrID, attrEvent, attrReceived, attrSeq, attrPayload, AttrTTL} {
		if v, ok := delivery[a]; ok {
			pending[a] = v
		}
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     pending,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: names(attrPK),
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pending item %d: %w", seq, err)
	}
	// The delivery is stored once its pending item is: the state only
	// spares a redelivery the pending item's write, which would be refused
	// (not new), so a failure to set it loses nothing.
	_, _ = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(partDelivery, id),
		UpdateExpression:          aws.String("SET #state = :pending"),
		ConditionExpression:       aws.String("#state = :storing"),
		ExpressionAttributeNames:  names(attrState),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pending": str(statePending), ":storing": str(stateStoring)},
	})
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
		done, err := s.processed(ctx, page.Items)
		if err != nil {
			return nil, fmt.Errorf("list pending deliveries: %w", err)
		}
		for _, item := range page.Items {
			if limit > 0 && len(out) == limit {
				break
			}
			if done[getS(item, attrID)] {
				// Left by a process stopped inside MarkProcessed.
				if _, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key(partPending, getS(item, attrSK))}); err != nil {
					return nil, fmt.Errorf("list pending deliveries: remove the pending item of processed %s: %w", getS(item, attrID), err)
				}
				continue
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

// processed returns which of the deliveries the pending items name are
// processed, reading their delivery items a hundred at a time.
func (s *Store) processed(ctx context.Context, pending []map[string]types.AttributeValue) (map[string]bool, error) {
	done := map[string]bool{}
	for start := 0; start < len(pending); start += 100 {
		var keys []map[string]types.AttributeValue
		for _, item := range pending[start:min(start+100, len(pending))] {
			keys = append(keys, key(partDelivery, getS(item, attrID)))
		}
		for len(keys) > 0 {
			out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				s.table: {Keys: keys, ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("#sk, #processed"),
					ExpressionAttributeNames: names(attrSK, attrProcessed)},
			}})
			if err != nil {
				return nil, err
			}
			for _, item := range out.Responses[s.table] {
				if v, ok := item[attrProcessed].(*types.AttributeValueMemberBOOL); ok && v.Value {
					done[getS(item, attrSK)] = true
				}
			}
			keys = out.UnprocessedKeys[s.table].Keys
			if len(keys) > 0 {
				// Throttled: DynamoDB asks to try the rest again later.
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(50 * time.Millisecond):
				}
			}
		}
	}
	return done, nil
}

// MarkProcessed implements store.Deliveries: the delivery is kept, flagged
// and without its payload (the id recognises a redelivery), then its
// pending item goes. A process stopped between the two leaves a pending
// item whose delivery is processed, which PendingDeliveries does not list
// and removes.
func (s *Store) MarkProcessed(ctx context.Context, id string) error {
	item, err := s.get(ctx, partDelivery, id)
	if err != nil {
		return fmt.Errorf("mark delivery %s processed: %w", id, err)
	}
	if item == nil {
		return fmt.Errorf("mark delivery %s processed: %w", id, store.ErrNotFound)
	}
	seq, err := getN(item, attrSeq)
	if err != nil {
		return fmt.Errorf("mark delivery %s processed: %w", id, err)
	}
	if v, ok := item[attrProcessed].(*types.AttributeValueMemberBOOL); !ok || !v.Value {
		_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       key(partDelivery, id),
			UpdateExpression:          aws.String("SET #processed = :true REMOVE #payload"),
			ExpressionAttributeNames:  names(attrProcessed, attrPayload),
			ExpressionAttributeValues: map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true}},
		})
		if err != nil {
			return fmt.Errorf("mark delivery %s processed: %w", id, err)
		}
	}
	if _, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key(partPending, seqKey(seq))}); err != nil {
		return fmt.Errorf("mark delivery %s processed: remove its pending item: %w", id, err)
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
