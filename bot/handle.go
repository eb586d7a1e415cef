package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"

	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/webhooks"
)

// Handle acts on one webhook event. It is idempotent: a delivery handled
// twice feeds the campaign the same facts, which the machine ignores the
// second time. Events about campaigns or branches that are not the bot's
// are ignored with a nil error; an error means a retry may succeed: the
// event's facts were not all taken in. An action of a campaign that fails
// in the step an event made (a pull request GitHub refuses to open, even
// one the event asked for) is the campaign's failing action, logged here,
// counted in fleetbot_campaign_actions_total, shown on its dashboard issue
// and status page once it lasts, and tried again by the reconcile pass; it
// fails no delivery, which would only try it again sooner and raise the
// webhook alert for what the campaign's own alerts say.
func (b *Bot) Handle(ctx context.Context, ev webhooks.Event) error {
	acted, err := b.handleRecovered(ctx, ev)
	err, failed := splitActionsFailed(err)
	if failed != nil {
		level := slog.LevelWarn
		if b.repeated("webhook actions", failed) {
			level = slog.LevelDebug // said at warning level within the hour
		}
		b.log.Log(ctx, level, "event taken in; actions of its campaign failed, and the reconcile pass tries them again",
			"event", ev.Info().Name, "action", ev.Info().Action, "err", failed)
	}
	result := "ignored"
	switch {
	case err != nil:
		result = "error"
	case acted:
		result = "acted"
	}
	b.metrics.webhooks.WithLabelValues(ev.Info().Name, result).Inc()
	return err
}

// handleRecovered is handle, with a panic turned into its error.
func (b *Bot) handleRecovered(ctx context.Context, ev webhooks.Event) (acted bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			acted, err = false, b.panicked(panicWebhook, "the "+ev.Info().Name+" handler", p, debug.Stack(), "delivery", ev.Info().Delivery)
		}
	}()
	return b.handle(ctx, ev)
}

func (b *Bot) handle(ctx context.Context, ev webhooks.Event) (bool, error) {
	switch e := ev.(type) {
	case *webhooks.Push:
		return b.onPush(ctx, e)
	case *webhooks.PullRequest:
		return b.onPullRequest(ctx, e)
	case *webhooks.Comment:
		return b.onComment(ctx, e)
	case *webhooks.Review:
		// A review moves the approval status of its pull request.
		return b.onCommit(ctx, "", e.HeadRef, []int{e.Number})
	case *webhooks.CheckRun:
		if e.Name == CheckName || e.Name == CampaignCheckName {
			return false, nil // the bot's own check runs say nothing new
		}
		return b.onCommit(ctx, e.HeadSHA, "", e.PullRequests)
	case *webhooks.CheckSuite:
		return b.onCommit(ctx, e.HeadSHA, e.HeadBranch, nil)
	case *webhooks.Status:
		return b.onStatus(ctx, e)
	case *webhooks.Installation, *webhooks.InstallationRepositories:
		if r, ok := b.cfg.GitHub.(interface{ RefreshInstallations() }); ok {
			r.RefreshInstallations()
			b.log.Info("installations changed; looking them up again", "event", ev.Info().Name, "action", ev.Info().Action)
			return true, nil
		}
		return false, nil
	}
	return false, nil
}

// onPush starts the campaigns a push to the campaign repository's default
// branch adds or changes, and fetches a pushed blueprint repository into the
// mirror.
func (b *Bot) onPush(ctx context.Context, e *webhooks.Push) (bool, error) {
	if e.Deleted || e.DefaultBranch == "" || e.Ref != "refs/heads/"+e.DefaultBranch {
		return false, nil
	}
	pushed := repoName{e.Owner, e.Repo}
	acted := false
	var errs []error
	if pushed == b.camps {
		var vs []fileVerdict
		for _, f := range slices.Concat(e.Added, e.Modified) {
			if !b.isCampaignFile(f) {
				continue
			}
			acted = true
			v, err := b.pushedCampaign(ctx, f, e.After)
			errs = append(errs, err)
			if err == nil && v.Result != "" {
				vs = append(vs, v)
			}
		}
		removed, err := b.removedCampaigns(ctx, e.Removed)
		errs = append(errs, err)
		for _, v := range removed {
			acted = true
			b.metrics.campaignFiles.WithLabelValues(fileRemoved).Inc()
			b.log.Warn("campaign file removed: its campaign keeps running; abort it with /fleet abort", "campaign", v.Campaign, "file", v.File, "sha", e.After)
		}
		vs = append(vs, removed...)
		if len(vs) > 0 {
			errs = append(errs, b.reportCampaignFiles(ctx, e.After, vs, nil))
		}
	}
	if slices.Contains(b.repos, pushed) {
		acted = true
		h, err := b.head(ctx, pushed)
		if err == nil {
			err = b.cfg.Mirror.Fetch(ctx, h.cloneURL)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("fetch %s: %w", pushed, err))
		}
		// The base of open wave pull requests moved: those that now
		// conflict are regenerated.
		_, err = b.reconcileWhere(ctx, func(st rollout.State) bool { return len(rollout.Refresh(st)) > 0 })
		errs = append(errs, err)
	}
	return acted, errors.Join(errs...)
}

// pushedCampaign reads a campaign file at the pushed commit and considers it.
func (b *Bot) pushedCampaign(ctx context.Context, file, sha string) (fileVerdict, error) {
	api, err := b.cfg.GitHub.API(ctx, b.camps.Owner, b.camps.Name)
	if err != nil {
		return fileVerdict{}, err
	}
	// GET /repos/{owner}/{repo}/contents/{path}?ref={sha}
	// https://docs.github.com/rest/repos/contents#get-repository-content
	src, err := api.Contents(ctx, b.camps.Owner, b.camps.Name, file, sha)
	if err != nil {
		return fileVerdict{}, fmt.Errorf("read %s at %s: %w", file, sha, err)
	}
	return b.considerCampaign(ctx, file, sha, src)
}

// onPullRequest feeds the campaign what became of one of its pull requests.
func (b *Bot) onPullRequest(ctx context.Context, e *webhooks.PullRequest) (bool, error) {
	camp, _, _, _, ok := wave.ParseAnyBranch(e.HeadRef)
	if !ok {
		return b.onCampaignPR(ctx, e)
	}
	handled := false
	_, err := b.step(ctx, camp, func(ctx context.Context, r *run) error {
		n, tenant, ok := r.rec.branchWave(r.st, e.HeadRef, e.Owner+"/"+e.Repo)
		if !ok {
			return nil
		}
		// A head that moved (synchronize) gets its check run when the
		// step ends.
		r.sawHead(n, tenant, e.Number, e.HeadSHA, false)
		var ev rollout.Event
		switch {
		case e.Action == "closed" && e.Merged:
			ev = rollout.PRMerged{Wave: n, Tenant: tenant, Number: e.Number, SHA: e.MergeCommitSHA}
		case e.Action == "closed":
			ev = rollout.PRClosed{Wave: n, Tenant: tenant, Number: e.Number}
		case e.Action == "opened" || e.Action == "reopened":
			ev = rollout.PROpened{Wave: n, Tenant: tenant, Number: e.Number}
		default:
			return nil
		}
		handled = true
		return errors.Join(r.feed(ctx, ev), r.tick(ctx))
	})
	return handled, err
}

// onComment runs the `/fleet` commands of a new comment on one of the
// bot's pull requests (commands.go). An edited or deleted comment runs
// nothing: what a person typed once is done once.
func (b *Bot) onComment(ctx context.Context, e *webhooks.Comment) (bool, error) {
	if len(e.Commands) == 0 || e.Action != "created" {
		return false, nil
	}
	return b.runCommands(ctx, e, "")
}

// onStatus acts on a commit status as onCommit does: for the campaign pull
// requests of the bot's branches GitHub names as holding the commit (its
// head, when CI reports on a pull request), else for the merge commit it
// may be.
func (b *Bot) onStatus(ctx context.Context, e *webhooks.Status) (bool, error) {
	var acted, onBranch bool
	var errs []error
	for _, br := range e.Branches {
		if _, _, _, ok := wave.ParseBranch(br); !ok {
			continue
		}
		a, err := b.onCommit(ctx, e.SHA, br, nil)
		acted, onBranch, errs = acted || a, true, append(errs, err)
	}
	if onBranch {
		return acted, errors.Join(errs...)
	}
	return b.onCommit(ctx, e.SHA, "", nil)
}

// onCommit acts on what a check run, check suite, status or review says to
// the campaigns it concerns (rollout.Concerns): the gates of the waves one
// of whose pull requests merged as sha run again, and the approval and
// merge readiness of the pull requests it names (by number, or by a
// campaign branch) are read again. Nothing else: the reconcile loop lists
// pull requests and lets time pass.
func (b *Bot) onCommit(ctx context.Context, sha, branch string, prs []int) (bool, error) {
	news := rollout.CommitNews{SHA: sha, PRs: prs}
	camp, n, tenant, onBranch := wave.ParseBranch(branch)
	if onBranch {
		news.Wave, news.Tenant = n, tenant
	}
	names, err := b.campaignsWhere(ctx, func(st rollout.State) bool {
		return (!onBranch || st.Campaign == camp) && !rollout.Concerns(st, news).Empty()
	})
	var errs []error
	errs = append(errs, err)
	for _, name := range names {
		_, err := b.step(ctx, name, func(ctx context.Context, r *run) error {
			c := rollout.Concerns(r.st, news) // the state under the lease
			r.queueNew(rollout.GatesDue(r.st, c.Waves))
			if len(c.PRs) == 0 {
				return nil
			}
			camp, err := r.rec.campaign()
			if err != nil {
				return fmt.Errorf("stored campaign file: %w", err)
			}
			return r.approvalsOf(ctx, camp, c.PRs)
		})
		errs = append(errs, err)
	}
	return len(names) > 0, errors.Join(errs...)
}

// splitActionsFailed parts err, as errors.Join made it, into what failed
// the event and the failures of carrying out campaign actions (those that
// wrap an *actionsFailed, at any depth of joins); either may be nil.
func splitActionsFailed(err error) (event, actions error) {
	j, ok := err.(interface{ Unwrap() []error })
	switch {
	case err == nil:
		return nil, nil
	case ok:
	case errors.As(err, new(*actionsFailed)):
		return nil, err
	default:
		return err, nil
	}
	var events, acts []error
	for _, e := range j.Unwrap() {
		ev, ac := splitActionsFailed(e)
		events, acts = append(events, ev), append(acts, ac)
	}
	return errors.Join(events...), errors.Join(acts...)
}
