package bot

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
)

// run is one step on a campaign while this replica holds its lease: the
// record, the state as last persisted, and the actions still to carry out.
type run struct {
	b    *Bot
	name string
	// roles says who owns what, read once per step when asked (approval.go).
	roles   *roles
	fence   store.Fence
	rec     *record
	st      rollout.State
	version int64
	queue   []rollout.Action
	// fed counts the events that changed the state, by kind.
	fed map[string]int
	// rejected holds the machine's answer to each event it refused or
	// ignored, in order, for callers that report it (Operate).
	rejected []error
	// heads holds the pull request heads GitHub reported during the step,
	// by prKey: where their check runs go (checkrun.go).
	heads map[string]headSeen
	// bases holds the head of each repository's default branch as read
	// for the wave being opened: its pull requests are opened on one head,
	// read once (actions.go).
	bases map[repoName]headRef
	// passStarted is when the reconcile pass this step is part of began
	// (zero for a step of a webhook): the failing actions the pass did not
	// attempt again are forgotten before the dashboard shows them.
	passStarted time.Time
}

// step acts on a campaign under its lease: pass feeds events, then the
// actions they asked for are carried out, and so is the work the state says
// is still outstanding (a pull request asked for but never reported open,
// after a crash between persisting and acting); last, the dashboard issue
// shows where the campaign stands. A campaign the store holds no record of
// is ignored; one leased by another replica is left to it.
func (b *Bot) step(ctx context.Context, name string, pass func(ctx context.Context, r *run) error) (rollout.State, error) {
	st, err := b.stepLeased(ctx, name, pass)
	if errors.Is(err, store.ErrHeld) {
		return st, nil
	}
	return st, err
}

// stepLeased is step, returning an error matching store.ErrHeld when
// another replica holds the campaign's lease, for callers that wait for it.
func (b *Bot) stepLeased(ctx context.Context, name string, pass func(ctx context.Context, r *run) error) (rollout.State, error) {
	var out rollout.State
	err := b.withLease(ctx, name, func(ctx context.Context, l store.Lease) error {
		rec, ok, err := b.loadRecord(ctx, name)
		if err != nil || !ok {
			return err
		}
		r := &run{b: b, name: name, fence: l.Fence(), rec: rec, fed: map[string]int{}}
		if err := r.load(ctx); err != nil {
			return err
		}
		var errs []error
		if pass != nil {
			errs = append(errs, pass(ctx, r))
		}
		r.outstanding()
		r.dashboardFirst(ctx)
		if err := r.drain(ctx); err != nil {
			errs = append(errs, &actionsFailed{err})
		}
		if !r.passStarted.IsZero() {
			b.troublesAttemptedSince(name, r.passStarted)
		}
		if b.owns(name) {
			if err := r.keepTroubles(ctx); err != nil {
				b.log.Warn("failing actions not written to the store; the next step tries again", "campaign", name, "err", err)
			}
		}
		// The check runs show the state the step leaves, whatever moved it.
		errs = append(errs, r.checkRuns(ctx))
		if r.st.Phase.Final() {
			errs = append(errs, b.unlockClusters(ctx, r.st))
		}
		b.observe(name, r.st, r.rec)
		if err := errors.Join(errs...); !errors.Is(err, store.ErrFenced) {
			// A replica that lost the lease shows nothing: the new
			// holder's state is newer than its own.
			r.dashboard(ctx)
		}
		out = r.st
		return errors.Join(errs...)
	})
	return out, err
}

// load reads the campaign's state, creating it when the record was written
// but the state was not (a crash between the two writes).
func (r *run) load(ctx context.Context) error {
	v, err := getJSON(ctx, r.b.cfg.Store, stateKey(r.name), &r.st)
	if err == nil {
		r.version = v
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	c, err := r.rec.campaign()
	if err != nil {
		return fmt.Errorf("campaign %s: stored campaign file: %w", r.name, err)
	}
	st, err := newState(c, r.rec)
	if err != nil {
		return fmt.Errorf("campaign %s: %w", r.name, err)
	}
	if r.version, err = r.b.createState(ctx, r.name, st, r.fence); err != nil {
		return err
	}
	_, err = getJSON(ctx, r.b.cfg.Store, stateKey(r.name), &r.st)
	return err
}

// feed applies events in order, persists the state once if any changed it,
// and queues the actions they asked for. Ignored events (duplicates) and
// refused ones are logged, not returned: the state stays right either way.
func (r *run) feed(ctx context.Context, events ...rollout.Event) error {
	events, unread := r.unapproved(ctx, events)
	if err := r.feedChecked(ctx, events...); err != nil {
		return errors.Join(unread, err)
	}
	return unread
}

// feedChecked is feed, once the merges carry their approval.
func (r *run) feedChecked(ctx context.Context, events ...rollout.Event) error {
	changed := false
	st := r.st
	var actions []rollout.Action
	var verdicts []verdict // observed once the state is stored
	for _, ev := range events {
		at := r.b.now()
		next, acts, err := rollout.Transition(st, ev, at)
		if err != nil {
			outcome := "refused"
			if errors.Is(err, rollout.ErrIgnored) {
				outcome = "ignored"
				r.b.log.Debug("event ignored", "campaign", r.name, "event", ev.Kind(), "reason", err)
			} else {
				r.b.log.Warn("event refused", "campaign", r.name, "event", ev.Kind(), "err", err)
			}
			r.b.metrics.events.WithLabelValues(ev.Kind(), outcome).Inc()
			r.rejected = append(r.rejected, err)
			continue
		}
		r.b.metrics.events.WithLabelValues(ev.Kind(), "applied").Inc()
		if gr, ok := ev.(rollout.GateResult); ok {
			if v, ok := verdictOf(st, next, gr, at); ok {
				verdicts = append(verdicts, v)
			}
		}
		r.fed[ev.Kind()]++
		st, changed = next, true
		actions = append(actions, acts...)
	}
	if !changed {
		return nil
	}
	old, err1 := json.Marshal(r.st)
	now, err2 := json.Marshal(st)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("campaign %s: encode state: %w", r.name, err)
	}
	if bytes.Equal(old, now) {
		return nil // a tick with nothing due
	}
	v, err := r.b.cfg.Store.Put(ctx, stateKey(r.name), now, r.version, r.fence)
	if err != nil {
		return fmt.Errorf("campaign %s: write state: %w", r.name, err)
	}
	r.st, r.version = st, v
	r.queue = append(r.queue, actions...)
	r.b.metrics.observeVerdicts(verdicts)
	return nil
}

// queueNew queues the actions no queued action covers already: the work a
// state says is due (rollout.Due: pull requests, gates, pre-flight checks,
// posts not yet posted), the open pull requests to check again
// (rollout.Refresh). Both are safe to repeat, so asking again after a crash
// loses nothing. It returns the actions it queued.
func (r *run) queueNew(acts []rollout.Action) []rollout.Action {
	queued := map[string]bool{}
	key := func(kind string, wave int, name string) string { return fmt.Sprintf("%s/%d/%s", kind, wave, name) }
	for _, a := range r.queue {
		switch a := a.(type) {
		case rollout.OpenWave:
			for _, pr := range a.PRs {
				queued[key("pr", a.Wave, pr.Tenant)] = true
			}
		case rollout.RunGates:
			for _, c := range a.Clusters {
				queued[key("gates", a.Wave, c)] = true
			}
		case rollout.RunPreflight:
			for _, c := range a.Clusters {
				queued[key("preflight", a.Wave, c)] = true
			}
		case rollout.PostReport, rollout.RequestApproval:
			if seq := rollout.PostSeq(a); seq != 0 {
				queued[key("post", seq, "")] = true
			}
		}
	}
	n := len(r.queue)
	for _, a := range acts {
		switch a := a.(type) {
		case rollout.OpenWave:
			a.PRs = slices.DeleteFunc(a.PRs, func(pr rollout.PRRequest) bool { return queued[key("pr", a.Wave, pr.Tenant)] })
			if len(a.PRs) > 0 {
				r.queue = append(r.queue, a)
			}
		case rollout.RunGates:
			a.Clusters = slices.DeleteFunc(a.Clusters, func(c string) bool { return queued[key("gates", a.Wave, c)] })
			if len(a.Clusters) > 0 {
				r.queue = append(r.queue, a)
			}
		case rollout.RunPreflight:
			a.Clusters = slices.DeleteFunc(a.Clusters, func(c string) bool { return queued[key("preflight", a.Wave, c)] })
			if len(a.Clusters) > 0 {
				r.queue = append(r.queue, a)
			}
		case rollout.PostReport, rollout.RequestApproval:
			if k := key("post", rollout.PostSeq(a), ""); !queued[k] {
				queued[k] = true
				r.queue = append(r.queue, a)
			}
		}
	}
	return r.queue[n:]
}

// outstanding queues the pull requests asked for and never reported open
// (a crash between persisting a state and acting on it).
func (r *run) outstanding() {
	for _, a := range r.queueNew(rollout.Due(r.st, false)) {
		if ow, ok := a.(rollout.OpenWave); ok {
			r.b.metrics.recovered.WithLabelValues("open-wave").Inc()
			r.b.log.Info("asking again for pull requests never reported open", "campaign", r.name, "wave", ow.Wave, "prs", len(ow.PRs))
		}
	}
}

// drain carries out the queued actions in order, including those the events
// they feed back ask for. One action failing does not stop the others; the
// state still says what is outstanding, and the next step retries it.
func (r *run) drain(ctx context.Context) error {
	var errs []error
	for len(r.queue) > 0 {
		a := r.queue[0]
		r.queue = r.queue[1:]
		err := r.act(ctx, a)
		outcome := "ok"
		if err != nil {
			outcome = "error"
			errs = append(errs, fmt.Errorf("campaign %s: %s: %w", r.name, a.Kind(), err))
			if errors.Is(err, store.ErrFenced) {
				break // the lease changed hands: stop acting at once
			}
		}
		if ctx.Err() == nil {
			// An attempt cut short by shutdown says nothing of the action.
			r.b.noteTroubles(r.name, a, err)
		}
		r.b.metrics.actions.WithLabelValues(a.Kind(), outcome).Inc()
	}
	return errors.Join(errs...)
}

// actionsFailed is what failed while a step carried out the campaign's
// actions. The step's state says what is still outstanding, the failures
// are its troubles (noteTroubles), and the next reconcile pass tries them
// again: they are the campaign's failures, not those of the webhook event
// whose step met them (Handle).
type actionsFailed struct{ err error }

func (e *actionsFailed) Error() string { return e.err.Error() }
func (e *actionsFailed) Unwrap() error { return e.err }

// noteTroubles records the outcome of an attempt at action a of campaign
// name (rollout.Troubles): a wave's pull requests one by one, since each
// tenant's succeeds or fails apart (tenantError), other actions whole.
func (b *Bot) noteTroubles(name string, a rollout.Action, err error) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.troubles[name]
	if ow, ok := a.(rollout.OpenWave); ok {
		failed := map[string]error{}
		var all []error // what failed the whole wave
		for _, e := range joined(err) {
			if te := (*tenantError)(nil); errors.As(e, &te) {
				failed[te.tenant] = te.err
			} else {
				all = append(all, e)
			}
		}
		for _, pr := range ow.PRs {
			t = t.Note(rollout.OpenWave{Wave: ow.Wave, PRs: []rollout.PRRequest{pr}}, cmp.Or(failed[pr.Tenant], errors.Join(all...)), now)
		}
	} else {
		t = t.Note(a, err, now)
	}
	b.setTroubles(name, t)
}

// setTroubles keeps t as the failing actions of campaign name; b.mu held.
func (b *Bot) setTroubles(name string, t rollout.Troubles) {
	if len(t) > 0 {
		b.troubles[name] = t
	} else {
		delete(b.troubles, name)
	}
}

// joined returns the errors err joins, or err alone.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// troublesAttemptedSince forgets the failing actions of campaign name not
// attempted since at.
func (b *Bot) troublesAttemptedSince(name string, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.setTroubles(name, b.troubles[name].AttemptedSince(at))
}

// troublesKey is where the store keeps the failing actions of a campaign
// to show: the replica that holds the campaign writes them; the others'
// dashboard edits and every replica's status page read them.
func troublesKey(name string) string { return "campaigns/" + name + "/troubles" }

// keptTroubles are the failing actions a replica last wrote to the store,
// and their version there (0: none stored).
type keptTroubles struct {
	version int64
	shown   []rollout.Trouble
}

// keepTroubles writes the failing actions of the campaign to show now to
// the store when they differ from what this replica last wrote there (the
// first time, from what the store holds), and removes them once there are
// none. A write that fails is forgotten, so the next step reads again.
func (r *run) keepTroubles(ctx context.Context) error {
	shown := r.b.shownTroubles(r.name)
	r.b.mu.Lock()
	kept, known := r.b.troublesKept[r.name]
	delete(r.b.troublesKept, r.name)
	r.b.mu.Unlock()
	if !known {
		var err error
		if kept.shown, kept.version, err = r.b.storedTroubles(ctx, r.name); err != nil {
			return err
		}
	}
	if !slices.EqualFunc(kept.shown, shown, rollout.Trouble.Same) {
		var err error
		if len(shown) == 0 {
			err = r.b.cfg.Store.Delete(ctx, troublesKey(r.name), kept.version, r.fence)
			kept.version = 0
		} else {
			kept.version, err = putJSON(ctx, r.b.cfg.Store, troublesKey(r.name), shown, kept.version, r.fence)
		}
		if err != nil {
			return err
		}
		kept.shown = shown
	}
	r.b.mu.Lock()
	r.b.troublesKept[r.name] = kept
	r.b.mu.Unlock()
	return nil
}

// storedTroubles reads the failing actions of campaign name the store
// holds, those the replica holding it last wrote, and their version there
// (0 when it holds none).
func (b *Bot) storedTroubles(ctx context.Context, name string) ([]rollout.Trouble, int64, error) {
	var shown []rollout.Trouble
	version, err := getJSON(ctx, b.cfg.Store, troublesKey(name), &shown)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	return shown, version, err
}

// shownTroubles returns the failing actions of campaign name to show now.
func (b *Bot) shownTroubles(name string) []rollout.Trouble {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.troubles[name].Shown(now)
}
