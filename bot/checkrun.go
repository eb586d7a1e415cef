package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
)

// CheckName is the check run on each wave pull request's head: the wave,
// the pull request's clusters, each gate's latest verdict, and the halt
// report while the campaign is halted on the wave.
const CheckName = "fleetbot"

// checkClient finds, creates and updates the bot's check runs:
// checkrun.go and campaignfile.go.
type checkClient interface {
	CheckRuns(ctx context.Context, owner, repo, ref string) ([]gh.CheckRun, error)
	CreateCheckRun(ctx context.Context, owner, repo string, c gh.NewCheckRun) (gh.CheckRun, error)
	UpdateCheckRun(ctx context.Context, owner, repo string, id int64, c gh.NewCheckRun) (gh.CheckRun, error)
}

// maxOutput is GitHub's limit on a check run's summary and on its text.
const maxOutput = 65535

// checksKey is where the bot keeps what it last wrote in the check run of
// each of a campaign's pull requests, so a step that changed nothing
// shown there spends no GitHub call and a restart finds each run again.
func checksKey(name string) string { return "campaigns/" + name + "/checks" }

// checkRecord is the check run of one pull request as the bot last wrote
// it: on which head, its id, and the digest of what it says.
type checkRecord struct {
	Repo   string `json:"repo"`
	Number int    `json:"number"`
	Head   string `json:"head"`
	ID     int64  `json:"id"`
	Digest string `json:"digest"`
	// At is when a campaign-file check record was last written: the
	// retention pass lets it go after the deliveries' retention.
	At time.Time `json:"at,omitzero"`
}

// prKey names a pull request of the campaign in checks records and head
// hints: its machine wave and tenant.
func prKey(n int, tenant string) string { return fmt.Sprintf("%d/%s", n, tenant) }

// sawHead records the head of pull request number of tenant in machine
// wave n, as GitHub reported it during this step (Ensure's result, a
// pull_request webhook): a head that moved gets a check run of its own.
// fresh says the bot made the commit in this step, so no check run of its
// can be on it yet.
func (r *run) sawHead(n int, tenant string, number int, sha string, fresh bool) {
	if sha == "" || number == 0 {
		return
	}
	if r.heads == nil {
		r.heads = map[string]headSeen{}
	}
	r.heads[prKey(n, tenant)] = headSeen{number, sha, fresh}
}

// headSeen is a pull request's head as GitHub reported it.
type headSeen struct {
	number int
	sha    string
	fresh  bool
}

// checkRuns brings the check run on the head of each of the campaign's pull
// requests in line with the state. A pull request whose check run would say
// what it says already, on the same head, costs nothing.
func (r *run) checkRuns(ctx context.Context) error {
	recs := map[string]checkRecord{}
	version, err := getJSON(ctx, r.b.cfg.Store, checksKey(r.name), &recs)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var errs []error
	changed := false
	for _, w := range r.st.Waves {
		for _, pr := range w.PRs {
			if pr.Number == 0 {
				continue
			}
			key := prKey(w.Number, pr.Tenant)
			out, err := r.waveCheck(w.Number, pr.Tenant)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			digest := checkDigest(out)
			have, seen := recs[key], r.heads[key]
			if have.Number != pr.Number {
				have = checkRecord{}
			}
			if seen.number != pr.Number {
				seen = headSeen{}
			}
			if have.ID != 0 && have.Digest == digest && (seen.sha == "" || seen.sha == have.Head) {
				continue
			}
			rec, err := r.writeCheck(ctx, w.Number, pr, have, seen, out)
			if err != nil {
				errs = append(errs, fmt.Errorf("check run of #%d: %w", pr.Number, err))
				continue
			}
			rec.Digest = digest
			recs[key], changed = rec, true
		}
	}
	if changed {
		if _, err := putJSON(ctx, r.b.cfg.Store, checksKey(r.name), recs, version, r.fence); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// writeCheck puts out on the head of pull request pr of machine wave n:
// the head seen in this step, else the one the check run was last written
// on, else the one GitHub reports. A check run already there (the bot's,
// named CheckName; one a crash left unrecorded) is updated, never doubled.
func (r *run) writeCheck(ctx context.Context, n int, pr rollout.PRState, have checkRecord, seen headSeen, out gh.NewCheckRun) (checkRecord, error) {
	planned, _, _, err := r.rec.pullRequest(r.st, n, pr.Tenant)
	if err != nil {
		return checkRecord{}, err
	}
	repo, err := parseRepo(planned.Repo)
	if err != nil {
		return checkRecord{}, err
	}
	api, err := r.b.cfg.GitHub.API(ctx, repo.Owner, repo.Name)
	if err != nil {
		return checkRecord{}, err
	}
	head := seen.sha
	if head == "" {
		head = have.Head
	}
	if head == "" {
		// GET /repos/{owner}/{repo}/pulls/{pull_number}
		// https://docs.github.com/rest/pulls/pulls#get-a-pull-request
		p, err := api.PullRequest(ctx, repo.Owner, repo.Name, pr.Number)
		if err != nil {
			return checkRecord{}, fmt.Errorf("read its head: %w", err)
		}
		head = p.HeadSHA
	}
	rec := checkRecord{Repo: planned.Repo, Number: pr.Number, Head: head}
	if have.Head == head {
		rec.ID = have.ID
	}
	out.Name, out.HeadSHA, out.Status = CheckName, head, "completed"
	rec.ID, err = putCheck(ctx, api, repo, rec.ID, !(seen.fresh && seen.sha == head), out)
	if err == nil {
		r.b.log.Info("check run", "campaign", r.name, "wave", n, "tenant", pr.Tenant, "number", pr.Number, "head", head, "conclusion", out.Conclusion, "title", out.Title)
	}
	return rec, err
}

// putCheck updates check run id with c, or, when id is 0, the check run
// of c's name on c's head (one a crash left unrecorded; looked for when
// lookup says it may be there), or creates it. It returns the run's id.
func putCheck(ctx context.Context, api checkClient, repo repoName, id int64, lookup bool, c gh.NewCheckRun) (int64, error) {
	if id == 0 && lookup {
		// GET /repos/{owner}/{repo}/commits/{ref}/check-runs
		// https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference
		runs, err := api.CheckRuns(ctx, repo.Owner, repo.Name, c.HeadSHA)
		if err != nil {
			return 0, fmt.Errorf("list the check runs of %s: %w", c.HeadSHA, err)
		}
		for _, run := range runs {
			if run.Name == c.Name && run.ID > id {
				id = run.ID
			}
		}
	}
	if id == 0 {
		// POST /repos/{owner}/{repo}/check-runs
		// https://docs.github.com/rest/checks/runs#create-a-check-run
		run, err := api.CreateCheckRun(ctx, repo.Owner, repo.Name, c)
		if err != nil {
			return 0, err
		}
		return run.ID, nil
	}
	// Annotations add up on every update: they go with the creation only.
	c.Annotations = nil
	// PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}
	// https://docs.github.com/rest/checks/runs#update-a-check-run
	if _, err := api.UpdateCheckRun(ctx, repo.Owner, repo.Name, id, c); err != nil {
		return 0, err
	}
	return id, nil
}

// checkDigest sums what a check run says, to tell whether it changed.
func checkDigest(c gh.NewCheckRun) string {
	b, _ := json.Marshal(c) // plain strings and numbers: it cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// waveCheck renders the check run of tenant's pull request of machine wave
// n: rollout.CheckVerdict's conclusion and title, then the wave, each of
// the pull request's clusters from -> to, each gate's latest verdict with
// what it saw, and the halt report while the campaign is halted; the text
// holds each cluster's evidence.
func (r *run) waveCheck(n int, tenant string) (gh.NewCheckRun, error) {
	v, err := rollout.CheckVerdict(r.st, n, tenant)
	if err != nil {
		return gh.NewCheckRun{}, err
	}
	pw, revert, err := r.rec.planWave(r.st, n)
	if err != nil {
		return gh.NewCheckRun{}, err
	}
	w := r.st.Waves[n-1]
	var b strings.Builder
	fmt.Fprintf(&b, "### Campaign `%s`, wave %d of %d: %s\n\n", r.name, n, len(r.st.Waves), tenant)
	fmt.Fprintln(&b, waveSentence(w, pw, r.rec.Plan.Change))

	mine := slices.DeleteFunc(slices.Clone(w.Clusters), func(c rollout.ClusterState) bool { return c.Tenant != tenant })
	fmt.Fprintln(&b, "\n| Cluster | Change | State |")
	fmt.Fprintln(&b, "|---|---|---|")
	for _, c := range mine {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.Name, cell(r.clusterChange(pw, c.Name, revert, w.Kind == rollout.WaveCleanup)), cell(clusterState(c)))
	}

	gates := r.st.WaveGates(n)
	fmt.Fprintln(&b, "\n#### Gates")
	if len(gates) == 0 {
		fmt.Fprintln(&b, "\nThis wave has no gate: its clusters succeed once merged.")
	} else {
		fmt.Fprintln(&b, "\n| Cluster | Gate | Verdict | What it saw | At |")
		fmt.Fprintln(&b, "|---|---|---|---|---|")
		for _, c := range mine {
			for _, g := range gates {
				rec, ok := c.Gates[g]
				switch {
				case ok:
					fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.Name, g, rec.Outcome, cell(rollout.GateSentence(rec.Detail)), rec.At.UTC().Format(time.RFC3339))
				case c.Phase == rollout.ClusterStopped:
					fmt.Fprintf(&b, "| `%s` | %s | not run: the wave stopped | - | - |\n", c.Name, g)
				case c.Phase == rollout.ClusterPending || c.Phase == rollout.ClusterPreflight || c.Phase == rollout.ClusterInPR:
					fmt.Fprintf(&b, "| `%s` | %s | after the merge | - | - |\n", c.Name, g)
				default:
					fmt.Fprintf(&b, "| `%s` | %s | not reported yet | - | - |\n", c.Name, g)
				}
			}
		}
	}

	if r.st.Phase == rollout.CampaignHalted {
		fmt.Fprintf(&b, "\n#### Halted\n\n%s\n", r.st.HaltReason)
		if fs := r.st.Failures(); len(fs) > 0 {
			fmt.Fprintln(&b)
			writeFailures(&b, fs)
		}
		fmt.Fprintf(&b, "\nA fleet admin decides what comes next, in a comment: %s.\n", wave.CodeList(r.st.Waiting(time.Time{}).Commands))
	}

	var t strings.Builder
	for _, c := range mine {
		fmt.Fprintf(&t, "#### `%s`\n\n", c.Name)
		for _, ev := range c.Evidence {
			fmt.Fprintf(&t, "- %s\n", evidenceLine(ev))
		}
		fmt.Fprintln(&t)
	}
	return gh.NewCheckRun{Conclusion: v.Conclusion, Title: v.Title, Summary: clipAt(b.String(), maxOutput), Text: clipAt(t.String(), maxOutput)}, nil
}

// waveSentence says what a wave does to its clusters.
func waveSentence(w rollout.WaveState, pw *rollout.Wave, change rollout.PlanChange) string {
	switch w.Kind {
	case rollout.WaveRevert:
		return fmt.Sprintf("This wave reverts wave %d: its clusters go back to the values they had before the campaign.", w.Reverts)
	case rollout.WaveCleanup:
		return "This clean-up wave folds the new value up the hierarchy; no cluster's value changes."
	}
	var where []string
	if pw.Env != "" {
		where = append(where, pw.Env)
	}
	if pw.Canary {
		where = append(where, "canary")
	}
	if pw.Shared {
		where = append(where, "shared files")
	}
	if len(change.Hops) > 1 {
		where = append(where, fmt.Sprintf("hop %d", pw.Hop))
	}
	if pw.Step != "" {
		where = append(where, "blue-green "+pw.StepName())
	}
	return fmt.Sprintf("This wave (%s) makes the change: %s.", strings.Join(where, ", "), change.Describe())
}

// clusterChange says what a cluster goes from and to in a wave: the
// plan's step, the other way round for a revert, the value it keeps for a
// clean-up.
func (r *run) clusterChange(pw *rollout.Wave, name string, revert, cleanup bool) string {
	wc, value, ok := r.rec.Plan.Expected(pw.Index, name, revert)
	switch {
	case !ok:
		return "-"
	case cleanup:
		return value + " (unchanged)"
	case pw.Step != "" && !revert:
		return pw.ClusterChange(wc)
	case pw.Step != "":
		return "undo: " + pw.ClusterChange(wc)
	case revert:
		return unsetOr(wc.To) + " → " + unsetOr(value)
	}
	return unsetOr(wc.From) + " → " + value
}

// unsetOr names an empty value.
func unsetOr(v string) string {
	if v == "" {
		return "(unset)"
	}
	return v
}

// evidenceLine writes one step of a cluster's evidence.
func evidenceLine(ev rollout.Evidence) string {
	parts := []string{ev.At.UTC().Format(time.RFC3339), ev.Event}
	if ev.From != "" || ev.To != "" {
		parts = append(parts, ev.From+" → "+ev.To)
	}
	if ev.Gate != "" {
		parts = append(parts, ev.Gate+" "+string(ev.Outcome))
	}
	if ev.PR > 0 {
		parts = append(parts, fmt.Sprintf("#%d", ev.PR))
	}
	if ev.SHA != "" {
		parts = append(parts, shortSHA(ev.SHA))
	}
	if ev.By != "" {
		parts = append(parts, "by @"+ev.By)
	}
	line := strings.Join(parts, " · ")
	if ev.Detail != "" {
		line += ": " + ev.Detail
	}
	return line
}

// clipAt cuts s to n bytes, GitHub's limit on a check run's summary or
// text (maxOutput) or on a comment (maxIssueBody), saying so at the cut.
func clipAt(s string, n int) string {
	const more = "\n\n…(cut at GitHub's limit)\n"
	if len(s) <= n {
		return s
	}
	cut := n - len(more)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}
