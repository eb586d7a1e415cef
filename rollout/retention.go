package rollout

import (
	"fmt"
	"slices"
	"time"
)

// Ended returns when the campaign reached its final phase, or false while
// it has not.
func (s State) Ended() (time.Time, bool) {
	if !s.Phase.Final() {
		return time.Time{}, false
	}
	if h, ok := s.Entered(s.Phase); ok {
		return h.At, true
	}
	if len(s.History) > 0 {
		return s.History[len(s.History)-1].At, true
	}
	return time.Time{}, true
}

// Entered returns the last step of the campaign's history that took it to
// phase p: when, by whom and why; false when none did. A resume that took
// it back to p after a halt or a pause met in p does not count: a rollback
// halted by a revert merged without approval and resumed was asked for by
// whoever asked for the rollback, not by who resumed it.
func (s State) Entered(p CampaignPhase) (Evidence, bool) {
	resume := (Resume{}).Kind()
	for _, h := range slices.Backward(s.History) {
		if h.To == string(p) && h.Event != resume {
			return h, true
		}
	}
	return Evidence{}, false
}

// Prunable decides whether a campaign's records may be removed from the
// store at now, keeping ended campaigns for keep (zero keeps them for
// ever): only a campaign that ended that long ago and that no campaign file
// declares any more. A file that still declares it would start it again
// from scratch once its records were gone. The reason says why not, or
// what is pruned.
func Prunable(s State, declared bool, now time.Time, keep time.Duration) (bool, string) {
	ended, ok := s.Ended()
	switch {
	case !ok:
		return false, fmt.Sprintf("campaign %s is %s, not ended", s.Campaign, s.Phase)
	case keep <= 0:
		return false, fmt.Sprintf("campaign %s is kept for ever (no retention)", s.Campaign)
	case now.Sub(ended) < keep:
		return false, fmt.Sprintf("campaign %s ended %s ago, kept for %s", s.Campaign, now.Sub(ended).Round(time.Second), keep)
	case declared:
		return false, fmt.Sprintf("campaign %s ended %s ago, but a campaign file still declares it: remove the file to let it go", s.Campaign, now.Sub(ended).Round(time.Second))
	}
	return true, fmt.Sprintf("campaign %s ended %s ago (%s) and no file declares it", s.Campaign, now.Sub(ended).Round(time.Second), s.Phase)
}
