package bot

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ownedBy lists what a replica owns, in order.
func ownedBy(b *Bot) []string {
	b.ownMu.Lock()
	defer b.ownMu.Unlock()
	var out []string
	for n := range b.owned {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// TestOwnershipSpreadsOverReplicas: the first replica owns every
// campaign while alone; once a second one beats, the first lets half go
// and the second takes them; a replica that stops hands its campaigns over
// at once and is no longer counted; one that freezes loses them once its
// lease expired and its heartbeat is older than a lease.
func TestOwnershipSpreadsOverReplicas(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ttl := 400 * time.Millisecond
	r1, r2 := w.bot(t, "r1", nil), w.bot(t, "r2", nil)
	r1.cfg.LeaseTTL, r2.cfg.LeaseTTL = ttl, ttl
	ctx := t.Context()
	names := []string{"c1", "c2", "c3", "c4"}

	require.NoError(t, r1.claim(ctx, names))
	assert.Equal(t, names, ownedBy(r1), "alone, r1 owns them all")
	require.NoError(t, r2.claim(ctx, names))
	assert.Empty(t, ownedBy(r2), "r1 owns them all still")
	require.NoError(t, r1.claim(ctx, names))
	assert.Equal(t, []string{"c1", "c2"}, ownedBy(r1), "r1 lets half go once r2 beats")
	require.NoError(t, r2.claim(ctx, names))
	assert.Equal(t, []string{"c3", "c4"}, ownedBy(r2))

	// r2 stops: it lets go at once and removes its heartbeat, and r1
	// takes them at its next claim, alone again.
	r2.disown(ctx)
	alive, err := r1.aliveReplicas(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, alive, "r2 no longer counts")
	require.NoError(t, r1.claim(ctx, names))
	assert.Equal(t, names, ownedBy(r1), "r1 takes what r2 let go of")

	// r1 freezes: no renewal. Once its leases expired (the store's clock)
	// and its heartbeat aged past a lease (the bots' clock), r2 takes them.
	require.NoError(t, r2.claim(ctx, names))
	assert.Empty(t, ownedBy(r2), "r1 is alive and owns them")
	time.Sleep(ttl + 100*time.Millisecond)
	w.clock.add(ttl + time.Millisecond)
	require.NoError(t, r2.claim(ctx, names))
	assert.Equal(t, names, ownedBy(r2), "r2 takes the campaigns of the frozen r1")
	// r1 goes on: its renewals find the ownership lost.
	require.NoError(t, r1.claim(ctx, names))
	assert.Empty(t, ownedBy(r1), "r1 still thinks it owns them")
}
