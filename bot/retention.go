package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
)

// Retention says how long the store keeps deliveries and ended campaigns.
// Zero keeps them for ever.
type Retention struct {
	// Deliveries is how long a webhook delivery is kept, processed or not:
	// a redelivery within it is recognised and not acted on twice.
	Deliveries time.Duration
	// Campaigns is how long an ended campaign's records are kept once no
	// campaign file declares it any more (rollout.Prunable).
	Campaigns time.Duration
	// Every is how often the retention pass runs; default an hour.
	Every time.Duration
}

// prune runs the retention pass when it is due: it removes the deliveries
// older than the retention and the campaign-file check records written
// before then, the records of the ended campaigns
// rollout.Prunable lets go and the heartbeats of replicas long stopped,
// which go whatever the retention says: each start of a replica leaves one.
func (b *Bot) prune(ctx context.Context) error {
	r := b.cfg.Retention
	every := r.Every
	if every <= 0 {
		every = time.Hour
	}
	now := b.now()
	b.mu.Lock()
	due := b.pruned.IsZero() || now.Sub(b.pruned) >= every
	if due {
		b.pruned = now
	}
	b.mu.Unlock()
	if !due {
		return nil
	}
	var errs []error
	if r.Deliveries > 0 {
		n, err := b.cfg.Store.PruneDeliveries(ctx, now.Add(-r.Deliveries))
		errs = append(errs, err)
		if n > 0 {
			b.log.Info("pruned old webhook deliveries", "count", n, "older_than", r.Deliveries)
		}
		errs = append(errs, b.pruneCampaignChecks(ctx, now.Add(-r.Deliveries)))
	}
	if r.Campaigns > 0 {
		errs = append(errs, b.pruneCampaigns(ctx, now, r.Campaigns))
	}
	errs = append(errs, b.pruneHeartbeats(ctx, now))
	if err := errors.Join(errs...); err != nil {
		b.mu.Lock()
		b.pruned = time.Time{} // try again on the next pass
		b.mu.Unlock()
		return fmt.Errorf("retention: %w", err)
	}
	return nil
}

// pruneCampaigns removes every record of the ended campaigns that ended
// more than keep ago and that no campaign file declares. When a campaign
// file does not parse, the names it declares are unknown and nothing is
// pruned.
func (b *Bot) pruneCampaigns(ctx context.Context, now time.Time, keep time.Duration) error {
	head, err := b.head(ctx, b.camps)
	if err != nil {
		return err
	}
	files, err := b.campaignFiles(ctx, head)
	if err != nil {
		return err
	}
	declared := map[string]bool{}
	for _, f := range slices.Sorted(maps.Keys(files)) {
		c, err := rollout.ParseCampaign(b.camps.String()+"/"+f, files[f])
		if err != nil {
			b.log.Info("no ended campaign is pruned while a campaign file does not parse", "file", f, "err", err)
			return nil
		}
		declared[c.Metadata.Name] = true
	}
	entries, err := b.cfg.Store.List(ctx, "campaigns/")
	if err != nil {
		return fmt.Errorf("list campaigns: %w", err)
	}
	byName := map[string][]store.Entry{}
	for _, e := range entries {
		name, _, _ := strings.Cut(strings.TrimPrefix(e.Key, "campaigns/"), "/")
		byName[name] = append(byName[name], e)
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		var st rollout.State
		i := slices.IndexFunc(byName[name], func(e store.Entry) bool { return e.Key == stateKey(name) })
		if i < 0 {
			continue // not started: nothing ended
		}
		if err := json.Unmarshal(byName[name][i].Value, &st); err != nil {
			errs = append(errs, fmt.Errorf("decode %s: %w", stateKey(name), err))
			continue
		}
		ok, why := rollout.Prunable(st, declared[name], now, keep)
		if !ok {
			continue
		}
		for _, e := range byName[name] {
			if err := b.cfg.Store.Delete(ctx, e.Key, e.Version, store.Fence{}); err != nil && !errors.Is(err, store.ErrNotFound) {
				errs = append(errs, fmt.Errorf("delete %s: %w", e.Key, err))
			}
		}
		b.log.Info("pruned an ended campaign's records", "campaign", name, "records", len(byName[name]), "why", why)
	}
	return errors.Join(errs...)
}

// pruneCampaignChecks removes the records of the campaign-file check runs
// written before before (one per commit that touched campaign files), and
// those of an earlier version, which did not say when. The push of such a
// commit is no longer redelivered, and the campaign files of the default
// branch's head are reported once per content (campaignFileKey) whatever
// the commit's record holds.
func (b *Bot) pruneCampaignChecks(ctx context.Context, before time.Time) error {
	entries, err := b.cfg.Store.List(ctx, campaignCheckKey(""))
	if err != nil {
		return fmt.Errorf("list campaign-file check records: %w", err)
	}
	var errs []error
	n := 0
	for _, e := range entries {
		var rec checkRecord
		if err := json.Unmarshal(e.Value, &rec); err != nil {
			errs = append(errs, fmt.Errorf("decode %s: %w", e.Key, err))
			continue
		}
		if !rec.At.IsZero() && !rec.At.Before(before) {
			continue
		}
		switch err := b.cfg.Store.Delete(ctx, e.Key, e.Version, store.Fence{}); {
		case err == nil:
			n++
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
			// gone, or written again meanwhile: no longer old
		default:
			errs = append(errs, fmt.Errorf("delete %s: %w", e.Key, err))
		}
	}
	if n > 0 {
		b.log.Info("pruned old campaign-file check records", "count", n, "written_before", before)
	}
	return errors.Join(errs...)
}

// staleHeartbeat is how long a replica's heartbeat stays once it stopped:
// replicas named after their host and process leave one per start.
const staleHeartbeat = 24 * time.Hour

// pruneHeartbeats removes the heartbeats of replicas silent for longer
// than staleHeartbeat.
func (b *Bot) pruneHeartbeats(ctx context.Context, now time.Time) error {
	entries, err := b.cfg.Store.List(ctx, heartbeatKey(""))
	if err != nil {
		return err
	}
	for _, e := range entries {
		var h heartbeat
		if err := json.Unmarshal(e.Value, &h); err != nil {
			return fmt.Errorf("decode %s: %w", e.Key, err)
		}
		if now.Sub(h.At) <= staleHeartbeat {
			continue
		}
		if err := b.cfg.Store.Delete(ctx, e.Key, e.Version, store.Fence{}); err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}
