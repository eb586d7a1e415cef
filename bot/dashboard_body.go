package bot

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
)

// maxIssueBody is the longest body GitHub takes for an issue, in
// characters; counting bytes stays within it.
const maxIssueBody = 65536

// dashboardView is what the dashboard issue shows of a campaign at one
// moment.
type dashboardView struct {
	// Repo is the campaign repository ("owner/name"), which holds the
	// dashboard issue: its pull requests are linked as #N, those of other
	// repositories as owner/name#N.
	Repo string
	Rec  *record
	St   rollout.State
	// Wait is what the campaign waits for next (rollout.State.Waiting).
	Wait rollout.Wait
	// Held says why the schedule holds the next wave back, when it does.
	Held string
	// Troubles are the actions that keep failing (rollout.Troubles.Shown).
	Troubles []rollout.Trouble
}

// renderDashboard writes the dashboard issue's body: the campaign's phase
// and change, what it waits for next and the commands that apply (or, once
// it ended, its summary), a table of its waves with their pull requests,
// and one of their clusters with their gates' verdicts. Times are UTC. When
// the body would be longer than GitHub takes, the clusters of waves not
// under way (done, skipped or not opened yet) are left out first, failed
// ones kept, then the last rows, each time with a note saying so.
func renderDashboard(v dashboardView) (string, error) {
	waves, err := v.waves(false)
	if err != nil {
		return "", err
	}
	head := v.head() + v.waiting() + waves
	rows := v.clusterRows(false)
	foot := v.foot()
	if len(head)+len(clusterTable(nil, rowsCutNote(len(rows), len(rows))))+len(foot) > maxIssueBody {
		// Too many pull requests to list, beside even one cluster.
		if waves, err = v.waves(true); err != nil {
			return "", err
		}
		head = v.head() + v.waiting() + waves
	}
	body := head + clusterTable(rows, "") + foot
	if len(body) <= maxIssueBody {
		return body, nil
	}
	open := v.clusterRows(true)
	note := fmt.Sprintf("The clusters of waves not under way are left out to fit GitHub's limit on an issue's length (%d of %d rows shown); `/fleet status` shows every wave.\n", len(open), len(rows))
	if body = head + clusterTable(open, note) + foot; len(body) <= maxIssueBody {
		return body, nil
	}
	cut := func(n int) string { return rowsCutNote(n, len(rows)) }
	// As many rows as fit beside a note no shorter than the one written.
	size, n := len(head)+len(clusterTable(nil, cut(len(open))))+len(foot), 0
	for n < len(open) && size+len(open[n])+1 <= maxIssueBody {
		size += len(open[n]) + 1
		n++
	}
	if body = head + clusterTable(open[:n], cut(n)) + foot; len(body) > maxIssueBody {
		return "", fmt.Errorf("dashboard of campaign %s: %d characters without a cluster, over GitHub's limit of %d", v.St.Campaign, len(body), maxIssueBody)
	}
	return body, nil
}

// rowsCutNote says that only the first n of total rows of the clusters
// table fit.
func rowsCutNote(n, total int) string {
	return fmt.Sprintf("Only the first %d of %d rows fit GitHub's limit on an issue's length; `/fleet status` shows every wave.\n", n, total)
}

// head is the marker, the campaign's phase and its change.
func (v dashboardView) head() string {
	var b strings.Builder
	st := v.St
	fmt.Fprintln(&b, dashboardMarker(st.Campaign))
	switch st.Phase {
	case rollout.CampaignSucceeded:
		fmt.Fprintf(&b, "## Campaign `%s` succeeded\n\n", st.Campaign)
	case rollout.CampaignAborted:
		fmt.Fprintf(&b, "## Campaign `%s` was aborted\n\n", st.Campaign)
	case rollout.CampaignRolledBack:
		fmt.Fprintf(&b, "## Campaign `%s` rolled back\n\n", st.Campaign)
	default:
		fmt.Fprintf(&b, "## Campaign `%s` is %s\n\n", st.Campaign, st.Phase)
	}
	budget := fmt.Sprintf("%d cluster", st.Policy.MaxFailures)
	if st.Policy.MaxFailures != 1 {
		budget += "s"
	}
	fmt.Fprintf(&b, "**Change:** %s · **Gates:** %s · **Failure budget:** %s", v.Rec.Plan.Change.Describe(), strings.Join(st.Policy.Gates, ", "), budget)
	if st.Policy.Bake > 0 {
		fmt.Fprintf(&b, " · **Bake:** %s", rollout.Duration{Duration: st.Policy.Bake})
	}
	fmt.Fprintf(&b, "\n**Started** %s from `%s` at `%s`.\n", stamp(v.Rec.StartedAt), v.Rec.File, shortSHA(v.Rec.SHA))
	if left := v.Rec.Plan.LeftOut(leftOutNamed); left != "" {
		fmt.Fprintf(&b, "**Left out by the plan:** %s.\n", left)
	}
	if st.RollingBack() && !st.Phase.Final() {
		if h, ok := st.Entered(rollout.CampaignRollingBack); ok && h.By != "" {
			fmt.Fprintf(&b, "\n> **Rolling back**, asked for by %s on %s.\n", mention(h.By), stamp(h.At))
		}
	}
	if st.Phase == rollout.CampaignHalted && st.HaltReason != "" {
		fmt.Fprintf(&b, "\n> **Halted:** %s\n", st.HaltReason)
	}
	return b.String()
}

// notReached is how a person reads the phase of a wave, or a cluster of
// it, that an ended campaign never opened (rollout.State.NotReached).
const notReached = "Not reached"

// leftOutNamed is how many clusters held by other campaigns the dashboard
// and /fleet plan name; the others are counted.
const leftOutNamed = 20

// waiting says what the campaign waits for and the commands that apply;
// once it ended, its summary.
func (v dashboardView) waiting() string {
	var b strings.Builder
	if v.St.Phase.Final() {
		fmt.Fprintf(&b, "\n### Summary\n\n%s\n", v.summary())
		return b.String()
	}
	w := v.Wait
	fmt.Fprintf(&b, "\n### Waiting for\n\n%s", upperFirst(v.linkPRs(w.Text)))
	if !w.Since.IsZero() {
		fmt.Fprintf(&b, ", since %s", stamp(w.Since))
	}
	b.WriteString(".\n")
	if v.Held != "" {
		fmt.Fprintf(&b, "The schedule holds it back: %s.\n", strings.TrimSuffix(v.Held, "."))
	}
	for _, t := range v.Troubles {
		fmt.Fprintf(&b, "\n> **fleetbot cannot %s:** every attempt since %s failed, the last with `%s`. It tries again on every pass; what the error says may need a person (a branch, a permission, GitHub's limits, files changed by hand).\n",
			t.What, stamp(t.Since), troubleError(t.Err))
	}
	if len(w.Commands) > 0 {
		cmds := make([]string, len(w.Commands))
		for i, c := range w.Commands {
			cmds[i] = "`" + c + "`"
		}
		fmt.Fprintf(&b, "\n**Commands that apply now:** %s\n", strings.Join(cmds, " · "))
	}
	return b.String()
}

// maxTroubleError bounds the error a dashboard quotes.
const maxTroubleError = 400

// troubleError makes an error fit one code span of a Markdown line.
func troubleError(s string) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "`", "'")), " ")
	if r := []rune(s); len(r) > maxTroubleError {
		s = string(r[:maxTroubleError]) + "…"
	}
	return s
}

// summary says how the campaign ended: when, after how long, by whom when a
// person ended it, and what became of its clusters and pull requests.
func (v dashboardView) summary() string {
	st := v.St
	var last rollout.Evidence
	if len(st.History) > 0 {
		last = st.History[len(st.History)-1]
	}
	ended := map[rollout.CampaignPhase]string{rollout.CampaignSucceeded: "Succeeded", rollout.CampaignAborted: "Aborted", rollout.CampaignRolledBack: "Rolled back"}[st.Phase]
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s", ended, stamp(last.At))
	if !v.Rec.StartedAt.IsZero() && last.At.After(v.Rec.StartedAt) {
		fmt.Fprintf(&b, ", %s after it started", span(last.At.Sub(v.Rec.StartedAt)))
	}
	if last.By != "" && last.By != "fleetbot" {
		fmt.Fprintf(&b, ", by %s", mention(last.By))
	}
	if last.Detail != "" {
		fmt.Fprintf(&b, ": %s", strings.TrimSuffix(last.Detail, "."))
	}
	if st.Phase == rollout.CampaignRolledBack {
		// The end is the last revert wave's; the rollback was asked for.
		if h, ok := st.Entered(rollout.CampaignRollingBack); ok && h.By != "" && h.By != "fleetbot" {
			fmt.Fprintf(&b, "; %s asked for the rollback on %s", mention(h.By), stamp(h.At))
		}
	}
	b.WriteString(".\n\n")
	fmt.Fprintf(&b, "Clusters: %s. Pull requests: %s.", tallyClusters(st), tallyPRs(st))
	return b.String()
}

// mention names who did something: @login for a GitHub login, which
// GitHub links, else the name as code, such as `cli:pat` for an operation
// of `fleetbot campaign` or the operations API's `by`, which must not
// mention a GitHub user whose login it starts with.
func mention(by string) string {
	if gitops.IsLogin(by) || (strings.HasSuffix(by, "[bot]") && gitops.IsLogin(strings.TrimSuffix(by, "[bot]"))) {
		return "@" + by
	}
	return "`" + strings.ReplaceAll(by, "`", "'") + "`"
}

// tallyClusters counts the campaign's clusters by the phase each ended in:
// its last change or clean-up wave's, or reverted when a revert wave took
// it back.
func tallyClusters(st rollout.State) string {
	last := map[string]rollout.ClusterState{}
	var names []string
	for _, w := range st.Waves {
		if w.Kind == rollout.WaveRevert {
			continue
		}
		for _, c := range w.Clusters {
			if _, seen := last[c.Name]; !seen {
				names = append(names, c.Name)
			}
			last[c.Name] = c
		}
	}
	// A cluster a revert wave took back ended reverted, whatever its
	// change wave said.
	reverted := map[string]bool{}
	for _, w := range st.Waves {
		if w.Kind == rollout.WaveRevert {
			for _, c := range w.Clusters {
				reverted[c.Name] = reverted[c.Name] || c.Phase == rollout.ClusterSucceeded
			}
		}
	}
	count := map[rollout.ClusterPhase]int{}
	stoppedMerged, stoppedUnmerged, undone := 0, 0, 0
	for _, n := range names {
		switch c := last[n]; {
		case reverted[n]:
			undone++
		case c.Phase == rollout.ClusterStopped && c.Merged():
			stoppedMerged++
		case c.Phase == rollout.ClusterStopped:
			stoppedUnmerged++
		default:
			count[c.Phase]++
		}
	}
	var parts []string
	counted := 0
	add := func(n int, what string) {
		if n > 0 {
			parts, counted = append(parts, fmt.Sprintf("%d %s", n, what)), counted+n
		}
	}
	add(count[rollout.ClusterSucceeded], "succeeded")
	add(count[rollout.ClusterSkipped], "skipped")
	add(count[rollout.ClusterFailed], "failed")
	add(count[rollout.ClusterTimedOut], "timed out")
	// A campaign that ended (aborted) with merges not verified yet: those
	// clusters carry the change, unverified.
	add(count[rollout.ClusterApplied]+count[rollout.ClusterVerifying]+stoppedMerged, "merged, not verified")
	add(undone, "reverted")
	add(stoppedUnmerged, "stopped before the merge")
	add(len(names)-counted, "not reached")
	out := fmt.Sprintf("%s of %d", strings.Join(parts, ", "), len(names))
	if reverted := revertedWaves(st); reverted != "" {
		out += "; " + reverted + " reverted"
	}
	return out
}

// revertedWaves names the waves a rollback reverted, "" when none.
func revertedWaves(st rollout.State) string {
	var out []string
	for _, w := range st.Waves {
		if w.Kind == rollout.WaveRevert && w.Phase == rollout.WaveSucceeded {
			out = append(out, strconv.Itoa(w.Reverts))
		}
	}
	if len(out) == 0 {
		return ""
	}
	if len(out) == 1 {
		return "wave " + out[0]
	}
	return "waves " + strings.Join(out, ", ")
}

// tallyPRs counts the campaign's pull requests by what became of them.
func tallyPRs(st rollout.State) string {
	count := map[rollout.PRStatus]int{}
	total, retried := 0, 0
	for _, w := range st.Waves {
		for _, pr := range w.PRs {
			if pr.Number > 0 {
				count[pr.Status]++
				total++
				// Each attempt after the first followed one closed
				// without merge; the state keeps the latest.
				retried += max(pr.Attempt-1, 0)
			}
		}
	}
	if total == 0 {
		return "none opened"
	}
	var parts []string
	for _, s := range []rollout.PRStatus{rollout.PRStatusMerged, rollout.PRStatusClosed, rollout.PRStatusOpen} {
		if count[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[s], strings.ToLower(string(s))))
		}
	}
	if retried > 0 {
		parts = append(parts, fmt.Sprintf("%d more closed without merge and opened again", retried))
	}
	return strings.Join(parts, ", ")
}

// waves is the table of waves: what each one changes where, its state, its
// pull requests and when it opened and finished.
func (v dashboardView) waves(counted bool) (string, error) {
	var b strings.Builder
	b.WriteString("\n### Waves\n\n| Wave | Environment | State | Pull requests | Opened | Finished |\n|---|---|---|---|---|---|\n")
	for _, w := range v.St.Waves {
		env, err := v.environment(w)
		if err != nil {
			return "", err
		}
		var prs []string
		byStatus := map[string]int{}
		for _, pr := range w.PRs {
			status := strings.ToLower(string(pr.Status))
			byStatus[status]++
			if counted && (pr.Status == rollout.PRStatusMerged || len(prs) == maxNamed) {
				continue
			}
			ref, err := v.prRef(w.Number, pr)
			if err != nil {
				return "", err
			}
			prs = append(prs, fmt.Sprintf("%s %s: %s", ref, pr.Tenant, status))
		}
		list := strings.Join(prs, "<br>")
		if counted {
			list = counts(byStatus, prs)
		}
		state := waveState(w)
		if v.St.NotReached(w) {
			state = notReached // Pending for ever: the campaign ended first
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s |\n", w.Number, cell(env), cell(state), cell(list), stampOr(w.OpenedAt), stampOr(w.FinishedAt))
	}
	if counted {
		fmt.Fprintf(&b, "\nToo many pull requests to list each here: each wave's are counted by status, the first %d not merged named; the status page lists every one.\n", maxNamed)
	}
	return b.String(), nil
}

// environment says where a wave goes: its plan wave's environment, with
// canary and approval flags; "clean-up", or the wave a revert reverts.
func (v dashboardView) environment(w rollout.WaveState) (string, error) {
	pw, _, err := v.Rec.planWave(v.St, w.Number)
	if err != nil {
		return "", err
	}
	env := pw.Env
	if pw.Cleanup {
		env = "clean-up"
	}
	var flags []string
	if pw.Canary {
		flags = append(flags, "canary")
	}
	if v.St.Policy.Approvals[w.Number] {
		flags = append(flags, "approval")
	}
	if pw.Step != "" {
		flags = append(flags, "blue-green "+pw.StepName())
	}
	if len(flags) > 0 {
		env += " (" + strings.Join(flags, ", ") + ")"
	}
	if w.Kind == rollout.WaveRevert {
		env = fmt.Sprintf("revert of wave %d, %s", w.Reverts, env)
	}
	return env, nil
}

// waveState is a wave's phase with what a person wants to know of it.
func waveState(w rollout.WaveState) string {
	s := string(w.Phase)
	switch {
	case w.Phase == rollout.WaveSkipped && w.SkipReason != "":
		s += ": " + w.SkipReason
	case w.Phase == rollout.WaveBaking && !w.BakeUntil.IsZero():
		s += " until " + stamp(w.BakeUntil)
	case w.Phase == rollout.WavePending && w.ApprovalRequested && w.ApprovedBy == "":
		s += ", waiting for an approval"
	case w.Phase == rollout.WaveSucceeded && w.AllSkipped():
		s += ": every cluster skipped"
	}
	if w.ApprovedBy != "" {
		s += fmt.Sprintf(", approved by %s", mention(w.ApprovedBy))
	}
	return s
}

// prRef is how the dashboard names a pull request of wave n: #N in the
// campaign repository, owner/name#N elsewhere (GitHub links both), the
// tenant alone before it opened.
func (v dashboardView) prRef(n int, pr rollout.PRState) (string, error) {
	if pr.Number == 0 {
		return "-", nil
	}
	planned, _, _, err := v.Rec.pullRequest(v.St, n, pr.Tenant)
	if err != nil {
		return "", err
	}
	if planned.Repo == v.Repo {
		return fmt.Sprintf("#%d", pr.Number), nil
	}
	return fmt.Sprintf("%s#%d", planned.Repo, pr.Number), nil
}

// prMention matches a pull request as rollout names one in a text:
// "#12 (tenant-a)".
var prMention = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`#(\d+) \(([^)]+)\)`) })

// linkPRs names the pull requests of another repository in text as GitHub
// links them there (owner/name#N).
func (v dashboardView) linkPRs(text string) string {
	return prMention().ReplaceAllStringFunc(text, func(m string) string {
		sub := prMention().FindStringSubmatch(m)
		number, _ := strconv.Atoi(sub[1])
		for _, w := range v.St.Waves {
			for _, pr := range w.PRs {
				if pr.Number == number && pr.Tenant == sub[2] {
					if ref, err := v.prRef(w.Number, pr); err == nil {
						return ref + " (" + sub[2] + ")"
					}
				}
			}
		}
		return m
	})
}

// clusterRows are the rows of the clusters table, in rollout order; with
// underWay, only those of waves under way (opened, not done), and failed
// clusters.
func (v dashboardView) clusterRows(underWay bool) []string {
	var rows []string
	for _, w := range v.St.Waves {
		quiet := w.Phase == rollout.WaveSucceeded || w.Phase == rollout.WaveSkipped || w.Phase == rollout.WavePending
		pw, revert, err := v.Rec.planWave(v.St, w.Number)
		for _, c := range w.Clusters {
			failed := c.Phase == rollout.ClusterFailed || c.Phase == rollout.ClusterTimedOut
			if underWay && quiet && !failed {
				continue
			}
			step := "-"
			if err == nil {
				step = clusterStep(pw, revert, c.Name)
			}
			state := clusterState(c)
			if v.St.NotReached(w) {
				state = notReached
			}
			rows = append(rows, fmt.Sprintf("| %d | `%s` | %s | %s | %s | %s | %s |", w.Number, c.Name, cell(c.Tenant), cell(step),
				cell(state), cell(v.gates(w.Number, c)), stampOr(lastChange(c))))
		}
	}
	return rows
}

// clusterTable is the table of clusters with rows, after note.
func clusterTable(rows []string, note string) string {
	var b strings.Builder
	b.WriteString("\n### Clusters\n\n")
	b.WriteString(note)
	if note != "" {
		b.WriteString("\n")
	}
	b.WriteString("| Wave | Cluster | Tenant | Step | State | Gates | Updated |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		b.WriteString(r)
		b.WriteString("\n")
	}
	return b.String()
}

// clusterStep is what a wave does to a cluster: from -> to, the other way
// for a revert; nothing for a clean-up.
func clusterStep(pw *rollout.Wave, revert bool, name string) string {
	if pw.Cleanup {
		return "clean-up"
	}
	i := slices.IndexFunc(pw.Clusters, func(c rollout.WaveCluster) bool { return c.Name == name })
	if i < 0 {
		return "-"
	}
	if pw.Step != "" && revert {
		return "undo: " + pw.ClusterChange(pw.Clusters[i])
	}
	if pw.Step != "" {
		return pw.ClusterChange(pw.Clusters[i])
	}
	from, to := orNone(pw.Clusters[i].From), orNone(pw.Clusters[i].To)
	if revert {
		from, to = to, from
	}
	return from + " → " + to
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// clusterState is a cluster's phase, with the gate that failed it, why it
// was skipped (and that it was after the merge: its files carry the
// change), or whether it had merged when its wave stopped.
func clusterState(c rollout.ClusterState) string {
	switch {
	case c.FailedGate != "":
		return fmt.Sprintf("%s (%s)", c.Phase, c.FailedGate)
	case c.Phase == rollout.ClusterSkipped && c.SkipReason != "" && c.Merged():
		return fmt.Sprintf("%s after the merge: %s", c.Phase, c.SkipReason)
	case c.Phase == rollout.ClusterSkipped && c.SkipReason != "":
		return fmt.Sprintf("%s: %s", c.Phase, c.SkipReason)
	case c.Phase == rollout.ClusterStopped && c.Merged():
		return fmt.Sprintf("%s: merged, not verified", c.Phase)
	case c.Phase == rollout.ClusterStopped:
		return fmt.Sprintf("%s: not merged", c.Phase)
	}
	return string(c.Phase)
}

// gateMark shows a gate's verdict.
var gateMark = map[rollout.Outcome]string{rollout.GatePassed: "✅", rollout.GateFailed: "❌", rollout.GateWaiting: "⏳"}

// gates shows the verdicts of the gates of wave n on a cluster, with what a
// gate that did not pass saw; "-" before any gate reported.
func (v dashboardView) gates(n int, c rollout.ClusterState) string {
	var out []string
	settled := c.Phase == rollout.ClusterSkipped || c.Phase == rollout.ClusterStopped
	for _, g := range v.St.WaveGates(n) {
		rec, ok := c.Gates[g]
		if !ok || (settled && rec.Outcome == rollout.GateWaiting) {
			continue // a skipped or stopped cluster waits for no gate
		}
		s := gateMark[rec.Outcome] + " " + g
		if rec.Outcome != rollout.GatePassed && rec.Detail != "" {
			s += ": " + clip(rollout.GateSentence(rec.Detail), 160)
		}
		out = append(out, s)
	}
	if len(out) == 0 && c.FailedDetail != "" {
		out = append(out, clip(c.FailedDetail, 160))
	}
	return strings.Join(out, "<br>")
}

// lastChange is when a cluster last moved: its latest evidence.
func lastChange(c rollout.ClusterState) time.Time {
	if len(c.Evidence) == 0 {
		return time.Time{}
	}
	return c.Evidence[len(c.Evidence)-1].At
}

// foot says what the issue is and how to use it: once the campaign ended,
// that no command changes it but a rollback, when one can still be asked
// for, and that the commands that only show still answer.
func (v dashboardView) foot() string {
	if v.St.Phase.Final() {
		s := "\n---\n<sub>fleetbot closed this issue when the campaign ended."
		if v.St.RollbackOffered() {
			s += " `/fleet rollback` in a comment here still rolls back what it merged; no other command changes it any more."
		} else {
			s += " No command changes it any more."
		}
		s += " `/fleet status`, `/fleet plan` and `/fleet help` still answer."
		return s + "</sub>\n"
	}
	return "\n---\n<sub>fleetbot edits this issue as the campaign moves and closes it when the campaign ends. " +
		"Comment `/fleet` commands here, one per line (`/fleet help` lists them); " +
		"`/fleet approve` without a wave approves a pull request for its tenant, written on that pull request.</sub>\n"
}

// stamp is a time as the dashboard shows it.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// stampOr is stamp, or "-" for the zero time.
func stampOr(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return stamp(t)
}

// span is a duration to the minute: "40m", "2h", "2h5m"; under a minute,
// "<1m".
func span(d time.Duration) string {
	d = d.Round(time.Minute)
	switch {
	case d < time.Minute:
		return "<1m"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
}

// upperFirst capitalizes the first letter of s.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
