package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/bot/wave"
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
// any that a crash left open.
func (b *Bot) reconcileCampaign(ctx context.Context, name string, phase rollout.CampaignPhase) (rollout.State, error) {
	if phase.Final() {
		b.mu.Lock()
		swept := b.swept[name]
		b.swept[name] = true
		b.mu.Unlock()
		if swept || phase == rollout.CampaignSucceeded {
			return rollout.State{}, nil
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
		r.regate()
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
	c, err := r.rec.campaign()
	if err != nil {
		r.b.warnOnce("campaign/"+r.name, "stored campaign file no longer parses; no wave opens", "campaign", r.name, "err", err)
		return false
	}
	cal, err := c.Spec.Schedule.Compile()
	if err != nil {
		r.b.warnOnce("schedule/"+r.name, "campaign schedule does not compile; no wave opens", "campaign", r.name, "err", err)
		return false
	}
	ok, reason := cal.Allowed(r.b.now(), scheduleState(r.st))
	if !ok {
		r.b.log.Debug("schedule holds the next wave back", "campaign", r.name, "reason", reason)
	}
	return ok
}

// scheduleState counts what the calendar needs from the state: pull
// requests open or asked for, those the next wave would open, and when the
// earlier waves started.
func scheduleState(st rollout.State) rollout.ScheduleState {
	var s rollout.ScheduleState
	next := true
	for _, w := range st.Waves {
		if !w.OpenedAt.IsZero() {
			s.WavesStarted = append(s.WavesStarted, w.OpenedAt)
		}
		for _, pr := range w.PRs {
			if pr.Status == rollout.PRStatusOpen || pr.Status == rollout.PRStatusRequested {
				s.OpenPRs++
			}
		}
		if next && w.Phase == rollout.WavePending {
			next = false
			tenants := map[string]bool{}
			for _, c := range w.Clusters {
				if c.Phase != rollout.ClusterSkipped {
					tenants[c.Tenant] = true
				}
			}
			s.WavePRs = len(tenants)
		}
	}
	return s
}

// regate queues a gate run for every merged cluster still waiting for its
// gates, and for every succeeded cluster of a baking wave, that no queued
// RunGates covers: gates are polled, a waiting result is asked again on each
// pass, and a failure during the bake fails the wave.
func (r *run) regate() {
	if r.st.Phase != rollout.CampaignRunning && r.st.Phase != rollout.CampaignHalted {
		return
	}
	queued := map[string]bool{}
	for _, a := range r.queue {
		if g, ok := a.(rollout.RunGates); ok {
			for _, c := range g.Clusters {
				queued[c] = true
			}
		}
	}
	for _, w := range r.st.Waves {
		var names []string
		for _, c := range w.Clusters {
			verifying := (c.Phase == rollout.ClusterApplied || c.Phase == rollout.ClusterVerifying) && !c.GatesDue
			baking := w.Phase == rollout.WaveBaking && c.Phase == rollout.ClusterSucceeded
			if (verifying || baking) && !queued[c.Name] {
				names = append(names, c.Name)
			}
		}
		if len(names) > 0 {
			r.queue = append(r.queue, rollout.RunGates{Wave: w.Number, Clusters: names})
		}
	}
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
	camp, idx, tenant, ok := wave.ParseBranch(p.HeadRef)
	if !ok || camp != r.name {
		return nil
	}
	n := r.rec.machineWave(idx)
	if n == 0 || n > len(r.st.Waves) {
		return nil
	}
	if pr, _, err := r.rec.pullRequest(n, tenant); err != nil || pr.Repo != repo {
		return nil
	}
	w := r.st.Waves[n-1]
	i := slices.IndexFunc(w.PRs, func(s rollout.PRState) bool { return s.Tenant == tenant })
	if i < 0 {
		return nil
	}
	s := w.PRs[i]
	if s.Status == rollout.PRStatusPending || superseded(w, tenant, p.Number) {
		return nil
	}
	switch {
	case p.Merged:
		if s.Status != rollout.PRStatusMerged {
			return rollout.PRMerged{Wave: n, Tenant: tenant, Number: p.Number, SHA: p.MergeCommitSHA}
		}
	case p.State == "open":
		if s.Status == rollout.PRStatusRequested || (s.Status == rollout.PRStatusClosed && (s.Number == 0 || s.Number == p.Number)) {
			return rollout.PROpened{Wave: n, Tenant: tenant, Number: p.Number}
		}
	default:
		if (s.Status == rollout.PRStatusRequested || s.Status == rollout.PRStatusOpen) && (s.Number == 0 || s.Number == p.Number) {
			return rollout.PRClosed{Wave: n, Tenant: tenant, Number: p.Number}
		}
	}
	return nil
}

// superseded reports whether pull request number of tenant in w was given up
// by a retry, which asks for a new one: its later state says nothing about
// the new attempt.
func superseded(w rollout.WaveState, tenant string, number int) bool {
	for _, c := range w.Clusters {
		if c.Tenant != tenant {
			continue
		}
		for _, ev := range c.Evidence {
			if ev.Event == (rollout.Retry{}).Kind() && ev.PR == number {
				return true
			}
		}
	}
	return false
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
