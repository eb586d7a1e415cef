package storetest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// Backend tells the suite how to open one implementation.
type Backend struct {
	// Open returns a new, empty store whose lease expiry reads now. It
	// closes the store when the test ends.
	Open func(t *testing.T, now func() time.Time) store.Store
	// Share returns a second store value over s's state whose lease expiry
	// reads now, as another replica holds it; a single-replica backend
	// returns s itself.
	Share func(t *testing.T, s store.Store, now func() time.Time) store.Store
	// Reopen drops s and returns a new store value over the same state, as
	// a restarted process sees it.
	Reopen func(t *testing.T, s store.Store, now func() time.Time) store.Store
}

// epoch is where every test's clock starts.
var epoch = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// Run runs the conformance suite against b.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		run  func(t *testing.T, b Backend)
	}{
		{"PutGetConflict", testPutGetConflict},
		{"PutRefusesBadInput", testPutRefusesBadInput},
		{"ListByPrefix", testListByPrefix},
		{"Delete", testDelete},
		{"LargeRecords", testLargeRecords},
		{"ConcurrentIncrements", testConcurrentIncrements},
		{"Locks", testLocks},
		{"Leases", testLeases},
		{"LeaseAcquireRefusesBadInput", testLeaseBadInput},
		{"FencedWrites", testFencedWrites},
		{"FencedDelete", testFencedDelete},
		{"RacingReplicas", testRacingReplicas},
		{"StaleHoldersRace", testStaleHoldersRace},
		{"Deliveries", testDeliveries},
		{"PruneDeliveries", testPruneDeliveries},
		{"PendingDeliveriesByPage", testPendingByPage},
		{"Restart", testRestart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, b)
		})
	}
}

func testPutGetConflict(t *testing.T, b Backend) {
	ctx := t.Context()
	s := b.Open(t, NewClock(epoch).Now)
	const key = "campaigns/put-get"

	_, err := s.Get(ctx, key)
	require.ErrorIs(t, err, store.ErrNotFound, "get before any put")

	v, err := s.Put(ctx, key, []byte(`{"state":"Pending"}`), 0, store.Fence{})
	require.NoError(t, err)
	require.Equal(t, int64(1), v, "first version")

	got, err := s.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, store.Record{Value: []byte(`{"state":"Pending"}`), Version: 1}, got)

	v, err = s.Put(ctx, key, []byte(`{"state":"Running"}`), 1, store.Fence{})
	require.NoError(t, err)
	require.Equal(t, int64(2), v, "second version")

	conflicts := []struct {
		name   string
		expect int64
	}{
		{"stale version", 1},
		{"create over existing", 0},
		{"version from the future", 7},
	}
	for _, c := range conflicts {
		_, err := s.Put(ctx, key, []byte(`{"state":"Lost"}`), c.expect, store.Fence{})
		assert.ErrorIs(t, err, store.ErrConflict, c.name)
	}
	_, err = s.Put(ctx, "campaigns/missing", []byte(`{}`), 3, store.Fence{})
	assert.ErrorIs(t, err, store.ErrConflict, "update of a missing key")

	got, err = s.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, store.Record{Value: []byte(`{"state":"Running"}`), Version: 2}, got, "refused writes changed the record")

	_, err = s.Put(ctx, "campaigns/empty", nil, 0, store.Fence{})
	require.NoError(t, err)
	got, err = s.Get(ctx, "campaigns/empty")
	require.NoError(t, err)
	assert.Empty(t, got.Value, "empty value")
	assert.Equal(t, int64(1), got.Version)
}

func testPutRefusesBadInput(t *testing.T, b Backend) {
	ctx := t.Context()
	s := b.Open(t, NewClock(epoch).Now)
	tests := []struct {
		name   string
		key    string
		expect int64
		fence  store.Fence
	}{
		{"empty key", "", 0, store.Fence{}},
		{"negative version", "k", -1, store.Fence{}},
		{"fence without lease", "k", 0, store.Fence{Token: 3}},
	}
	for _, tt := range tests {
		_, err := s.Put(ctx, tt.key, []byte("x"), tt.expect, tt.fence)
		require.Error(t, err, tt.name)
		assert.NotErrorIs(t, err, store.ErrConflict, tt.name)
	}
	err := s.Delete(ctx, "k", 0, store.Fence{})
	require.Error(t, err, "delete at version 0")
	assert.NotErrorIs(t, err, store.ErrConflict)
}

func testListByPrefix(t *testing.T, b Backend) {
	ctx := t.Context()
	s := b.Open(t, NewClock(epoch).Now)
	for _, k := range []string{"list/b", "list/a/2", "list/a/1", "list/ab", "other"} {
		_, err := s.Put(ctx, k, []byte(k), 0, store.Fence{})
		require.NoError(t, err)
	}
	_, err := s.Put(ctx, "list/a/2", []byte("list/a/2 again"), 1, store.Fence{})
	require.NoError(t, err)

	tests := []struct {
		prefix string
		want   []store.Entry
	}{
		{"list/a/", []store.Entry{
			{Key: "list/a/1", Record: store.Record{Value: []byte("list/a/1"), Version: 1}},
			{Key: "list/a/2", Record: store.Record{Value: []byte("list/a/2 again"), Version: 2}},
		}},
		{"list/a", []store.Entry{
			{Key: "list/a/1", Record: store.Record{Value: []byte("list/a/1"), Version: 1}},
			{Key: "list/a/2", Record: store.Record{Value: []byte("list/a/2 again"), Version: 2}},
			{Key: "list/ab", Record: store.Record{Value: []byte("list/ab"), Version: 1}},
		}},
		{"nothing/", nil},
	}
	for _, tt := range tests {
		got, err := s.List(ctx, tt.prefix)
		require.NoError(t, err)
		assert.ElementsMatch(t, tt.want, got, "prefix %q", tt.prefix)
		for i := 1; i < len(got); i++ {
			assert.Less(t, got[i-1].Key, got[i].Key, "prefix %q: not in key order", tt.prefix)
		}
	}
	all, err := s.List(ctx, "")
	require.NoError(t, err)
	assert.Len(t, all, 5, "empty prefix lists every record")
}

// LargeValue returns n bytes of a campaign state's kind: JSON that
// repeats itself, with a run of bytes that does not (seed picks them).
func LargeValue(n int, seed byte) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"name":"t%03d-prod-%02d","phase":"Succeeded","detail":"terraform-apply succeeded on %08x"},`, i%500, i%20, uint32(i)*2654435761+uint32(seed))
	}
	v := b.Bytes()[:n]
	x := uint32(seed) + 1
	for i := n / 2; i < n/2+n/8; i++ { // xorshift: not compressible
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		v[i] = byte(x)
	}
	return v
}

// testLargeRecords: records of megabytes (a DynamoDB item holds 400 KB)
// are written, read, listed, replaced by small and large values,
// refused at a stale version without a change, and deleted.
func testLargeRecords(t *testing.T, b Backend) {
	ctx := t.Context()
	s := b.Open(t, NewClock(epoch).Now)
	const key = "campaigns/large/state"
	big, bigger := LargeValue(3<<20, 1), LargeValue(5<<20, 2)

	v, err := s.Put(ctx, key, big, 0, store.Fence{})
	require.NoError(t, err)
	got, err := s.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, int64(1), got.Version)
	require.True(t, bytes.Equal(big, got.Value), "3 MiB read back as written")

	_, err = s.Put(ctx, "campaigns/large/plan", []byte(`{}`), 0, store.Fence{})
	require.NoError(t, err)
	entries, err := s.List(ctx, "campaigns/large/")
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.Equal(t, "campaigns/large/state", entries[1].Key)
	assert.True(t, bytes.Equal(big, entries[1].Value), "listed as written")

	v, err = s.Put(ctx, key, bigger, v, store.Fence{})
	require.NoError(t, err)
	_, err = s.Put(ctx, key, big, v-1, store.Fence{})
	require.ErrorIs(t, err, store.ErrConflict)
	got, err = s.Get(ctx, key)
	require.NoError(t, err)
	require.True(t, bytes.Equal(bigger, got.Value), "5 MiB replaced 3 MiB; the stale write changed nothing")

	v, err = s.Put(ctx, key, []byte(`{"phase":"Succeeded"}`), v, store.Fence{})
	require.NoError(t, err)
	got, err = s.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, store.Record{Value: []byte(`{"phase":"Succeeded"}`), Version: v}, got, "a small value replaced a large one")

	v, err = s.Put(ctx, key, big, v, store.Fence{})
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, key, v, store.Fence{}))
	_, err = s.Get(ctx, key)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testDelete(t *testing.T, b Backend) {
	ctx := t.Context()
	s := b.Open(t, NewClock(epoch).Now)
	const key = "campaigns/delete"

	err := s.Delete(ctx, key, 1, store.Fence{})
	require.ErrorIs(t, err, store.ErrNotFound, "delete of a missing key")

	_, err = s.Put(ctx, key, []byte("a"), 0, store.Fence{})
	require.NoError(t, err)
	_, err = s.Put(ctx, key, []byte("b"), 1, store.Fence{})
	require.NoError(t, err)

	err = s.Delete(ctx, key, 1, store.Fence{})
	require.ErrorIs(t, err, store.ErrConflict, "delete at a stale version")
	_, err = s.Get(ctx, key)
	require.NoError(t, err, "a refused delete removed the record")

	require.NoError(t, s.Delete(ctx, key, 2, store.Fence{}))
	_, err = s.Get(ctx, key)
	require.ErrorIs(t, err, store.ErrNotFound, "get after delete")
	got, err := s.List(ctx, "campaigns/")
	require.NoError(t, err)
	assert.Empty(t, got, "list after delete")

	v, err := s.Put(ctx, key, []byte("c"), 0, store.Fence{})
	require.NoError(t, err, "create after delete")
	assert.Equal(t, int64(1), v)
}

// testConcurrentIncrements has writers add to one counter by read, change,
// write back and retry on conflict: no increment may be lost.
func testConcurrentIncrements(t *testing.T, b Backend) {
	ctx := t.Context()
	clock := NewClock(epoch)
	s := b.Open(t, clock.Now)
	const key, writers, each = "counter", 4, 10
	_, err := s.Put(ctx, key, []byte("0"), 0, store.Fence{})
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		replica := b.Share(t, s, clock.Now)
		wg.Go(func() {
			for range each {
				if err := increment(t, replica, key); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := s.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(writers*each), string(got.Value), "increments lost")
	assert.Equal(t, int64(writers*each+1), got.Version)
}

func increment(t *testing.T, s store.Store, key string) error {
	for {
		rec, err := s.Get(t.Context(), key)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(string(rec.Value))
		if err != nil {
			return err
		}
		_, err = s.Put(t.Context(), key, []byte(strconv.Itoa(n+1)), rec.Version, store.Fence{})
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
}

func testLocks(t *testing.T, b Backend) {
	ctx := t.Context()
	s := b.Open(t, NewClock(epoch).Now)

	require.NoError(t, s.Lock(ctx, "dev-cpu-1", "campaign-a"))
	require.NoError(t, s.Lock(ctx, "dev-cpu-1", "campaign-a"), "same owner again")
	require.NoError(t, s.Lock(ctx, "dev-gpu-1", "campaign-b"))

	err := s.Lock(ctx, "dev-cpu-1", "campaign-b")
	require.ErrorIs(t, err, store.ErrLocked, "other owner")
	var locked *store.LockedError
	require.ErrorAs(t, err, &locked)
	assert.Equal(t, "campaign-a", locked.Owner, "holder named")
	assert.Contains(t, err.Error(), "campaign-a")

	err = s.Unlock(ctx, "dev-cpu-1", "campaign-b")
	require.ErrorIs(t, err, store.ErrLocked, "unlock by another owner")

	locks, err := s.Locks(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"dev-cpu-1": "campaign-a", "dev-gpu-1": "campaign-b"}, locks)

	require.NoError(t, s.Unlock(ctx, "dev-cpu-1", "campaign-a"))
	require.NoError(t, s.Unlock(ctx, "dev-cpu-1", "campaign-a"), "unlock of a free cluster")
	require.NoError(t, s.Lock(ctx, "dev-cpu-1", "campaign-b"), "lock after unlock")

	locks, err = s.Locks(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"dev-cpu-1": "campaign-b", "dev-gpu-1": "campaign-b"}, locks)

	assert.Error(t, s.Lock(ctx, "", "campaign-a"), "empty cluster")
	assert.Error(t, s.Lock(ctx, "dev-cpu-2", ""), "empty owner")
}

func testLeases(t *testing.T, b Backend) {
	ctx := t.Context()
	clock := NewClock(epoch)
	s := b.Open(t, clock.Now)
	const name, ttl = "campaign/upgrade-1-30", 30 * time.Second

	a, err := s.Acquire(ctx, name, "replica-a", ttl)
	require.NoError(t, err)
	assert.Equal(t, "replica-a", a.Holder)
	assert.Positive(t, a.Token)
	assert.True(t, a.Expires.Equal(epoch.Add(ttl)), "expires %s", a.Expires)

	clock.Advance(ttl / 2)
	_, err = s.Acquire(ctx, name, "replica-b", ttl)
	require.ErrorIs(t, err, store.ErrHeld, "second holder before expiry")
	var held *store.HeldError
	require.ErrorAs(t, err, &held)
	assert.Equal(t, "replica-a", held.Holder)

	again, err := s.Acquire(ctx, name, "replica-a", ttl)
	require.NoError(t, err, "holder acquires again")
	assert.Equal(t, a.Token, again.Token, "acquire by the holder changed the token")

	renewed, err := s.Renew(ctx, a, ttl)
	require.NoError(t, err)
	assert.Equal(t, a.Token, renewed.Token, "renew changed the token")
	assert.True(t, renewed.Expires.Equal(clock.Now().Add(ttl)), "renewed expiry %s", renewed.Expires)

	clock.Advance(ttl - time.Nanosecond)
	_, err = s.Acquire(ctx, name, "replica-b", ttl)
	require.ErrorIs(t, err, store.ErrHeld, "renewal did not extend the lease")

	clock.Advance(time.Nanosecond)
	bl, err := s.Acquire(ctx, name, "replica-b", ttl)
	require.NoError(t, err, "acquire after expiry")
	assert.Greater(t, bl.Token, a.Token, "token after a change of hands")

	_, err = s.Renew(ctx, a, ttl)
	require.ErrorIs(t, err, store.ErrLost, "renew by the old holder")
	require.ErrorIs(t, s.Release(ctx, a), store.ErrLost, "release by the old holder")

	require.NoError(t, s.Release(ctx, bl))
	require.NoError(t, s.Release(ctx, bl), "second release")
	_, err = s.Renew(ctx, bl, ttl)
	require.ErrorIs(t, err, store.ErrLost, "renew after release")

	a2, err := s.Acquire(ctx, name, "replica-a", ttl)
	require.NoError(t, err, "acquire after release, before the old expiry")
	assert.Greater(t, a2.Token, bl.Token, "token after release")

	clock.Advance(ttl)
	_, err = s.Renew(ctx, a2, ttl)
	require.ErrorIs(t, err, store.ErrLost, "renew after expiry")
	a3, err := s.Acquire(ctx, name, "replica-a", ttl)
	require.NoError(t, err)
	assert.Greater(t, a3.Token, a2.Token, "an expired lease taken again gets a new token")

	other, err := s.Acquire(ctx, "campaign/other", "replica-b", ttl)
	require.NoError(t, err, "leases are independent")
	assert.Equal(t, "replica-b", other.Holder)
}

func testLeaseBadInput(t *testing.T, b Backend) {
	ctx := t.Context()
	s := b.Open(t, NewClock(epoch).Now)
	tests := []struct {
		name, lease, holder string
		ttl                 time.Duration
	}{
		{"empty name", "", "replica-a", time.Minute},
		{"empty holder", "campaign/x", "", time.Minute},
		{"zero ttl", "campaign/x", "replica-a", 0},
		{"negative ttl", "campaign/x", "replica-a", -time.Second},
	}
	for _, tt := range tests {
		_, err := s.Acquire(ctx, tt.lease, tt.holder, tt.ttl)
		require.Error(t, err, tt.name)
		assert.NotErrorIs(t, err, store.ErrHeld, tt.name)
	}
}

func testFencedWrites(t *testing.T, b Backend) {
	ctx := t.Context()
	clock := NewClock(epoch)
	s := b.Open(t, clock.Now)
	const name, key, ttl = "campaign/fenced", "campaigns/fenced", time.Minute

	a, err := s.Acquire(ctx, name, "replica-a", ttl)
	require.NoError(t, err)
	v, err := s.Put(ctx, key, []byte("a1"), 0, a.Fence())
	require.NoError(t, err, "write by the holder")

	clock.Advance(ttl + time.Second)
	bl, err := s.Acquire(ctx, name, "replica-b", ttl)
	require.NoError(t, err)

	_, err = s.Put(ctx, key, []byte("a2"), v, a.Fence())
	require.ErrorIs(t, err, store.ErrFenced, "write by the stale holder")
	err = s.Delete(ctx, key, v, a.Fence())
	require.ErrorIs(t, err, store.ErrFenced, "delete by the stale holder")
	_, err = s.Put(ctx, "campaigns/fenced-new", []byte("a"), 0, a.Fence())
	require.ErrorIs(t, err, store.ErrFenced, "create by the stale holder")

	got, err := s.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, store.Record{Value: []byte("a1"), Version: v}, got, "a fenced write changed the record")
	_, err = s.Get(ctx, "campaigns/fenced-new")
	require.ErrorIs(t, err, store.ErrNotFound, "a fenced create made the record")

	v, err = s.Put(ctx, key, []byte("b1"), v, bl.Fence())
	require.NoError(t, err, "write by the new holder")
	_, err = s.Put(ctx, key, []byte("b2"), v-1, bl.Fence())
	require.ErrorIs(t, err, store.ErrConflict, "fenced write at a stale version")

	_, err = s.Put(ctx, key, []byte("x"), v, store.Fence{Lease: "campaign/never-taken", Token: 1})
	require.ErrorIs(t, err, store.ErrFenced, "fence on a lease never taken")
	_, err = s.Put(ctx, key, []byte("x"), v, store.Fence{Lease: name, Token: bl.Token + 1})
	require.ErrorIs(t, err, store.ErrFenced, "fence with a token never granted")

	require.NoError(t, s.Delete(ctx, key, v, bl.Fence()), "delete by the holder")
}

// testFencedDelete: a record that a later holder deleted cannot be made
// again by the holder before it, while writes without a fence still can.
func testFencedDelete(t *testing.T, b Backend) {
	ctx := t.Context()
	clock := NewClock(epoch)
	s := b.Open(t, clock.Now)
	const name, key, ttl = "campaign/fenced-delete", "campaigns/fenced-delete", time.Minute

	a, err := s.Acquire(ctx, name, "replica-a", ttl)
	require.NoError(t, err)
	v, err := s.Put(ctx, key, []byte("a1"), 0, a.Fence())
	require.NoError(t, err)
	clock.Advance(ttl)
	bl, err := s.Acquire(ctx, name, "replica-b", ttl)
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, key, v, bl.Fence()), "delete by the new holder")

	_, err = s.Put(ctx, key, []byte("a2"), 0, a.Fence())
	require.ErrorIs(t, err, store.ErrFenced, "the stale holder makes the deleted record again")
	_, err = s.Get(ctx, key)
	require.ErrorIs(t, err, store.ErrNotFound)
	got, err := s.List(ctx, "campaigns/")
	require.NoError(t, err)
	assert.Empty(t, got, "a deleted record listed")

	v, err = s.Put(ctx, key, []byte("unfenced"), 0, store.Fence{})
	require.NoError(t, err, "a write without a fence makes it again")
	assert.Equal(t, int64(1), v)
	_, err = s.Put(ctx, key, []byte("a3"), v, a.Fence())
	require.ErrorIs(t, err, store.ErrFenced, "the stale holder after an unfenced write")
	v, err = s.Put(ctx, key, []byte("b1"), v, bl.Fence())
	require.NoError(t, err, "the holder after an unfenced write")
	require.NoError(t, s.Delete(ctx, key, v, store.Fence{}), "delete without a fence")
	_, err = s.Put(ctx, key, []byte("a4"), 0, a.Fence())
	require.ErrorIs(t, err, store.ErrFenced, "the stale holder after an unfenced delete")
	_, err = s.Put(ctx, key, []byte("b2"), 0, bl.Fence())
	require.NoError(t, err, "the holder makes it again")
}

// testStaleHoldersRace has the lease change hands, holder after holder, while
// every holder so far keeps writing the record from several goroutines
// (read, write back, read again on a conflict) until it is fenced. In the
// order of the versions they made, the writes that landed never go back to
// an older holder's token, and none is lost. It is part of Run; a backend
// runs it alone to test a variant of itself.
func testStaleHoldersRace(t *testing.T, b Backend) {
	ctx := t.Context()
	clock := NewClock(epoch)
	s := b.Open(t, clock.Now)
	const name, key, ttl = "campaign/stale-race", "campaigns/stale-race", time.Minute
	const holders, writers, writesEach = 6, 3, 4
	_, err := s.Put(ctx, key, []byte("0"), 0, store.Fence{})
	require.NoError(t, err)

	type write struct {
		version int64
		token   uint64
	}
	var mu sync.Mutex
	var landed []write
	var wg sync.WaitGroup
	errs := make(chan error, holders*writers)
	for h := range holders {
		replica := b.Share(t, s, clock.Now)
		clock.Advance(ttl)
		l, err := replica.Acquire(ctx, name, fmt.Sprintf("replica-%d", h), ttl)
		require.NoError(t, err)
		var count atomic.Int64
		progress := make(chan struct{}, writesEach)
		for range writers {
			wg.Go(func() {
				for {
					rec, err := replica.Get(ctx, key)
					if err != nil {
						errs <- err
						return
					}
					v, err := replica.Put(ctx, key, []byte(strconv.FormatUint(l.Token, 10)), rec.Version, l.Fence())
					switch {
					case errors.Is(err, store.ErrFenced):
						return
					case errors.Is(err, store.ErrConflict):
						continue
					case err != nil:
						errs <- err
						return
					}
					mu.Lock()
					landed = append(landed, write{v, l.Token})
					mu.Unlock()
					select {
					case progress <- struct{}{}:
					default:
					}
					if count.Add(1) >= writesEach && h == holders-1 {
						return // the last holder stops on its own
					}
				}
			})
		}
		// The next holder takes over once this one has written a few
		// times, while its writers and the earlier ones still write.
		for range writesEach {
			<-progress
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	slices.SortFunc(landed, func(a, b write) int { return cmp.Compare(a.version, b.version) })
	for i := 1; i < len(landed); i++ {
		require.Equal(t, landed[i-1].version+1, landed[i].version, "two writes made one version")
		require.GreaterOrEqual(t, landed[i].token, landed[i-1].token, "version %d went back to an older holder's write", landed[i].version)
	}
	got, err := s.Get(ctx, key)
	require.NoError(t, err)
	require.NotEmpty(t, landed)
	assert.Equal(t, landed[len(landed)-1].version, got.Version, "a write that landed is missing")
	assert.Equal(t, strconv.FormatUint(landed[len(landed)-1].token, 10), string(got.Value))
}

// testRacingReplicas has two replicas race, round after round, to take the
// lease and write the campaign. The loser writes too, with the lease it held
// in an earlier round: exactly one write must land each round.
func testRacingReplicas(t *testing.T, b Backend) {
	ctx := t.Context()
	clock := NewClock(epoch)
	s := b.Open(t, clock.Now)
	replicas := []store.Store{s, b.Share(t, s, clock.Now)}
	const name, key, ttl, rounds = "campaign/race", "campaigns/race", 10 * time.Second, 12

	held := make([]store.Lease, len(replicas))
	var version int64
	var lastToken uint64
	for round := range rounds {
		type result struct {
			acquired bool
			lease    store.Lease
			wrote    bool
			err      error
		}
		results := make([]result, len(replicas))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, r := range replicas {
			wg.Go(func() {
				<-start
				res := &results[i]
				holder := fmt.Sprintf("replica-%d", i)
				l, err := r.Acquire(ctx, name, holder, ttl)
				switch {
				case err == nil:
					res.acquired, res.lease = true, l
				case errors.Is(err, store.ErrHeld):
					l = held[i] // a stale lease from an earlier round, if any
				default:
					res.err = err
					return
				}
				if l.Token == 0 {
					return
				}
				value := fmt.Sprintf("round %d by %s", round, holder)
				_, err = r.Put(ctx, key, []byte(value), version, l.Fence())
				switch {
				case err == nil:
					res.wrote = true
				case !errors.Is(err, store.ErrFenced):
					res.err = err
				}
			})
		}
		close(start)
		wg.Wait()

		acquired, wrote := 0, 0
		for i, res := range results {
			require.NoError(t, res.err, "round %d replica %d", round, i)
			if res.acquired {
				acquired++
				held[i] = res.lease
				assert.Greater(t, res.lease.Token, lastToken, "round %d: token did not grow", round)
				lastToken = res.lease.Token
			}
			if res.wrote {
				wrote++
				assert.True(t, res.acquired, "round %d: replica %d wrote without the lease", round, i)
			}
		}
		require.Equal(t, 1, acquired, "round %d: replicas that took the lease", round)
		require.Equal(t, 1, wrote, "round %d: replicas whose write landed", round)
		version++
		clock.Advance(ttl)
	}
	got, err := s.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, int64(rounds), got.Version)
}

func testDeliveries(t *testing.T, b Backend) {
	ctx := t.Context()
	s := b.Open(t, NewClock(epoch).Now)
	// Arrival order, not the received time, orders the pending list.
	in := []store.Delivery{
		{ID: "d-1", Event: "pull_request", Payload: []byte(`{"action":"closed"}`), Received: epoch.Add(2 * time.Second)},
		{ID: "d-2", Event: "issue_comment", Payload: []byte(`{"action":"created"}`), Received: epoch},
		{ID: "d-3", Event: "ping", Payload: []byte{}, Received: epoch.Add(time.Second)},
	}
	for _, d := range in {
		isNew, err := s.PutDelivery(ctx, d.ID, d.Event, d.Payload, d.Received)
		require.NoError(t, err)
		assert.True(t, isNew, "first delivery %s", d.ID)
	}
	isNew, err := s.PutDelivery(ctx, "d-2", "issue_comment", []byte(`{"action":"edited"}`), epoch.Add(time.Hour))
	require.NoError(t, err)
	assert.False(t, isNew, "redelivery of d-2")

	assertPending(t, s, in)

	require.NoError(t, s.MarkProcessed(ctx, "d-2"))
	require.NoError(t, s.MarkProcessed(ctx, "d-2"), "second mark")
	assertPending(t, s, []store.Delivery{in[0], in[2]})

	isNew, err = s.PutDelivery(ctx, "d-2", "issue_comment", []byte(`{}`), epoch.Add(time.Hour))
	require.NoError(t, err)
	assert.False(t, isNew, "redelivery of a processed delivery")
	assertPending(t, s, []store.Delivery{in[0], in[2]})

	require.ErrorIs(t, s.MarkProcessed(ctx, "d-unknown"), store.ErrNotFound)
	_, err = s.PutDelivery(ctx, "", "ping", nil, epoch)
	require.Error(t, err, "empty id")
}

func testPruneDeliveries(t *testing.T, b Backend) {
	ctx := t.Context()
	s := b.Open(t, NewClock(epoch).Now)
	in := []store.Delivery{
		{ID: "p-1", Event: "push", Payload: []byte(`{}`), Received: epoch},
		{ID: "p-2", Event: "push", Payload: []byte(`{}`), Received: epoch.Add(time.Hour)},
		{ID: "p-3", Event: "push", Payload: []byte(`{}`), Received: epoch.Add(2 * time.Hour)},
		{ID: "p-4", Event: "push", Payload: []byte(`{}`), Received: epoch.Add(3 * time.Hour)},
	}
	for _, d := range in {
		_, err := s.PutDelivery(ctx, d.ID, d.Event, d.Payload, d.Received)
		require.NoError(t, err)
	}
	require.NoError(t, s.MarkProcessed(ctx, "p-1"))
	require.NoError(t, s.MarkProcessed(ctx, "p-3"))

	n, err := s.PruneDeliveries(ctx, epoch)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing was received before the first")

	// p-1 (processed) and p-2 (pending) are older than the cut.
	n, err = s.PruneDeliveries(ctx, epoch.Add(90*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assertPending(t, s, []store.Delivery{in[3]})
	require.ErrorIs(t, s.MarkProcessed(ctx, "p-2"), store.ErrNotFound, "a pruned delivery is forgotten")
	isNew, err := s.PutDelivery(ctx, "p-1", "push", []byte(`{}`), epoch.Add(4*time.Hour))
	require.NoError(t, err)
	assert.True(t, isNew, "a pruned id stored again is new")
	isNew, err = s.PutDelivery(ctx, "p-3", "push", []byte(`{}`), epoch.Add(4*time.Hour))
	require.NoError(t, err)
	assert.False(t, isNew, "a kept id is still deduplicated")

	n, err = s.PruneDeliveries(ctx, epoch.Add(5*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assertPending(t, s, nil)
}

// testPendingByPage pages through the pending deliveries: each page in
// arrival order after the last one seen, processed ones left out, and the
// arrival numbers growing.
func testPendingByPage(t *testing.T, b Backend) {
	ctx := t.Context()
	s := b.Open(t, NewClock(epoch).Now)
	for i := range 7 {
		id := fmt.Sprintf("page-%d", i)
		_, err := s.PutDelivery(ctx, id, "push", []byte(id), epoch.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
	}
	require.NoError(t, s.MarkProcessed(ctx, "page-2"))
	require.NoError(t, s.MarkProcessed(ctx, "page-5"))

	var got []string
	var pages []int
	var after uint64
	for {
		page, err := s.PendingDeliveries(ctx, after, 2)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		require.LessOrEqual(t, len(page), 2, "a page holds at most its limit")
		pages = append(pages, len(page))
		for _, d := range page {
			require.Greater(t, d.Seq, after, "%s: arrival numbers grow", d.ID)
			after = d.Seq
			assert.Equal(t, d.ID, string(d.Payload))
			got = append(got, d.ID)
		}
	}
	assert.Equal(t, []string{"page-0", "page-1", "page-3", "page-4", "page-6"}, got)
	assert.Equal(t, []int{2, 2, 1}, pages)

	all, err := s.PendingDeliveries(ctx, 0, 0)
	require.NoError(t, err)
	assert.Len(t, all, 5, "limit 0 returns them all")
	rest, err := s.PendingDeliveries(ctx, all[2].Seq, 0)
	require.NoError(t, err)
	require.Len(t, rest, 2)
	assert.Equal(t, "page-4", rest[0].ID, "after page-3")
}

func assertPending(t *testing.T, s store.Store, want []store.Delivery) {
	t.Helper()
	got, err := s.PendingDeliveries(t.Context(), 0, 0)
	require.NoError(t, err)
	require.Len(t, got, len(want), "pending deliveries")
	for i := range want {
		assert.Equal(t, want[i].ID, got[i].ID, "pending[%d]", i)
		assert.Equal(t, want[i].Event, got[i].Event, "pending[%d] event", i)
		assert.Equal(t, string(want[i].Payload), string(got[i].Payload), "pending[%d] payload", i)
		assert.True(t, want[i].Received.Equal(got[i].Received), "pending[%d] received %s, want %s", i, got[i].Received, want[i].Received)
	}
}

func testRestart(t *testing.T, b Backend) {
	ctx := t.Context()
	clock := NewClock(epoch)
	s := b.Open(t, clock.Now)
	const ttl = time.Minute

	v, err := s.Put(ctx, "campaigns/restart", []byte(`{"wave":2}`), 0, store.Fence{})
	require.NoError(t, err)
	require.NoError(t, s.Lock(ctx, "dev-cpu-1", "restart"))
	lease, err := s.Acquire(ctx, "campaign/restart", "replica-a", ttl)
	require.NoError(t, err)
	for _, id := range []string{"r-1", "r-2"} {
		_, err := s.PutDelivery(ctx, id, "push", []byte(id), epoch)
		require.NoError(t, err)
	}
	require.NoError(t, s.MarkProcessed(ctx, "r-1"))

	s = b.Reopen(t, s, clock.Now)

	got, err := s.Get(ctx, "campaigns/restart")
	require.NoError(t, err)
	assert.Equal(t, store.Record{Value: []byte(`{"wave":2}`), Version: v}, got)
	locks, err := s.Locks(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"dev-cpu-1": "restart"}, locks)
	_, err = s.Acquire(ctx, "campaign/restart", "replica-b", ttl)
	require.ErrorIs(t, err, store.ErrHeld, "lease lost in the restart")
	renewed, err := s.Renew(ctx, lease, ttl)
	require.NoError(t, err, "renew after restart")
	assert.Equal(t, lease.Token, renewed.Token)
	assertPending(t, s, []store.Delivery{{ID: "r-2", Event: "push", Payload: []byte("r-2"), Received: epoch}})
	isNew, err := s.PutDelivery(ctx, "r-1", "push", nil, epoch)
	require.NoError(t, err)
	assert.False(t, isNew, "dedupe forgot r-1 in the restart")

	clock.Advance(2 * ttl)
	next, err := s.Acquire(ctx, "campaign/restart", "replica-b", ttl)
	require.NoError(t, err)
	assert.Greater(t, next.Token, lease.Token, "token went back in the restart")
}
