package audit

import (
	"strings"
	"time"

	"github.com/fleetbot/fleetbot/bot"

	"github.com/fleetbot/fleetbot/rollout"
)

// Schema names the report's JSON shape. A field is only ever added to it;
// one renamed or removed gets a new schema name.
const Schema = "fleetbot.audit/v1"

// Report is the audit report of one campaign.
type Report struct {
	Schema   string `json:"schema"`
	Campaign string `json:"campaign"`
	Phase    string `json:"phase"`
	// Change is the change's kind: eksVersion, label or field.
	Change        string   `json:"change"`
	Revertible    bool     `json:"revertible"`
	FailureBudget int      `json:"failureBudget"`
	Gates         []string `json:"gates"`
	// HaltReason says why the campaign halted, while it is Halted.
	HaltReason string `json:"haltReason,omitempty"`
	Waves      []Wave `json:"waves"`
	// History is the campaign's own steps: schedule, pause, resume, halt,
	// abort, rollback, the end, each with who asked.
	History []Entry `json:"history"`
	// Commands are the `/fleet` commands run on the campaign's pull
	// requests, taken, refused or shown, each with who ran it.
	Commands []Command `json:"commands"`
}

// Command is one `/fleet` line run on a pull request of the campaign.
type Command struct {
	At      time.Time `json:"at"`
	By      string    `json:"by"`
	PR      string    `json:"pr"`
	Line    string    `json:"line"`
	Outcome string    `json:"outcome"`
	Detail  string    `json:"detail,omitempty"`
}

// Wave is one wave of the report.
type Wave struct {
	Number int `json:"number"`
	// Kind is change, cleanup or revert.
	Kind  string `json:"kind"`
	Phase string `json:"phase"`
	// NotReached is true for a wave the campaign ended before opening
	// (its phase stays Pending).
	NotReached bool `json:"notReached,omitempty"`
	// Reverts is the number of the wave a revert wave reverts.
	Reverts    int        `json:"reverts,omitempty"`
	SkipReason string     `json:"skipReason,omitempty"`
	ApprovedBy string     `json:"approvedBy,omitempty"`
	ApprovedAt *time.Time `json:"approvedAt,omitempty"`
	OpenedAt   *time.Time `json:"openedAt,omitempty"`
	BakeStart  *time.Time `json:"bakeStart,omitempty"`
	BakeUntil  *time.Time `json:"bakeUntil,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	RevertedAt *time.Time `json:"revertedAt,omitempty"`
	PRs        []PR       `json:"pullRequests"`
	Clusters   []Cluster  `json:"clusters"`
}

// PR is one tenant's pull request of a wave.
type PR struct {
	Tenant string `json:"tenant"`
	Status string `json:"status"`
	// Number is 0 until the pull request opened.
	Number   int        `json:"number,omitempty"`
	MergeSHA string     `json:"mergeSHA,omitempty"`
	Attempt  int        `json:"attempt"`
	OpenedAt *time.Time `json:"openedAt,omitempty"`
	MergedAt *time.Time `json:"mergedAt,omitempty"`
	ClosedAt *time.Time `json:"closedAt,omitempty"`
	// MergedBy merged it and ApprovedBy is the tenant owner whose approval
	// counted; Reviews is every reviewer's standing review at the merge,
	// each with whether it counted and why not.
	MergedBy   string   `json:"mergedBy,omitempty"`
	ApprovedBy string   `json:"approvedBy,omitempty"`
	Reviews    []Review `json:"reviews,omitempty"`
}

// Review is one reviewer's standing review of a pull request at its merge.
type Review struct {
	User    string `json:"user"`
	State   string `json:"state"`
	Commit  string `json:"commit,omitempty"`
	Counted bool   `json:"counted"`
	Note    string `json:"note,omitempty"`
}

// Cluster is one cluster of a wave with the evidence of every step it took.
type Cluster struct {
	Name         string  `json:"name"`
	Tenant       string  `json:"tenant"`
	Phase        string  `json:"phase"`
	FailedGate   string  `json:"failedGate,omitempty"`
	FailedDetail string  `json:"failedDetail,omitempty"`
	SkipReason   string  `json:"skipReason,omitempty"`
	Evidence     []Entry `json:"evidence"`
}

// Entry is one recorded step: when, what, the phases before and after, the
// gate and its outcome, the pull request and commit, and who asked.
type Entry struct {
	At      time.Time `json:"at"`
	Event   string    `json:"event"`
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Gate    string    `json:"gate,omitempty"`
	Outcome string    `json:"outcome,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	PR      int       `json:"pr,omitempty"`
	SHA     string    `json:"sha,omitempty"`
	By      string    `json:"by,omitempty"`
}

// New builds the report of a campaign's state and of the commands run on
// it.
func New(st rollout.State, cmds []bot.CommandRecord) Report {
	r := Report{
		Schema:        Schema,
		Campaign:      st.Campaign,
		Phase:         string(st.Phase),
		Change:        st.Policy.Change,
		Revertible:    st.Policy.Revertible,
		FailureBudget: st.Policy.MaxFailures,
		Gates:         append([]string{}, st.Policy.Gates...),
		HaltReason:    st.HaltReason,
		Waves:         make([]Wave, 0, len(st.Waves)),
		History:       entries(st.History),
		Commands:      []Command{},
	}
	for _, rec := range cmds {
		for _, c := range rec.Commands {
			detail := c.Detail
			if c.Outcome == rollout.CommandShown {
				detail = "" // "below" in the answer, where it was shown; nothing below here
			}
			r.Commands = append(r.Commands, Command{At: rec.At, By: rec.By, PR: rec.PR, Line: strings.TrimSpace(c.Raw), Outcome: string(c.Outcome), Detail: detail})
		}
	}
	for _, w := range st.Waves {
		kind := string(w.Kind)
		if w.Kind == rollout.WaveChange {
			kind = "change"
		}
		rw := Wave{
			Number: w.Number, Kind: kind, Phase: string(w.Phase), NotReached: st.NotReached(w), Reverts: w.Reverts, SkipReason: w.SkipReason,
			ApprovedBy: w.ApprovedBy, ApprovedAt: when(w.ApprovedAt), OpenedAt: when(w.OpenedAt),
			BakeStart: when(w.BakeStart), BakeUntil: when(w.BakeUntil), FinishedAt: when(w.FinishedAt), RevertedAt: when(w.RevertedAt),
			PRs: make([]PR, 0, len(w.PRs)), Clusters: make([]Cluster, 0, len(w.Clusters)),
		}
		for _, p := range w.PRs {
			rw.PRs = append(rw.PRs, PR{
				Tenant: p.Tenant, Status: string(p.Status), Number: p.Number, MergeSHA: p.SHA, Attempt: p.Attempt,
				OpenedAt: when(p.OpenedAt), MergedAt: when(p.MergedAt), ClosedAt: when(p.ClosedAt),
				MergedBy: p.MergedBy, ApprovedBy: p.ApprovedBy, Reviews: reviews(p.Reviews),
			})
		}
		for _, c := range w.Clusters {
			rw.Clusters = append(rw.Clusters, Cluster{
				Name: c.Name, Tenant: c.Tenant, Phase: string(c.Phase),
				FailedGate: c.FailedGate, FailedDetail: c.FailedDetail, SkipReason: c.SkipReason,
				Evidence: entries(c.Evidence),
			})
		}
		r.Waves = append(r.Waves, rw)
	}
	return r
}

func reviews(rs []rollout.ReviewVerdict) []Review {
	var out []Review
	for _, r := range rs {
		out = append(out, Review{User: r.User, State: r.State, Commit: r.Commit, Counted: r.Counted, Note: r.Note})
	}
	return out
}

func entries(evs []rollout.Evidence) []Entry {
	out := make([]Entry, 0, len(evs))
	for _, e := range evs {
		out = append(out, Entry{
			At: e.At.UTC(), Event: e.Event, From: e.From, To: e.To, Gate: e.Gate, Outcome: string(e.Outcome),
			Detail: e.Detail, PR: e.PR, SHA: e.SHA, By: e.By,
		})
	}
	return out
}

// when is t in UTC, nil when zero: a time not reached is left out.
func when(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
