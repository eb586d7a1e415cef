package bot

import (
	"fmt"
	"strings"

	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/rollout"
)

// statusMarker is the hidden line that marks the bot's status comment of a
// campaign on a pull request, so the bot edits it instead of adding another.
func statusMarker(campaign string) string {
	return "<!-- fleetbot:status campaign=" + campaign + " -->"
}

func hasMarker(body, marker string) bool {
	first, _, _ := strings.Cut(body, "\n")
	return strings.TrimSpace(first) == marker
}

// commentNames is how many clusters a report or an approval request names;
// a wave of thousands named each would pass GitHub's limit on a comment.
const commentNames = 50

// reportComment words a report of the machine for a pull request.
func reportComment(campaign string, a rollout.PostReport) string {
	var b strings.Builder
	fmt.Fprintln(&b, statusMarker(campaign))
	title := map[rollout.ReportKind]string{
		rollout.ReportHalted:      "halted",
		rollout.ReportResumed:     "resumed",
		rollout.ReportSucceeded:   "succeeded",
		rollout.ReportAborted:     "aborted",
		rollout.ReportRollingBack: "rolling back",
		rollout.ReportRolledBack:  "rolled back",
		rollout.ReportPRClosed:    "a pull request was closed",
		rollout.ReportApproved:    "a wave was approved",
	}[a.About]
	if title == "" {
		title = string(a.About)
	}
	fmt.Fprintf(&b, "### Campaign `%s`: %s\n\n%s\n", campaign, title, a.Summary)
	if len(a.Clusters) > 0 {
		fmt.Fprintf(&b, "\nClusters: %s\n", wave.CodeListUpTo(a.Clusters, commentNames))
	}
	if len(a.Failures) > 0 {
		fmt.Fprintln(&b)
		writeFailures(&b, a.Failures)
	}
	return b.String()
}

// writeFailures writes the clusters that count against the failure budget
// as a table: a halt report's core.
func writeFailures(b *strings.Builder, fs []rollout.Failure) {
	fmt.Fprintln(b, "| Wave | Cluster | Tenant | State | Gate | What the gate saw |")
	fmt.Fprintln(b, "|---|---|---|---|---|---|")
	for _, f := range fs {
		fmt.Fprintf(b, "| %d | `%s` | %s | %s | %s | %s |\n", f.Wave, f.Cluster, f.Tenant, f.Phase, cell(f.Gate), cell(rollout.GateSentence(f.Detail)))
	}
}

// approvalComment asks fleet admins to approve a wave before it opens.
func approvalComment(campaign string, a rollout.RequestApproval) string {
	var b strings.Builder
	fmt.Fprintln(&b, statusMarker(campaign))
	fmt.Fprintf(&b, "### Campaign `%s`: wave %d waits for an approval\n\n", campaign, a.Wave)
	fmt.Fprintf(&b, "Wave %d changes %s. A fleet admin approves it with `/fleet approve %d`.\n", a.Wave, wave.CodeListUpTo(a.Clusters, commentNames), a.Wave)
	return b.String()
}

// closeComment says why the bot closes a pull request.
func closeComment(campaign string, a rollout.ClosePRs) string {
	var b strings.Builder
	fmt.Fprintln(&b, statusMarker(campaign))
	fmt.Fprintf(&b, "### Campaign `%s`: closing this pull request\n\n", campaign)
	which := "the unmerged pull requests"
	if len(a.PRs) == 1 {
		which = "this pull request"
	}
	fmt.Fprintf(&b, "fleetbot closes %s of wave %d: %s.\n", which, a.Wave, a.Reason)
	return b.String()
}

// setupComment says what people should know of how a wave pull request
// was put up: that it was rebuilt, on its base branch's new head or for the
// clusters it now carries; the files a person changed since the plan,
// which it leaves as they are; and the owners GitHub could not be asked to
// review.
func setupComment(campaign, branch, sha string, clusters []string, res wave.Result) string {
	var b strings.Builder
	fmt.Fprintln(&b, statusMarker(campaign))
	switch {
	case res.Replanned:
		fmt.Fprintf(&b, "### Campaign `%s`: regenerated on `%s` at %s\n\n", campaign, branch, shortSHA(sha))
		fmt.Fprintf(&b, "The clusters this pull request changes are now %s: a cluster held back by its pre-flight check joined it after passing a retry, or a cluster was skipped and left it. fleetbot applied the planned edits of these clusters again on the head, each checked against the value it expects to replace, and rewrote the description. Nothing was rebased and no second pull request was opened; approve the new commit.\n", wave.CodeListUpTo(clusters, commentNames))
	case res.Regenerated:
		fmt.Fprintf(&b, "### Campaign `%s`: regenerated on `%s` at %s\n\n", campaign, branch, shortSHA(sha))
		fmt.Fprintln(&b, "The base branch moved and this pull request no longer merged cleanly, so fleetbot applied the planned edits again on the new head, each checked against the value it expects to replace. Nothing was rebased and no second pull request was opened.")
	case len(res.Kept) > 0:
		fmt.Fprintf(&b, "### Campaign `%s`: files left as they are\n", campaign)
		if res.Number > 0 && !res.Opened {
			fmt.Fprintln(&b, "\nEvery file this pull request plans to change was changed on the base branch since the plan, so it cannot be regenerated. Skip its clusters with a reason, or close it.")
		}
	default:
		fmt.Fprintf(&b, "### Campaign `%s`: owners not asked to review\n", campaign)
	}
	if len(res.Kept) > 0 {
		fmt.Fprintln(&b, "\nA person changed these files on the base branch since the plan; fleetbot does not overwrite them, and the gates show whether their clusters reach the target:")
		fmt.Fprintln(&b)
		for _, k := range res.Kept {
			fmt.Fprintf(&b, "- `%s`: %s\n", k.Path, k.Reason)
		}
	}
	if len(res.Skipped) > 0 {
		fmt.Fprintln(&b, "\nfleetbot could not ask these owners of the layout to review; any owner may still approve:")
		fmt.Fprintln(&b)
		for _, s := range res.Skipped {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	return b.String()
}

// shortSHA is the first 7 characters of a commit id.
func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
