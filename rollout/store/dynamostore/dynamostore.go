package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// Attribute names and the partition of each kind of item (docs/store.md).
const (
	attrPK        = "pk"
	attrSK        = "sk"
	attrValue     = "val"
	attrVersion   = "ver"
	attrOwner     = "owner"
	attrHolder    = "holder"
	attrToken     = "token"
	attrExpires   = "expires"
	attrID        = "id"
	attrEvent     = "event"
	attrPayload   = "payload"
	attrReceived  = "received"
	attrSeq       = "seq"
	attrProcessed = "processed"
	attrFence     = "fence"
	attrLease     = "lease"
	attrDeleted   = "deleted"
	attrState     = "state"
	attrCount     = "n"
	// AttrTTL is the attribute DynamoDB's time to live reads: when (Unix
	// seconds) an item may be deleted. Only deliveries carry it, and only
	// when the store was given their retention (WithDeliveryTTL).
	AttrTTL = "ttl"

	partRecord   = "record"
	partLock     = "lock"
	partLease    = "lease"
	partDelivery = "delivery"
	partPending  = "pending"
	partMeta     = "meta"
	partPart     = "part"
	metaSeq      = "delivery-seq"
)

// maxAttempts bounds the read-decide-write loops that a concurrent writer can
// make start over (lease acquisition, lock error reporting).
const maxAttempts = 8

// Store is a store.Store in one DynamoDB table.
type Store struct {
	client *dynamodb.Client
	table  string
	now    func() time.Time
	// deliveryTTL is how long after its arrival a delivery may expire; 0
	// sets no expiry.
	deliveryTTL time.Duration
}

var _ store.Store = (*Store)(nil)

// Option changes how New builds a store.
type Option func(*Store)

// WithClock makes the store judge lease expiry by now instead of time.Now.
// Replicas sharing a table must have clocks that agree to well under a
// lease's ttl.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// WithDeliveryTTL stamps each delivery's items with the time, d after its
// arrival, when DynamoDB's time to live (EnableTTL) may delete them: the
// table stays bounded even while no serve prunes it. 0 stamps nothing.
func WithDeliveryTTL(d time.Duration) Option {
	return func(s *Store) { s.deliveryTTL = d }
}

// New returns a store over table, which CreateTable made.
func New(client *dynamodb.Client, table string, opts ...Option) *Store {
	s := &Store{client: client, table: table, now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Table returns the name of the store's table.
func (s *Store) Table() string { return s.table }

// Close implements store.Store; the client holds no state to release.
func (s *Store) Close() error { return nil }

// Attribute value helpers.

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func unum(v uint64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatUint(v, 10)}
}

func key(part, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(part), attrSK: str(sk)}
}

// names aliases each attribute as #attribute, so no expression trips over
// DynamoDB's reserved words.
func names(attrs ...string) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m["#"+a] = a
	}
	return m
}

func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getB(item map[string]types.AttributeValue, name string) []byte {
	if v, ok := item[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return []byte{}
}

func getN(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s is missing or not a number", name)
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return n, nil
}

func getU(item map[string]types.AttributeValue, name string) (uint64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s is missing or not a number", name)
	}
	n, err := strconv.ParseUint(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return n, nil
}

// setBinary sets a binary attribute, leaving an empty value out: an absent
// attribute reads back as empty.
func setBinary(item map[string]types.AttributeValue, name string, b []byte) {
	if len(b) > 0 {
		item[name] = &types.AttributeValueMemberB{Value: b}
	}
}

// Error translation at the package edge.

func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// get reads one item with a strongly consistent read; nil when absent.
func (s *Store) get(ctx context.Context, part, sk string) (map[string]types.AttributeValue, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(part, sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// query reads a whole partition in sort-key order, from sk prefix on; with
// project, only those attributes of each item.
func (s *Store) query(ctx context.Context, part, prefix string, project ...string) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  names(attrPK),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(part)},
		ConsistentRead:            aws.Bool(true),
	}
	if prefix != "" {
		in.KeyConditionExpression = aws.String("#pk = :pk AND begins_with(#sk, :prefix)")
		in.ExpressionAttributeNames = names(attrPK, attrSK)
		in.ExpressionAttributeValues[":prefix"] = str(prefix)
	}
	if len(project) > 0 {
		refs := make([]string, len(project))
		for i, a := range project {
			refs[i] = "#" + a
			in.ExpressionAttributeNames["#"+a] = a
		}
		in.ProjectionExpression = aws.String(strings.Join(refs, ", "))
	}
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
	}
	return items, nil
}
