package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/rollout"
)

// ApprovalContext is the commit status on each wave pull request's head that
// says whether an owner of its tenant approved it. Platform teams make it a
// required check of the base branch, so GitHub blocks an unapproved merge.
const ApprovalContext = "fleetbot/approval"

// approvalClient reads a pull request's reviews and the statuses of its head,
// posts the approval status, and reads files to compare two heads:
// approval.go.
type approvalClient interface {
	Reviews(ctx context.Context, owner, repo string, number int) ([]gh.Review, error)
	Statuses(ctx context.Context, owner, repo, ref string) ([]gh.Status, error)
	CreateStatus(ctx context.Context, owner, repo, sha string, s gh.Status) (gh.Status, error)
	Contents(ctx context.Context, owner, repo, path, ref string) ([]byte, error)
}

// prView is one of the campaign's pull requests as GitHub shows it now,
// with the client and repository it was read through.
type prView struct {
	api  Client
	repo repoName
	gh.PullRequest
}

// approval reads what rollout.ApprovalOf needs of tenant's pull request
// number in machine wave n and returns the verdict at its head, and the pull
// request.
func (r *run) approval(ctx context.Context, n int, tenant string, number int) (rollout.Approval, prView, error) {
	var v prView
	planned, _, _, err := r.rec.pullRequest(r.st, n, tenant)
	if err != nil {
		return rollout.Approval{}, v, err
	}
	repo, err := parseRepo(planned.Repo)
	if err != nil {
		return rollout.Approval{}, v, err
	}
	api, err := r.b.cfg.GitHub.API(ctx, repo.Owner, repo.Name)
	if err != nil {
		return rollout.Approval{}, v, err
	}
	v.api, v.repo = api, repo
	// GET /repos/{owner}/{repo}/pulls/{pull_number}
	// https://docs.github.com/rest/pulls/pulls#get-a-pull-request
	if v.PullRequest, err = api.PullRequest(ctx, repo.Owner, repo.Name, number); err != nil {
		return rollout.Approval{}, v, fmt.Errorf("read pull request #%d: %w", number, err)
	}
	p := v.PullRequest
	// GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews
	// https://docs.github.com/rest/pulls/reviews#list-reviews-for-a-pull-request
	list, err := api.Reviews(ctx, repo.Owner, repo.Name, number)
	if err != nil {
		return rollout.Approval{}, v, fmt.Errorf("list reviews of #%d: %w", number, err)
	}
	if r.roles == nil {
		if r.roles, err = r.b.roles(ctx, api, r.rec); err != nil {
			return rollout.Approval{}, v, err
		}
	}
	var errs []error
	owner := func(login string) bool {
		ok, err := r.roles.owns(ctx, login, tenant)
		errs = append(errs, err)
		return ok
	}
	same := func(commit string) bool {
		for _, f := range planned.Files {
			// GET /repos/{owner}/{repo}/contents/{path}?ref={sha}
			// https://docs.github.com/rest/repos/contents#get-repository-content
			then, err1 := api.Contents(ctx, repo.Owner, repo.Name, f.Path, commit)
			now, err2 := api.Contents(ctx, repo.Owner, repo.Name, f.Path, p.HeadSHA)
			if err1 != nil || err2 != nil || !bytes.Equal(then, now) {
				return false // a file gone, added or changed: the approval is of other files
			}
		}
		return true
	}
	type given struct {
		at time.Time
		r  rollout.Review
	}
	var all []given
	for _, rv := range list {
		all = append(all, given{rv.SubmittedAt, rollout.Review{User: rv.User, State: rv.State, Commit: rv.CommitID}})
	}
	// Approvals given with `/fleet approve` count like reviews, in the
	// order everything was given.
	byCommand, err := r.b.commandApprovals(ctx, r.name, repo, number)
	if err != nil {
		return rollout.Approval{}, v, err
	}
	for _, a := range byCommand {
		all = append(all, given{a.At, rollout.Review{User: a.User, State: "APPROVED", Commit: a.Commit}})
	}
	slices.SortStableFunc(all, func(a, b given) int { return a.at.Compare(b.at) })
	reviews := make([]rollout.Review, len(all))
	for i, g := range all {
		reviews[i] = g.r
	}
	a := rollout.ApprovalOf(reviews, p.User, p.HeadSHA, owner, same)
	for _, err := range errs {
		if err != nil {
			return a, v, fmt.Errorf("who owns %s: %w", tenant, err)
		}
	}
	return a, v, nil
}

// approvalStatus puts the approval verdict of tenant's open pull request
// number in machine wave n on its head as the fleetbot/approval status,
// unless the head carries that very status already.
func (r *run) approvalStatus(ctx context.Context, n int, tenant string, number int) (rollout.Approval, prView, error) {
	a, v, err := r.approval(ctx, n, tenant, number)
	if err != nil {
		return a, v, err
	}
	owner := "tenant " + tenant
	if tenant == rollout.SharedTenant {
		owner = "the fleet admins"
	}
	want := gh.Status{Context: ApprovalContext, State: "pending", Description: clip(fmt.Sprintf("%s: waiting for an approval by %s", a.Why, owner), 140)}
	if a.Approved {
		want.State, want.Description = "success", clip(fmt.Sprintf("%s, an owner of %s", a.Why, tenant), 140)
		if tenant == rollout.SharedTenant {
			want.Description = clip(a.Why+", a fleet admin", 140)
		}
	}
	// GET /repos/{owner}/{repo}/commits/{ref}/statuses
	// https://docs.github.com/rest/commits/statuses#list-commit-statuses-for-a-reference
	have, err := v.api.Statuses(ctx, v.repo.Owner, v.repo.Name, v.HeadSHA)
	if err != nil {
		return a, v, fmt.Errorf("read the statuses of #%d: %w", number, err)
	}
	for _, s := range have { // newest first
		if s.Context == ApprovalContext {
			if s.State == want.State && s.Description == want.Description {
				return a, v, nil
			}
			break
		}
	}
	// POST /repos/{owner}/{repo}/statuses/{sha}
	// https://docs.github.com/rest/commits/statuses#create-a-commit-status
	if _, err := v.api.CreateStatus(ctx, v.repo.Owner, v.repo.Name, v.HeadSHA, want); err != nil {
		return a, v, fmt.Errorf("post %s on #%d: %w", ApprovalContext, number, err)
	}
	r.b.log.Info("approval status", "campaign", r.name, "wave", n, "tenant", tenant, "number", number, "state", want.State, "why", a.Why)
	return a, v, nil
}

// approvalStatuses puts the approval status on every open pull request of
// the waves the campaign drives, revert waves included, and, under `merge:
// auto`, merges those that are ready while the campaign runs or rolls back.
func (r *run) approvalStatuses(ctx context.Context) error {
	c, err := r.rec.campaign()
	if err != nil {
		return fmt.Errorf("stored campaign file: %w", err)
	}
	return r.approvalsOf(ctx, c, rollout.AwaitingMerge(r.st))
}

// approvalsOf brings the approval status of prs up to date and, under
// `merge: auto`, merges those that are ready.
func (r *run) approvalsOf(ctx context.Context, c *rollout.Campaign, prs []rollout.WavePR) error {
	var errs []error
	acting := r.st.Phase == rollout.CampaignRunning || r.st.Phase == rollout.CampaignRollingBack
	for _, pr := range prs {
		a, v, err := r.approvalStatus(ctx, pr.Wave, pr.Tenant, pr.Number)
		switch {
		case err != nil || !acting:
		case c.Spec.Merge == rollout.MergeAuto:
			err = r.autoMerge(ctx, pr.Wave, pr.Tenant, a, v, c.Spec.MergeMethod)
		default:
			// Approved, it waits for an owner's merge, no longer for an
			// approval.
			why := ""
			if a.Approved {
				why = rollout.OwnersMerge
			}
			_, err = r.holdMerge(ctx, pr.Wave, pr.Tenant, pr.Number, why)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// unapproved fills in why each merge of a wave's pull request (a revert's
// too) the state has not recorded had no approval by an owner of its
// tenant. A merge whose approval cannot be read now is held back (the next
// pass feeds it) and the error returned.
func (r *run) unapproved(ctx context.Context, events []rollout.Event) ([]rollout.Event, error) {
	out := events[:0:0]
	var errs []error
	for _, ev := range events {
		m, ok := ev.(rollout.PRMerged)
		if !ok || m.Number == 0 || m.Unapproved != "" || m.Wave < 1 || m.Wave > len(r.st.Waves) || r.merged(m) {
			out = append(out, ev)
			continue
		}
		a, v, err := r.approval(ctx, m.Wave, m.Tenant, m.Number)
		if err != nil {
			errs = append(errs, fmt.Errorf("the approval of #%d: %w", m.Number, err))
			continue
		}
		m.By, m.Reviews = v.MergedBy, a.Reviews
		if a.Approved {
			m.ApprovedBy = a.By
		} else {
			m.Unapproved = a.Why
		}
		out = append(out, m)
	}
	return out, errors.Join(errs...)
}

// merged reports whether the state already records the merge.
func (r *run) merged(m rollout.PRMerged) bool {
	for _, pr := range r.st.Waves[m.Wave-1].PRs {
		if pr.Tenant == m.Tenant {
			return pr.Status == rollout.PRStatusMerged
		}
	}
	return false
}

// clip cuts s to n bytes, GitHub's limit on a status description.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
