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

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/rollout"
)

// Reconcile makes one pass over everything the bot owns, so a lost webhook
// only delays progress: it starts campaigns whose files it has not seen, and
// for each campaign still going it compares the bot's pull requests on
// GitHub with the state, feeds what the state does not know yet, lets time
// pass (bakes, deadlines, the schedule), and asks again for work left
// outstanding.
func (b *Bot) Reconcile(ctx context.Context) error {
	b.metrics.reconciles.Inc()
	var errs []error
	if err := b.scanCampaigns(ctx); err != nil {
		errs = append(errs, err)
	}
	byName, err := b.phases(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		if ctx.Err() != nil {
			break
		}
		st, err := b.reconcileCampaign(ctx, name, byName[name])
		if err != nil {
			errs = append(errs, err)
		}
		if st.Campaign != "" {
			byName[name] = st.Phase
		}
	}
	count := map[rollout.CampaignPhase]int{}
	for _, p := range byName {
		count[p]++
	}
	b.metrics.setPhases(count)
	return errors.Join(errs...)
}

// phases returns the phase of every campaign the store holds a record of;
// a campaign whose state is not written yet is Pending.
func (b *Bot) phases(ctx context.Context) (map[string]rollout.CampaignPhase, error) {
	names, err := b.campaignNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]rollout.CampaignPhase, len(names))
	for _, n := range names {
		out[n] = rollout.CampaignPending
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
		var st struct {
			Phase rollout.CampaignPhase `json:"phase"`
		}
		if err := json.Unmarshal(e.Value, &st); err != nil {
			return nil, fmt.Errorf("decode %s: %w", e.Key, err)
		}
		out[name] = st.Phase
	}
	return out, nil
}

// reconcileCampaign brings one campaign up to date with GitHub and the
// clock. A campaign that ended is left alone, except that an aborted or
// rolled-back one has its pull requests looked at once per process, to close
// any that a crash left open, and one whose dashboard issue a failure left
// open is stepped until it is closed.
func (b *Bot) reconcileCampaign(ctx context.Context, name string, phase rollout.CampaignPhase) (rollout.State, error) {
	if phase.Final() {
		b.mu.Lock()
		swept := b.swept[name]
		b.swept[name] = true
		b.mu.Unlock()
		if swept || phase == rollout.CampaignSucceeded {
			open, err := b.dashboardOpen(ctx, name)
			if err != nil || !open {
				return rollout.State{}, err
			}
			return b.step(ctx, name, nil)
		}
	}
	return b.step(ctx, name, func(ctx context.Context, r *run) error {
		evs, err := r.githubEvents(ctx)
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
	cal := r.calendar()
	if cal == nil {
		return false, "the campaign's schedule cannot be read"
	}
	return cal.Allowed(r.b.now(), r.st.ScheduleState())
}

// nextWindow is when the campaign's calendar next lets a wave start: zero
// when it lets one start now, and when it names no time (the cap on open
// pull requests holds the wave back until one closes, or nothing allows a
// wave within rollout.ScheduleHorizon; schedule says which).
func (r *run) nextWindow() time.Time {
	cal := r.calendar()
	if cal == nil {
		return time.Time{}
	}
	now := r.b.now()
	next, err := cal.Next(now, r.st.ScheduleState())
	if err != nil {
		r.b.log.Debug("no time when the schedule lets the next wave start", "campaign", r.name, "err", err)
		return time.Time{}
	}
	if !next.After(now) {
		return time.Time{}
	}
	return next
}

// calendar compiles the campaign's schedule from the stored campaign file;
// nil (warned once) when the file no longer parses or the schedule does
// not compile.
func (r *run) calendar() *rollout.Calendar {
	c, err := r.rec.campaign()
	if err != nil {
		r.b.warnOnce("campaign/"+r.name, "stored campaign file no longer parses; no wave opens", "campaign", r.name, "err", err)
		return nil
	}
	cal, err := c.Spec.Schedule.Compile()
	if err != nil {
		r.b.warnOnce("schedule/"+r.name, "campaign schedule does not compile; no wave opens", "campaign", r.name, "err", err)
		return nil
	}
	return cal
}

// githubEvents lists the campaign's pull requests on GitHub (every branch the
// bot names for it) and returns the events the state has not seen: merges,
// closes and opens.
func (r *run) githubEvents(ctx context.Context) ([]rollout.Event, error) {
	prefix := "fleetbot/" + r.name + "/"
	var merged, opened, closed []rollout.Event
	var errs []error
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
		// GET /repos/{owner}/{repo}/pulls?state=all
		// https://docs.github.com/rest/pulls/pulls#list-pull-requests
		prs, err := api.PullRequests(ctx, repo.Owner, repo.Name, gh.PullRequestFilter{State: "all"})
		if err != nil {
			errs = append(errs, fmt.Errorf("list pull requests of %s: %w", repo, err))
			continue
		}
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
	return slices.Concat(merged, opened, closed), errors.Join(errs...)
}

// prEvent returns the event a pull request on GitHub tells that the state
// does not know yet, or nil.
func (r *run) prEvent(repo string, p gh.PullRequest) rollout.Event {
	n, tenant, ok := r.rec.branchWave(r.st, p.HeadRef, repo)
	if !ok {
		return nil
	}
	return r.st.News(rollout.PRFact{Wave: n, Tenant: tenant, Number: p.Number, Open: p.State == "open", Merged: p.Merged, MergeSHA: p.MergeCommitSHA})
}

// reconcileWhere reconciles the campaigns whose state matches, for events
// that say something changed on a commit (checks, statuses).
func (b *Bot) reconcileWhere(ctx context.Context, match func(st rollout.State) bool) (int, error) {
	entries, err := b.cfg.Store.List(ctx, "campaigns/")
	if err != nil {
		return 0, fmt.Errorf("list campaigns: %w", err)
	}
	var errs []error
	n := 0
	for _, e := range entries {
		name, ok := strings.CutSuffix(strings.TrimPrefix(e.Key, "campaigns/"), "/state")
		if !ok {
			continue
		}
		var st rollout.State
		if err := json.Unmarshal(e.Value, &st); err != nil {
			errs = append(errs, fmt.Errorf("decode %s: %w", e.Key, err))
			continue
		}
		if st.Phase.Final() || !match(st) {
			continue
		}
		n++
		if _, err := b.reconcileCampaign(ctx, name, st.Phase); err != nil {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}
