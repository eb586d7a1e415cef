package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/webhooks"
)

// Reactions the bot puts on a comment with commands: one when every command
// was taken (or shown), another when one was refused.
const (
	reactionTaken   = "+1"
	reactionRefused = "confused"
)

// commandsKey is where the answer to one comment's commands is kept: each
// command of the comment runs at most once, however often its delivery
// arrives, and the answer is posted until it is on GitHub.
func commandsKey(campaign string, commentID int64) string {
	return fmt.Sprintf("campaigns/%s/commands/%d", campaign, commentID)
}

// CommandRecord is what became of one comment's commands, with who ran them:
// the audit report lists them.
type CommandRecord struct {
	Comment  int64           `json:"comment"`
	PR       string          `json:"pr"`
	By       string          `json:"by"`
	At       time.Time       `json:"at"`
	Commands []CommandResult `json:"commands"`
	// Running is the line being carried out when the record was written,
	// WrittenAt when. A record found with Running set long after is of a
	// run cut short: that line may or may not have taken effect, and it
	// is not run again.
	Running   int       `json:"running,omitempty"`
	WrittenAt time.Time `json:"writtenAt,omitzero"`
	// Answered says the answer and the reaction are on GitHub.
	Answered bool `json:"answered,omitempty"`
}

// commandStall is how long a command may run before another attempt at
// its comment takes its run for one cut short.
const commandStall = 5 * time.Minute

// errCommandsRunning reports that another attempt is carrying out a
// comment's commands; the delivery is tried again later.
var errCommandsRunning = errors.New("another attempt is running this comment's commands")

// CommandResult is one `/fleet` line and its outcome.
type CommandResult struct {
	Line    int                    `json:"line"`
	Raw     string                 `json:"raw"`
	Outcome rollout.CommandOutcome `json:"outcome"`
	Detail  string                 `json:"detail"`
	// Show is what a status, plan or help command shows.
	Show string `json:"show,omitempty"`
	// approved says the command approved its pull request.
	approved bool
}

// commandPR is the pull request a comment with commands was written on,
// or the campaign's dashboard issue (tenant and head empty).
type commandPR struct {
	repo   repoName
	number int
	tenant string // as its branch names it
	head   string
}

// approvalsKey is where the approvals given with `/fleet approve` on a pull
// request are kept; the approval rule reads them with its reviews.
func approvalsKey(campaign string, repo repoName, number int) string {
	return fmt.Sprintf("campaigns/%s/approvals/%s/%s/%d", campaign, repo.Owner, repo.Name, number)
}

// commandApproval is one `/fleet approve` of a pull request: who, of which
// head, when.
type commandApproval struct {
	User   string    `json:"user"`
	Commit string    `json:"commit"`
	At     time.Time `json:"at"`
}

// runCommands runs the commands of a comment on one of the campaign's pull
// requests or on its dashboard issue: it reads who the commenter is from
// the layout on the base branch (never the pull request's head) and
// GitHub's teams, lets rollout decide what each command may do, carries the
// taken ones out through Operate under the campaign's lease, reacts to the
// comment and answers in the bot's status comment on the pull request or
// issue. A comment elsewhere is not the bot's business. A late comment
// (late, rollout.LateComment's answer) has each line answered with late,
// none carried out.
func (b *Bot) runCommands(ctx context.Context, e *webhooks.Comment, late string) (bool, error) {
	api, err := b.cfg.GitHub.API(ctx, e.Owner, e.Repo)
	if err != nil {
		return false, err
	}
	var (
		name string
		on   commandPR
		ok   bool
	)
	if e.PullRequest {
		name, on, ok, err = commandOnPR(ctx, api, e)
	} else {
		name, on, ok, err = b.commandOnDashboard(ctx, api, e)
	}
	if err != nil || !ok {
		return false, err
	}
	rec, ok, err := b.loadRecord(ctx, name)
	if err != nil || !ok {
		return false, err
	}
	key := commandsKey(name, e.CommentID)
	claim := CommandRecord{Comment: e.CommentID, PR: fmt.Sprintf("%s/%s#%d", e.Owner, e.Repo, e.Number), By: e.User, At: b.now(), WrittenAt: b.now()}
	version, err := putJSON(ctx, b.cfg.Store, key, claim, 0, store.Fence{})
	if errors.Is(err, store.ErrConflict) {
		if version, err = getJSON(ctx, b.cfg.Store, key, &claim); err != nil {
			return false, err
		}
		switch {
		case claim.Answered:
			b.log.Debug("commands of this comment ran already", "campaign", name, "comment", e.CommentID)
			return false, nil
		case claim.Running != 0 && b.now().Sub(claim.WrittenAt) < commandStall:
			return false, fmt.Errorf("comment %d: %w", e.CommentID, errCommandsRunning)
		}
		b.log.Info("finishing the commands of a comment whose run was cut short", "campaign", name, "comment", e.CommentID, "done", len(claim.Commands), "running", claim.Running)
	} else if err != nil {
		return false, err
	}
	save := func() error {
		claim.WrittenAt = b.now()
		version, err = putJSON(ctx, b.cfg.Store, key, claim, version, store.Fence{})
		return err
	}
	roles, err := b.roles(ctx, api, rec)
	if err != nil {
		return true, err
	}
	actor, err := roles.actor(ctx, e.User)
	if err != nil {
		return true, err
	}
	approved := false
	for i, line := range e.Commands {
		if i < len(claim.Commands) {
			continue // carried out by an earlier attempt
		}
		var res CommandResult
		switch {
		case i >= rollout.MaxCommands:
			res = CommandResult{Line: line.Line, Raw: line.Raw, Outcome: rollout.CommandRefused, Detail: rollout.TooManyCommands}
		case late != "":
			res = CommandResult{Line: line.Line, Raw: line.Raw, Outcome: rollout.CommandRefused, Detail: late}
		case claim.Running == line.Line:
			res = CommandResult{Line: line.Line, Raw: line.Raw, Outcome: rollout.CommandUnknown,
				Detail: "fleetbot stopped while carrying it out, so whether it took effect is not known: see `/fleet status`, and run it again if it did not"}
		default:
			claim.Running = line.Line
			if err := save(); err != nil {
				return true, err
			}
			res = b.runCommand(ctx, name, rec, actor, on, line)
		}
		approved = approved || res.approved
		claim.Running, claim.Commands = 0, append(claim.Commands, res)
		if i < rollout.MaxCommands || i == len(e.Commands)-1 {
			if err := save(); err != nil {
				return true, err
			}
		}
		b.metrics.commands.WithLabelValues(metricName(line.Name), string(res.Outcome)).Inc()
		b.log.Info("command", "campaign", name, "by", e.User, "line", line.Raw, "outcome", res.Outcome, "detail", res.Detail)
	}
	refused := slices.ContainsFunc(claim.Commands, func(c CommandResult) bool {
		return c.Outcome == rollout.CommandRefused || c.Outcome == rollout.CommandUnknown
	})
	var errs []error
	// The answer first, then the reaction that says it is there.
	t := prTarget{api: api, repo: repoName{e.Owner, e.Repo}, number: e.Number}
	r := &run{b: b, name: name}
	earlier, err := b.earlierCommands(ctx, name, claim)
	if err != nil {
		b.log.Warn("the answer leaves out the earlier commands of this pull request", "campaign", name, "pr", claim.PR, "err", err)
	}
	errs = append(errs, r.upsertComment(ctx, t, commandsComment(name, claim, earlier)))
	reaction := reactionTaken
	if refused {
		reaction = reactionRefused
	}
	// POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions
	// https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue-comment
	if err := api.AddReaction(ctx, e.Owner, e.Repo, e.CommentID, reaction); err != nil {
		errs = append(errs, err)
	}
	if errors.Join(errs...) == nil {
		claim.Answered = true
		errs = append(errs, save())
	}
	if approved {
		// The approval status moves now rather than on the next pass.
		_, err := b.reconcileWhere(ctx, func(st rollout.State) bool { return st.Campaign == name })
		errs = append(errs, err)
	}
	return true, errors.Join(errs...)
}

// commandOnPR reads the pull request a comment was written on: the
// campaign its branch names, its tenant and head; ok is false for a pull
// request that is not the bot's: its branch is not of the bot's form, or
// is in another repository (a fork's branch may take any name; the bot's
// are in the repository itself).
func commandOnPR(ctx context.Context, api Client, e *webhooks.Comment) (string, commandPR, bool, error) {
	// GET /repos/{owner}/{repo}/pulls/{pull_number}
	// https://docs.github.com/rest/pulls/pulls#get-a-pull-request
	pr, err := api.PullRequest(ctx, e.Owner, e.Repo, e.Number)
	if err != nil {
		return "", commandPR{}, false, fmt.Errorf("read pull request #%d: %w", e.Number, err)
	}
	name, _, tenant, _, ok := wave.ParseAnyBranch(pr.HeadRef)
	ok = ok && strings.EqualFold(pr.HeadRepo, e.Owner+"/"+e.Repo)
	on := commandPR{repo: repoName{e.Owner, e.Repo}, number: e.Number, tenant: tenant, head: pr.HeadSHA}
	return name, on, ok, nil
}

// commandOnDashboard reads the issue a comment was written on and returns
// the campaign whose dashboard it is: the campaign its marker names, when
// the store keeps this issue as that campaign's dashboard or, when the store
// lost it, the issue is in the campaign's repository and the bot opened it.
// ok is false for any other issue.
func (b *Bot) commandOnDashboard(ctx context.Context, api issueClient, e *webhooks.Comment) (string, commandPR, bool, error) {
	repo := repoName{e.Owner, e.Repo}
	on := commandPR{repo: repo, number: e.Number}
	// GET /repos/{owner}/{repo}/issues/{issue_number}
	// https://docs.github.com/rest/issues/issues#get-an-issue
	is, err := api.Issue(ctx, e.Owner, e.Repo, e.Number)
	if err != nil {
		return "", on, false, fmt.Errorf("read issue #%d: %w", e.Number, err)
	}
	name, marked := markedCampaign(is.Body)
	if !marked || !isDashboard(is, name) {
		return "", on, false, nil
	}
	d, _, found, err := b.loadDashboard(ctx, name)
	if err != nil {
		return "", on, false, err
	}
	if found {
		return name, on, d.Repo == repo.String() && d.Number == e.Number, nil
	}
	rec, ok, err := b.loadRecord(ctx, name)
	return name, on, ok && rec.Repo == repo.String(), err
}

// metricName keeps the commands metric's label to the known commands.
func metricName(name string) string {
	if rollout.IsCommand(name) {
		return name
	}
	return "unknown"
}

// runCommand decides and carries out one `/fleet` line.
func (b *Bot) runCommand(ctx context.Context, name string, rec *record, actor rollout.Actor, on commandPR, line webhooks.Command) CommandResult {
	res := CommandResult{Line: line.Line, Raw: line.Raw}
	refuse := func(err error) CommandResult {
		res.Outcome, res.Detail = rollout.CommandRefused, err.Error()
		return res
	}
	if line.Unclosed != 0 {
		return refuse(rollout.UnclosedQuote(line.Name, line.Unclosed))
	}
	c, err := rollout.ParseCommand(line.Name, line.Args)
	if err != nil {
		return refuse(err)
	}
	c.Tenant = on.tenant
	st, ok, err := b.State(ctx, name)
	if err != nil {
		return refuse(fmt.Errorf("the campaign's state cannot be read now: %w", err))
	}
	if !ok {
		return refuse(fmt.Errorf("campaign %s has not started yet", name))
	}
	if err := rollout.Authorize(c, actor, st); err != nil {
		return refuse(err)
	}
	if c.ApprovesPR(actor) {
		if why := st.ApprovalRefused(on.tenant, on.number); why != "" {
			return refuse(errors.New(why))
		}
		if err := b.recordApproval(ctx, name, on, actor.Login); err != nil {
			return refuse(fmt.Errorf("the approval could not be recorded now: %w", err))
		}
		res.Outcome, res.approved = rollout.CommandTaken, true
		res.Detail = fmt.Sprintf("approved #%d at %s for %s", on.number, shortSHA(on.head), on.tenant)
		return res
	}
	if c.ReadOnly() {
		res.Outcome, res.Detail = rollout.CommandShown, "below"
		switch c.Name {
		case "help":
			res.Show = rollout.Help()
		case "status":
			next, held := heldBack(rec, st, b.now())
			res.Show = statusTable(st, next, held)
		case "plan":
			res.Show = planTable(rec.Plan)
		}
		return res
	}
	ev, err := c.Event(actor.Login, st)
	if err != nil {
		return refuse(err)
	}
	before := st
	after, err := b.Operate(ctx, name, ev)
	var ee *rollout.EventError
	switch {
	case errors.As(err, &ee) && errors.Is(err, rollout.ErrIgnored):
		res.Outcome, res.Detail = rollout.CommandTaken, "nothing to do: "+ee.Reason
	case errors.As(err, &ee):
		return refuse(errors.New(ee.Reason))
	case err != nil:
		res.Outcome, res.Detail = rollout.CommandTaken, fmt.Sprintf("carrying it out on GitHub failed, and the next pass tries again: %v", err)
	default:
		res.Outcome, res.Detail = rollout.CommandTaken, rollout.TakenDetail(before, after, ev)
	}
	return res
}

// leftOut stands for what a command shows when the comment has no room
// left for it.
const leftOut = "left out to fit GitHub's limit on a comment's length; ask for it in a comment of its own.\n"

// commandsComment is the bot's answer to one comment's commands, in its
// status comment on the pull request.
func commandsComment(campaign string, rec CommandRecord, earlier []CommandRecord) string {
	var b strings.Builder
	fmt.Fprintln(&b, statusMarker(campaign))
	fmt.Fprintf(&b, "### Campaign `%s`: commands of @%s\n\n", campaign, rec.By)
	fmt.Fprintln(&b, "| command | result |")
	fmt.Fprintln(&b, "|---|---|")
	for i, c := range rec.Commands {
		if i == rollout.MaxCommands {
			fmt.Fprintf(&b, "| %d more lines | refused: %s |\n", len(rec.Commands)-i, cell(rollout.TooManyCommands))
			break
		}
		fmt.Fprintf(&b, "| `%s` | %s: %s |\n", cell(strings.TrimSpace(c.Raw)), c.Outcome, cell(c.Detail))
	}
	if len(earlier) > 0 {
		start := b.Len()
		fmt.Fprintf(&b, "\n<details><summary>Earlier commands here (%d)</summary>\n\n", len(earlier))
		fmt.Fprintln(&b, "| at | by | command | result |")
		fmt.Fprintln(&b, "|---|---|---|---|")
	rows:
		for _, r := range earlier {
			for i, c := range r.Commands {
				if i == rollout.MaxCommands || b.Len()-start > maxEarlierText {
					break rows // the rest of the room is this comment's answers'
				}
				result := string(c.Outcome) // what a show showed was then, and is not kept
				if c.Outcome != rollout.CommandShown && c.Detail != "" {
					result += ": " + cell(clip(c.Detail, 160))
				}
				fmt.Fprintf(&b, "| %s | @%s | `%s` | %s |\n", stamp(r.At), r.By, cell(strings.TrimSpace(c.Raw)), result)
			}
		}
		fmt.Fprintln(&b, "\n</details>")
	}
	// Each show left out still says so: room is kept for those after it.
	shortShow := func(c CommandResult) string { return fmt.Sprintf("\n`%s`: %s", strings.TrimSpace(c.Raw), leftOut) }
	for i, c := range rec.Commands {
		if c.Show == "" {
			continue
		}
		after := 0
		for _, next := range rec.Commands[i+1:] {
			if next.Show != "" {
				after += len(shortShow(next))
			}
		}
		show := fmt.Sprintf("\n`%s`:\n\n%s", strings.TrimSpace(c.Raw), c.Show)
		if b.Len()+len(show)+after > maxIssueBody {
			show = shortShow(c)
		}
		b.WriteString(show)
	}
	return b.String()
}

// maxEarlier is how many earlier comments' commands an answer lists, in
// about maxEarlierText characters at most: the rest of the comment's room
// is for the answers of the comment itself.
const (
	maxEarlier     = 10
	maxEarlierText = 8 << 10
)

// earlierCommands returns the commands of the comments before rec's on
// the same pull request or dashboard issue, newest first, at most
// maxEarlier of them: one answer comment per campaign and pull request is
// edited with each new comment's answer, and keeps these.
func (b *Bot) earlierCommands(ctx context.Context, name string, rec CommandRecord) ([]CommandRecord, error) {
	all, err := b.Commands(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []CommandRecord
	for _, r := range slices.Backward(all) {
		if len(out) == maxEarlier {
			break
		}
		if r.PR == rec.PR && r.Comment != rec.Comment && len(r.Commands) > 0 && !r.At.After(rec.At) {
			out = append(out, r)
		}
	}
	return out, nil
}

// maxShown bounds what one /fleet status or /fleet plan shows: one
// comment answers all of a comment's commands, in at most GitHub's
// maxIssueBody characters.
const maxShown = 24 << 10

// maxNamed is how many clusters or pull requests a cell of a table too
// large to name every one names (failed clusters, pull requests not
// merged).
const maxNamed = 5

// statusTable shows a campaign's waves for /fleet status, after what it
// waits for (nextWindow: when its schedule next lets a wave open, zero
// when now or unknown; held: why the schedule holds it back, heldBack):
// each cluster and pull request by name, or, when that would pass
// maxShown, counted by phase and status with the failed clusters and the
// pull requests not merged named.
func statusTable(st rollout.State, nextWindow time.Time, held string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Campaign **%s** is **%s**", st.Campaign, st.Phase)
	halted := st.Phase == rollout.CampaignHalted
	if st.HaltReason != "" && !halted {
		fmt.Fprintf(&b, ": %s", st.HaltReason)
	}
	b.WriteString(".")
	// A halted campaign's wait names the halt's reason and whether a
	// resume is what is left, as the dashboard says it.
	if w := st.Waiting(nextWindow); halted || (w.Kind != rollout.WaitNothing && w.Kind != rollout.WaitPerson) {
		fmt.Fprintf(&b, " Waiting for %s.", strings.TrimSuffix(w.Text, "."))
	}
	if held != "" {
		fmt.Fprintf(&b, " The schedule holds it back: %s.", strings.TrimSuffix(held, "."))
	}
	b.WriteString("\n\n| wave | kind | phase | pull requests | clusters |\n|---|---|---|---|---|\n")
	head := b.String()
	rows := func(counted bool) []string {
		out := make([]string, 0, len(st.Waves))
		for _, w := range st.Waves {
			kind := "change"
			switch w.Kind {
			case rollout.WaveCleanup:
				kind = "clean-up"
			case rollout.WaveRevert:
				kind = fmt.Sprintf("revert of %d", w.Reverts)
			}
			var prs, clusters []string
			prStatus, clusterPhase := map[string]int{}, map[string]int{}
			for _, pr := range w.PRs {
				if pr.Number == 0 {
					continue
				}
				prStatus[string(pr.Status)]++
				if !counted || (pr.Status != rollout.PRStatusMerged && len(prs) < maxNamed) {
					prs = append(prs, fmt.Sprintf("#%d %s (%s)", pr.Number, pr.Tenant, pr.Status))
				}
			}
			for _, c := range w.Clusters {
				phase := st.ClusterPhaseShown(w, c)
				clusterPhase[string(phase)]++
				if !counted || (phase == rollout.ClusterFailed && len(clusters) < maxNamed) {
					clusters = append(clusters, fmt.Sprintf("`%s` %s", c.Name, phase))
				}
			}
			prCell, clusterCell := strings.Join(prs, ", "), strings.Join(clusters, ", ")
			if counted {
				prCell = counts(prStatus, prs)
				clusterCell = counts(clusterPhase, clusters)
			}
			phase := string(w.Phase)
			if st.NotReached(w) {
				phase = notReached
			}
			out = append(out, fmt.Sprintf("| %d | %s | %s | %s | %s |\n", w.Number, kind, phase, cell(prCell), cell(clusterCell)))
		}
		return out
	}
	return fitTable(head, rows, "waves", "each wave's pull requests are counted by status, those not merged named, and its clusters by phase, the failed ones named; the status page and `fleetbot campaign status` list every one")
}

// counts says how many of each kind there are, then the named ones: "3:
// 2 Succeeded, 1 Failed (`a` Failed)".
func counts(by map[string]int, named []string) string {
	total := 0
	parts := make([]string, 0, len(by))
	for _, k := range slices.Sorted(maps.Keys(by)) {
		total += by[k]
		parts = append(parts, fmt.Sprintf("%d %s", by[k], k))
	}
	if total == 0 {
		return ""
	}
	out := fmt.Sprintf("%d: %s", total, strings.Join(parts, ", "))
	if len(named) > 0 {
		out += " (" + strings.Join(named, ", ") + ")"
	}
	return out
}

// fitTable is head and the rows rows(false) gives when they fit in
// maxShown; else those of rows(true), which stand for many by counting
// them (why says how), as many as fit, with a note saying what was cut.
func fitTable(head string, rows func(counted bool) []string, what, why string) string {
	all := rows(false)
	if len(head)+lenAll(all) <= maxShown {
		return head + strings.Join(all, "")
	}
	all = rows(true)
	note := fmt.Sprintf("\nToo many to name here: %s.\n", why)
	n, size := 0, len(head)+len(note)+len(cutNote(what, len(all), len(all)))
	for n < len(all) && size+len(all[n]) <= maxShown {
		size += len(all[n])
		n++
	}
	if n < len(all) {
		note += cutNote(what, n, len(all))
	}
	return head + strings.Join(all[:n], "") + note
}

// cutNote says that only the first n of total rows are shown.
func cutNote(what string, n, total int) string {
	return fmt.Sprintf("Only the first %d of %d %s fit in a comment.\n", n, total, what)
}

// lenAll is the length of rows joined.
func lenAll(rows []string) int {
	n := 0
	for _, r := range rows {
		n += len(r)
	}
	return n
}

// planTable shows a campaign's plan for /fleet plan: each wave's clusters
// by name, or, when that would pass maxShown, counted with the first few
// named.
func planTable(p *rollout.Plan) string {
	head := "| wave | environment | clusters | pull requests |\n|---|---|---|---|\n"
	rows := func(counted bool) []string {
		out := make([]string, 0, len(p.Waves))
		for _, w := range p.Waves {
			env := w.Env
			if w.Cleanup {
				env = "clean-up"
			}
			if w.Step != "" {
				env += " · " + w.StepName()
			}
			var names []string
			for _, c := range w.Clusters {
				if counted && len(names) == maxNamed {
					break
				}
				change := c.From + " → " + c.To
				if w.Step != "" {
					change = w.ClusterChange(c)
				}
				names = append(names, fmt.Sprintf("`%s` %s", c.Name, change))
			}
			clusters := strings.Join(names, ", ")
			if counted && len(w.Clusters) > 0 {
				clusters = fmt.Sprintf("%d: %s", len(w.Clusters), clusters)
				if len(w.Clusters) > len(names) {
					clusters += ", …"
				}
			}
			out = append(out, fmt.Sprintf("| %d | %s | %s | %d |\n", w.Index, cell(env), cell(clusters), len(w.PullRequests)))
		}
		return out
	}
	out := fitTable(head, rows, "waves", fmt.Sprintf("each wave's clusters are counted, the first %d named; `fleetbot plan` lists every one", maxNamed))
	if left := p.LeftOut(leftOutNamed); left != "" {
		out += fmt.Sprintf("\nLeft out by the plan: %s.\n", left)
	}
	return out
}

// recordApproval adds login's approval of pull request on, at its head, to
// those the store keeps for it.
func (b *Bot) recordApproval(ctx context.Context, name string, on commandPR, login string) error {
	key := approvalsKey(name, on.repo, on.number)
	b.approvalsMu.Lock()
	defer b.approvalsMu.Unlock()
	// Another replica's approval of the same pull request may still race
	// this one: each conflict means the other was written, so try again
	// after a pause of up to 10, 20, ... 320 ms, chosen at random.
	for attempt := range approvalAttempts {
		if attempt > 0 {
			pause := time.Duration(rand.Int64N(int64(10*time.Millisecond) << min(attempt-1, 5)))
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-time.After(pause):
			}
		}
		var list []commandApproval
		version, err := getJSON(ctx, b.cfg.Store, key, &list)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		list = append(list, commandApproval{User: login, Commit: on.head, At: b.now()})
		_, err = putJSON(ctx, b.cfg.Store, key, list, version, store.Fence{})
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("%s kept changing: %d tries", key, approvalAttempts)
}

// approvalAttempts bounds the tries to record an approval that other
// replicas' approvals keep overtaking.
const approvalAttempts = 20

// commandApprovals returns the approvals given with `/fleet approve` on a
// pull request.
func (b *Bot) commandApprovals(ctx context.Context, name string, repo repoName, number int) ([]commandApproval, error) {
	var list []commandApproval
	if _, err := getJSON(ctx, b.cfg.Store, approvalsKey(name, repo, number), &list); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return list, nil
}

// Commands lists what became of the `/fleet` commands run on a campaign, in
// the order they were run.
func (b *Bot) Commands(ctx context.Context, name string) ([]CommandRecord, error) {
	entries, err := b.cfg.Store.List(ctx, "campaigns/"+name+"/commands/")
	if err != nil {
		return nil, fmt.Errorf("list the commands of %s: %w", name, err)
	}
	out := make([]CommandRecord, 0, len(entries))
	for _, e := range entries {
		var r CommandRecord
		if err := json.Unmarshal(e.Value, &r); err != nil {
			return nil, fmt.Errorf("decode %s: %w", e.Key, err)
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b CommandRecord) int { return a.At.Compare(b.At) })
	return out, nil
}
