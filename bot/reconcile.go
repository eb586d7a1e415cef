package bot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/rollout"
)

// Reconcile makes one pass over everything the bot owns, so a lost webhook
// only delays progress: it starts campaigns whose files it has not seen, and
// for each campaign still going it compares the bot's pull requests on
// GitHub with the state, feeds what the state does not know yet, lets time
// pass (bakes, deadlines, the schedule), and asks again for work left
// outstanding.
//
// Each pass also sets the gauges of /metrics that are read off the stored
// states, for the campaigns it did not step too (ended, or stepped by
// another replica), and drops those of campaigns the store no longer holds.
// A panic is the pass's error (a campaign's only that campaign's), with the
// stack in the log, as a webhook handler's is: the process goes on.
func (b *Bot) Reconcile(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = b.panicked(panicReconcile, "reconcile", p, debug.Stack())
		}
	}()
	b.metrics.reconciles.Inc()
	var errs []error
	if err := b.scanCampaigns(ctx); err != nil {
		errs = append(errs, err)
	}
	mark := b.metrics.fleet.mark()
	byName, err := b.storedStates(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if err := b.claim(ctx, slices.Sorted(maps.Keys(byName))); err != nil {
		errs = append(errs, err)
	}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		if ctx.Err() != nil {
			break
		}
		if !b.owns(name) {
			// Another replica owns it and reconciles it.
			errs = append(errs, b.observeStored(ctx, name, byName[name]))
			continue
		}
		st, err := b.reconcileCampaign(ctx, name, byName[name].Phase, len(byName[name].Posts) > 0)
		if err != nil {
			errs = append(errs, err)
		}
		if st.Campaign != "" {
			byName[name] = st // its step showed it on /metrics
			continue
		}
		errs = append(errs, b.observeStored(ctx, name, byName[name]))
	}
	count := map[rollout.CampaignPhase]int{}
	names := map[string]bool{}
	running := false
	for name, st := range byName {
		count[st.Phase]++
		names[name] = true
		running = running || !st.Phase.Final()
	}
	if running {
		// Commands written while no webhook reached a replica.
		errs = append(errs, b.scanComments(ctx))
	}
	b.metrics.setPhases(count)
	b.metrics.fleet.keep(names, mark)
	b.mu.Lock()
	maps.DeleteFunc(b.waitsEnd, func(name string, _ time.Time) bool { return !names[name] })
	b.mu.Unlock()
	if err := b.prune(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// storedStates returns the state of every campaign the store holds a record
// of; a campaign whose state is not written yet is Pending, with no waves.
func (b *Bot) storedStates(ctx context.Context) (map[string]rollout.State, error) {
	names, err := b.campaignNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]rollout.State, len(names))
	for _, n := range names {
		out[n] = rollout.State{Phase: rollout.CampaignPending}
	}
	entries, err := b.cfg.Store.List(ctx, "campaigns/")
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(strings.TrimPrefix(e.Key, "campaigns/"), "/state")
		if _, known := out[name]; !ok || !known {
			continue
		}
		st, err := b.storedState(e.Key, e.Value)
		if err != nil {
			return nil, err
		}
		out[name] = st
	}
	return out, nil
}

// observeStored shows a campaign this pass did not step on /metrics, as its
// stored state says; its record is read only when it waits for its
// schedule, whose next window the record's calendar tells.
func (b *Bot) observeStored(ctx context.Context, name string, st rollout.State) error {
	var rec *record
	if st.Waiting(time.Time{}).Kind == rollout.WaitWindow {
		var err error
		if rec, _, err = b.loadRecord(ctx, name); err != nil {
			return err
		}
	}
	b.observe(name, st, rec)
	return nil
}

// observe shows campaign name on /metrics as st: its phase, its waves and
// clusters by phase, and what it waits for. rec, when not nil, gives the
// campaign's calendar, which says until when a wait for the schedule lasts.
func (b *Bot) observe(name string, st rollout.State, rec *record) {
	w := st.Waiting(time.Time{})
	if w.Kind == rollout.WaitWindow && rec != nil {
		next, _ := nextWindow(rec, st, b.now()) // a schedule that cannot be read names no time; canOpen warns
		w = st.Waiting(next)
	}
	b.metrics.fleet.set(name, st, w)
	b.metrics.gatesConfigured(st.Policy.Gates)
	if st.Policy.Preflight {
		b.metrics.gatesConfigured([]string{rollout.GatePreflight})
	}
	b.mu.Lock()
	prev := b.waitsEnd[name]
	b.waitsEnd[name] = w.Until
	b.mu.Unlock()
	if !w.Until.IsZero() && (prev.IsZero() || w.Until.Before(prev)) {
		select {
		case b.sooner <- struct{}{}:
		default: // a signal is waiting already
		}
	}
}

// reconcileCampaign brings one campaign up to date with GitHub and the
// clock. A campaign that ended is looked at once per process, then left
// alone: an aborted or rolled-back one has its pull requests looked at, to
// close any that a crash left open; the check runs of any catch up with
// its end (a write that failed as it ended); one whose dashboard issue a
// failure left open, or with posts not yet posted (its last report), is
// stepped until it is closed and they are posted. A panic is the
// campaign's error, with the stack in the log, as a webhook handler's is:
// the other campaigns go on, and the next pass tries it again.
func (b *Bot) reconcileCampaign(ctx context.Context, name string, phase rollout.CampaignPhase, posting bool) (_ rollout.State, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("campaign %s: %w", name, b.panicked(panicReconcile, "reconcile", p, debug.Stack(), "campaign", name))
		}
	}()
	if phase.Final() {
		b.mu.Lock()
		swept := b.swept[name]
		b.swept[name] = true
		b.mu.Unlock()
		switch {
		case swept && posting:
			return b.step(ctx, name, nil)
		case swept:
			open, err := b.dashboardOpen(ctx, name)
			if err != nil || !open {
				return rollout.State{}, err
			}
			return b.step(ctx, name, nil)
		case phase == rollout.CampaignSucceeded:
			return b.step(ctx, name, nil)
		}
	}
	var listed map[string]time.Time
	started := b.now()
	st, err := b.step(ctx, name, func(ctx context.Context, r *run) error {
		r.passStarted = started
		evs, cursors, err := r.githubEvents(ctx)
		listed = cursors
		before := maps.Clone(r.fed)
		errs := []error{err, r.feed(ctx, evs...)}
		for kind, n := range r.fed {
			if d := n - before[kind]; d > 0 {
				b.metrics.recovered.WithLabelValues(kind).Add(float64(d))
				b.log.Info("reconcile recovered events no webhook delivered", "campaign", name, "event", kind, "count", d)
			}
		}
		errs = append(errs, r.tick(ctx))
		// Gates are polled, and open pull requests whose base moved are
		// regenerated when they conflict.
		r.outstanding()
		r.queueNew(rollout.Due(r.st, true))
		r.queueNew(rollout.Refresh(r.st))
		errs = append(errs, r.approvalStatuses(ctx))
		return errors.Join(errs...)
	})
	if err == nil {
		// What the pass saw is in the stored state: the next pass lists
		// only what changed since.
		b.mu.Lock()
		maps.Copy(b.prsListed, listed)
		b.mu.Unlock()
	}
	return st, err
}

// tick lets time pass, telling the machine whether the campaign's schedule
// allows a wave to open now.
func (r *run) tick(ctx context.Context) error {
	return r.feed(ctx, rollout.Tick{CanOpen: r.canOpen()})
}

// canOpen asks the campaign's calendar whether a wave may start now.
func (r *run) canOpen() bool {
	ok, reason := r.schedule()
	if !ok {
		r.b.log.Debug("schedule holds the next wave back", "campaign", r.name, "reason", reason)
	}
	return ok
}

// schedule asks the campaign's calendar whether a wave may start now, and
// if not, why. A stored campaign file that no longer parses, or whose
// schedule does not compile, opens no wave (warned once).
func (r *run) schedule() (ok bool, reason string) {
	cal, err := r.rec.calendar()
	if err != nil {
		r.b.warnOnce("schedule/"+r.name, "campaign schedule cannot be read; no wave opens", "campaign", r.name, "err", err)
		return false, "the campaign's schedule cannot be read"
	}
	return cal.Allowed(r.b.now(), r.st.ScheduleState())
}

// githubEvents lists the campaign's pull requests on GitHub (every branch the
// bot names for it) and returns the events the state has not seen: merges,
// closes and opens. After a first full listing, each repository is listed
// from the pull requests updated since a minute before the latest update
// the last pass saw, newest first: a pull request not updated since was
// seen. cursors holds those times, for the caller to keep once the events
// are stored.
func (r *run) githubEvents(ctx context.Context) (evs []rollout.Event, cursors map[string]time.Time, err error) {
	prefix := "fleetbot/" + r.name + "/"
	var merged, opened, closed []rollout.Event
	var errs []error
	cursors = map[string]time.Time{}
	for _, full := range r.rec.repos() {
		repo, err := parseRepo(full)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		api, err := r.b.cfg.GitHub.API(ctx, repo.Owner, repo.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		key := r.name + "\x00" + full
		r.b.mu.Lock()
		since := r.b.prsListed[key]
		r.b.mu.Unlock()
		// GET /repos/{owner}/{repo}/pulls?state=all[&sort=updated&direction=desc]
		// https://docs.github.com/rest/pulls/pulls#list-pull-requests
		prs, err := api.PullRequests(ctx, repo.Owner, repo.Name, gh.PullRequestFilter{State: "all", UpdatedSince: since})
		if err != nil {
			errs = append(errs, fmt.Errorf("list pull requests of %s: %w", repo, err))
			continue
		}
		latest := since
		for _, p := range prs {
			if at := p.UpdatedAt.Add(-prListSlack); at.After(latest) {
				latest = at
			}
		}
		cursors[key] = latest
		slices.SortFunc(prs, func(a, b gh.PullRequest) int { return a.Number - b.Number })
		for _, p := range prs {
			if !strings.HasPrefix(p.HeadRef, prefix) {
				continue
			}
			ev := r.prEvent(full, p)
			switch ev.(type) {
			case rollout.PRMerged:
				merged = append(merged, ev)
			case rollout.PROpened:
				opened = append(opened, ev)
			case rollout.PRClosed:
				closed = append(closed, ev)
			}
		}
	}
	return slices.Concat(merged, opened, closed), cursors, errors.Join(errs...)
}

// prListSlack is how far before the latest update a pass saw the next one
// lists from: updates within the same second, and GitHub's own ordering,
// are not missed.
const prListSlack = time.Minute

// prEvent returns the event a pull request on GitHub tells that the state
// does not know yet, or nil.
func (r *run) prEvent(repo string, p gh.PullRequest) rollout.Event {
	n, tenant, ok := r.rec.branchWave(r.st, p.HeadRef, repo)
	if !ok {
		return nil
	}
	return r.st.News(rollout.PRFact{Wave: n, Tenant: tenant, Number: p.Number, Open: p.State == "open", Merged: p.Merged, MergeSHA: p.MergeCommitSHA})
}

// reconcileWhere reconciles the campaigns whose state matches.
func (b *Bot) reconcileWhere(ctx context.Context, match func(st rollout.State) bool) (int, error) {
	names, err := b.campaignsWhere(ctx, match)
	errs := []error{err}
	for _, name := range names {
		if _, err := b.reconcileCampaign(ctx, name, rollout.CampaignRunning, false); err != nil {
			errs = append(errs, err)
		}
	}
	return len(names), errors.Join(errs...)
}

// campaignsWhere names the campaigns not ended whose stored state matches.
func (b *Bot) campaignsWhere(ctx context.Context, match func(st rollout.State) bool) ([]string, error) {
	entries, err := b.cfg.Store.List(ctx, "campaigns/")
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	var errs []error
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(strings.TrimPrefix(e.Key, "campaigns/"), "/state")
		if !ok {
			continue
		}
		st, err := b.storedState(e.Key, e.Value)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !st.Phase.Final() && match(st) {
			names = append(names, name)
		}
	}
	return names, errors.Join(errs...)
}
