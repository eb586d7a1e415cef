package dynamostore_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/rollout/store/dynamostore"
	"github.com/fleetbot/fleetbot/rollout/store/storetest"
)

// interceptor stands between one store and dynalite: before each request
// it calls before with the operation (PutItem, UpdateItem, ...) and the
// body; a request before refuses is answered with a ValidationException
// (which the SDK does not retry), as if the process stopped there.
type interceptor struct {
	mu     sync.Mutex
	before func(op string, body []byte) (refuse bool)
}

func (x *interceptor) set(before func(op string, body []byte) bool) {
	x.mu.Lock()
	x.before = before
	x.mu.Unlock()
}

// client returns a DynamoDB client whose requests go through x.
func (x *interceptor) client(t *testing.T) *dynamodb.Client {
	t.Helper()
	upstream := testenv.Dynalite(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		op := r.Header.Get("X-Amz-Target")
		op = op[strings.LastIndex(op, ".")+1:]
		x.mu.Lock()
		before := x.before
		x.mu.Unlock()
		if before != nil && before(op, body) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"com.amazon.coral.validate#ValidationException","message":"injected: the process stopped here"}`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		testenv.Forward(w, r, upstream)
	}))
	t.Cleanup(srv.Close)
	base := testenv.DynamoDB(t).Options()
	return dynamodb.New(dynamodb.Options{Region: base.Region, Credentials: base.Credentials, BaseEndpoint: aws.String(srv.URL)})
}

// TestFenceOnTheRecord: a holder whose lease passed on reads the lease
// before the new holder took it, so its read finds its own token; the new
// holder writes the record meanwhile; the old holder's write is then
// refused by the record's own fence, a condition on that one item.
func TestFenceOnTheRecord(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := storetest.NewClock(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	table := newTable(t)
	x := &interceptor{}
	old := dynamostore.New(x.client(t), table, dynamostore.WithClock(clock.Now))
	other := dynamostore.New(testenv.DynamoDB(t), table, dynamostore.WithClock(clock.Now))
	const lease, key, ttl = "campaign/c", "campaigns/c/state", time.Minute

	a, err := old.Acquire(ctx, lease, "replica-a", ttl)
	require.NoError(t, err)
	v, err := old.Put(ctx, key, []byte("a1"), 0, a.Fence())
	require.NoError(t, err)

	// Between a's read of the lease and its write: the lease expires, b
	// takes it and writes the record.
	var b store.Lease
	x.set(func(op string, body []byte) bool {
		if op != "UpdateItem" || !bytes.Contains(body, []byte(key)) {
			return false
		}
		x.set(nil)
		clock.Advance(ttl + time.Second)
		var err error
		b, err = other.Acquire(ctx, lease, "replica-b", ttl)
		require.NoError(t, err)
		_, err = other.Put(ctx, key, []byte("b1"), v, b.Fence())
		require.NoError(t, err)
		return false
	})
	_, err = old.Put(ctx, key, []byte("a2"), v, a.Fence())
	require.ErrorIs(t, err, store.ErrFenced, "the old holder's write after the new holder's")
	assert.Contains(t, err.Error(), "token 2, after token 1")
	got, err := other.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "b1", string(got.Value))

	// A fenced delete leaves a tombstone that keeps the fence: an older
	// holder cannot make the record again. b writes a second record; a,
	// after its read of the lease, finds it deleted by c, the next holder,
	// and its create on the tombstone is refused by the record's fence.
	const key2 = "campaigns/c/dashboard"
	v2, err := other.Put(ctx, key2, []byte("b"), 0, b.Fence())
	require.NoError(t, err)
	stale := dynamostore.New(x.client(t), table, dynamostore.WithClock(clock.Now))
	x.set(func(op string, body []byte) bool {
		if op != "UpdateItem" || !bytes.Contains(body, []byte(key2)) {
			return false
		}
		x.set(nil)
		clock.Advance(ttl + time.Second)
		c, err := other.Acquire(ctx, lease, "replica-c", ttl)
		require.NoError(t, err)
		require.NoError(t, other.Delete(ctx, key2, v2, c.Fence()))
		return false
	})
	_, err = stale.Put(ctx, key2, []byte("b again"), 0, b.Fence())
	require.ErrorIs(t, err, store.ErrFenced, "re-create by an older holder on the tombstone")
	_, err = other.Get(ctx, key2)
	require.ErrorIs(t, err, store.ErrNotFound, "a tombstone reads as no record")
	list, err := other.List(ctx, "campaigns/c/")
	require.NoError(t, err)
	assert.Len(t, list, 1, "a tombstone is listed")

	// A record another lease wrote last takes any lease's token: tokens
	// of two leases are not compared.
	report := dynamostore.New(testenv.DynamoDB(t), table, dynamostore.WithClock(clock.Now))
	first, err := report.Acquire(ctx, "campaign-checks/one", "replica-a", ttl)
	require.NoError(t, err)
	for range 3 { // the first commit's lease changes hands: its token grows
		clock.Advance(ttl + time.Second)
		first, err = report.Acquire(ctx, "campaign-checks/one", "replica-a", ttl)
		require.NoError(t, err)
	}
	second, err := report.Acquire(ctx, "campaign-checks/two", "replica-a", ttl)
	require.NoError(t, err)
	require.Greater(t, first.Token, second.Token)
	rv, err := report.Put(ctx, "campaign-files/a.yaml", []byte("one"), 0, first.Fence())
	require.NoError(t, err)
	_, err = report.Put(ctx, "campaign-files/a.yaml", []byte("two"), rv, second.Fence())
	require.NoError(t, err, "a write under another lease with a smaller token")
}

// TestFencedRace: holders of successive tokens write one record at once,
// each reading and writing again on a conflict, the older ones going on
// after the next took the lease. Once a token's write was answered, no
// write of an earlier token sent after that succeeds.
func TestFencedRace(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := storetest.NewClock(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	table := newTable(t)
	const lease, key, ttl = "campaign/race", "campaigns/race/state", time.Second
	type done struct {
		token      uint64
		sent, done time.Time
	}
	var mu sync.Mutex
	var ok []done
	var wg sync.WaitGroup
	for holder := range 4 {
		s := dynamostore.New(testenv.DynamoDB(t), table, dynamostore.WithClock(clock.Now))
		clock.Advance(2 * ttl)
		l, err := s.Acquire(ctx, lease, string(rune('a'+holder)), ttl)
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				rec, err := s.Get(ctx, key)
				if err != nil && !assert.ErrorIs(t, err, store.ErrNotFound) {
					return
				}
				sent := time.Now()
				_, err = s.Put(ctx, key, []byte{byte(l.Token)}, rec.Version, l.Fence())
				switch {
				case err == nil:
					mu.Lock()
					ok = append(ok, done{l.Token, sent, time.Now()})
					mu.Unlock()
				case errors.Is(err, store.ErrFenced), errors.Is(err, store.ErrConflict):
				default:
					t.Errorf("put: %v", err)
					return
				}
			}
		}()
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	require.NotEmpty(t, ok)
	for _, w := range ok {
		for _, o := range ok {
			if o.token > w.token && o.done.Before(w.sent) {
				t.Errorf("token %d wrote after token %d had written", w.token, o.token)
			}
		}
	}
	got, err := dynamostore.New(testenv.DynamoDB(t), table).Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, byte(4), got.Value[0], "the last holder's write is the last")
}
