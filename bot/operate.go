package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
	"github.com/fleetbot/fleetbot/rollout/store"
)

// ErrNoCampaign is returned for a campaign the store holds no record of.
var ErrNoCampaign = errors.New("no such campaign")

// ErrNotTaken marks an operation's error from before the campaign took it:
// reading the campaign, waiting for its lease, writing its state. The
// campaign is as it was; asking again is safe.
var ErrNotTaken = errors.New("not taken (the campaign is as it was; asking again is safe)")

// Backoff of Operate while another replica holds the campaign's lease: a
// step holds it for seconds at most, so the wait starts short and stays so.
const (
	operateFirstWait = 50 * time.Millisecond
	operateMaxWait   = time.Second
)

// Operate feeds one operation (rollout.Pause, Resume, Retry, SkipCluster,
// Rollback, Abort or Approve) to a campaign under its lease, waiting while
// another replica holds the lease until ctx ends; carries out the actions
// it asks for (closing pull requests, revert pull requests, reports); and
// returns the new state. A refused operation returns the machine's
// *rollout.EventError, naming why.
//
// An operation that changes nothing (a pause of a paused campaign) also
// returns the machine's *rollout.EventError, matching rollout.ErrIgnored.
// A rollback of a campaign already rolled back asks again for the revert
// pull requests its state records: opening them is safe to repeat, so this
// completes a rollback a crash or a GitHub outage cut short.
//
// An error from before the campaign took the operation (its lease not
// had before ctx ended, its state not read or not written) matches
// ErrNotTaken; any other error came after: the operation is in the state,
// and carrying out its actions failed.
func (b *Bot) Operate(ctx context.Context, name string, op rollout.Event) (rollout.State, error) {
	if !isOperation(op) {
		return rollout.State{}, fmt.Errorf("campaign %s: %T is not an operation", name, op)
	}
	var (
		found, taken bool
		opErr        error
	)
	pass := func(ctx context.Context, r *run) error {
		found = true
		opErr = nil
		rejected := len(r.rejected)
		before, version := r.st, r.version
		err := r.feed(ctx, op)
		taken = r.version != version // the state with the operation is stored
		if err != nil {
			return err
		}
		if len(r.rejected) > rejected {
			opErr = r.rejected[rejected]
			return nil
		}
		r.b.log.Info("operation applied", "campaign", name, "operation", op.Kind(), "phase", r.st.Phase)
		if _, ok := op.(rollout.Retry); ok {
			if err := r.resetGates(before); err != nil {
				return err
			}
		}
		return r.tick(ctx)
	}
	wait := operateFirstWait
	for {
		st, err := b.stepLeased(ctx, name, pass)
		switch {
		case errors.Is(err, store.ErrHeld):
		case err == nil && !found:
			return st, fmt.Errorf("campaign %s: %w", name, ErrNoCampaign)
		case err == nil:
			return st, opErr
		case opErr == nil && !taken:
			return st, fmt.Errorf("campaign %s: %s %w: %w", name, op.Kind(), ErrNotTaken, err)
		case opErr == nil:
			return st, err
		default:
			return st, errors.Join(opErr, err)
		}
		b.log.Info("waiting for another replica to let go of the campaign", "campaign", name, "operation", op.Kind(), "err", err)
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("campaign %s: %s %w: %w; gave up waiting: %w", name, op.Kind(), ErrNotTaken, err, context.Cause(ctx))
		case <-time.After(wait):
		}
		wait = min(2*wait, operateMaxWait)
	}
}

// isOperation tells the events people send from the events the bot feeds
// itself (webhook facts, ticks, gate results).
func isOperation(ev rollout.Event) bool {
	switch ev.(type) {
	case rollout.Pause, rollout.Resume, rollout.Retry, rollout.SkipCluster, rollout.Rollback, rollout.Abort, rollout.Approve:
		return true
	}
	return false
}

// resetGates makes stateful gates (Prometheus counts its measurements)
// forget what they saw of the clusters a retry verifies again, which were
// Failed or TimedOut before it: a retry of the same merge commit must not
// fail at once on the measurements that failed it the first time.
func (r *run) resetGates(before rollout.State) error {
	gates, err := r.gates()
	if err != nil {
		return err
	}
	resetter, ok := gates.(gate.Resetter)
	if !ok {
		return nil
	}
	failed := map[string]bool{}
	for _, w := range before.Waves {
		for _, c := range w.Clusters {
			if c.Phase == rollout.ClusterFailed || c.Phase == rollout.ClusterTimedOut {
				failed[c.Name] = true
			}
		}
	}
	for _, w := range r.st.Waves {
		for _, c := range w.Clusters {
			if failed[c.Name] && c.Phase != rollout.ClusterFailed && c.Phase != rollout.ClusterTimedOut {
				resetter.Reset(c.Name)
				r.b.log.Info("gates forget the cluster's earlier measurements", "campaign", r.name, "cluster", c.Name)
			}
		}
	}
	return nil
}
