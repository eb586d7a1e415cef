package rollout

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestTroubles: a failing action becomes shown after TroubleAttempts
// failures over TroubleAfter, keeps the start of its run of failures and the
// last error, and is forgotten at its first success; other waves and
// actions are apart.
func TestTroubles(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	open2, open3 := OpenWave{Wave: 2}, OpenWave{Wave: 3}
	gates2 := RunGates{Wave: 2}
	openA := OpenWave{Wave: 1, PRs: []PRRequest{{Tenant: "tenant-a"}}}
	openB := OpenWave{Wave: 1, PRs: []PRRequest{{Tenant: "tenant-b"}}}
	refused := errors.New("a ref named refs/heads/x already exists")
	type attempt struct {
		at  time.Duration
		a   Action
		err error
	}
	for _, tc := range []struct {
		name     string
		attempts []attempt
		at       time.Duration
		want     []Trouble
	}{
		{"no attempt", nil, time.Hour, nil},
		{"failing, not long enough", []attempt{{0, open2, refused}, {time.Minute, open2, refused}, {2 * time.Minute, open2, refused}}, 4 * time.Minute, nil},
		{"failing long enough, too few attempts", []attempt{{0, open2, refused}, {10 * time.Minute, open2, refused}}, 10 * time.Minute, nil},
		{"failing long enough", []attempt{{0, open2, refused}, {time.Minute, open2, errors.New("first")}, {6 * time.Minute, open2, refused}}, 6 * time.Minute,
			[]Trouble{{Action: "open-wave", Wave: 2, What: "open the pull requests of wave 2", Err: refused.Error(), Since: t0, Last: t0.Add(6 * time.Minute), Attempts: 3}}},
		{"a success ends it", []attempt{{0, open2, refused}, {time.Minute, open2, refused}, {6 * time.Minute, open2, refused}, {7 * time.Minute, open2, nil}}, 8 * time.Minute, nil},
		{"a success starts a new run", []attempt{{0, open2, refused}, {time.Minute, open2, nil}, {2 * time.Minute, open2, refused}, {3 * time.Minute, open2, refused}, {6 * time.Minute, open2, refused}}, 6 * time.Minute, nil},
		{"another wave or action does not end it", []attempt{
			{0, open2, refused}, {0, gates2, refused}, {time.Minute, open3, nil}, {time.Minute, gates2, nil},
			{2 * time.Minute, open2, refused}, {5 * time.Minute, open2, refused},
		}, 5 * time.Minute, []Trouble{{Action: "open-wave", Wave: 2, What: "open the pull requests of wave 2", Err: refused.Error(), Since: t0, Last: t0.Add(5 * time.Minute), Attempts: 3}}},
		{"one tenant's pull request apart from another's", []attempt{
			{0, openB, refused}, {0, openA, nil}, {3 * time.Minute, openB, refused}, {3 * time.Minute, openA, nil}, {5 * time.Minute, openB, refused},
		}, 5 * time.Minute, []Trouble{{Action: "open-wave", Wave: 1, What: "open the pull request of tenant-b in wave 1", Err: refused.Error(), Since: t0, Last: t0.Add(5 * time.Minute), Attempts: 3}}},
		{"two tenants of a wave, by what they do", []attempt{
			{0, openB, refused}, {0, openA, refused}, {3 * time.Minute, openB, refused}, {3 * time.Minute, openA, refused},
			{5 * time.Minute, openB, refused}, {5 * time.Minute, openA, refused},
		}, 5 * time.Minute, []Trouble{
			{Action: "open-wave", Wave: 1, What: "open the pull request of tenant-a in wave 1", Err: refused.Error(), Since: t0, Last: t0.Add(5 * time.Minute), Attempts: 3},
			{Action: "open-wave", Wave: 1, What: "open the pull request of tenant-b in wave 1", Err: refused.Error(), Since: t0, Last: t0.Add(5 * time.Minute), Attempts: 3},
		}},
		{"an open pull request whose setup fails, after failing to open", []attempt{
			{0, openA, refused}, {3 * time.Minute, openA, &SetupError{Number: 12, Step: "ask for reviews on", Err: errors.New("request reviews on pull request #12: 422")}},
			{5 * time.Minute, openA, fmt.Errorf("wave 1: %w", &SetupError{Number: 12, Step: "label", Err: errors.New("label pull request #12: 403")})},
		}, 5 * time.Minute, []Trouble{
			{Action: "open-wave", Wave: 1, What: "label pull request #12 of tenant-a in wave 1", Err: "wave 1: label pull request #12: 403", Since: t0, Last: t0.Add(5 * time.Minute), Attempts: 3},
		}},
		{"a setup that failed, then the opening", []attempt{
			{0, openA, &SetupError{Number: 12, Step: "ask for reviews", Err: errors.New("422")}}, {3 * time.Minute, openA, refused}, {5 * time.Minute, openA, refused},
		}, 5 * time.Minute, []Trouble{
			{Action: "open-wave", Wave: 1, What: "open the pull request of tenant-a in wave 1", Err: refused.Error(), Since: t0, Last: t0.Add(5 * time.Minute), Attempts: 3},
		}},
		{"by wave, then action", []attempt{
			{0, open3, refused}, {0, gates2, refused}, {0, open2, refused},
			{time.Minute, open3, refused}, {time.Minute, gates2, refused}, {time.Minute, open2, refused},
			{5 * time.Minute, open3, refused}, {5 * time.Minute, gates2, refused}, {5 * time.Minute, open2, refused},
		}, 5 * time.Minute, []Trouble{
			{Action: "open-wave", Wave: 2, What: "open the pull requests of wave 2", Err: refused.Error(), Since: t0, Last: t0.Add(5 * time.Minute), Attempts: 3},
			{Action: "run-gates", Wave: 2, What: "run the gates of wave 2", Err: refused.Error(), Since: t0, Last: t0.Add(5 * time.Minute), Attempts: 3},
			{Action: "open-wave", Wave: 3, What: "open the pull requests of wave 3", Err: refused.Error(), Since: t0, Last: t0.Add(5 * time.Minute), Attempts: 3},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var tr Troubles
			for _, at := range tc.attempts {
				before := len(tr)
				next := tr.Note(at.a, at.err, t0.Add(at.at))
				assert.Len(t, tr, before, "Note changed the troubles it was given")
				tr = next
			}
			assert.Equal(t, tc.want, tr.Shown(t0.Add(tc.at)))
		})
	}
}

// TestTroublesAttemptedSince: the troubles of actions not attempted since a
// moment are dropped, the others kept whole.
func TestTroublesAttemptedSince(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	failed := errors.New("github is down")
	tr := Troubles{}.
		Note(OpenWave{Wave: 1, PRs: []PRRequest{{Tenant: "tenant-a"}}}, failed, t0).
		Note(OpenWave{Wave: 1, PRs: []PRRequest{{Tenant: "tenant-b"}}}, failed, t0).
		Note(OpenWave{Wave: 1, PRs: []PRRequest{{Tenant: "tenant-b"}}}, failed, t0.Add(time.Minute))
	kept := tr.AttemptedSince(t0.Add(time.Minute))
	assert.Len(t, tr, 2, "AttemptedSince changed the troubles it was given")
	assert.Equal(t, Troubles{"open-wave/1/open the pull request of tenant-b in wave 1": {Action: "open-wave", Wave: 1,
		What: "open the pull request of tenant-b in wave 1", Err: failed.Error(), Since: t0, Last: t0.Add(time.Minute), Attempts: 2}}, kept)
	assert.Empty(t, tr.AttemptedSince(t0.Add(2*time.Minute)))
}

// TestTroubleSame: two troubles are the same when every field is, instants
// compared as instants (a trouble read back from the store has another
// location than the one in memory).
func TestTroubleSame(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	base := Trouble{Action: "open-wave", Wave: 2, What: "open the pull request of tenant-b in wave 2", Err: "refused", Since: t0, Last: t0.Add(time.Minute), Attempts: 3}
	for name, tc := range map[string]struct {
		edit func(*Trouble)
		same bool
	}{
		"equal":            {func(*Trouble) {}, true},
		"another location": {func(u *Trouble) { u.Since = u.Since.In(time.FixedZone("CET", 3600)) }, true},
		"another action":   {func(u *Trouble) { u.Action = "run-gates" }, false},
		"another wave":     {func(u *Trouble) { u.Wave = 3 }, false},
		"another what":     {func(u *Trouble) { u.What = "open the pull request of tenant-a in wave 2" }, false},
		"another error":    {func(u *Trouble) { u.Err = "refused again" }, false},
		"a later first":    {func(u *Trouble) { u.Since = u.Since.Add(time.Second) }, false},
		"a later last":     {func(u *Trouble) { u.Last = u.Last.Add(time.Second) }, false},
		"one attempt more": {func(u *Trouble) { u.Attempts++ }, false},
	} {
		u := base
		tc.edit(&u)
		assert.Equal(t, tc.same, base.Same(u), name)
	}
}
