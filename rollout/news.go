package rollout

import "slices"

// PRFact is what GitHub says of one pull request the bot made for a wave of
// the campaign, already tied to the wave and tenant its branch names.
type PRFact struct {
	Wave   int
	Tenant string
	Number int
	// Open is true while the pull request is open; Merged once it merged,
	// as MergeSHA.
	Open     bool
	Merged   bool
	MergeSHA string
}

// News returns the event a pull request on GitHub tells that the state does
// not know yet, or nil: a merge, an open (or a reopen after a close) or a
// close without merge. A pull request a retry gave up on says nothing about
// the attempt that replaced it.
func (s State) News(f PRFact) Event {
	if f.Wave < 1 || f.Wave > len(s.Waves) {
		return nil
	}
	w := s.Waves[f.Wave-1]
	i := slices.IndexFunc(w.PRs, func(p PRState) bool { return p.Tenant == f.Tenant })
	if i < 0 {
		return nil
	}
	pr := w.PRs[i]
	if pr.Status == PRStatusPending || superseded(w, f.Tenant, f.Number) {
		return nil
	}
	switch {
	case f.Merged:
		if pr.Status != PRStatusMerged {
			return PRMerged{Wave: f.Wave, Tenant: f.Tenant, Number: f.Number, SHA: f.MergeSHA}
		}
	case f.Open:
		if pr.Status == PRStatusRequested || (pr.Status == PRStatusClosed && (pr.Number == 0 || pr.Number == f.Number)) {
			return PROpened{Wave: f.Wave, Tenant: f.Tenant, Number: f.Number}
		}
	default:
		if (pr.Status == PRStatusRequested || pr.Status == PRStatusOpen) && (pr.Number == 0 || pr.Number == f.Number) {
			return PRClosed{Wave: f.Wave, Tenant: f.Tenant, Number: f.Number}
		}
	}
	return nil
}

// MergeHeldNews returns e when it tells the state something it does not
// know: a new reason why the bot has not merged tenant's approved open pull
// request, or that nothing holds it back any more. Otherwise nil.
func (s State) MergeHeldNews(e MergeHeld) Event {
	if e.Wave < 1 || e.Wave > len(s.Waves) {
		return nil
	}
	for _, pr := range s.Waves[e.Wave-1].PRs {
		if pr.Tenant == e.Tenant && pr.Status == PRStatusOpen && pr.Number == e.Number && pr.MergeHeld != e.Why {
			return e
		}
	}
	return nil
}

// superseded reports whether pull request number of tenant in w was given up
// by a retry, which asks for a new one.
func superseded(w WaveState, tenant string, number int) bool {
	for _, c := range w.Clusters {
		if c.Tenant != tenant {
			continue
		}
		for _, ev := range c.Evidence {
			if ev.Event == (Retry{}).Kind() && ev.PR == number {
				return true
			}
		}
	}
	return false
}
