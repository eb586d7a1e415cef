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
	var approvedBy []string
	var stale, others []string
	for _, user := range order {
		r := latest[user]
		switch {
		case r.State == reviewChanges && owner(user):
			return Approval{Why: fmt.Sprintf("changes requested by @%s", user)}
		case r.State != reviewApproved:
		case user == author:
			others = append(others, user)
		case !owner(user):
			others = append(others, user)
		case r.Commit != head && !same(r.Commit):
			stale = append(stale, user)
		default:
			approvedBy = append(approvedBy, user)
		}
	}
	if len(approvedBy) > 0 {
		return Approval{Approved: true, By: approvedBy[0], Why: fmt.Sprintf("approved by @%s", approvedBy[0])}
	}
	why := "no approval by an owner of the tenant"
	switch {
	case len(stale) > 0:
		slices.Sort(stale)
		why = fmt.Sprintf("the approval by @%s was of files that changed since", strings.Join(stale, ", @"))
	case len(others) > 0:
		why += fmt.Sprintf(" (@%s approved, not an owner)", strings.Join(others, ", @"))
	}
	return Approval{Why: why}
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
