package rollout

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Conclusions of the check run on a wave pull request, in GitHub's words.
const (
	CheckNeutral   = "neutral"   // the wave waits: for a merge, the gates, the bake, a person
	CheckSuccess   = "success"   // the wave succeeded
	CheckFailure   = "failure"   // the campaign halted on the wave, the wave failed, or it was rolled back before it succeeded
	CheckCancelled = "cancelled" // the campaign was aborted before the wave finished
	CheckSkipped   = "skipped"   // every cluster of the pull request was skipped
)

// WaveCheck is what the check run on a wave pull request's head says at a
// glance: its conclusion and its title.
type WaveCheck struct {
	Conclusion string
	Title      string
}

// CheckVerdict says what the check run on tenant's pull request of wave n
// concludes now. The wave decides, for every pull request of it alike: the
// campaign halted on it (the wave in flight, or else the last one that
// opened) is a failure with the halt's reason, whatever else holds; a wave
// that succeeded is a success, unless every cluster of the pull request was
// skipped; one that failed, or was rolled back before it succeeded, a
// failure; one the campaign was aborted before it finished, or that
// stopped when the campaign turned to roll back, cancelled.
// Everything else is neutral, titled with what the campaign waits for
// (State.Waiting). A wave it has no pull request of tenant for is an error.
func CheckVerdict(s State, n int, tenant string) (WaveCheck, error) {
	if n < 1 || n > len(s.Waves) {
		return WaveCheck{}, fmt.Errorf("campaign %s has no wave %d", s.Campaign, n)
	}
	w := s.Waves[n-1]
	if !slices.ContainsFunc(w.PRs, func(p PRState) bool { return p.Tenant == tenant }) {
		return WaveCheck{}, fmt.Errorf("campaign %s: wave %d has no pull request of tenant %s", s.Campaign, n, tenant)
	}
	label := waveLabel(w)
	by := s.revertedBy(n)
	rolled := ""
	switch {
	case by > 0 && s.Waves[by-1].Phase == WaveSucceeded:
		rolled = fmt.Sprintf("; rolled back by wave %d", by)
	case by > 0:
		rolled = fmt.Sprintf("; wave %d rolls it back", by)
	}
	skipped, skipReason := tenantSkipped(w, tenant)
	switch {
	case s.Phase == CampaignHalted && s.haltedWave() == n:
		return WaveCheck{CheckFailure, "Halted: " + s.HaltReason}, nil
	case w.Phase == WaveSucceeded && skipped:
		return WaveCheck{CheckSkipped, "Skipped: " + skipReason}, nil
	case w.Phase == WaveSucceeded:
		return WaveCheck{CheckSuccess, label + " succeeded" + rolled}, nil
	case w.Phase == WaveFailed:
		return WaveCheck{CheckFailure, label + " failed" + rolled}, nil
	case by > 0 && s.Waves[by-1].Phase == WaveSucceeded:
		return WaveCheck{CheckFailure, fmt.Sprintf("%s was rolled back by wave %d before it succeeded", label, by)}, nil
	case by > 0:
		return WaveCheck{CheckFailure, fmt.Sprintf("%s stopped before it succeeded; wave %d rolls it back", label, by)}, nil
	case s.Phase == CampaignAborted:
		return WaveCheck{CheckCancelled, fmt.Sprintf("Aborted before %s finished", strings.ToLower(label[:1])+label[1:])}, nil
	case w.Phase == WaveStopped && s.Phase == CampaignRolledBack:
		return WaveCheck{CheckCancelled, label + " stopped before it finished: the campaign was rolled back"}, nil
	case w.Phase == WaveStopped:
		return WaveCheck{CheckCancelled, label + " stopped before it finished: the campaign rolls back"}, nil
	case skipped:
		return WaveCheck{CheckSkipped, "Skipped: " + skipReason}, nil
	}
	return WaveCheck{CheckNeutral, "Waiting for " + s.Waiting(time.Time{}).Text}, nil
}

// waveLabel names a wave in a title: "Wave 2", "Clean-up wave 3", "Revert
// wave 5 (of wave 2)".
func waveLabel(w WaveState) string {
	switch w.Kind {
	case WaveCleanup:
		return fmt.Sprintf("Clean-up wave %d", w.Number)
	case WaveRevert:
		return fmt.Sprintf("Revert wave %d (of wave %d)", w.Number, w.Reverts)
	}
	return fmt.Sprintf("Wave %d", w.Number)
}

// revertedBy is the number of the revert wave of wave n, 0 when none.
func (s State) revertedBy(n int) int {
	for _, w := range s.Waves {
		if w.Kind == WaveRevert && w.Reverts == n {
			return w.Number
		}
	}
	return 0
}

// haltedWave is the wave a halted campaign stopped on: the live wave in
// flight, or else the last live wave that opened (a wave in flight may bake
// while the campaign is halted); 0 when none opened.
func (s State) haltedWave() int {
	last := 0
	for _, w := range s.Waves {
		if !s.live(w) || w.Phase == WavePending || w.Phase == WaveSkipped {
			continue
		}
		if w.Phase != WaveSucceeded {
			return w.Number
		}
		last = w.Number
	}
	return last
}

// tenantSkipped reports whether every cluster of tenant in w was skipped,
// with the first one's reason.
func tenantSkipped(w WaveState, tenant string) (bool, string) {
	reason, found := "", false
	for _, c := range w.Clusters {
		if c.Tenant != tenant {
			continue
		}
		if c.Phase != ClusterSkipped {
			return false, ""
		}
		if !found {
			reason, found = c.SkipReason, true
		}
	}
	return found, reason
}
