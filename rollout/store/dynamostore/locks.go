package dynamostore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// Lock implements store.Locks.
func (s *Store) Lock(ctx context.Context, cluster, owner string) error {
	if cluster == "" || owner == "" {
		return fmt.Errorf("lock cluster %q for owner %q: both must be set", cluster, owner)
	}
	item := key(partLock, cluster)
	item[attrOwner] = str(owner)
	for range maxAttempts {
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 aws.String(s.table),
			Item:                      item,
			ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #owner = :owner"),
			ExpressionAttributeNames:  names(attrPK, attrOwner),
			ExpressionAttributeValues: map[string]types.AttributeValue{":owner": str(owner)},
		})
		if !conditionFailed(err) {
			if err != nil {
				return fmt.Errorf("lock %s for %s: %w", cluster, owner, err)
			}
			return nil
		}
		holder, err := s.lockOwner(ctx, cluster)
		if err != nil {
			return fmt.Errorf("lock %s for %s: %w", cluster, owner, err)
		}
		if holder != "" && holder != owner {
			return fmt.Errorf("lock %s for %s: %w", cluster, owner, &store.LockedError{Cluster: cluster, Owner: holder})
		}
		// The holder let go between the write and the read: try again.
	}
	return fmt.Errorf("lock %s for %s: lock changed hands %d times in a row: %w", cluster, owner, maxAttempts, store.ErrConflict)
}

// Unlock implements store.Locks.
func (s *Store) Unlock(ctx context.Context, cluster, owner string) error {
	for range maxAttempts {
		_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 aws.String(s.table),
			Key:                       key(partLock, cluster),
			ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #owner = :owner"),
			ExpressionAttributeNames:  names(attrPK, attrOwner),
			ExpressionAttributeValues: map[string]types.AttributeValue{":owner": str(owner)},
		})
		if !conditionFailed(err) {
			if err != nil {
				return fmt.Errorf("unlock %s for %s: %w", cluster, owner, err)
			}
			return nil
		}
		holder, err := s.lockOwner(ctx, cluster)
		if err != nil {
			return fmt.Errorf("unlock %s for %s: %w", cluster, owner, err)
		}
		if holder != "" && holder != owner {
			return fmt.Errorf("unlock %s for %s: %w", cluster, owner, &store.LockedError{Cluster: cluster, Owner: holder})
		}
	}
	return fmt.Errorf("unlock %s for %s: lock changed hands %d times in a row: %w", cluster, owner, maxAttempts, store.ErrConflict)
}

// lockOwner returns who holds cluster, "" when nobody does.
func (s *Store) lockOwner(ctx context.Context, cluster string) (string, error) {
	item, err := s.get(ctx, partLock, cluster)
	if err != nil {
		return "", err
	}
	return getS(item, attrOwner), nil
}

// Locks implements store.Locks.
func (s *Store) Locks(ctx context.Context) (map[string]string, error) {
	items, err := s.query(ctx, partLock, "")
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	locks := make(map[string]string, len(items))
	for _, item := range items {
		locks[getS(item, attrSK)] = getS(item, attrOwner)
	}
	return locks, nil
}
