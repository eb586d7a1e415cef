package rollout

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Trouble is an action of a campaign that keeps failing: every attempt
// since Since ended in an error, the last one in Err. The state machine
// cannot tell (it asked for the action; the state says it is outstanding),
// so the people watching the campaign are told.
type Trouble struct {
	Action string `json:"action"`
	Wave   int    `json:"wave,omitempty"`
	// What says what the action does, to follow "fleetbot cannot".
	What     string    `json:"what"`
	Err      string    `json:"error"`
	Since    time.Time `json:"since"`
	Last     time.Time `json:"last"`
	Attempts int       `json:"attempts"`
}

// Same reports whether t and u say the same: the same action, error and
// attempts, at the same instants.
func (t Trouble) Same(u Trouble) bool {
	return t.Action == u.Action && t.Wave == u.Wave && t.What == u.What && t.Err == u.Err &&
		t.Since.Equal(u.Since) && t.Last.Equal(u.Last) && t.Attempts == u.Attempts
}

// SetupError is the failure of a wave's pull request that is open on
// GitHub as Number when what follows its opening failed: Step, such as
// asking its owners for reviews or labelling it. Its trouble says so, not
// that the pull request cannot be opened.
type SetupError struct {
	Number int
	Step   string // what failed, to follow "fleetbot cannot" and precede "pull request #N": "ask for reviews on"
	Err    error
}

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// An action's failures are shown once it has failed TroubleAttempts times
// in a row over at least TroubleAfter: a passing hiccup of GitHub's, which
// the next pass gets over, is not news.
const (
	TroubleAfter    = 5 * time.Minute
	TroubleAttempts = 3
)

// Troubles are a campaign's failing actions, by action and wave.
type Troubles map[string]Trouble

// Note records the outcome of one attempt at a, made at now: a failure
// starts or extends its trouble, a success ends it. An action is told apart
// by its kind, its wave and, for a wave's pull requests, the one tenant it
// opens the pull request of (the caller notes a wave's pull requests one by
// one, since each goes up or fails apart). t is not changed.
func (t Troubles) Note(a Action, err error, now time.Time) Troubles {
	wave, what := actionWhat(a)
	key := fmt.Sprintf("%s/%d/%s", a.Kind(), wave, what)
	out := maps.Clone(t)
	if err == nil {
		delete(out, key)
		return out
	}
	if out == nil {
		out = Troubles{}
	}
	tr, ok := out[key]
	if !ok {
		tr = Trouble{Action: a.Kind(), Wave: wave, What: what, Since: now}
	}
	tr.What, tr.Err, tr.Last = what, err.Error(), now
	if se := (*SetupError)(nil); errors.As(err, &se) {
		if ow, ok := a.(OpenWave); ok && len(ow.PRs) == 1 {
			// The same action, so the same run of failures: what failed
			// is the step after the opening.
			tr.What = fmt.Sprintf("%s pull request #%d of %s in wave %d", se.Step, se.Number, ow.PRs[0].Tenant, ow.Wave)
		}
	}
	tr.Attempts++
	out[key] = tr
	return out
}

// AttemptedSince returns the troubles attempted at or after at: an action
// that a pass of the campaign no longer attempts is no longer asked for
// (another replica carried it out, or the campaign moved on), so its
// failures are not news any more. t is not changed.
func (t Troubles) AttemptedSince(at time.Time) Troubles {
	out := maps.Clone(t)
	maps.DeleteFunc(out, func(_ string, tr Trouble) bool { return tr.Last.Before(at) })
	return out
}

// Shown returns the troubles to show at now, by wave, then action, then
// what they do: the same troubles always in the same order, so a dashboard
// that shows them is not edited, nor the store written, for an order alone.
func (t Troubles) Shown(now time.Time) []Trouble {
	var out []Trouble
	for _, tr := range t {
		if tr.Attempts >= TroubleAttempts && now.Sub(tr.Since) >= TroubleAfter {
			out = append(out, tr)
		}
	}
	slices.SortFunc(out, func(a, b Trouble) int {
		return cmp.Or(cmp.Compare(a.Wave, b.Wave), cmp.Compare(a.Action, b.Action), cmp.Compare(a.What, b.What))
	})
	return out
}

// actionWhat returns the wave a names (0 for none) and what it does.
func actionWhat(a Action) (int, string) {
	switch a := a.(type) {
	case OpenWave:
		if len(a.PRs) == 1 {
			return a.Wave, fmt.Sprintf("open the pull request of %s in wave %d", a.PRs[0].Tenant, a.Wave)
		}
		return a.Wave, fmt.Sprintf("open the pull requests of wave %d", a.Wave)
	case RunGates:
		return a.Wave, fmt.Sprintf("run the gates of wave %d", a.Wave)
	case RunPreflight:
		return a.Wave, fmt.Sprintf("run the pre-flight checks of wave %d", a.Wave)
	case RequestApproval:
		return a.Wave, fmt.Sprintf("ask for the approval of wave %d on the pull requests of wave %d", a.Wave, a.On)
	case ClosePRs:
		return a.Wave, fmt.Sprintf("close the pull requests of wave %d", a.Wave)
	case PostReport:
		return a.Wave, fmt.Sprintf("post the %s report on the pull requests of wave %d", a.About, a.Wave)
	}
	return 0, "carry out " + a.Kind()
}
