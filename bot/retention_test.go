package bot

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
)

// TestRetentionKeepsTheStoreBounded streams three days of deliveries, one
// a minute with a 4 KiB payload, into the bbolt store with a retention of
// twelve hours pruned every hour: the store never holds more than thirteen
// hours of them, and its file stops growing once the first prunes ran.
func TestRetentionKeepsTheStoreBounded(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.bot(t, "r1", nil)
	b.cfg.Retention = Retention{Deliveries: 12 * time.Hour, Every: time.Hour}
	payload := []byte(strings.Repeat("x", 4096))
	ctx := t.Context()
	var sizeAtDay1 int64
	for i := range 3 * 24 * 60 {
		id := fmt.Sprintf("d-%d", i)
		_, err := w.store.PutDelivery(ctx, id, "check_run", payload, w.clock.now())
		require.NoError(t, err)
		require.NoError(t, w.store.MarkProcessed(ctx, id))
		require.NoError(t, b.prune(ctx))
		w.clock.add(time.Minute)
		if i == 24*60 {
			info, err := os.Stat(w.path)
			require.NoError(t, err)
			sizeAtDay1 = info.Size()
		}
	}
	info, err := os.Stat(w.path)
	require.NoError(t, err)
	kept, err := w.store.PruneDeliveries(ctx, w.clock.now().Add(time.Hour))
	require.NoError(t, err)
	assert.LessOrEqual(t, kept, 13*60, "at most the retention and one pass's worth are kept")
	assert.GreaterOrEqual(t, kept, 12*60)
	assert.LessOrEqual(t, info.Size(), sizeAtDay1+sizeAtDay1/4, "the file stops growing: %d bytes after a day, %d after three", sizeAtDay1, info.Size())
	t.Logf("bbolt file: %d bytes after a day, %d after three days (%d deliveries of 4 KiB streamed, %d kept)", sizeAtDay1, info.Size(), 3*24*60, kept)
}

// TestRetentionPrunesEndedCampaigns: an ended campaign's records go once
// its retention passed and its file is gone; a campaign whose file stays,
// or that has not ended, keeps them.
func TestRetentionPrunesEndedCampaigns(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	started(t, w, b)
	b.cfg.Retention = Retention{Campaigns: 24 * time.Hour, Every: time.Minute}
	ctx := t.Context()
	_, err := b.Operate(ctx, "eks-1-30", rollout.Abort{By: "pat", Reason: "done with it"})
	require.NoError(t, err)
	records := func() int {
		entries, err := w.store.List(ctx, "campaigns/eks-1-30/")
		require.NoError(t, err)
		return len(entries)
	}
	before := records()
	require.GreaterOrEqual(t, before, 2, "state and plan")

	w.clock.add(48 * time.Hour)
	require.NoError(t, b.prune(ctx))
	assert.Equal(t, before, records(), "the file still declares the campaign")

	require.NoError(t, os.Remove(filepath.Join(w.mirror.dir, "campaigns", "eks-1-30.yaml")))
	w.clock.add(time.Minute)
	require.NoError(t, b.prune(ctx))
	assert.Zero(t, records(), "ended two days ago, kept one, and no file declares it")
	_, ok, err := b.State(ctx, "eks-1-30")
	require.NoError(t, err)
	assert.False(t, ok)
}

// TestRetentionPrunesStaleHeartbeats: the heartbeats of replicas silent for
// more than a day go, even when the retention keeps deliveries and
// campaigns for ever; a recent one stays.
func TestRetentionPrunesStaleHeartbeats(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.bot(t, "r1", nil)
	b.cfg.Retention = Retention{} // keep deliveries and campaigns for ever
	ctx := t.Context()
	now := w.clock.now()
	for replica, at := range map[string]time.Time{"gone": now.Add(-staleHeartbeat - time.Minute), "alive": now.Add(-time.Minute)} {
		_, err := putJSON(ctx, w.store, heartbeatKey(replica), heartbeat{Replica: replica, At: at}, 0, store.Fence{})
		require.NoError(t, err)
	}
	require.NoError(t, b.prune(ctx))
	_, err := w.store.Get(ctx, heartbeatKey("gone"))
	require.ErrorIs(t, err, store.ErrNotFound, "a day-old heartbeat is pruned")
	_, err = w.store.Get(ctx, heartbeatKey("alive"))
	require.NoError(t, err, "a recent heartbeat stays")
}

// TestRetentionPrunesCampaignCheckRecords: the record of a commit's
// fleetbot/campaigns check run says when it was written, and goes once the
// deliveries' retention passed, as do records that do not say; a recent
// one stays.
func TestRetentionPrunesCampaignCheckRecords(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.bot(t, "r1", nil)
	b.cfg.Retention = Retention{Deliveries: 7 * 24 * time.Hour}
	ctx := t.Context()
	w.api.mu.Lock()
	w.api.files["campaigns/eks-1-30.yaml"] = campaignSrc(t, testGates.terraform)
	w.api.mu.Unlock()
	require.NoError(t, b.Handle(ctx, pushOf("campaigns/eks-1-30.yaml")))
	var reported checkRecord
	_, err := getJSON(ctx, w.store, campaignCheckKey(headSHA), &reported)
	require.NoError(t, err, "the push's report is recorded")
	assert.Equal(t, w.clock.now(), reported.At)

	w.clock.add(6 * 24 * time.Hour)
	now := w.clock.now()
	for sha, at := range map[string]time.Time{"old": now.Add(-8 * 24 * time.Hour), "recent": now.Add(-time.Hour), "unstamped": {}} {
		_, err := putJSON(ctx, w.store, campaignCheckKey(sha), checkRecord{Repo: "acme/fleet", Head: sha, ID: 7, At: at}, 0, store.Fence{})
		require.NoError(t, err)
	}
	require.NoError(t, b.prune(ctx))
	for sha, kept := range map[string]bool{"old": false, "unstamped": false, "recent": true, headSHA: true} {
		_, err := w.store.Get(ctx, campaignCheckKey(sha))
		if kept {
			assert.NoError(t, err, sha)
		} else {
			assert.ErrorIs(t, err, store.ErrNotFound, sha)
		}
	}
	w.clock.add(2 * 24 * time.Hour)
	require.NoError(t, b.prune(ctx))
	_, err = w.store.Get(ctx, campaignCheckKey(headSHA))
	assert.ErrorIs(t, err, store.ErrNotFound, "the push's record goes 8 days on")
}
