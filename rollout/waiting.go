package rollout

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// WaitKind names what a campaign waits for next.
type WaitKind string

// Wait kinds, from a campaign that has not started to one that ended.
const (
	WaitNothing   WaitKind = ""          // the campaign ended
	WaitStart     WaitKind = "start"     // known, not yet scheduled
	WaitWindow    WaitKind = "window"    // the schedule holds the next wave back
	WaitApproval  WaitKind = "approval"  // a wave approval gate: a fleet admin's /fleet approve
	WaitPreflight WaitKind = "preflight" // EKS asked whether clusters are ready for the target, before their pull requests
	WaitOpen      WaitKind = "open"      // pull requests asked for, not reported open yet
	WaitMerge     WaitKind = "merge"     // pull requests up: the tenant owners' review and merge
	WaitRetry     WaitKind = "retry"     // a pull request closed without merge: a retry or a skip
	WaitGates     WaitKind = "gates"     // merged clusters the gates have not passed yet
	WaitBake      WaitKind = "bake"      // every cluster settled; the bake runs out
	WaitResume    WaitKind = "resume"    // paused by a person
	WaitPerson    WaitKind = "person"    // halted: a person resumes, retries, skips, rolls back or aborts
)

// Wait is what a campaign waits for next, since when and, when known, until
// when, with the wave, pull requests and clusters it concerns and the
// commands that move it on. Until is when the campaign moves on by itself:
// the schedule's next window, the end of the bake, the progress deadline of
// the last cluster the gates have not settled (it times out then). A wait
// for a person has none.
type Wait struct {
	Kind     WaitKind  `json:"kind"`
	Wave     int       `json:"wave,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	Until    time.Time `json:"until,omitzero"`
	PRs      []int     `json:"prs,omitempty"`
	Clusters []string  `json:"clusters,omitempty"`
	// Text says it in a sentence.
	Text string `json:"text"`
	// Commands lists the /fleet commands that apply now.
	Commands []string `json:"commands,omitempty"`
}

// rollbackCommand is offered by the waits only when the campaign can roll
// back (State.RollbackOffered).
const rollbackCommand = "/fleet rollback"

// skipCommand is the /fleet skip of a cluster, as the waits list it.
const skipCommand = `/fleet skip <cluster> --reason "..."`

// Beside returns w with the commands that apply beside troubles, the
// failing actions a dashboard shows with it: a wave's pull request that
// cannot be opened (its open-wave keeps failing, as a revert whose files
// were all changed by hand since) is given up by skipping its clusters,
// which closes the request, so the skip applies then too. w is not
// changed.
func (w Wait) Beside(troubles []Trouble) Wait {
	opening := slices.ContainsFunc(troubles, func(t Trouble) bool { return t.Action == (OpenWave{}).Kind() })
	if !opening || len(w.Commands) == 0 || slices.Contains(w.Commands, skipCommand) {
		return w
	}
	at := slices.Index(w.Commands, "/fleet abort")
	if at < 0 {
		at = len(w.Commands)
	}
	w.Commands = slices.Insert(slices.Clone(w.Commands), at, skipCommand)
	return w
}

// commands lists cmds as the commands that apply now, leaving out
// rollbackCommand when a rollback would be refused or ignored.
func (s State) commands(cmds ...string) []string {
	if s.RollbackOffered() {
		return cmds
	}
	return slices.DeleteFunc(cmds, func(c string) bool { return c == rollbackCommand })
}

// RollbackOffered says whether a rollback would be taken now, as far as the
// waits and the dashboard need to know: the campaign is not rolling back
// nor rolled back, its change can be reverted (or its blue-green steps
// undone), and a pull request has merged. The machine still refuses what
// it cannot revert (clusters whose blue one is gone), saying why.
func (s State) RollbackOffered() bool {
	if s.RollingBack() || s.Phase == CampaignRolledBack || (!s.Policy.Revertible && !s.blueGreenSteps()) {
		return false
	}
	return slices.ContainsFunc(s.Waves, func(w WaveState) bool {
		return slices.ContainsFunc(w.PRs, func(p PRState) bool { return p.Status == PRStatusMerged })
	})
}

// Waiting says what the campaign waits for next. nextWindow is when the
// schedule next lets a wave open, zero when it allows one now (the caller
// asks its calendar; the state does not know the schedule).
func (s State) Waiting(nextWindow time.Time) Wait {
	since := time.Time{}
	if len(s.History) > 0 {
		since = s.History[len(s.History)-1].At
	}
	switch s.Phase {
	case CampaignSucceeded:
		return Wait{Kind: WaitNothing, Since: since, Text: "nothing: the campaign succeeded"}
	case CampaignAborted:
		return Wait{Kind: WaitNothing, Since: since, Text: "nothing: the campaign was aborted"}
	case CampaignRolledBack:
		return Wait{Kind: WaitNothing, Since: since, Text: "nothing: the campaign was rolled back"}
	case CampaignPending:
		return Wait{Kind: WaitStart, Text: "the campaign to be scheduled"}
	case CampaignScheduled:
		return s.windowWait(1, since, nextWindow)
	case CampaignPaused:
		return Wait{Kind: WaitResume, Since: s.PausedAt, Text: "a person to resume it (paused)", Commands: []string{"/fleet resume", "/fleet abort"}}
	case CampaignHalted:
		cmds := []string{"/fleet retry [cluster]", skipCommand, "/fleet resume", rollbackCommand, "/fleet abort"}
		refused := s.resumeRefused()
		if refused != "" {
			cmds = slices.DeleteFunc(cmds, func(c string) bool { return c == "/fleet resume" }) // once retries or skips bring it within budget
		}
		if !s.anyRetryable() {
			cmds = slices.DeleteFunc(cmds, func(c string) bool { return c == "/fleet retry [cluster]" }) // nothing failed, or all retried
		}
		text := "a person: " + s.HaltReason
		if s.HaltedForFailures && refused == "" {
			// Retries and skips since resolved what halted it.
			text = "a person to resume it (halted: " + s.HaltReason + "; retried or skipped since)"
		}
		return Wait{Kind: WaitPerson, Since: since, Text: text, Commands: s.commands(cmds...)}
	}
	for _, w := range s.Waves {
		if !s.live(w) || w.Phase == WaveSucceeded || w.Phase == WaveSkipped {
			continue
		}
		return s.waveWait(w, nextWindow, since)
	}
	return Wait{Kind: WaitNothing, Since: since, Text: "nothing: every wave settled"}
}

// anyRetryable says whether /fleet retry applies to a cluster of a live
// wave: one failed or timed out, or waiting on a closed pull request.
func (s State) anyRetryable() bool {
	for _, w := range s.Waves {
		if !s.live(w) {
			continue
		}
		for _, c := range w.Clusters {
			if ok, _ := retryable(&w, &c); ok {
				return true
			}
		}
	}
	return false
}

// windowWait is the wait for the schedule before wave n opens.
func (s State) windowWait(n int, since, next time.Time) Wait {
	text := fmt.Sprintf("wave %d to open", n)
	if !next.IsZero() {
		text = fmt.Sprintf("the maintenance window at %s to open wave %d", next.UTC().Format(time.RFC3339), n)
	}
	return Wait{Kind: WaitWindow, Wave: n, Since: since, Until: next, Text: text, Commands: []string{"/fleet pause", "/fleet abort"}}
}

// waveWait is what a live wave that has not settled waits for.
func (s State) waveWait(w WaveState, nextWindow, since time.Time) Wait {
	if w.Phase == WavePending {
		if prev := s.previousLive(w.Number); prev != nil && !prev.FinishedAt.IsZero() {
			since = prev.FinishedAt
		}
		if w.ApprovalRequested && w.ApprovedBy == "" {
			return Wait{Kind: WaitApproval, Wave: w.Number, Since: since,
				Text:     fmt.Sprintf("a fleet admin to approve wave %d", w.Number),
				Commands: []string{fmt.Sprintf("/fleet approve %d", w.Number), "/fleet pause", "/fleet abort"}}
		}
		return s.windowWait(w.Number, since, nextWindow)
	}
	if asked := waveClusters(w, func(c ClusterState) bool { return c.Phase == ClusterPreflight }); len(asked) > 0 {
		return Wait{Kind: WaitPreflight, Wave: w.Number, Since: w.OpenedAt, Clusters: asked,
			Text:     fmt.Sprintf("wave %d: EKS's pre-flight answers on %s, before its pull requests open", w.Number, someOf(asked)),
			Commands: []string{"/fleet pause", "/fleet abort"}}
	}
	byStatus := map[PRStatus][]PRState{}
	for _, pr := range w.PRs {
		held := pr.Status == PRStatusPending && !slices.ContainsFunc(w.Clusters, func(c ClusterState) bool {
			return c.Tenant == pr.Tenant && c.Phase == ClusterPending
		})
		if held {
			continue // every cluster of the tenant was held back by pre-flight
		}
		skipped := pr.Status == PRStatusClosed && !slices.ContainsFunc(w.Clusters, func(c ClusterState) bool {
			return c.Tenant == pr.Tenant && !c.Phase.settled()
		})
		if skipped {
			continue // every cluster of the closed pull request was skipped: it holds nothing back
		}
		byStatus[pr.Status] = append(byStatus[pr.Status], pr)
	}
	if closed := byStatus[PRStatusClosed]; len(closed) > 0 {
		out := Wait{Kind: WaitRetry, Wave: w.Number, Since: closed[0].ClosedAt, PRs: prNumbers(closed),
			Commands: []string{"/fleet retry [cluster]", skipCommand, "/fleet abort"}}
		out.Clusters = waveClusters(w, func(c ClusterState) bool {
			return slices.ContainsFunc(closed, func(p PRState) bool { return p.Tenant == c.Tenant }) && !c.Phase.settled()
		})
		out.Text = fmt.Sprintf("wave %d: %s closed without merge; a retry opens a new one, a skip leaves its clusters out", w.Number, prList(closed))
		return out
	}
	if asked := append(byStatus[PRStatusPending], byStatus[PRStatusRequested]...); len(asked) > 0 {
		tenants := make([]string, len(asked))
		for i, pr := range asked {
			tenants[i] = pr.Tenant
		}
		out := Wait{Kind: WaitOpen, Wave: w.Number, Since: w.OpenedAt,
			Text: fmt.Sprintf("wave %d: the pull requests of %s to open", w.Number, someOf(tenants)), Commands: []string{"/fleet pause", "/fleet abort"}}
		if open := byStatus[PRStatusOpen]; len(open) > 0 {
			// The open ones wait for their reviews meanwhile: each pull
			// request's check run says what its own owners are to do.
			out.PRs = prNumbers(open)
			out.Text += "; " + mergeWait(open, s.Policy.AutoMerge)
		}
		return out
	}
	if open := byStatus[PRStatusOpen]; len(open) > 0 {
		return Wait{Kind: WaitMerge, Wave: w.Number, Since: earliest(open, func(p PRState) time.Time { return p.OpenedAt }), PRs: prNumbers(open),
			Text: fmt.Sprintf("wave %d: %s", w.Number, mergeWait(open, s.Policy.AutoMerge)),
			// An owner's /fleet approve is written on the pull request, not
			// where the campaign's commands go (the dashboard).
			Commands: []string{"/fleet pause", "/fleet abort"}}
	}
	if w.Phase == WaveBaking {
		return Wait{Kind: WaitBake, Wave: w.Number, Since: w.BakeStart, Until: w.BakeUntil,
			Text:     fmt.Sprintf("wave %d to bake until %s", w.Number, w.BakeUntil.UTC().Format(time.RFC3339)),
			Commands: s.commands("/fleet pause", rollbackCommand, "/fleet abort")}
	}
	pending := waveClusters(w, func(c ClusterState) bool { return !c.Phase.settled() })
	merged := earliest(w.PRs, func(p PRState) time.Time { return p.MergedAt })
	return Wait{Kind: WaitGates, Wave: w.Number, Since: merged, Until: gatesDeadline(w), Clusters: pending,
		Text:     fmt.Sprintf("wave %d: the gates (%s) to pass on %s", w.Number, strings.Join(s.WaveGates(w.Number), ", "), someOf(pending)),
		Commands: s.commands("/fleet pause", rollbackCommand, "/fleet abort")}
}

// gatesDeadline is when the last cluster of w that the gates have not
// settled times out: the latest deadline among them, zero when one of them
// has none (no progress deadline, or its gates not asked for yet while the
// campaign is paused).
func gatesDeadline(w WaveState) time.Time {
	var out time.Time
	for _, c := range w.Clusters {
		if c.Phase.settled() {
			continue
		}
		if c.Deadline.IsZero() {
			return time.Time{}
		}
		if c.Deadline.After(out) {
			out = c.Deadline
		}
	}
	return out
}

// previousLive returns the live wave before wave n, or nil.
func (s State) previousLive(n int) *WaveState {
	for i := n - 2; i >= 0; i-- {
		if s.live(s.Waves[i]) {
			return &s.Waves[i]
		}
	}
	return nil
}

func waveClusters(w WaveState, keep func(ClusterState) bool) []string {
	var out []string
	for _, c := range w.Clusters {
		if keep(c) {
			out = append(out, c.Name)
		}
	}
	return out
}

func prNumbers(prs []PRState) []int {
	out := make([]int, len(prs))
	for i, pr := range prs {
		out[i] = pr.Number
	}
	return out
}

// mergeWait says what open pull requests wait for: an approval by their
// tenant's owners and a merge; approved, under `merge: owners` an owner's
// merge, under `merge: auto` what holds the bot's merge back
// (PRState.MergeHeld); pull requests held for the same reason named
// together.
func mergeWait(open []PRState, auto bool) string {
	var waiting []PRState
	var reasons []string
	held := map[string][]PRState{}
	for _, pr := range open {
		if pr.MergeHeld == "" {
			waiting = append(waiting, pr)
			continue
		}
		if held[pr.MergeHeld] == nil {
			reasons = append(reasons, pr.MergeHeld)
		}
		held[pr.MergeHeld] = append(held[pr.MergeHeld], pr)
	}
	var parts []string
	switch {
	case len(waiting) > 0 && auto:
		parts = append(parts, prList(waiting)+" to be approved by the tenant's owners, then merged by fleetbot")
	case len(waiting) > 0:
		parts = append(parts, prList(waiting)+" to be approved by the tenant's owners and merged")
	}
	for _, why := range reasons {
		if why == OwnersMerge {
			parts = append(parts, prList(held[why])+" approved, to be merged by the tenant's owners")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s approved, not merged: %s", prList(held[why]), why))
	}
	return strings.Join(parts, "; ")
}

// prList names pull requests as "#12 (tenant-a), #13 (tenant-b)".
func prList(prs []PRState) string {
	parts := make([]string, len(prs))
	for i, pr := range prs {
		parts[i] = fmt.Sprintf("#%d (%s)", pr.Number, pr.Tenant)
	}
	return someOf(parts)
}

// waitNamed is how many clusters, tenants or pull requests a wait's text
// names; Wait's lists hold every one. The text is a check run's title and
// a line of the dashboard: a wave of thousands named each would pass
// GitHub's limits.
const waitNamed = 10

// someOf joins the first waitNamed of names and counts the others:
// "a, b and 3 more".
func someOf(names []string) string {
	if len(names) <= waitNamed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:waitNamed], ", "), len(names)-waitNamed)
}

// earliest returns the earliest non-zero time f gives of prs, or zero.
func earliest(prs []PRState, f func(PRState) time.Time) time.Time {
	var out time.Time
	for _, pr := range prs {
		if t := f(pr); !t.IsZero() && (out.IsZero() || t.Before(out)) {
			out = t
		}
	}
	return out
}
