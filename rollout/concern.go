package rollout

import "slices"

// CommitNews is what a check run, check suite, commit status or review says
// about one campaign: a commit of a campaign's pull request, or of the
// merge of one, got a verdict.
type CommitNews struct {
	// SHA is the commit the event is about; empty for a review.
	SHA string
	// PRs are the pull requests the event names (a check run's, a
	// review's).
	PRs []int
	// Wave and Tenant are read from the event's branch when it is one of
	// the campaign's (a check suite's); Wave 0 when it is not.
	Wave   int
	Tenant string
}

// Concern is what a CommitNews asks of a campaign: the gates of Waves to run
// again (SHA is the merge commit of one of their pull requests: its checks
// may have finished) and the approval and merge readiness of PRs to read
// again (their head got a verdict, or a review). Nothing else of the
// campaign moves for it: the reconcile loop does the rest.
type Concern struct {
	Waves []int
	PRs   []WavePR
}

// Empty reports whether the news concerns nothing of the campaign.
func (c Concern) Empty() bool { return len(c.Waves) == 0 && len(c.PRs) == 0 }

// Concerns says what news means to the campaign in state s.
func Concerns(s State, news CommitNews) Concern {
	var c Concern
	for _, w := range s.Waves {
		for _, pr := range w.PRs {
			if news.SHA != "" && pr.SHA == news.SHA && !slices.Contains(c.Waves, w.Number) {
				c.Waves = append(c.Waves, w.Number)
			}
		}
	}
	for _, pr := range AwaitingMerge(s) {
		if slices.Contains(news.PRs, pr.Number) || (news.Wave == pr.Wave && news.Tenant == pr.Tenant) {
			c.PRs = append(c.PRs, pr)
		}
	}
	return c
}

// GatesDue is what Due(s, true) asks of the gates of waves: the gates of
// their merged clusters that have not passed for good yet.
func GatesDue(s State, waves []int) []Action {
	var out []Action
	for _, a := range Due(s, true) {
		if g, ok := a.(RunGates); ok && slices.Contains(waves, g.Wave) {
			out = append(out, g)
		}
	}
	return out
}
