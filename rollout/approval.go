package rollout

import (
	"fmt"
	"slices"
	"strings"
)

// Review is what the approval rule reads of one pull request review: who,
// what (APPROVED, CHANGES_REQUESTED, DISMISSED, COMMENTED, PENDING) and the
// head it reviewed.
type Review struct {
	User   string
	State  string
	Commit string
}

// Approval is the approval rule's verdict on one pull request at its head.
type Approval struct {
	Approved bool
	// By is the owner whose approval counts, when Approved.
	By string
	// Why says what the verdict rests on, for the status's description and
	// the evidence of an unapproved merge.
	Why string
	// Reviews is each reviewer's standing review, in the order the
	// reviewers first gave one, with whether it counted.
	Reviews []ReviewVerdict
}

// ReviewVerdict is one reviewer's standing review of a pull request (their
// latest approval, request for changes or dismissal) and what the approval
// rule made of it.
type ReviewVerdict struct {
	User   string `json:"user"`
	State  string `json:"state"`
	Commit string `json:"commit,omitempty"`
	// Counted says the review decided the verdict: an owner's approval of
	// this head (or of the same files), or an owner's request for changes.
	Counted bool `json:"counted"`
	// Note says why a review did not count.
	Note string `json:"note,omitempty"`
}

// Review states.
const (
	reviewApproved = "APPROVED"
	reviewChanges  = "CHANGES_REQUESTED"
	reviewDismiss  = "DISMISSED"
)

// ApprovalOf decides whether a tenant's pull request is approved at head:
// each reviewer's latest approval, request for changes or dismissal stands
// (comments change nothing); an approval counts when it is by an owner of
// the tenant (owner), not by the pull request's author, and of head, or of
// an earlier head whose tenant files are byte-identical to head's (same); a
// request for changes by an owner holds the pull request back whatever else
// was given. reviews are in the order they were given.
func ApprovalOf(reviews []Review, author, head string, owner func(login string) bool, same func(commit string) bool) Approval {
	latest := map[string]Review{}
	var order []string
	for _, r := range reviews {
		switch strings.ToUpper(r.State) {
		case reviewApproved, reviewChanges, reviewDismiss:
		default:
			continue
		}
		if _, ok := latest[r.User]; !ok {
			order = append(order, r.User)
		}
		r.State = strings.ToUpper(r.State)
		latest[r.User] = r
	}
	var approvedBy, changesBy, stale, others []string
	verdicts := make([]ReviewVerdict, 0, len(order))
	for _, user := range order {
		r := latest[user]
		v := ReviewVerdict{User: user, State: r.State, Commit: r.Commit}
		switch {
		case r.State == reviewDismiss:
			v.Note = "dismissed"
		case r.State == reviewChanges && owner(user):
			v.Counted = true
			changesBy = append(changesBy, user)
		case r.State == reviewChanges:
			v.Note = "not an owner of the tenant"
		case user == author:
			v.Note = "the pull request's author"
			others = append(others, user)
		case !owner(user):
			v.Note = "not an owner of the tenant"
			others = append(others, user)
		case r.Commit != head && !same(r.Commit):
			v.Note = "of files that changed since"
			stale = append(stale, user)
		default:
			v.Counted = true
			approvedBy = append(approvedBy, user)
		}
		verdicts = append(verdicts, v)
	}
	if len(changesBy) > 0 {
		for i := range verdicts {
			if verdicts[i].State == reviewApproved && verdicts[i].Counted {
				verdicts[i].Counted, verdicts[i].Note = false, "held back by the request for changes of @"+changesBy[0]
			}
		}
		return Approval{Why: fmt.Sprintf("changes requested by @%s", changesBy[0]), Reviews: verdicts}
	}
	if len(approvedBy) > 0 {
		return Approval{Approved: true, By: approvedBy[0], Why: fmt.Sprintf("approved by @%s", approvedBy[0]), Reviews: verdicts}
	}
	why := "no approval by an owner of the tenant"
	switch {
	case len(stale) > 0:
		slices.Sort(stale)
		why = fmt.Sprintf("the approval by @%s was of files that changed since", strings.Join(stale, ", @"))
	case len(others) > 0:
		why += fmt.Sprintf(" (@%s approved, not an owner)", strings.Join(others, ", @"))
	}
	return Approval{Why: why, Reviews: verdicts}
}

// MergeReady decides whether the bot merges a pull request under `merge:
// auto`: its approval counts, and every check the base branch requires
// passed on its head. checks maps each check the head carries to its latest
// outcome: "success", "pending" or "failure"; approvalCheck, the name of
// the bot's own approval status, passes with the approval itself (its
// status may not have been posted yet). The reason says what is missing.
func MergeReady(a Approval, approvalCheck string, required []string, checks map[string]string) (bool, string) {
	if !a.Approved {
		return false, a.Why
	}
	var missing, failed []string
	for _, name := range required {
		switch {
		case name == approvalCheck:
		case checks[name] == "success":
		case checks[name] == "failure":
			failed = append(failed, name)
		default:
			missing = append(missing, name)
		}
	}
	switch {
	case len(failed) > 0:
		return false, fmt.Sprintf("required checks failed: %s", strings.Join(failed, ", "))
	case len(missing) > 0:
		return false, fmt.Sprintf("waiting for required checks: %s", strings.Join(missing, ", "))
	}
	return true, a.Why + "; every required check passed"
}
