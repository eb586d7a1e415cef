package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/webhooks"
)

// GitHub sends a comment's webhook once; one that reached no replica (all
// down for a deploy, a network fault) is not sent again unless a person
// redelivers it. So, while a campaign runs, the reconcile loop also reads
// the comments written on the campaign and blueprint repositories since
// it last looked, and carries out the `/fleet` commands of those no
// webhook brought: each comment's commands run once (commandsKey), however
// it arrives. A comment found too late is answered, not carried out
// (rollout.LateComment).

// commentScanPasses is how many reconcile passes apart a replica reads the
// repositories' comments: one call per repository each time.
const commentScanPasses = 5

// commentScanOverlap is how far before the last scan the next one reads
// again, for the clocks of GitHub and the replica that may differ and a
// comment saved while the last scan read.
const commentScanOverlap = 2 * time.Minute

// commentRetryFor is how long after a comment was written the scans try
// again to carry out or answer one whose commands failed (its answer
// cannot be posted, GitHub refuses to say who wrote it): then it is given
// up with a warning, and the scans read on from after it.
const commentRetryFor = time.Hour

// commentScanKey keeps when the comments of a repository were last read,
// for every replica.
func commentScanKey(repo repoName) string { return "comment-scans/" + repo.String() }

// commentScan is what commentScanKey keeps.
type commentScan struct {
	// Read is when the last scan started, or, when a comment's commands
	// failed, a little after that comment was written (commentScanOverlap
	// before Read is read again): every comment written before it was
	// read and carried out.
	Read time.Time `json:"read"`
}

// scanComments reads the comments of the campaign and blueprint
// repositories written since the last scan, when a scan is due, and runs
// the commands no webhook brought.
func (b *Bot) scanComments(ctx context.Context) error {
	now := b.now()
	b.mu.Lock()
	due := b.commentsScanned.IsZero() || now.Sub(b.commentsScanned) >= commentScanPasses*b.cfg.ReconcileInterval
	if due {
		b.commentsScanned = now
	}
	b.mu.Unlock()
	if !due {
		return nil
	}
	repos := append([]repoName{b.camps}, b.repos...)
	slices.SortFunc(repos, func(a, c repoName) int { return cmp.Compare(a.String(), c.String()) })
	repos = slices.Compact(repos)
	var errs []error
	for _, repo := range repos {
		errs = append(errs, b.scanRepoComments(ctx, repo, now))
	}
	return errors.Join(errs...)
}

// scanRepoComments reads the comments of repo written since its last scan
// (or, the first time, within rollout.CommandCatchUp of now) and runs the
// commands of each, unless they ran already.
func (b *Bot) scanRepoComments(ctx context.Context, repo repoName, now time.Time) error {
	var last commentScan
	version, err := getJSON(ctx, b.cfg.Store, commentScanKey(repo), &last)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	since := now.Add(-rollout.CommandCatchUp)
	if !last.Read.IsZero() {
		since = last.Read.Add(-commentScanOverlap)
	}
	api, err := b.cfg.GitHub.API(ctx, repo.Owner, repo.Name)
	if err != nil {
		return err
	}
	// GET /repos/{owner}/{repo}/issues/comments?since=...
	// https://docs.github.com/rest/issues/comments#list-issue-comments-for-a-repository
	comments, err := api.RepoComments(ctx, repo.Owner, repo.Name, since)
	if err != nil {
		return fmt.Errorf("read the comments of %s: %w", repo, err)
	}
	var errs []error
	mark := now // the next scan reads from here, less the overlap
	for _, c := range comments {
		cmds := webhooks.ParseCommands(c.Body)
		if len(cmds) == 0 || c.Created.Before(since) || c.Edited() {
			// No command, or edited: edits run nothing, and what an
			// edited comment said when it was written is not known.
			continue
		}
		e := &webhooks.Comment{Meta: webhooks.Meta{Name: "issue_comment", Action: "created", Owner: repo.Owner, Repo: repo.Name},
			Number: c.Number, PullRequest: c.PullRequest, CommentID: c.ID, Body: c.Body, User: c.User, Commands: cmds}
		_, answer := rollout.LateComment(c.Created, now)
		acted, err := b.runCommands(ctx, e, answer)
		switch {
		case errors.Is(err, errCommandsRunning):
			continue // its webhook is being handled
		case err != nil && now.Sub(c.Created) > commentRetryFor:
			b.log.Warn("gave up on a comment whose commands kept failing; the scans read on without it",
				"repo", repo.String(), "number", c.Number, "comment", c.ID, "by", c.User, "written", c.Created, "err", err)
		case err != nil:
			errs = append(errs, fmt.Errorf("comment %d on %s#%d: %w", c.ID, repo, c.Number, err))
			// Read again from it: the comments before it are done.
			if at := c.Created.Add(commentScanOverlap); at.Before(mark) {
				mark = at
			}
		case acted:
			b.log.Info("carried out a comment no webhook brought", "repo", repo.String(), "number", c.Number, "comment", c.ID, "by", c.User, "written", c.Created, "late", answer != "")
		}
	}
	if mark.After(last.Read) {
		_, err = putJSON(ctx, b.cfg.Store, commentScanKey(repo), commentScan{Read: mark}, version, store.Fence{})
		if errors.Is(err, store.ErrConflict) {
			err = nil // another replica scanned meanwhile
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
