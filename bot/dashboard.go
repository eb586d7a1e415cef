package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
)

// Each campaign has one dashboard issue in the campaign repository: opened
// when the campaign starts, edited in place whenever what it shows changes,
// closed with a summary when the campaign ends. Its body starts with a
// hidden marker naming the campaign, so the issue is found again when the
// store lost its number; `/fleet` commands written on it steer the campaign
// (commands.go).

// dashboardMarkerPrefix starts the hidden first line of a dashboard issue.
const dashboardMarkerPrefix = "<!-- fleetbot:dashboard campaign="

// dashboardMarker is the hidden first line of a campaign's dashboard issue.
func dashboardMarker(campaign string) string {
	return dashboardMarkerPrefix + campaign + " -->"
}

// markedCampaign returns the campaign a dashboard marker on the first line
// of body names.
func markedCampaign(body string) (string, bool) {
	first, _, _ := strings.Cut(body, "\n")
	name, ok := strings.CutPrefix(strings.TrimSpace(first), dashboardMarkerPrefix)
	if !ok {
		return "", false
	}
	name, ok = strings.CutSuffix(name, " -->")
	if !ok || name == "" || strings.ContainsAny(name, " \t/") {
		return "", false
	}
	return name, true
}

// dashboardKey is where the store keeps a campaign's dashboard issue.
func dashboardKey(name string) string { return "campaigns/" + name + "/dashboard" }

// dashboardIssue is the campaign's dashboard issue as the store keeps it:
// where it is, the digest of the body and state last written (nothing is
// sent while they stay the same), and whether it was closed.
type dashboardIssue struct {
	Repo   string `json:"repo"`
	Number int    `json:"number"`
	Digest string `json:"digest"`
	Closed bool   `json:"closed,omitempty"`
}

// issueClient opens, finds and edits the dashboard issue: dashboard.go and
// commands.go.
type issueClient interface {
	Issues(ctx context.Context, owner, repo string, f gh.IssueFilter) ([]gh.Issue, error)
	Issue(ctx context.Context, owner, repo string, number int) (gh.Issue, error)
	CreateIssue(ctx context.Context, owner, repo string, n gh.NewIssue) (gh.Issue, error)
	EditIssue(ctx context.Context, owner, repo string, number int, e gh.IssueEdit) (gh.Issue, error)
}

// loadDashboard reads the campaign's dashboard issue from the store; ok is
// false when it holds none.
func (b *Bot) loadDashboard(ctx context.Context, name string) (d dashboardIssue, version int64, ok bool, err error) {
	version, err = getJSON(ctx, b.cfg.Store, dashboardKey(name), &d)
	if errors.Is(err, store.ErrNotFound) {
		return d, 0, false, nil
	}
	return d, version, err == nil, err
}

// dashboard brings the campaign's dashboard issue up to date. A failure is
// logged, not returned: the dashboard shows the campaign and never holds it
// back, and the next step tries again, since the digest it keeps did not
// move.
func (r *run) dashboard(ctx context.Context) {
	if err := r.syncDashboard(ctx); err != nil {
		r.b.log.Warn("dashboard issue not brought up to date; the next step tries again", "campaign", r.name, "err", err)
	}
}

// dashboardFirst opens the dashboard issue of a campaign that has none
// before the step opens pull requests, so the issue, where the campaign is
// followed and steered, comes before the campaign's first pull request
// whichever step opens it: the start's own, or a reconcile pass or a
// webhook that stepped the campaign first. A step that opens none leaves
// the dashboard to its end.
func (r *run) dashboardFirst(ctx context.Context) {
	if !slices.ContainsFunc(r.queue, func(a rollout.Action) bool {
		_, ok := a.(rollout.OpenWave)
		return ok
	}) {
		return
	}
	_, _, found, err := r.b.loadDashboard(ctx, r.name)
	if err == nil && !found {
		r.dashboard(ctx)
	}
}

// dashboardTarget is the campaign's open dashboard issue, brought up to
// date (opened when it has none); ok is false when it has none: its
// repository has issues turned off, or the campaign ended before it had
// one.
func (r *run) dashboardTarget(ctx context.Context) (t prTarget, ok bool, err error) {
	if err := r.syncDashboard(ctx); err != nil {
		return t, false, err
	}
	d, _, found, err := r.b.loadDashboard(ctx, r.name)
	if err != nil || !found || d.Number == 0 || d.Closed {
		return t, false, err
	}
	repo, err := parseRepo(d.Repo)
	if err != nil {
		return t, false, fmt.Errorf("dashboard repository: %w", err)
	}
	api, err := r.b.cfg.GitHub.API(ctx, repo.Owner, repo.Name)
	if err != nil {
		return t, false, err
	}
	return prTarget{api: api, repo: repo, number: d.Number}, true, nil
}

// syncDashboard opens the dashboard issue of a campaign that has none (or
// finds it again by its marker), and edits it when its body or state
// changed: closed, with its summary, once the campaign ended, and opened
// again when a campaign that succeeded rolls back. A campaign that ended
// before it had one gets none.
func (r *run) syncDashboard(ctx context.Context) error {
	repo, err := parseRepo(r.rec.Repo)
	if err != nil {
		return fmt.Errorf("campaign repository: %w", err)
	}
	if r.b.issuesOff(repo) {
		return nil
	}
	d, version, found, err := r.b.loadDashboard(ctx, r.name)
	if err != nil {
		return err
	}
	final := r.st.Phase.Final()
	if !found && final {
		return nil
	}
	// The replica that owns the campaign reconciles it, so it knows which
	// actions keep failing; another one, stepping it on a webhook, shows
	// what the owner last wrote to the store.
	var troubles []rollout.Trouble
	if r.b.owns(r.name) {
		troubles = r.b.shownTroubles(r.name)
	} else if troubles, _, err = r.b.storedTroubles(ctx, r.name); err != nil {
		return err
	}
	body, err := r.dashboardBody(troubles)
	if err != nil {
		return err
	}
	digest := dashboardDigest(body, final)
	if found && d.Digest == digest {
		return nil
	}
	api, err := r.b.cfg.GitHub.API(ctx, repo.Owner, repo.Name)
	if err != nil {
		return err
	}
	log := r.b.log.With("campaign", r.name, "repo", repo.String())
	if !found {
		if d, version, err = r.openDashboard(ctx, api, repo, body); err != nil || d.Number == 0 {
			return err
		}
		if d.Digest == digest {
			return nil
		}
	}
	edit := gh.IssueEdit{Body: &body}
	switch {
	case final && !d.Closed:
		state, reason := "closed", closeReason(r.st.Phase)
		edit.State, edit.StateReason = &state, &reason
	case !final && d.Closed:
		// Ended and closed, then rolled back: open while it rolls back,
		// closed again, as not planned, once the rollback ends.
		state, reason := "open", "reopened"
		edit.State, edit.StateReason = &state, &reason
	}
	// PATCH /repos/{owner}/{repo}/issues/{issue_number}
	// https://docs.github.com/rest/issues/issues#update-an-issue
	if _, err := api.EditIssue(ctx, repo.Owner, repo.Name, d.Number, edit); err != nil {
		if s := status(err); s == http.StatusNotFound || s == http.StatusGone {
			// Deleted: forgotten, so the next step opens another.
			log.Warn("the dashboard issue is gone; a new one opens", "number", d.Number, "err", err)
			return r.b.cfg.Store.Delete(ctx, dashboardKey(r.name), version, r.fence)
		}
		return fmt.Errorf("edit the dashboard issue #%d: %w", d.Number, err)
	}
	if edit.State != nil {
		log.Info("dashboard issue "+*edit.State, "number", d.Number, "reason", *edit.StateReason)
	}
	d.Digest, d.Closed = digest, final
	_, err = putJSON(ctx, r.b.cfg.Store, dashboardKey(r.name), d, version, r.fence)
	return err
}

// openDashboard finds the campaign's dashboard issue by its marker, or
// opens it with body, and keeps its number in the store at once, so a
// failure after it never opens a second one. The issue's number is 0 when
// the repository has issues turned off.
func (r *run) openDashboard(ctx context.Context, api issueClient, repo repoName, body string) (dashboardIssue, int64, error) {
	log := r.b.log.With("campaign", r.name, "repo", repo.String())
	d := dashboardIssue{Repo: repo.String()}
	n, err := findDashboard(ctx, api, repo, r.name)
	switch {
	case err != nil:
		return d, 0, err
	case n > 0:
		d.Number = n
		log.Info("dashboard issue found again by its marker", "number", n)
	default:
		// POST /repos/{owner}/{repo}/issues
		// https://docs.github.com/rest/issues/issues#create-an-issue
		is, err := api.CreateIssue(ctx, repo.Owner, repo.Name, gh.NewIssue{Title: dashboardTitle(r.rec), Body: body, Labels: r.dashboardLabels()})
		if status(err) == http.StatusGone {
			r.b.turnIssuesOff(repo)
			r.b.warnOnce("issues-off/"+repo.String(), "the campaign repository has issues turned off: no dashboard issue", "repo", repo.String(), "err", err)
			return d, 0, nil
		}
		if err != nil {
			return d, 0, fmt.Errorf("open the dashboard issue: %w", err)
		}
		d.Number, d.Digest = is.Number, dashboardDigest(body, false)
		log.Info("dashboard issue opened", "number", is.Number, "url", is.HTMLURL)
	}
	version, err := putJSON(ctx, r.b.cfg.Store, dashboardKey(r.name), d, 0, r.fence)
	return d, version, err
}

// findDashboard looks for a campaign's dashboard issue among the campaign
// repository's issues, open and closed: one an app opened whose first line
// is the campaign's marker. It returns 0 when there is none.
func findDashboard(ctx context.Context, api issueClient, repo repoName, name string) (int, error) {
	// GET /repos/{owner}/{repo}/issues?state=all
	// https://docs.github.com/rest/issues/issues#list-repository-issues
	list, err := api.Issues(ctx, repo.Owner, repo.Name, gh.IssueFilter{State: "all"})
	if err != nil {
		return 0, fmt.Errorf("look for the dashboard issue: %w", err)
	}
	for _, is := range list {
		if isDashboard(is, name) {
			return is.Number, nil
		}
	}
	return 0, nil
}

// isDashboard reports whether an issue is a dashboard issue of campaign
// name, as the bot opens them: not a pull request, opened by an app, the
// marker on its first line.
func isDashboard(is gh.Issue, name string) bool {
	marked, ok := markedCampaign(is.Body)
	return ok && marked == name && !is.PullRequest && strings.HasSuffix(is.User, "[bot]")
}

// dashboardOpen reports whether a campaign that ended has a dashboard
// issue not closed yet. Once it has none open it never will again, so the
// answer is kept for the process: the reconcile loop asks on every pass.
func (b *Bot) dashboardOpen(ctx context.Context, name string) (bool, error) {
	b.mu.Lock()
	settled := b.settled[name]
	b.mu.Unlock()
	if settled {
		return false, nil
	}
	d, _, ok, err := b.loadDashboard(ctx, name)
	if err != nil {
		return false, err
	}
	if open := ok && !d.Closed; open {
		return true, nil
	}
	b.mu.Lock()
	b.settled[name] = true
	b.mu.Unlock()
	return false, nil
}

// dashboardDigest is what the store keeps of a body and state written.
func dashboardDigest(body string, closed bool) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%t\n%s", closed, body))
	return hex.EncodeToString(sum[:])
}

// closeReason is GitHub's state_reason for the dashboard issue of a
// campaign that ended: completed when it succeeded, not_planned when it
// was aborted or rolled back.
func closeReason(p rollout.CampaignPhase) string {
	if p == rollout.CampaignSucceeded {
		return "completed"
	}
	return "not_planned"
}

// dashboardTitle is the dashboard issue's title: the campaign and its
// change.
func dashboardTitle(rec *record) string {
	return fmt.Sprintf("Campaign %s: %s", rec.Campaign, rec.Plan.Change.Describe())
}

// dashboardLabels are the labels of the dashboard issue: Config.Labels
// when set, as on the wave pull requests, else fleetbot and
// campaign:<name>.
func (r *run) dashboardLabels() []string {
	if r.b.cfg.Labels != nil {
		return r.b.cfg.Labels
	}
	return []string{"fleetbot", "campaign:" + r.name}
}

// dashboardBody renders the dashboard of the campaign as it stands, with
// what it waits for: when that is the schedule, the calendar says until
// when, or why no time can be named. The commands that apply are those of
// the wait beside the troubles shown.
func (r *run) dashboardBody(troubles []rollout.Trouble) (string, error) {
	v := dashboardView{Repo: r.rec.Repo, Rec: r.rec, St: r.st, Wait: r.st.Waiting(time.Time{}), Troubles: troubles}
	if next, held := heldBack(r.rec, r.st, r.b.now()); held != "" {
		v.Wait, v.Held = r.st.Waiting(next), held
	}
	v.Wait = v.Wait.Beside(troubles)
	return renderDashboard(v)
}

// issuesOff reports whether repo was found with its issues turned off.
func (b *Bot) issuesOff(repo repoName) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.noIssues[repo.String()]
}

// turnIssuesOff remembers, for this process, that repo has its issues
// turned off, so no step asks again.
func (b *Bot) turnIssuesOff(repo repoName) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.noIssues[repo.String()] = true
}

// status is the HTTP status GitHub answered with err, 0 for none.
func status(err error) int {
	var ge *gh.Error
	if errors.As(err, &ge) {
		return ge.Status
	}
	return 0
}
