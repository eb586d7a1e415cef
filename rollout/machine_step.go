package rollout

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// machine applies one event to a private copy of a state and collects the
// actions it asks for.
type machine struct {
	s       *State
	now     time.Time
	actions []Action
}

func refuse(format string, args ...any) *EventError {
	return &EventError{Reason: fmt.Sprintf(format, args...)}
}

func ignore(format string, args ...any) *EventError {
	return &EventError{Reason: fmt.Sprintf(format, args...), Err: ErrIgnored}
}

func (m *machine) emit(a Action) { m.actions = append(m.actions, m.post(a)) }

// note records a step of the campaign itself.
func (m *machine) note(ev Evidence) {
	ev.At = m.now
	m.s.History = append(m.s.History, ev)
}

// setPhase moves the campaign and records why.
func (m *machine) setPhase(to CampaignPhase, event, by, detail string) {
	m.note(Evidence{Event: event, From: string(m.s.Phase), To: string(to), By: by, Detail: detail})
	m.s.Phase = to
}

// record adds evidence to a cluster; a non-empty to moves it.
func (m *machine) record(c *ClusterState, to ClusterPhase, ev Evidence) {
	ev.At = m.now
	if to != "" {
		ev.From, ev.To = string(c.Phase), string(to)
		c.Phase = to
	}
	c.Evidence = append(c.Evidence, ev)
}

func (m *machine) apply(e Event) *EventError {
	if m.s.Phase.Final() {
		if err, done := m.afterEnd(e); done {
			return err
		}
	}
	switch e := e.(type) {
	case ScheduleCampaign:
		return m.schedule(e)
	case Tick:
		if m.s.Phase == CampaignScheduled && e.CanOpen {
			m.setPhase(CampaignRunning, e.Kind(), "", "the schedule allows a wave to open")
		}
		return nil
	case PROpened:
		return m.prOpened(e)
	case PRMerged:
		return m.prMerged(e)
	case PRClosed:
		return m.prClosed(e)
	case GateResult:
		return m.gateResult(e)
	case Approve:
		return m.approve(e)
	case Pause:
		return m.pause(e)
	case Resume:
		return m.resume(e)
	case Abort:
		return m.abort(e)
	case Retry:
		return m.retry(e)
	case SkipCluster:
		return m.skip(e)
	case Rollback:
		return m.rollback(e)
	case Posted:
		return m.posted(e)
	case MergeHeld:
		return m.mergeHeld(e)
	}
	return refuse("unknown event %T", e)
}

// afterEnd decides the events a final campaign still takes: ticks (nothing to
// do), a late PROpened (closed again), a rollback of a succeeded or aborted
// campaign. done says the event was decided here.
func (m *machine) afterEnd(e Event) (err *EventError, done bool) {
	ended := m.s.Phase == CampaignAborted || m.s.Phase == CampaignRolledBack
	switch e := e.(type) {
	case Tick:
		return nil, true
	case Posted:
		return nil, false // an end's report is posted after it
	case Abort:
		if m.s.Phase == CampaignAborted {
			return ignore("already aborted"), true
		}
	case Rollback:
		if m.s.Phase == CampaignRolledBack {
			return ignore("already rolled back"), true
		}
		return nil, false
	case PROpened:
		if ended {
			return nil, false
		}
	case PRClosed:
		if ended {
			return ignore("the campaign closed its pull requests when it ended"), true
		}
	case MergeHeld:
		return ignore("the campaign is %s and merges nothing more", m.s.Phase), true
	case PRMerged:
		if ended {
			return refuse("the campaign has ended, so the merge of tenant %s's pull request in wave %d is not verified by it: revert the merge or start a new campaign", e.Tenant, e.Wave), true
		}
	}
	return refuse("the campaign is %s and takes no more steps; start a new campaign", m.s.Phase), true
}

func (m *machine) schedule(e ScheduleCampaign) *EventError {
	switch m.s.Phase {
	case CampaignPending:
		m.setPhase(CampaignScheduled, e.Kind(), e.By, "")
		return nil
	case CampaignScheduled:
		return ignore("already scheduled")
	}
	return refuse("the campaign is already %s", m.s.Phase)
}

// wave finds a wave by its 1-based number.
func (m *machine) wave(n int) (*WaveState, *EventError) {
	if n < 1 || n > len(m.s.Waves) {
		return nil, refuse("no wave %d: waves are numbered 1 to %d", n, len(m.s.Waves))
	}
	return &m.s.Waves[n-1], nil
}

// pr finds the pull request of a tenant in an opened wave.
func (m *machine) pr(n int, tenant string) (*WaveState, *PRState, *EventError) {
	if m.s.Phase == CampaignPending || m.s.Phase == CampaignScheduled {
		return nil, nil, refuse("no wave has opened yet")
	}
	w, err := m.wave(n)
	if err != nil {
		return nil, nil, err
	}
	if w.Phase == WavePending {
		return nil, nil, refuse("wave %d has not opened", n)
	}
	for i := range w.PRs {
		if w.PRs[i].Tenant == tenant {
			return w, &w.PRs[i], nil
		}
	}
	return nil, nil, refuse("wave %d has no pull request for tenant %q", n, tenant)
}

// occurrence is one cluster in one wave.
type occurrence struct {
	w *WaveState
	c *ClusterState
}

// occurrences finds a cluster in the waves the campaign drives now, in
// rollout order: once per EKS hop, once more per clean-up wave.
func (m *machine) occurrences(name string) ([]occurrence, *EventError) {
	var out []occurrence
	for i := range m.s.Waves {
		w := &m.s.Waves[i]
		if !m.s.live(*w) {
			continue
		}
		for j := range w.Clusters {
			if w.Clusters[j].Name == name {
				out = append(out, occurrence{w, &w.Clusters[j]})
			}
		}
	}
	if len(out) == 0 {
		return nil, refuse("no cluster %q in this campaign", name)
	}
	return out, nil
}

// clusterIn finds a cluster in wave n, or in the only wave that holds it
// when n is 0.
func (m *machine) clusterIn(n int, name string) (*WaveState, *ClusterState, *EventError) {
	if n != 0 {
		w, err := m.wave(n)
		if err != nil {
			return nil, nil, err
		}
		for j := range w.Clusters {
			if w.Clusters[j].Name == name {
				return w, &w.Clusters[j], nil
			}
		}
		return nil, nil, refuse("wave %d has no cluster %q", n, name)
	}
	occ, err := m.occurrences(name)
	if err != nil {
		return nil, nil, err
	}
	if len(occ) > 1 {
		waves := make([]string, len(occ))
		for i, o := range occ {
			waves[i] = fmt.Sprint(o.w.Number)
		}
		return nil, nil, refuse("cluster %q is in waves %s: name the wave", name, strings.Join(waves, ", "))
	}
	return occ[0].w, occ[0].c, nil
}

// tenantClusters calls f for each cluster of tenant in w.
func tenantClusters(w *WaveState, tenant string, f func(c *ClusterState)) {
	for i := range w.Clusters {
		if w.Clusters[i].Tenant == tenant {
			f(&w.Clusters[i])
		}
	}
}

func (m *machine) prOpened(e PROpened) *EventError {
	if e.Number <= 0 {
		return refuse("pull request number %d is not positive", e.Number)
	}
	w, pr, err := m.pr(e.Wave, e.Tenant)
	if err != nil {
		return err
	}
	ev := Evidence{Event: e.Kind(), PR: e.Number}
	switch pr.Status {
	case PRStatusMerged:
		return ignore("tenant %s's pull request in wave %d already merged", e.Tenant, e.Wave)
	case PRStatusOpen:
		if pr.Number == e.Number {
			return ignore("pull request #%d is already recorded open", e.Number)
		}
		return refuse("tenant %s already has pull request #%d in wave %d", e.Tenant, pr.Number, e.Wave)
	case PRStatusClosed:
		// A pull request closed before it was reported open has no number yet.
		if pr.Number != 0 && pr.Number != e.Number {
			return refuse("tenant %s's pull request #%d in wave %d was closed; a retry opens a new one", e.Tenant, pr.Number, e.Wave)
		}
		ev.Event = "pr-reopened"
	}
	if m.s.Phase.Final() || !m.s.live(*w) {
		pr.Status, pr.Number, pr.ClosedAt = PRStatusClosed, e.Number, m.now
		ref := PRRef{Tenant: e.Tenant, Number: e.Number}
		tenantClusters(w, e.Tenant, func(c *ClusterState) { ref.Clusters = append(ref.Clusters, c.Name) })
		reason := fmt.Sprintf("the campaign is %s", m.s.Phase)
		if !m.s.Phase.Final() {
			reason = "the campaign is rolling back"
		}
		m.emit(ClosePRs{Wave: e.Wave, PRs: []PRRef{ref}, Reason: reason})
		return nil
	}
	pr.Status, pr.Number, pr.OpenedAt, pr.ClosedAt = PRStatusOpen, e.Number, m.now, time.Time{}
	tenantClusters(w, e.Tenant, func(c *ClusterState) {
		switch {
		case c.Phase == ClusterPending && c.JoinDue:
			// passed its retry after this request went out: it joins next
		case c.Phase == ClusterPending:
			c.Joining = false
			m.record(c, ClusterInPR, ev)
		case c.Phase == ClusterInPR:
			m.record(c, "", ev)
		}
	})
	m.closeSkippedPR(w, e.Tenant) // its clusters were skipped while it opened
	return nil
}

func (m *machine) prMerged(e PRMerged) *EventError {
	if e.SHA == "" {
		return refuse("no merge commit for tenant %s's pull request in wave %d", e.Tenant, e.Wave)
	}
	w, pr, err := m.pr(e.Wave, e.Tenant)
	if err != nil {
		return err
	}
	if !m.s.live(*w) && pr.Status != PRStatusMerged {
		return refuse("the campaign is rolling back, so the merge of tenant %s's pull request in wave %d is not reverted by it: revert that merge by hand", e.Tenant, e.Wave)
	}
	switch pr.Status {
	case PRStatusMerged:
		if pr.SHA == e.SHA {
			return ignore("pull request #%d is already recorded merged", pr.Number)
		}
		return refuse("tenant %s's pull request in wave %d already merged as %s, not %s", e.Tenant, e.Wave, pr.SHA, e.SHA)
	case PRStatusPending:
		return refuse("tenant %s's pull request in wave %d was not asked for yet", e.Tenant, e.Wave)
	}
	if e.Number > 0 {
		pr.Number = e.Number
	}
	pr.Status, pr.SHA, pr.MergedAt, pr.MergeHeld = PRStatusMerged, e.SHA, m.now, ""
	pr.MergedBy, pr.ApprovedBy, pr.Reviews = e.By, e.ApprovedBy, slices.Clone(e.Reviews)
	ev := Evidence{Event: e.Kind(), PR: pr.Number, SHA: e.SHA, By: e.By}
	if e.ApprovedBy != "" {
		ev.Detail = "approved by " + e.ApprovedBy
	}
	if e.Unapproved != "" {
		ev.Event, ev.Detail = "pr-merged-unapproved", e.Unapproved
		m.unapproved(w, e)
	}
	gated := len(m.s.WaveGates(w.Number)) > 0
	tenantClusters(w, e.Tenant, func(c *ClusterState) {
		switch {
		case c.Phase == ClusterPending && (c.JoinDue || c.Joining):
			m.joinLost(w, c, pr, ev) // it was to join the pull request, which merged without it
		case (c.Phase == ClusterPending || c.Phase == ClusterInPR) && gated:
			c.GatesDue = true
			m.record(c, ClusterApplied, ev)
		case c.Phase == ClusterPending || c.Phase == ClusterInPR:
			m.record(c, ClusterApplied, ev)
			m.record(c, ClusterSucceeded, Evidence{Event: "no-gates", Detail: "no gate of the campaign applies to this wave: its merge is all there is to verify"})
		case c.Phase == ClusterSkipped:
			skipped := ev
			skipped.Detail = strings.TrimPrefix(ev.Detail+"; ", "; ") + "the cluster was skipped before: the campaign does not verify it"
			m.record(c, "", skipped)
		default:
			m.record(c, "", ev)
		}
	})
	return nil
}

// unapproved halts an acting campaign whose pull request merged without an
// approval by an owner of its tenant, when the policy says so: a change went
// out that nobody responsible for it reviewed. A campaign that does not act
// (Paused, Halted) halts when a Resume would make it act (HaltDue).
func (m *machine) unapproved(w *WaveState, e PRMerged) {
	if !m.s.Policy.HaltUnapproved {
		return
	}
	reason := fmt.Sprintf("tenant %s's pull request #%d of wave %d merged without an approval by an owner of %s (%s)", e.Tenant, e.Number, w.Number, e.Tenant, e.Unapproved)
	switch {
	case m.s.Phase.acting():
		m.halt(w.Number, reason)
	case m.s.Phase == CampaignPaused || m.s.Phase == CampaignHalted:
		if m.s.HaltDue == nil { // the first such merge is the one reported
			m.s.HaltDue = &HaltDue{Wave: w.Number, Reason: reason}
		}
	}
}

// halt halts the campaign for an unapproved merge in wave n and reports it.
func (m *machine) halt(n int, reason string) {
	m.s.HaltReason, m.s.HaltedForFailures = reason, false
	m.setPhase(CampaignHalted, "halt", "", reason)
	next := "resume once the change is reviewed"
	if m.s.RollbackOffered() {
		next += ", or roll back"
	}
	m.emit(PostReport{
		About:   ReportHalted,
		Wave:    n,
		Summary: fmt.Sprintf("Campaign %s halted: %s. Its clusters are verified as usual; %s.", m.s.Campaign, reason, next),
	})
	m.s.HaltedOn = cmp.Or(n, m.s.lastOpened())
}

// haltDue carries out a halt asked for while the campaign did not act, now
// that a Resume makes it act: it halts again instead, and says why.
func (m *machine) haltDue() {
	if d := m.s.HaltDue; d != nil && m.s.Phase.acting() {
		m.s.HaltDue = nil
		m.halt(d.Wave, d.Reason)
	}
}

// mergeHeld records why the bot has not merged an approved open pull
// request, or that nothing holds it back any more.
func (m *machine) mergeHeld(e MergeHeld) *EventError {
	_, pr, err := m.pr(e.Wave, e.Tenant)
	if err != nil {
		return err
	}
	switch {
	case pr.Status != PRStatusOpen || pr.Number != e.Number:
		return ignore("pull request #%d is not tenant %s's open pull request in wave %d", e.Number, e.Tenant, e.Wave)
	case pr.MergeHeld == e.Why:
		return ignore("pull request #%d: already known", e.Number)
	}
	pr.MergeHeld = e.Why
	return nil
}

func (m *machine) prClosed(e PRClosed) *EventError {
	w, pr, err := m.pr(e.Wave, e.Tenant)
	if err != nil {
		return err
	}
	switch pr.Status {
	case PRStatusClosed:
		return ignore("tenant %s's pull request in wave %d is already recorded closed", e.Tenant, e.Wave)
	case PRStatusMerged:
		return ignore("tenant %s's pull request in wave %d merged; a merged pull request is closed too", e.Tenant, e.Wave)
	case PRStatusPending:
		return refuse("tenant %s's pull request in wave %d was not asked for yet", e.Tenant, e.Wave)
	}
	if pr.Number == 0 {
		pr.Number = e.Number
	}
	pr.Status, pr.ClosedAt, pr.MergeHeld = PRStatusClosed, m.now, ""
	var waiting []string
	tenantClusters(w, e.Tenant, func(c *ClusterState) {
		if c.Phase == ClusterPending || c.Phase == ClusterInPR {
			waiting = append(waiting, c.Name)
			m.record(c, "", Evidence{Event: e.Kind(), PR: pr.Number})
		}
	})
	m.emit(PostReport{
		About:    ReportPRClosed,
		Wave:     e.Wave,
		Summary:  fmt.Sprintf("Tenant %s closed pull request #%d of wave %d without merging it. Its clusters (%s) hold the wave back: a retry opens a new pull request for them, or skip them with a reason.", e.Tenant, pr.Number, e.Wave, strings.Join(waiting, ", ")),
		Clusters: waiting,
	})
	return nil
}

func (m *machine) gateResult(e GateResult) *EventError {
	switch e.Outcome {
	case GatePassed, GateFailed, GateWaiting:
	default:
		return refuse("gate outcome %q is not passed, failed or waiting", e.Outcome)
	}
	w, c, err := m.clusterIn(e.Wave, e.Cluster)
	if err != nil {
		return err
	}
	if !m.s.live(*w) {
		return ignore("the campaign rolls back: wave %d is no longer verified", w.Number)
	}
	if e.Gate == GatePreflight {
		return m.preflightResult(w, c, e)
	}
	gates := m.s.WaveGates(w.Number)
	if !slices.Contains(gates, e.Gate) {
		return refuse("no gate %q in wave %d (gates: %s)", e.Gate, w.Number, strings.Join(gates, ", "))
	}
	ev := Evidence{Event: e.Kind(), Gate: e.Gate, Outcome: e.Outcome, Detail: e.Detail}
	switch c.Phase {
	case ClusterPending, ClusterInPR:
		return refuse("cluster %s has not merged; a gate result before the merge proves nothing", e.Cluster)
	case ClusterSkipped, ClusterFailed, ClusterTimedOut:
		return ignore("cluster %s is %s; retry it to verify it again", e.Cluster, c.Phase)
	case ClusterSucceeded:
		if e.Outcome != GateFailed || w.Phase == WaveSucceeded {
			return ignore("cluster %s already succeeded", e.Cluster)
		}
		m.fail(w, c, ClusterFailed, e.Gate, e.Detail, ev)
		return nil
	}
	if !m.keepResult(c, e) {
		return ignore("gate %s on cluster %s repeats its latest result", e.Gate, e.Cluster)
	}
	switch {
	case e.Outcome == GateFailed:
		m.fail(w, c, ClusterFailed, e.Gate, e.Detail, ev)
	case e.Outcome == GatePassed && allPassed(c, gates):
		c.Deadline, c.GatesDue = time.Time{}, false
		m.record(c, ClusterSucceeded, ev)
	default:
		m.record(c, ClusterVerifying, ev)
	}
	return nil
}

// join asks again for open pull request pr of wave w when a held-back
// cluster of its tenant passed its retry and waits, Pending and JoinDue, to
// be added:
// the request names every cluster the pull request carries, the new one
// included, at the same attempt, and the pull request is Requested until
// it is reported open again.
func (m *machine) join(w *WaveState, pr *PRState) (PRRequest, bool) {
	var names []string
	joins := false
	tenantClusters(w, pr.Tenant, func(c *ClusterState) {
		switch {
		case c.Phase == ClusterPending && c.JoinDue:
			joins = true
			c.JoinDue, c.Joining = false, true
			names = append(names, c.Name)
			m.record(c, "", Evidence{Event: "pr-requested", PR: pr.Number, Detail: fmt.Sprintf("joins #%d", pr.Number)})
		case c.Phase == ClusterInPR:
			names = append(names, c.Name)
		}
	})
	if !joins {
		return PRRequest{}, false
	}
	pr.Status = PRStatusRequested
	return PRRequest{Tenant: pr.Tenant, Clusters: names, Attempt: pr.Attempt}, true
}

// preflightResult records EKS's answer on whether cluster c of wave w is
// ready for the wave's target: passed puts it back among the clusters
// waiting for their pull request (warnings kept in its evidence), failed
// holds it back, Failed by GatePreflight, counting against the failure
// budget, and waiting keeps it asking.
func (m *machine) preflightResult(w *WaveState, c *ClusterState, e GateResult) *EventError {
	if c.Phase != ClusterPreflight {
		return ignore("cluster %s is %s, not waiting on its pre-flight check", c.Name, c.Phase)
	}
	if !m.keepResult(c, e) {
		return ignore("pre-flight of cluster %s repeats its latest result", c.Name)
	}
	ev := Evidence{Event: "preflight", Gate: e.Gate, Outcome: e.Outcome, Detail: e.Detail}
	switch e.Outcome {
	case GatePassed:
		m.record(c, ClusterPending, ev)
		for j := range w.PRs {
			switch pr := &w.PRs[j]; {
			case pr.Tenant != c.Tenant:
			case pr.Status == PRStatusMerged:
				m.joinLost(w, c, pr, Evidence{Event: "preflight", Gate: GatePreflight, PR: pr.Number})
			case pr.Status == PRStatusOpen || pr.Status == PRStatusRequested:
				c.JoinDue = true
			}
		}
	case GateFailed:
		m.fail(w, c, ClusterFailed, e.Gate, e.Detail, ev)
	default:
		m.record(c, "", ev)
	}
	return nil
}

// keepResult records e as its gate's latest result on c; false when it
// repeats that result, which changes nothing.
func (m *machine) keepResult(c *ClusterState, e GateResult) bool {
	if last, ok := c.Gates[e.Gate]; ok && last.Outcome == e.Outcome && last.Detail == e.Detail {
		return false
	}
	if c.Gates == nil {
		c.Gates = map[string]GateRecord{}
	}
	c.Gates[e.Gate] = GateRecord{Outcome: e.Outcome, Detail: e.Detail, At: m.now}
	return true
}

// joinLost fails cluster c of wave w, which passed pre-flight on a retry
// but whose tenant's pull request pr merged before c could join it: its
// change is in no pull request.
func (m *machine) joinLost(w *WaveState, c *ClusterState, pr *PRState, ev Evidence) {
	detail := fmt.Sprintf("passed pre-flight on a retry, but tenant %s's pull request #%d merged before the cluster joined it: its change is in no pull request; skip it and upgrade it in a later campaign", c.Tenant, pr.Number)
	c.JoinDue, c.Joining = false, false
	if ev.Detail == "" {
		ev.Detail = detail // the merge's evidence keeps its own detail
	}
	m.fail(w, c, ClusterFailed, GatePreflight, detail, ev)
}

func allPassed(c *ClusterState, gates []string) bool {
	for _, g := range gates {
		if c.Gates[g].Outcome != GatePassed {
			return false
		}
	}
	return true
}

// fail moves a cluster to Failed or TimedOut; a failure during the bake fails
// the wave.
func (m *machine) fail(w *WaveState, c *ClusterState, to ClusterPhase, gate, detail string, ev Evidence) {
	c.FailedGate, c.FailedDetail = gate, detail
	c.Deadline, c.GatesDue = time.Time{}, false
	m.record(c, to, ev)
	if w.Phase == WaveBaking {
		w.Phase, w.FinishedAt = WaveFailed, m.now
	}
}

func (m *machine) approve(e Approve) *EventError {
	if e.By == "" {
		return refuse("an approval needs the approver's name")
	}
	w, err := m.wave(e.Wave)
	if err != nil {
		return err
	}
	switch {
	case !m.s.Policy.Approvals[e.Wave]:
		return refuse("wave %d needs no approval", e.Wave)
	case w.ApprovedBy != "":
		return ignore("wave %d was already approved by %s", e.Wave, w.ApprovedBy)
	}
	w.ApprovedBy, w.ApprovedAt = e.By, m.now
	for i := range w.Clusters {
		m.record(&w.Clusters[i], "", Evidence{Event: e.Kind(), By: e.By})
	}
	// A request for this approval not posted yet would ask for what is
	// given: it is dropped. One posted is followed by the approval, on
	// the same pull requests, so that they no longer ask for it.
	requested := func(p Post) bool { return p.Approval != nil && p.Approval.Wave == e.Wave }
	if slices.ContainsFunc(m.s.Posts, requested) {
		m.dropPosts(requested)
	} else if w.ApprovalRequested {
		m.emit(PostReport{About: ReportApproved, Wave: m.s.lastOpened(),
			Summary: fmt.Sprintf("Wave %d was approved by %s; it opens once the waves before it are done and the schedule allows.", e.Wave, e.By)})
	}
	return nil
}

func (m *machine) pause(e Pause) *EventError {
	switch m.s.Phase {
	case CampaignScheduled, CampaignRunning, CampaignRollingBack:
		m.s.PausedFrom, m.s.PausedAt = m.s.Phase, m.now
		m.setPhase(CampaignPaused, e.Kind(), e.By, "")
		return nil
	case CampaignPaused:
		return ignore("already paused")
	case CampaignHalted:
		return refuse("a halted campaign opens nothing already; retry or skip its failures, then resume")
	}
	return refuse("a pending campaign cannot pause; schedule it first")
}

func (m *machine) resume(e Resume) *EventError {
	switch m.s.Phase {
	case CampaignPaused:
		// The pause stopped the clocks: deadlines and bakes move by its length.
		if d := m.now.Sub(m.s.PausedAt); d > 0 {
			for i := range m.s.Waves {
				w := &m.s.Waves[i]
				if w.Phase == WaveBaking {
					w.BakeUntil = w.BakeUntil.Add(d)
				}
				for j := range w.Clusters {
					if c := &w.Clusters[j]; !c.Deadline.IsZero() {
						c.Deadline = c.Deadline.Add(d)
					}
				}
			}
		}
		to := m.s.PausedFrom
		if to == "" {
			to = CampaignRunning
		}
		m.s.PausedFrom, m.s.PausedAt = "", time.Time{}
		m.setPhase(to, e.Kind(), e.By, "")
		m.haltDue()
		return nil
	case CampaignHalted:
		if why := m.s.resumeRefused(); why != "" {
			return refuse("%s", why)
		}
		why, on := m.s.HaltReason, m.s.HaltedOn
		m.s.HaltReason, m.s.HaltedOn, m.s.HaltedForFailures = "", 0, false
		m.setPhase(m.actingPhase(), e.Kind(), e.By, "")
		// A halt report not posted yet would say the campaign is halted:
		// it is dropped. One posted is followed by the resume's, on the
		// same pull requests, so that they no longer say halted.
		halted := func(p Post) bool { return p.Report != nil && p.Report.About == ReportHalted }
		if slices.ContainsFunc(m.s.Posts, halted) {
			m.dropPosts(halted)
		} else {
			by := ""
			if e.By != "" {
				by = " by " + e.By
			}
			m.emit(PostReport{About: ReportResumed, Wave: on,
				Summary: fmt.Sprintf("Campaign %s was resumed%s and is %s again; it had halted: %s.", m.s.Campaign, by, m.s.Phase, why)})
		}
		m.haltDue()
		return nil
	case CampaignRunning, CampaignScheduled, CampaignRollingBack:
		return ignore("the campaign is %s, neither paused nor halted", m.s.Phase)
	}
	return refuse("a pending campaign cannot resume; schedule it first")
}

// clusters counts clusters in words: "1 cluster", "2 clusters".
func clusters(n int) string {
	if n == 1 {
		return "1 cluster"
	}
	return fmt.Sprintf("%d clusters", n)
}

func failureNames(fs []Failure) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Cluster
	}
	return strings.Join(names, ", ")
}

// actingPhase is the phase a campaign acts in: RollingBack once it has revert
// waves, Running until then.
func (m *machine) actingPhase() CampaignPhase {
	if m.s.RollingBack() {
		return CampaignRollingBack
	}
	return CampaignRunning
}

// done reports whether a wave no longer holds the waves after it back.
func (p WavePhase) done() bool { return p == WaveSucceeded || p == WaveSkipped }

// current is the wave in flight: the first live one not done, once opened.
func (m *machine) current() *WaveState { return m.s.current() }

// resumeRefused says why a halted campaign cannot resume yet, "" when it
// can: failures over the budget, or its current wave failed.
func (s State) resumeRefused() string {
	if f := s.Failures(); len(f) > s.Policy.MaxFailures {
		return fmt.Sprintf("%s failed or timed out (%s), over the budget of %d: retry or skip them first", clusters(len(f)), failureNames(f), s.Policy.MaxFailures)
	}
	if w := s.current(); w != nil && w.Phase == WaveFailed {
		return fmt.Sprintf("wave %d failed: retry or skip its failed clusters first", w.Number)
	}
	return ""
}

// current is the live wave under way: opened and not done; nil when none
// is (the next one has not opened).
func (s State) current() *WaveState {
	for i := range s.Waves {
		w := &s.Waves[i]
		if !s.live(*w) {
			continue
		}
		if !w.Phase.done() {
			if w.Phase == WavePending {
				return nil
			}
			return w
		}
	}
	return nil
}

// closeUnmerged asks for every pull request that is up or asked for and not
// merged to be closed.
func (m *machine) closeUnmerged(reason string) {
	for i := range m.s.Waves {
		w := &m.s.Waves[i]
		var refs []PRRef
		for j := range w.PRs {
			pr := &w.PRs[j]
			if pr.Status != PRStatusOpen && pr.Status != PRStatusRequested {
				continue
			}
			ref := PRRef{Tenant: pr.Tenant, Number: pr.Number}
			tenantClusters(w, pr.Tenant, func(c *ClusterState) { ref.Clusters = append(ref.Clusters, c.Name) })
			refs = append(refs, ref)
			pr.Status, pr.ClosedAt = PRStatusClosed, m.now
		}
		if len(refs) > 0 {
			m.emit(ClosePRs{Wave: w.Number, PRs: refs, Reason: reason})
		}
	}
}

func (m *machine) abort(e Abort) *EventError {
	reason := "aborted"
	if e.By != "" {
		reason += " by " + e.By
	}
	if e.Reason != "" {
		reason += ": " + e.Reason
	}
	m.closeUnmerged("the campaign was " + reason)
	m.stopInFlight(Evidence{Event: e.Kind(), By: e.By, Detail: e.Reason})
	m.s.HaltReason, m.s.HaltedForFailures, m.s.HaltDue, m.s.PausedFrom, m.s.PausedAt = "", false, nil, "", time.Time{}
	m.setPhase(CampaignAborted, e.Kind(), e.By, e.Reason)
	m.emit(PostReport{
		About:    ReportAborted,
		Summary:  fmt.Sprintf("Campaign %s was %s. Its unmerged pull requests are closed; merged changes stay.", m.s.Campaign, reason),
		Failures: m.s.Failures(),
	})
	return nil
}

// stopInFlight stops the waves in flight (opened, not settled) the
// campaign leaves as it ends or turns to roll back: nothing moves them on
// any more, and a wave left Baking or Open would say it still bakes or
// waits for its merges. Their clusters that had not settled, and those of
// a failed wave, are Stopped, with ev: one left InPR or Verifying would
// say its pull request is up or its gates answer.
func (m *machine) stopInFlight(ev Evidence) {
	for i := range m.s.Waves {
		w := &m.s.Waves[i]
		switch w.Phase {
		case WaveOpen, WaveMerged, WaveVerifying, WaveBaking:
			w.Phase, w.FinishedAt = WaveStopped, m.now
		case WaveFailed:
		default:
			continue
		}
		for j := range w.Clusters {
			if c := &w.Clusters[j]; !c.Phase.settled() {
				c.GatesDue, c.PreflightDue, c.JoinDue, c.Joining, c.Deadline = false, false, false, false, time.Time{}
				m.record(c, ClusterStopped, ev)
			}
		}
	}
}

// retryable says whether Retry applies to c, and whether it reopens c's
// pull request rather than verifying c again.
func retryable(w *WaveState, c *ClusterState) (ok, reopen bool) {
	if c.Phase.failed() && c.FailedGate == GatePreflight {
		// A cluster held back by pre-flight can only join its tenant's
		// pull request while that is not asked for yet, or closed.
		return heldBackRetryable(w, c), false
	}
	if c.Phase.failed() {
		return true, false
	}
	if c.Phase == ClusterPending || c.Phase == ClusterInPR {
		for _, pr := range w.PRs {
			if pr.Tenant == c.Tenant && pr.Status == PRStatusClosed {
				return true, true
			}
		}
	}
	return false, false
}

func (m *machine) retry(e Retry) *EventError {
	switch m.s.Phase {
	case CampaignRunning, CampaignPaused, CampaignHalted, CampaignRollingBack:
	default:
		return refuse("nothing to retry while the campaign is %s", m.s.Phase)
	}
	if e.Cluster != "" {
		occ, err := m.occurrences(e.Cluster)
		if err != nil {
			return err
		}
		n, phase := 0, occ[0].c.Phase
		for _, o := range occ {
			if o.w.Phase != WavePending {
				phase = o.c.Phase
			}
			if ok, reopen := retryable(o.w, o.c); ok {
				m.retryOne(o.w, o.c, reopen, e)
				n++
			}
		}
		if n == 0 {
			for _, o := range occ {
				if o.c.Phase.failed() && o.c.FailedGate == GatePreflight {
					return refuse("cluster %s was held back by its pre-flight check and its tenant's pull request %s of wave %d is merged, so it cannot join it: skip it with a reason and upgrade it in a later campaign",
						e.Cluster, heldBackPR(o.w, o.c), o.w.Number)
				}
			}
			return refuse("cluster %s is %s; only Failed or TimedOut clusters, or clusters whose pull request was closed, can be retried", e.Cluster, phase)
		}
		return nil
	}
	n := 0
	for i := range m.s.Waves {
		w := &m.s.Waves[i]
		if !m.s.live(*w) {
			continue
		}
		for j := range w.Clusters {
			if ok, reopen := retryable(w, &w.Clusters[j]); ok {
				m.retryOne(w, &w.Clusters[j], reopen, e)
				n++
			}
		}
	}
	if n == 0 {
		return ignore("no cluster is Failed, TimedOut or waiting on a closed pull request")
	}
	return nil
}

// heldBackRetryable says whether cluster c, held back by pre-flight, may be
// asked again: its tenant's pull request of wave w has not been asked for
// (every cluster of the tenant was held back, or the campaign halted before
// it opened), is asked for or open (a pass adds the cluster to it once it
// is up) or was closed without merge. A merged one cannot take it.
func heldBackRetryable(w *WaveState, c *ClusterState) bool {
	for _, pr := range w.PRs {
		if pr.Tenant == c.Tenant {
			return pr.Status != PRStatusMerged
		}
	}
	return false
}

// heldBackPR names the pull request that keeps held-back cluster c of wave w
// from being retried, for the refusal.
func heldBackPR(w *WaveState, c *ClusterState) string {
	for _, pr := range w.PRs {
		if pr.Tenant == c.Tenant && pr.Number > 0 {
			return fmt.Sprintf("#%d", pr.Number)
		}
	}
	return "of tenant " + c.Tenant
}

func (m *machine) retryOne(w *WaveState, c *ClusterState, reopen bool, e Retry) {
	ev := Evidence{Event: e.Kind(), By: e.By}
	if c.FailedGate == GatePreflight && c.Phase.failed() {
		// Asked again; a pass puts it in its tenant's pull request, which
		// a closed one is asked for again with.
		for j := range w.PRs {
			if pr := &w.PRs[j]; pr.Tenant == c.Tenant && pr.Status == PRStatusClosed {
				ev.PR = pr.Number
				pr.Status, pr.Number, pr.OpenedAt, pr.ClosedAt = PRStatusPending, 0, time.Time{}, time.Time{}
				tenantClusters(w, c.Tenant, func(c *ClusterState) {
					if c.Phase == ClusterInPR {
						m.record(c, ClusterPending, ev)
					}
				})
			}
		}
		delete(c.Gates, GatePreflight)
		c.FailedGate, c.FailedDetail, c.PreflightDue = "", "", true
		m.record(c, ClusterPending, ev)
		m.reopenWave(w)
		return
	}
	if reopen {
		// A report of the closed pull request not posted yet would ask
		// for the retry this is.
		m.dropPosts(func(p Post) bool {
			return p.Report != nil && p.Report.About == ReportPRClosed && p.Report.Wave == w.Number
		})
		// The pull request carries every waiting cluster of the tenant, so
		// they all go back to Pending together.
		for j := range w.PRs {
			if pr := &w.PRs[j]; pr.Tenant == c.Tenant {
				ev.PR = pr.Number
				pr.Status, pr.Number, pr.OpenedAt, pr.ClosedAt = PRStatusPending, 0, time.Time{}, time.Time{}
			}
		}
		tenantClusters(w, c.Tenant, func(c *ClusterState) {
			if c.Phase == ClusterPending || c.Phase == ClusterInPR {
				m.record(c, ClusterPending, ev)
			}
		})
		return
	}
	c.Gates, c.FailedGate, c.FailedDetail = nil, "", ""
	c.GatesDue, c.Deadline = true, time.Time{}
	m.record(c, ClusterVerifying, ev)
	m.reopenWave(w)
}

// reopenWave takes a Failed or Baking wave back to Verifying after one of its
// clusters was retried or skipped; the bake starts again once all settle. A
// Succeeded wave no later wave has opened after goes back too: its bake ran
// out while a cluster of it had failed (the campaign halted over its
// budget), and the retried cluster bakes before the next wave opens.
func (m *machine) reopenWave(w *WaveState) {
	last := w.Phase == WaveSucceeded && !slices.ContainsFunc(m.s.Waves[w.Number:], func(l WaveState) bool {
		return m.s.live(l) && l.Phase != WavePending && l.Phase != WaveSkipped
	})
	if w.Phase == WaveFailed || w.Phase == WaveBaking || last {
		w.Phase = WaveVerifying
		w.BakeStart, w.BakeUntil, w.FinishedAt = time.Time{}, time.Time{}, time.Time{}
	}
}

func (m *machine) skip(e SkipCluster) *EventError {
	if strings.TrimSpace(e.Reason) == "" {
		return refuse("skipping cluster %s needs a reason", e.Cluster)
	}
	occ, err := m.occurrences(e.Cluster)
	if err != nil {
		return err
	}
	n, already := 0, ""
	for _, o := range occ {
		c := o.c
		switch c.Phase {
		case ClusterSkipped:
			already = c.SkipReason
			continue
		case ClusterSucceeded:
			continue
		}
		c.SkipReason, c.GatesDue, c.Deadline = e.Reason, false, time.Time{}
		c.FailedGate, c.FailedDetail = "", ""
		m.record(c, ClusterSkipped, Evidence{Event: e.Kind(), By: e.By, Detail: e.Reason})
		if o.w.Phase == WaveFailed {
			m.reopenWave(o.w)
		}
		m.closeSkippedPR(o.w, c.Tenant)
		n++
	}
	switch {
	case n > 0:
		return nil
	case already != "":
		return ignore("cluster %s is already skipped: %s", e.Cluster, already)
	}
	return refuse("cluster %s already succeeded; there is nothing to skip", e.Cluster)
}

// closeSkippedPR closes tenant's pull request of change or revert wave w,
// open or only asked for, once every cluster it carries is skipped:
// merged, it would change clusters the campaign no longer verifies, and
// it holds its wave back for nothing (a revert that cannot be made, a
// cluster a person changed by hand). One asked for but not reported open
// is closed by its branch, should it be open; one never asked for is
// dropped. One with a cluster still in it is rebuilt without the skipped
// ones' edits when it is ensured again (Refresh).
func (m *machine) closeSkippedPR(w *WaveState, tenant string) {
	if w.Kind == WaveCleanup {
		return
	}
	i := slices.IndexFunc(w.PRs, func(pr PRState) bool { return pr.Tenant == tenant })
	if i < 0 {
		return
	}
	asked := w.PRs[i].Status
	switch asked {
	case PRStatusOpen, PRStatusRequested, PRStatusPending:
	default:
		return
	}
	ref := PRRef{Tenant: tenant, Number: w.PRs[i].Number}
	carried := false
	tenantClusters(w, tenant, func(c *ClusterState) {
		carried = carried || c.Phase == ClusterPending || c.Phase == ClusterInPR
		ref.Clusters = append(ref.Clusters, c.Name)
	})
	if carried {
		return
	}
	w.PRs[i].Status, w.PRs[i].ClosedAt = PRStatusClosed, m.now
	if asked != PRStatusPending {
		m.emit(ClosePRs{Wave: w.Number, PRs: []PRRef{ref}, Reason: "every cluster it changes was skipped"})
	}
}

func (m *machine) rollback(e Rollback) *EventError {
	if m.s.Phase == CampaignPending || m.s.Phase == CampaignScheduled {
		return refuse("nothing has merged yet; abort instead")
	}
	if m.s.RollingBack() {
		return ignore("the campaign is already rolling back")
	}
	if !m.s.Policy.Revertible && !m.s.blueGreenSteps() {
		err := refuse("%s", forwardOnly(m.s.Policy.Change))
		err.Err = ErrForwardOnly
		return err
	}
	retired := m.retired()
	var reverts []WaveState
	var stay []string // merged waves that stay as they are
	for i := len(m.s.Waves) - 1; i >= 0; i-- {
		w := &m.s.Waves[i]
		revertible := Revertible(w.Step, m.s.Policy)
		rw := WaveState{Kind: WaveRevert, Reverts: w.Number, Phase: WavePending, PRs: []PRState{}}
		kept := false
		for _, pr := range w.PRs {
			if pr.Status != PRStatusMerged {
				continue
			}
			tenantClusters(w, pr.Tenant, func(c *ClusterState) {
				if !slices.ContainsFunc(c.Evidence, func(ev Evidence) bool { return ev.Event == "pr-requested" }) || skippedBeforeMerge(*c) {
					return
				}
				if !revertible || retired[c.Name] > 0 {
					kept = true
					return
				}
				rw.Clusters = append(rw.Clusters, ClusterState{Name: c.Name, Tenant: c.Tenant, Phase: ClusterPending, Evidence: []Evidence{}})
			})
		}
		if kept && w.Kind == WaveChange {
			stay = append(stay, strconv.Itoa(w.Number))
		}
		if len(rw.Clusters) > 0 {
			w.RevertedAt = m.now
			reverts = append(reverts, rw)
		}
	}
	if len(reverts) == 0 && len(retired) > 0 {
		err := refuse("%s", retiredForwardOnly(retired))
		err.Err = ErrForwardOnly
		return err
	}
	if len(reverts) == 0 && !m.s.Policy.Revertible {
		err := refuse("%s", forwardOnly(m.s.Policy.Change))
		err.Err = ErrForwardOnly
		return err
	}
	if len(reverts) == 0 {
		return refuse("no pull request has merged, so there is nothing to revert; abort instead")
	}
	m.closeUnmerged("the campaign is rolled back")
	m.stopInFlight(Evidence{Event: e.Kind(), By: e.By})
	plan := make([]string, len(reverts))
	for i := range reverts {
		reverts[i].Number = len(m.s.Waves) + 1
		plan[i] = fmt.Sprintf("wave %d reverts wave %d", reverts[i].Number, reverts[i].Reverts)
		m.s.Waves = append(m.s.Waves, reverts[i])
	}
	// A rollback reverts the unapproved merge too: no halt is due.
	m.s.HaltReason, m.s.HaltedForFailures, m.s.HaltDue, m.s.PausedFrom, m.s.PausedAt = "", false, nil, "", time.Time{}
	m.setPhase(CampaignRollingBack, e.Kind(), e.By, "")
	summary := fmt.Sprintf("Campaign %s is rolling back, one revert wave at a time (%s); each is merged, gated and baked before the next opens.", m.s.Campaign, strings.Join(plan, "; "))
	if len(stay) > 0 {
		slices.Reverse(stay)
		summary += fmt.Sprintf(" Waves %s stay as they are: %s.", strings.Join(stay, ", "), stayReason(m.s.Policy.Change, retired))
	}
	m.emit(PostReport{About: ReportRollingBack, Summary: summary})
	return nil
}

// skippedBeforeMerge reports whether c was skipped before its pull request
// merged: the merge left its change out (or, in a file serving many
// clusters, the campaign does not verify it), so a revert has nothing of
// it to take back and no gate of it to wait for.
func skippedBeforeMerge(c ClusterState) bool {
	if c.Phase != ClusterSkipped {
		return false
	}
	skip := slices.IndexFunc(c.Evidence, func(ev Evidence) bool { return ev.Event == (SkipCluster{}).Kind() })
	merge := slices.IndexFunc(c.Evidence, mergedBy)
	return skip >= 0 && (merge < 0 || skip < merge)
}

// mergedBy says whether evidence ev is the merge of a cluster's pull
// request.
func mergedBy(ev Evidence) bool {
	return ev.Event == (PRMerged{}).Kind() || ev.Event == "pr-merged-unapproved"
}

// Merged reports whether c's pull request of its wave merged: its files
// carry the wave's change.
func (c ClusterState) Merged() bool { return slices.ContainsFunc(c.Evidence, mergedBy) }

// Revertible reports whether a rollback may revert a merged wave taking
// blue-green step step ("" for a change made in place) under policy p: a
// green or traffic step always (until its clusters' retire step merged),
// a retire step never, a change in place when the change is revertible.
func Revertible(step string, p Policy) bool {
	return step == StepGreen || step == StepTraffic || (step == "" && p.Revertible)
}

// blueGreenSteps says whether the campaign has blue-green steps a rollback
// undoes (green and traffic steps), whatever its change.
func (s State) blueGreenSteps() bool {
	return slices.ContainsFunc(s.Waves, func(w WaveState) bool { return w.Step == StepGreen || w.Step == StepTraffic })
}

// retired maps each cluster whose blue-green retire step merged (its blue
// cluster removed) to the number of that wave.
func (m *machine) retired() map[string]int {
	out := map[string]int{}
	for _, w := range m.s.Waves {
		if w.Step != StepRetire {
			continue
		}
		for _, pr := range w.PRs {
			if pr.Status == PRStatusMerged {
				tenantClusters(&w, pr.Tenant, func(c *ClusterState) { out[c.Name] = w.Number })
			}
		}
	}
	return out
}

// retiredForwardOnly explains why clusters whose blue one was removed
// cannot be rolled back, and how to fix forward.
func retiredForwardOnly(retired map[string]int) string {
	var names []string
	for _, name := range slices.Sorted(maps.Keys(retired)) {
		names = append(names, fmt.Sprintf("%s (wave %d)", name, retired[name]))
	}
	return fmt.Sprintf("the blue clusters of %s were removed, and a removed cluster cannot come back: their green clusters carry all of the traffic. Fix forward: merge a fix PR for the green clusters, or start a new campaign that replaces them", strings.Join(names, ", "))
}

// stayReason says why merged waves stay as they are in a rollback.
func stayReason(kind string, retired map[string]int) string {
	var why []string
	if kind == KindEKSVersion {
		why = append(why, "a cluster upgraded in place keeps its version, as EKS cannot downgrade a control plane")
	}
	if len(retired) > 0 {
		why = append(why, "a cluster whose blue one was removed keeps its green one")
	}
	if len(why) == 0 {
		return "they cannot be reverted"
	}
	return strings.Join(why, "; ")
}

// forwardOnly explains why a change cannot be rolled back and how to fix
// forward instead.
func forwardOnly(kind string) string {
	if kind == KindEKSVersion {
		return "an EKS version change cannot be rolled back: EKS cannot downgrade a control plane. Fix forward: merge a fix PR for the affected clusters, or start a new campaign to a version that carries the fix"
	}
	return fmt.Sprintf("the campaign declares its %s change forward-only, so it cannot be rolled back. Fix forward: merge a fix PR, or start a new campaign that sets the value you want", kind)
}

// advance applies the rules that do not wait for a person: deadlines, wave
// progress, bakes, the failure budget, opening the next wave and asking for
// the work that is due. It acts only while the campaign runs or is halted.
func (m *machine) advance(canOpen bool) {
	s := m.s
	if !s.Phase.acting() && s.Phase != CampaignHalted {
		return
	}
	m.timeouts()
	for i := range s.Waves {
		if s.live(s.Waves[i]) {
			m.derive(&s.Waves[i])
		}
	}
	for i := range s.Waves {
		if w := &s.Waves[i]; s.live(*w) && w.Phase == WaveBaking && !m.now.Before(w.BakeUntil) {
			w.Phase, w.FinishedAt = WaveSucceeded, m.now
		}
	}
	if s.Phase.acting() {
		m.checkBudget()
	}
	if s.Phase.acting() {
		m.openNext(canOpen)
		m.checkDone()
	}
	m.flush()
}

// timeouts moves clusters past their deadline to TimedOut.
func (m *machine) timeouts() {
	for i := range m.s.Waves {
		w := &m.s.Waves[i]
		if !m.s.live(*w) {
			continue
		}
		for j := range w.Clusters {
			c := &w.Clusters[j]
			if c.Deadline.IsZero() || m.now.Before(c.Deadline) || (c.Phase != ClusterApplied && c.Phase != ClusterVerifying) {
				continue
			}
			var waiting []string
			for _, g := range m.s.WaveGates(w.Number) {
				if c.Gates[g].Outcome != GatePassed {
					waiting = append(waiting, g)
				}
			}
			gate := ""
			if len(waiting) > 0 {
				gate = waiting[0]
			}
			detail := fmt.Sprintf("not Succeeded by its deadline %s (progress deadline %s); gates not passed: %s",
				c.Deadline.UTC().Format(time.RFC3339), m.s.Policy.ProgressDeadline, strings.Join(waiting, ", "))
			if r, ok := c.Gates[gate]; ok && r.Detail != "" {
				detail += "; " + gate + " last saw: " + r.Detail
			}
			m.fail(w, c, ClusterTimedOut, gate, detail, Evidence{Event: "deadline", Gate: gate, Detail: detail})
		}
	}
}

// derive sets the phase of an opened, unfinished wave from its clusters.
func (m *machine) derive(w *WaveState) {
	switch w.Phase {
	case WaveOpen, WaveMerged, WaveVerifying, WaveBaking:
	default:
		return
	}
	var active, waiting, applied, verifying, succeeded int
	for _, c := range w.Clusters {
		switch c.Phase {
		case ClusterSkipped:
			continue
		case ClusterPending, ClusterPreflight, ClusterInPR:
			waiting++
		case ClusterApplied:
			applied++
		case ClusterVerifying:
			verifying++
		case ClusterSucceeded:
			succeeded++
		}
		active++
	}
	to := WaveBaking
	switch {
	case active == 0:
		to = WaveSucceeded
	case waiting > 0:
		to = WaveOpen
	case verifying > 0:
		to = WaveVerifying
	case applied > 0:
		to = WaveMerged
	case succeeded == 0:
		to = WaveFailed
	}
	switch {
	case to == WaveBaking && w.Phase != WaveBaking:
		w.BakeStart, w.BakeUntil = m.now, m.now.Add(m.s.Policy.Bake)
	case to == WaveSucceeded || to == WaveFailed:
		w.FinishedAt = m.now
	case to != WaveBaking:
		w.BakeStart, w.BakeUntil = time.Time{}, time.Time{}
	}
	w.Phase = to
}

// checkBudget halts a running campaign over its failure budget or with a
// failed wave.
func (m *machine) checkBudget() {
	f := m.s.Failures()
	var reason string
	wave := 0
	if w := m.current(); w != nil && w.Phase == WaveFailed {
		wave = w.Number
		reason = waveFailed(w)
	}
	if len(f) > m.s.Policy.MaxFailures {
		reason = fmt.Sprintf("%s failed or timed out, over the budget of %d", clusters(len(f)), m.s.Policy.MaxFailures)
	}
	if reason == "" {
		return
	}
	m.s.HaltReason, m.s.HaltedForFailures = reason, true
	m.setPhase(CampaignHalted, "halt", "", reason)
	m.emit(PostReport{
		About:    ReportHalted,
		Wave:     wave,
		Summary:  fmt.Sprintf("Campaign %s halted: %s. No new pull requests open until failures are retried or skipped and the campaign is resumed.", m.s.Campaign, reason),
		Failures: f,
	})
	m.s.HaltedOn = cmp.Or(wave, m.s.lastOpened())
}

// waveFailed says why wave w failed: a cluster failed during its bake,
// after others had passed, or none of its clusters passed; naming the
// clusters (five at most) and whether each failed or timed out.
func waveFailed(w *WaveState) string {
	const named = 5
	var failed []string
	passed := false
	for _, c := range w.Clusters {
		switch c.Phase {
		case ClusterTimedOut:
			failed = append(failed, c.Name+" timed out")
		case ClusterFailed:
			failed = append(failed, c.Name+" failed")
		case ClusterSucceeded:
			passed = true
		}
	}
	what := strings.Join(failed[:min(len(failed), named)], ", ")
	if len(failed) > named {
		what += fmt.Sprintf(" and %d more", len(failed)-named)
	}
	if passed {
		return fmt.Sprintf("wave %d failed: %s during its bake", w.Number, what)
	}
	return fmt.Sprintf("wave %d failed: none of its clusters passed (%s)", w.Number, what)
}

// openNext opens the next wave once the one before it baked, the wave is
// approved when it must be, and the schedule allows it. A wave whose clusters
// were all skipped succeeds at once. A clean-up wave opens only when every
// cluster the campaign changes carries the new value; otherwise folding the
// value up would change the others, so it is skipped with the reason.
func (m *machine) openNext(canOpen bool) {
	for i := range m.s.Waves {
		w := &m.s.Waves[i]
		if !m.s.live(*w) || w.Phase.done() {
			continue
		}
		if w.Phase != WavePending {
			return
		}
		if w.Kind == WaveCleanup {
			if off := m.notCarrying(); len(off) > 0 {
				w.Phase, w.FinishedAt = WaveSkipped, m.now
				w.SkipReason = fmt.Sprintf("not every cluster carries the new value (%s), so the overrides stay where they are", strings.Join(off, ", "))
				m.note(Evidence{Event: "cleanup-skipped", Detail: fmt.Sprintf("wave %d: %s", w.Number, w.SkipReason)})
				continue
			}
		}
		if w.Kind == WaveChange {
			m.skipAfterUnfinishedHop(w)
		}
		var names []string
		var prs []PRState
		for _, c := range w.Clusters {
			if c.Phase == ClusterSkipped {
				continue
			}
			names = append(names, c.Name)
			if !slices.ContainsFunc(prs, func(p PRState) bool { return p.Tenant == c.Tenant }) {
				prs = append(prs, PRState{Tenant: c.Tenant, Status: PRStatusPending})
			}
		}
		if len(names) > 0 && w.Kind != WaveRevert && m.s.Policy.Approvals[w.Number] && w.ApprovedBy == "" {
			if !w.ApprovalRequested {
				w.ApprovalRequested = true
				m.emit(RequestApproval{Wave: w.Number, Clusters: names})
			}
			return
		}
		// A revert is the way out of a bad change: it does not wait for
		// the schedule's windows.
		if !canOpen && w.Kind != WaveRevert {
			return
		}
		w.OpenedAt = m.now
		if len(names) == 0 {
			w.Phase, w.FinishedAt = WaveSucceeded, m.now
			continue
		}
		w.Phase, w.PRs = WaveOpen, prs
		// A blue-green step asks nothing of EKS first: its green cluster
		// is new at the target, and the blue one is not upgraded.
		if m.s.Policy.Preflight && w.Kind == WaveChange && w.Step == "" {
			for j := range w.Clusters {
				if w.Clusters[j].Phase == ClusterPending {
					w.Clusters[j].PreflightDue = true
				}
			}
		}
		return
	}
}

// skipAfterUnfinishedHop skips the clusters of change wave w whose change in
// an earlier wave (an earlier EKS hop) did not succeed: a version is reached
// one minor at a time, so the next hop of a cluster that did not make the
// last one would ask for a skip the cluster cannot take.
func (m *machine) skipAfterUnfinishedHop(w *WaveState) {
	for j := range w.Clusters {
		c := &w.Clusters[j]
		if c.Phase != ClusterPending {
			continue
		}
		for _, prev := range m.s.Waves[:w.Number-1] {
			if prev.Kind != WaveChange {
				continue
			}
			i := slices.IndexFunc(prev.Clusters, func(p ClusterState) bool { return p.Name == c.Name })
			if i < 0 || prev.Clusters[i].Phase == ClusterSucceeded {
				continue
			}
			c.SkipReason = fmt.Sprintf("its change in wave %d is %s, and a version is reached one minor at a time", prev.Number, prev.Clusters[i].Phase)
			if w.Step != "" {
				c.SkipReason = fmt.Sprintf("its blue-green step in wave %d is %s, and each step follows the one before", prev.Number, prev.Clusters[i].Phase)
			}
			m.record(c, ClusterSkipped, Evidence{Event: "skip", Detail: c.SkipReason})
			break
		}
	}
}

// notCarrying lists the clusters of the change waves that did not succeed:
// they do not carry the campaign's new value.
func (m *machine) notCarrying() []string {
	var out []string
	for _, w := range m.s.Waves {
		if w.Kind != WaveChange {
			continue
		}
		for _, c := range w.Clusters {
			if c.Phase != ClusterSucceeded && !slices.Contains(out, c.Name) {
				out = append(out, c.Name)
			}
		}
	}
	return out
}

// checkDone ends an acting campaign whose live waves are all done and whose
// retried clusters all settled: Succeeded, or RolledBack once its revert
// waves baked.
func (m *machine) checkDone() {
	changed, skipped := map[string]bool{}, map[string]bool{}
	waves := 0
	for _, w := range m.s.Waves {
		if !m.s.live(w) {
			continue
		}
		if !w.Phase.done() {
			return
		}
		if w.Phase == WaveSkipped {
			continue
		}
		waves++
		for _, c := range w.Clusters {
			switch {
			case !c.Phase.settled():
				return
			case c.Phase == ClusterSucceeded:
				changed[c.Name] = true
			case c.Phase == ClusterSkipped:
				skipped[c.Name] = true
			}
		}
	}
	for name := range skipped {
		delete(changed, name)
	}
	f := m.s.Failures()
	if m.s.Phase == CampaignRollingBack {
		m.setPhase(CampaignRolledBack, "done", "", "")
		m.emit(PostReport{
			About:    ReportRolledBack,
			Summary:  fmt.Sprintf("Campaign %s is rolled back: %s reverted and verified in %d revert waves, %d skipped.", m.s.Campaign, clusters(len(changed)), waves, len(skipped)),
			Failures: f,
		})
		return
	}
	summary := fmt.Sprintf("Campaign %s succeeded: %s changed in %d waves, %d skipped, %d failed within the budget of %d.", m.s.Campaign, clusters(len(changed)), waves, len(skipped), len(f), m.s.Policy.MaxFailures)
	for _, w := range m.s.Waves {
		if w.Phase == WaveSkipped {
			summary += fmt.Sprintf(" Clean-up wave %d did not open: %s.", w.Number, w.SkipReason)
		}
	}
	m.setPhase(CampaignSucceeded, "done", "", "")
	m.emit(PostReport{About: ReportSucceeded, Summary: summary, Failures: f})
}

// flush emits the work that is due: pull requests asked for while running,
// gate runs while running or halted. Deadlines start when gates are asked for.
func (m *machine) flush() {
	for i := range m.s.Waves {
		w := &m.s.Waves[i]
		if !m.s.live(*w) {
			continue
		}
		// A wave's pull requests wait for the pre-flight answers of all
		// its clusters: the budget counts the held ones before any opens.
		var preflight []string
		checking := false
		for j := range w.Clusters {
			c := &w.Clusters[j]
			if c.PreflightDue {
				c.PreflightDue = false
				m.record(c, ClusterPreflight, Evidence{Event: "preflight-requested"})
				preflight = append(preflight, c.Name)
			}
			checking = checking || c.Phase == ClusterPreflight
		}
		if len(preflight) > 0 {
			m.emit(RunPreflight{Wave: w.Number, Clusters: preflight})
		}
		if m.s.Phase.acting() && !checking {
			var reqs []PRRequest
			for j := range w.PRs {
				pr := &w.PRs[j]
				if pr.Status == PRStatusOpen {
					if r, ok := m.join(w, pr); ok {
						reqs = append(reqs, r)
					}
					continue
				}
				if pr.Status != PRStatusPending {
					continue
				}
				var names []string
				pr.Attempt++
				tenantClusters(w, pr.Tenant, func(c *ClusterState) {
					if c.Phase == ClusterPending {
						names = append(names, c.Name)
						m.record(c, "", Evidence{Event: "pr-requested", Detail: fmt.Sprintf("attempt %d", pr.Attempt)})
					}
				})
				if len(names) == 0 {
					pr.Attempt--
					continue
				}
				pr.Status = PRStatusRequested
				reqs = append(reqs, PRRequest{Tenant: pr.Tenant, Clusters: names, Attempt: pr.Attempt})
			}
			if len(reqs) > 0 {
				m.emit(OpenWave{Wave: w.Number, PRs: reqs})
			}
		}
		var names []string
		for j := range w.Clusters {
			c := &w.Clusters[j]
			if !c.GatesDue {
				continue
			}
			c.GatesDue = false
			ev := Evidence{Event: "gates-requested"}
			if d := m.s.Policy.ProgressDeadline; d > 0 {
				c.Deadline = m.now.Add(d)
				ev.Detail = "deadline " + c.Deadline.UTC().Format(time.RFC3339)
			}
			m.record(c, "", ev)
			names = append(names, c.Name)
		}
		if len(names) > 0 {
			m.emit(RunGates{Wave: w.Number, Clusters: names})
		}
	}
}
