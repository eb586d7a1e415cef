// Package audit turns a campaign's state into its audit report: every wave,
// pull request (number, merge commit, times) and cluster with the evidence
// of each step (gate results with time and detail, approvals, skips, who ran
// which operation) and the campaign's own history. The report's JSON shape
// is stable and documented in docs/operations.md; it is the store's state
// without what only the machine needs (deadlines, pending gate work). It
// reads nothing and writes only the report it is asked for.
package audit
