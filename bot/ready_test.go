package bot

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// readOnlyStore is a store whose writes fail while broken is set, as a
// full disk or a table whose write permission was taken away would.
type readOnlyStore struct {
	store.Store
	broken atomic.Bool
}

var errReadOnly = errors.New("write refused: the volume is read-only")

func (s *readOnlyStore) Put(ctx context.Context, key string, value []byte, expect int64, fence store.Fence) (int64, error) {
	if s.broken.Load() {
		return 0, errReadOnly
	}
	return s.Store.Put(ctx, key, value, expect, fence)
}

// TestReadyNeedsWrites: a replica that can read its store but not write
// it is not ready, and is again once writes succeed; the probe writes the
// replica's heartbeat at most every few seconds.
func TestReadyNeedsWrites(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ro := &readOnlyStore{Store: w.store}
	w.store = ro
	b := w.bot(t, "r1", nil)
	ctx := t.Context()

	require.NoError(t, b.Ready(ctx))
	var h heartbeat
	v, err := getJSON(ctx, w.store, heartbeatKey("r1"), &h)
	require.NoError(t, err)
	assert.Equal(t, "r1", h.Replica)
	require.NoError(t, b.Ready(ctx), "asked again at once")
	again, err := w.store.Get(ctx, heartbeatKey("r1"))
	require.NoError(t, err)
	assert.Equal(t, v, again.Version, "a probe right after the last wrote nothing")

	ro.broken.Store(true)
	b.readyMu.Lock()
	b.readyAt = time.Time{} // the next probe is due
	b.readyMu.Unlock()
	err = b.Ready(ctx)
	require.ErrorIs(t, err, errReadOnly)
	assert.Contains(t, err.Error(), "store: cannot write")

	ro.broken.Store(false)
	b.readyMu.Lock()
	b.readyAt = time.Time{}
	b.readyMu.Unlock()
	require.NoError(t, b.Ready(ctx), "writes work again")
}

// TestReadySameReplicaID: two processes writing the heartbeat of one
// replica id are told to give each its own.
func TestReadySameReplicaID(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.bot(t, "same", nil)
	require.NoError(t, a.Ready(t.Context()))
	// Another process wrote the heartbeat since a read it.
	var h heartbeat
	v, err := getJSON(t.Context(), w.store, heartbeatKey("same"), &h)
	require.NoError(t, err)
	_, err = putJSON(t.Context(), w.store, heartbeatKey("same"), h, v, store.Fence{})
	require.NoError(t, err)
	err = a.beatAt(t.Context(), v)
	require.ErrorIs(t, err, store.ErrConflict)
	assert.Contains(t, err.Error(), `another process writes the heartbeat of replica "same"`)
}

// TestRetentionPrunesHeartbeats: heartbeats silent for more than a day go
// with the retention pass; recent ones stay.
func TestRetentionPrunesHeartbeats(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.bot(t, "r1", nil)
	b.cfg.Retention = Retention{Deliveries: time.Hour}
	ctx := t.Context()
	_, err := putJSON(ctx, w.store, heartbeatKey("gone"), heartbeat{Replica: "gone", At: w.clock.now().Add(-25 * time.Hour)}, 0, store.Fence{})
	require.NoError(t, err)
	_, err = putJSON(ctx, w.store, heartbeatKey("alive"), heartbeat{Replica: "alive", At: w.clock.now().Add(-time.Minute)}, 0, store.Fence{})
	require.NoError(t, err)
	require.NoError(t, b.prune(ctx))
	_, err = w.store.Get(ctx, heartbeatKey("gone"))
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = w.store.Get(ctx, heartbeatKey("alive"))
	require.NoError(t, err)
}
