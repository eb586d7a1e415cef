package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
)

// ownerLease is the lease whose holder owns a campaign: reconciles it,
// keeps its timers and polls its gates. Steps are fenced by the campaign's
// own lease (leaseName), whoever owns it.
func ownerLease(name string) string { return "owner/" + name }

// claim writes the replica's heartbeat, renews the campaigns it owns,
// lets go of those the store no longer holds, and takes free ones as
// rollout.Ownership.Claims says, among names. A renewal that finds an
// ownership lost drops it.
func (b *Bot) claim(ctx context.Context, names []string) error {
	var errs []error
	if err := b.beatNow(ctx); err != nil {
		errs = append(errs, err)
	}
	alive, err := b.aliveReplicas(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	b.ownMu.Lock()
	defer b.ownMu.Unlock()
	for name, l := range b.owned {
		if !slices.Contains(names, name) {
			errs = append(errs, b.cfg.Store.Release(ctx, l))
			delete(b.owned, name)
			continue
		}
		renewed, err := b.cfg.Store.Renew(ctx, l, b.cfg.LeaseTTL)
		switch {
		case errors.Is(err, store.ErrLost):
			b.log.Warn("campaign ownership lost: another replica owns it now", "campaign", name, "err", err)
			delete(b.owned, name)
		case err != nil:
			errs = append(errs, fmt.Errorf("renew the ownership of %s: %w", name, err))
		default:
			b.owned[name] = renewed
		}
	}
	try, room, release := rollout.Ownership{Campaigns: names, Owned: slices.Collect(maps.Keys(b.owned)), Alive: alive}.Claims()
	for _, name := range release {
		if err := b.cfg.Store.Release(ctx, b.owned[name]); err != nil {
			errs = append(errs, fmt.Errorf("let go of the ownership of %s: %w", name, err))
		}
		delete(b.owned, name)
		b.log.Info("campaign let go for another replica to own", "campaign", name, "replicas", alive)
	}
	for _, name := range try {
		if room == 0 {
			break
		}
		l, err := b.cfg.Store.Acquire(ctx, ownerLease(name), b.cfg.ReplicaID, b.cfg.LeaseTTL)
		switch {
		case errors.Is(err, store.ErrHeld):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("take the ownership of %s: %w", name, err))
			continue
		}
		b.owned[name] = l
		room--
		b.log.Info("campaign owned", "campaign", name, "replicas", alive)
	}
	return errors.Join(errs...)
}

// owns reports whether this replica owns the campaign.
func (b *Bot) owns(name string) bool {
	b.ownMu.Lock()
	defer b.ownMu.Unlock()
	_, ok := b.owned[name]
	return ok
}

// disown lets go of every campaign this replica owns, as it stops, and
// removes its heartbeat: the others, and the replica that replaces it,
// take them at their next claim instead of after the leases expire, and
// no longer count it among the replicas they share the campaigns with.
func (b *Bot) disown(ctx context.Context) {
	b.ownMu.Lock()
	defer b.ownMu.Unlock()
	for name, l := range b.owned {
		if err := b.cfg.Store.Release(ctx, l); err != nil {
			b.log.Warn("let go of a campaign's ownership", "campaign", name, "err", err)
		}
		delete(b.owned, name)
	}
	var h heartbeat
	version, err := getJSON(ctx, b.cfg.Store, heartbeatKey(b.cfg.ReplicaID), &h)
	if err == nil {
		err = b.cfg.Store.Delete(ctx, heartbeatKey(b.cfg.ReplicaID), version, store.Fence{})
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
		b.log.Warn("remove the replica's heartbeat; the others count it until it is a lease old", "replica", b.cfg.ReplicaID, "err", err)
	}
}

// aliveReplicas counts the replicas whose heartbeat is no older than a
// lease, this one included.
func (b *Bot) aliveReplicas(ctx context.Context) (int, error) {
	entries, err := b.cfg.Store.List(ctx, heartbeatKey(""))
	if err != nil {
		return 1, fmt.Errorf("read the replicas' heartbeats: %w", err)
	}
	now := b.now()
	alive := 0
	self := false
	for _, e := range entries {
		var h heartbeat
		if err := json.Unmarshal(e.Value, &h); err != nil {
			return 1, fmt.Errorf("decode %s: %w", e.Key, err)
		}
		if now.Sub(h.At) <= b.cfg.LeaseTTL {
			alive++
			self = self || h.Replica == b.cfg.ReplicaID
		}
	}
	if !self {
		alive++
	}
	return alive, nil
}
