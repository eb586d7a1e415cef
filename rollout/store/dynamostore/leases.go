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

// readLease returns the stored lease; exists is false when it was never
// taken. A released lease has no holder.
func (s *Store) readLease(ctx context.Context, name string) (l store.Lease, exists bool, err error) {
	item, err := s.get(ctx, partLease, name)
	if err != nil || item == nil {
		return store.Lease{Name: name}, false, err
	}
	token, err := getU(item, attrToken)
	if err != nil {
		return store.Lease{}, false, fmt.Errorf("lease item: %w", err)
	}
	l = store.Lease{Name: name, Token: token, Holder: getS(item, attrHolder)}
	if l.Holder != "" {
		expires, err := getN(item, attrExpires)
		if err != nil {
			return store.Lease{}, false, fmt.Errorf("lease item: %w", err)
		}
		l.Expires = time.Unix(0, expires)
	}
	return l, true, nil
}

// Acquire implements store.Leases. It reads the lease, decides with
// store.Grant, and writes on the condition that the lease is still what it
// read; a concurrent change makes it decide again.
func (s *Store) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error) {
	for range maxAttempts {
		cur, exists, err := s.readLease(ctx, name)
		if err != nil {
			return store.Lease{}, fmt.Errorf("acquire lease %s for %s: %w", name, holder, err)
		}
		now := s.now()
		next, err := store.Grant(cur, name, holder, now, ttl)
		if err != nil {
			return store.Lease{}, fmt.Errorf("acquire lease %s for %s: %w", name, holder, err)
		}
		next.Expires = time.Unix(0, next.Expires.UnixNano())
		err = s.grant(ctx, cur, exists, next, now)
		if err == nil {
			return next, nil
		}
		if !conditionFailed(err) {
			return store.Lease{}, fmt.Errorf("acquire lease %s for %s: %w", name, holder, err)
		}
	}
	return store.Lease{}, fmt.Errorf("acquire lease %s for %s: lease changed %d times in a row: %w", name, holder, maxAttempts, store.ErrConflict)
}

// grant writes next over cur, on the condition that cur is still stored and
// is still free, expired, or held by next's holder.
func (s *Store) grant(ctx context.Context, cur store.Lease, exists bool, next store.Lease, now time.Time) error {
	item := key(partLease, next.Name)
	item[attrHolder] = str(next.Holder)
	item[attrToken] = unum(next.Token)
	item[attrExpires] = num(next.Expires.UnixNano())
	in := &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}
	switch {
	case !exists:
		in.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		in.ExpressionAttributeNames = names(attrPK)
	case next.Token == cur.Token:
		// A renewal by the holder, which must not have lost it meanwhile.
		in.ConditionExpression = aws.String("#token = :token AND #holder = :holder AND #expires > :now")
		in.ExpressionAttributeNames = names(attrToken, attrHolder, attrExpires)
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":token": unum(cur.Token), ":holder": str(next.Holder), ":now": num(now.UnixNano()),
		}
	default:
		// A change of hands: the lease must still be free or expired.
		in.ConditionExpression = aws.String("#token = :token AND (attribute_not_exists(#holder) OR #expires <= :now)")
		in.ExpressionAttributeNames = names(attrToken, attrHolder, attrExpires)
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":token": unum(cur.Token), ":now": num(now.UnixNano()),
		}
	}
	_, err := s.client.PutItem(ctx, in)
	return err
}

// Renew implements store.Leases.
func (s *Store) Renew(ctx context.Context, lease store.Lease, ttl time.Duration) (store.Lease, error) {
	if ttl <= 0 {
		return store.Lease{}, fmt.Errorf("renew lease %s: ttl %s is not positive", lease.Name, ttl)
	}
	now := s.now()
	expires := now.Add(ttl).UnixNano()
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(partLease, lease.Name),
		UpdateExpression:         aws.String("SET #expires = :expires"),
		ConditionExpression:      aws.String("#token = :token AND #holder = :holder AND #expires > :now"),
		ExpressionAttributeNames: names(attrToken, attrHolder, attrExpires),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":expires": num(expires), ":token": unum(lease.Token), ":holder": str(lease.Holder), ":now": num(now.UnixNano()),
		},
	})
	if conditionFailed(err) {
		err = store.ErrLost
	}
	if err != nil {
		return store.Lease{}, fmt.Errorf("renew lease %s for %s: %w", lease.Name, lease.Holder, err)
	}
	lease.Expires = time.Unix(0, expires)
	return lease, nil
}

// Release implements store.Leases. The item stays, without a holder, so the
// next holder's token is still larger than every earlier one.
func (s *Store) Release(ctx context.Context, lease store.Lease) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(partLease, lease.Name),
		UpdateExpression:          aws.String("REMOVE #holder, #expires"),
		ConditionExpression:       aws.String("#token = :token AND (#holder = :holder OR attribute_not_exists(#holder))"),
		ExpressionAttributeNames:  names(attrToken, attrHolder, attrExpires),
		ExpressionAttributeValues: map[string]types.AttributeValue{":token": unum(lease.Token), ":holder": str(lease.Holder)},
	})
	if conditionFailed(err) {
		err = store.ErrLost
	}
	if err != nil {
		return fmt.Errorf("release lease %s for %s: %w", lease.Name, lease.Holder, err)
	}
	return nil
}
