package rollout_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
)

const (
	berlin  = "Europe/Berlin"
	newYork = "America/New_York"
)

func instant(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

func instants(t testing.TB, ss ...string) []time.Time {
	t.Helper()
	out := make([]time.Time, len(ss))
	for i, s := range ss {
		out[i] = instant(t, s)
	}
	return out
}

func compileSchedule(t testing.TB, s rollout.Schedule) *rollout.Calendar {
	t.Helper()
	c, err := s.Compile()
	require.NoError(t, err)
	return c
}

func timePtr(t testing.TB, s string) *time.Time {
	v := instant(t, s)
	return &v
}

func window(days []string, start, end string) rollout.Window {
	return rollout.Window{Days: days, Start: start, End: end}
}

var (
	tueToThu = []string{"Tue", "Wed", "Thu"}
	weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri"}
	sunday   = []string{"Sun"}
)

func TestCalendarNext(t *testing.T) {
	t.Parallel()
	nightly := rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(tueToThu, "02:00", "05:00")}}
	friNight := rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window([]string{"Fri"}, "22:00", "02:00")}}
	freeze := []rollout.Blackout{{From: "2026-12-20", To: "2027-01-05", Reason: "year-end freeze"}}
	tests := []struct {
		name     string
		schedule rollout.Schedule
		now      string
		state    rollout.ScheduleState
		want     string
	}{
		{"notBefore ahead", rollout.Schedule{Timezone: berlin, NotBefore: timePtr(t, "2026-12-01T00:00:00Z")},
			"2026-11-30T12:00:00Z", rollout.ScheduleState{}, "2026-12-01T01:00:00+01:00"},
		{"notBefore passed", rollout.Schedule{Timezone: berlin, NotBefore: timePtr(t, "2026-12-01T00:00:00Z")},
			"2026-12-02T00:00:00Z", rollout.ScheduleState{}, "2026-12-02T01:00:00+01:00"},
		{"notBefore before a window", rollout.Schedule{Timezone: berlin, NotBefore: timePtr(t, "2026-12-01T00:00:00Z"), Windows: nightly.Windows},
			"2026-11-20T00:00:00Z", rollout.ScheduleState{}, "2026-12-01T02:00:00+01:00"},
		{"notBefore inside a window", rollout.Schedule{Timezone: berlin, NotBefore: timePtr(t, "2026-12-01T02:30:17Z"), Windows: nightly.Windows},
			"2026-11-20T00:00:00Z", rollout.ScheduleState{}, "2026-12-01T03:30:17+01:00"},
		{"inside a window", nightly, "2026-12-01T02:00:00Z", rollout.ScheduleState{}, "2026-12-01T03:00:00+01:00"},
		{"a second before the window ends", nightly, "2026-12-01T03:59:59Z", rollout.ScheduleState{}, "2026-12-01T04:59:59+01:00"},
		{"as the window ends", nightly, "2026-12-01T04:00:00Z", rollout.ScheduleState{}, "2026-12-02T02:00:00+01:00"},
		{"Monday waits for Tuesday", nightly, "2026-11-30T10:00:00Z", rollout.ScheduleState{}, "2026-12-01T02:00:00+01:00"},
		{"Thursday waits for next Tuesday", nightly, "2026-12-03T05:00:00Z", rollout.ScheduleState{}, "2026-12-08T02:00:00+01:00"},

		{"cross-midnight: Saturday 01:00 is in Friday's window", friNight, "2026-12-05T00:00:00Z", rollout.ScheduleState{}, "2026-12-05T01:00:00+01:00"},
		{"cross-midnight: Saturday 02:00 waits a week", friNight, "2026-12-05T01:00:00Z", rollout.ScheduleState{}, "2026-12-11T22:00:00+01:00"},
		{"cross-midnight: Friday 21:00 waits an hour", friNight, "2026-12-04T20:00:00Z", rollout.ScheduleState{}, "2026-12-04T22:00:00+01:00"},
		{"cross-midnight: the day names the start, not Thursday night", friNight, "2026-12-03T22:00:00Z", rollout.ScheduleState{}, "2026-12-04T22:00:00+01:00"},
		{"cross-midnight: Sunday 01:00 is outside", friNight, "2026-12-06T00:00:00Z", rollout.ScheduleState{}, "2026-12-11T22:00:00+01:00"},

		{"Berlin spring forward: 02:00-03:00 does not exist", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(sunday, "02:00", "03:00")}},
			"2027-03-28T00:30:00Z", rollout.ScheduleState{}, "2027-04-04T02:00:00+02:00"},
		{"Berlin spring forward: 02:30-04:00 opens at 03:00", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(sunday, "02:30", "04:00")}},
			"2027-03-28T00:30:00Z", rollout.ScheduleState{}, "2027-03-28T03:00:00+02:00"},
		{"Berlin fall back: 02:00 summer time", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(sunday, "02:00", "03:00")}},
			"2026-10-24T22:00:00Z", rollout.ScheduleState{}, "2026-10-25T02:00:00+02:00"},
		{"Berlin fall back: the second 02:15 is inside too", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(sunday, "02:00", "03:00")}},
			"2026-10-25T01:15:00Z", rollout.ScheduleState{}, "2026-10-25T02:15:00+01:00"},
		{"Berlin fall back: a window that happens twice", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(sunday, "02:30", "02:45")}},
			"2027-10-31T00:50:00Z", rollout.ScheduleState{}, "2027-10-31T02:30:00+01:00"},

		{"New York fall back: 01:30-02:30 opens again at 01:30 EST", rollout.Schedule{Timezone: newYork, Windows: []rollout.Window{window(sunday, "01:30", "02:30")}},
			"2026-11-01T06:00:00Z", rollout.ScheduleState{}, "2026-11-01T01:30:00-05:00"},
		{"New York spring forward: 02:00-02:30 does not exist", rollout.Schedule{Timezone: newYork, Windows: []rollout.Window{window(sunday, "02:00", "02:30")}},
			"2027-03-14T06:00:00Z", rollout.ScheduleState{}, "2027-03-21T02:00:00-04:00"},
		{"New York office hours: Friday evening waits for Monday", rollout.Schedule{Timezone: newYork, Windows: []rollout.Window{window(weekdays, "09:00", "17:00")}},
			"2026-12-04T22:30:00Z", rollout.ScheduleState{}, "2026-12-07T09:00:00-05:00"},

		{"blackout over New Year", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(weekdays, "09:00", "17:00")}, Blackouts: freeze},
			"2026-12-18T16:30:00Z", rollout.ScheduleState{}, "2027-01-06T09:00:00+01:00"},
		{"blackout days are local: 22:00 in New York is still the 5th", rollout.Schedule{Timezone: newYork, Blackouts: freeze},
			"2027-01-06T03:00:00Z", rollout.ScheduleState{}, "2027-01-06T00:00:00-05:00"},
		{"blackout starts at local midnight", rollout.Schedule{Timezone: berlin, Blackouts: freeze},
			"2026-12-19T22:59:59Z", rollout.ScheduleState{}, "2026-12-19T23:59:59+01:00"},
		{"blackout: first second of the 20th", rollout.Schedule{Timezone: berlin, Blackouts: freeze},
			"2026-12-19T23:00:00Z", rollout.ScheduleState{}, "2027-01-06T00:00:00+01:00"},

		{"maxWavesPerDay reached waits for the next window", rollout.Schedule{Timezone: berlin, Windows: nightly.Windows, MaxWavesPerDay: 2},
			"2026-12-01T03:00:00Z", rollout.ScheduleState{WavesStarted: instants(t, "2026-12-01T01:00:00Z", "2026-12-01T02:00:00Z")},
			"2026-12-02T02:00:00+01:00"},
		{"maxWavesPerDay counts local days", rollout.Schedule{Timezone: berlin, MaxWavesPerDay: 1},
			"2026-12-01T22:45:00Z", rollout.ScheduleState{WavesStarted: instants(t, "2026-12-01T22:30:00Z")},
			"2026-12-02T00:00:00+01:00"},
		{"maxWavesPerDay ignores other days", rollout.Schedule{Timezone: berlin, MaxWavesPerDay: 1},
			"2026-12-01T10:00:00Z", rollout.ScheduleState{WavesStarted: instants(t, "2026-11-30T10:00:00Z")},
			"2026-12-01T11:00:00+01:00"},
		{"maxOpenPRs not reached", rollout.Schedule{MaxOpenPRs: 10},
			"2026-12-01T10:00:00Z", rollout.ScheduleState{OpenPRs: 9}, "2026-12-01T10:00:00Z"},
		{"a wave larger than maxOpenPRs starts when none is open", rollout.Schedule{MaxOpenPRs: 10},
			"2026-12-01T10:00:00Z", rollout.ScheduleState{WavePRs: 15}, "2026-12-01T10:00:00Z"},
		{"notBefore beyond the horizon", rollout.Schedule{NotBefore: timePtr(t, "2031-01-01T00:00:00Z")},
			"2026-12-01T00:00:00Z", rollout.ScheduleState{}, "2031-01-01T00:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cal := compileSchedule(t, tc.schedule)
			now := instant(t, tc.now)
			got, err := cal.Next(now, tc.state)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.Format(time.RFC3339))
			ok, reason := cal.Allowed(got, tc.state)
			assert.True(t, ok, "Next returned a time Allowed refuses: %s", reason)
		})
	}
}

func TestCalendarNextRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		schedule rollout.Schedule
		now      string
		state    rollout.ScheduleState
		is       error
		want     string
	}{
		{"maxOpenPRs reached", rollout.Schedule{MaxOpenPRs: 10}, "2026-12-01T10:00:00Z", rollout.ScheduleState{OpenPRs: 10},
			rollout.ErrTooManyOpenPRs, "10 pull requests are open, the cap is 10: too many open pull requests"},
		{"the next wave would pass maxOpenPRs", rollout.Schedule{MaxOpenPRs: 10}, "2026-12-01T10:00:00Z", rollout.ScheduleState{OpenPRs: 8, WavePRs: 3},
			rollout.ErrTooManyOpenPRs, "8 pull requests are open and the next wave opens 3, the cap is 10: too many open pull requests"},
		{"blacked out for years", rollout.Schedule{Timezone: berlin, Blackouts: []rollout.Blackout{{From: "2026-01-01", To: "2030-12-31"}}},
			"2026-12-01T00:00:00Z", rollout.ScheduleState{},
			rollout.ErrNoWindow, "from 2026-12-01 01:00 CET to 2028-12-01 01:00 CET: the schedule allows no wave"},
		{"a window only inside a blackout", rollout.Schedule{Timezone: newYork, Windows: []rollout.Window{window(sunday, "01:00", "02:00")},
			Blackouts: []rollout.Blackout{{From: "2026-01-01", To: "2029-01-01"}}},
			"2026-12-01T00:00:00Z", rollout.ScheduleState{},
			rollout.ErrNoWindow, "from 2026-11-30 19:00 EST to 2028-11-30 19:00 EST: the schedule allows no wave"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cal := compileSchedule(t, tc.schedule)
			got, err := cal.Next(instant(t, tc.now), tc.state)
			require.ErrorIs(t, err, tc.is)
			assert.Equal(t, tc.want, err.Error())
			assert.True(t, got.IsZero())
		})
	}
}

func TestCalendarAllowedReasons(t *testing.T) {
	t.Parallel()
	s := rollout.Schedule{
		Timezone:       berlin,
		NotBefore:      timePtr(t, "2026-12-01T00:00:00Z"),
		Windows:        []rollout.Window{window(weekdays, "09:00", "17:00")},
		Blackouts:      []rollout.Blackout{{From: "2026-12-20", To: "2027-01-05", Reason: "year-end freeze"}, {From: "2027-02-01", To: "2027-02-01"}},
		MaxOpenPRs:     5,
		MaxWavesPerDay: 2,
	}
	cal := compileSchedule(t, s)
	tests := []struct {
		name   string
		now    string
		state  rollout.ScheduleState
		ok     bool
		reason string
	}{
		{"before notBefore", "2026-11-30T10:00:00Z", rollout.ScheduleState{}, false, "before notBefore (2026-12-01 01:00 CET)"},
		{"in a window", "2026-12-01T10:00:00Z", rollout.ScheduleState{}, true, ""},
		{"outside the windows", "2026-12-01T17:00:00Z", rollout.ScheduleState{}, false, "outside the maintenance windows"},
		{"in a blackout with a reason", "2026-12-31T10:00:00Z", rollout.ScheduleState{}, false, "in the blackout 2026-12-20 to 2027-01-05 (year-end freeze)"},
		{"in a one-day blackout", "2027-02-01T10:00:00Z", rollout.ScheduleState{}, false, "in the blackout 2027-02-01 to 2027-02-01"},
		{"waves per day", "2026-12-01T12:00:00Z", rollout.ScheduleState{WavesStarted: instants(t, "2026-12-01T08:00:00Z", "2026-12-01T10:00:00Z")},
			false, "2 waves already started on 2026-12-01 (Europe/Berlin), the cap is 2 a day"},
		{"open pull requests", "2026-12-01T12:00:00Z", rollout.ScheduleState{OpenPRs: 5}, false, "5 pull requests are open, the cap is 5"},
		{"the next wave's pull requests", "2026-12-01T12:00:00Z", rollout.ScheduleState{OpenPRs: 3, WavePRs: 3}, false,
			"3 pull requests are open and the next wave opens 3, the cap is 5"},
		{"the next wave's pull requests fit", "2026-12-01T12:00:00Z", rollout.ScheduleState{OpenPRs: 3, WavePRs: 2}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, reason := cal.Allowed(instant(t, tc.now), tc.state)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.reason, reason)
		})
	}
}

func TestCalendarWindowEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		schedule rollout.Schedule
		at       string
		want     string // empty: the zero Time
	}{
		{"a normal window", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(tueToThu, "02:00", "05:00")}},
			"2026-12-01T02:00:00Z", "2026-12-01T05:00:00+01:00"},
		{"outside a window it is the instant itself", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(tueToThu, "02:00", "05:00")}},
			"2026-12-01T10:00:00Z", "2026-12-01T11:00:00+01:00"},
		{"cross-midnight", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window([]string{"Fri"}, "22:00", "02:00")}},
			"2026-12-04T22:00:00Z", "2026-12-05T02:00:00+01:00"},
		{"overlapping windows count as one", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{
			window([]string{"Fri"}, "22:00", "02:00"), window([]string{"Sat"}, "00:00", "03:00")}},
			"2026-12-04T22:00:00Z", "2026-12-05T03:00:00+01:00"},
		{"a blackout ends an open calendar", rollout.Schedule{Timezone: berlin, Blackouts: []rollout.Blackout{{From: "2026-12-20", To: "2027-01-05"}}},
			"2026-12-18T12:00:00Z", "2026-12-20T00:00:00+01:00"},
		{"a blackout cuts a window short", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(sunday, "22:00", "02:00")},
			Blackouts: []rollout.Blackout{{From: "2026-12-21", To: "2026-12-21"}}},
			"2026-12-20T21:30:00Z", "2026-12-21T00:00:00+01:00"},
		{"Berlin spring forward: 01:00-04:00 lasts two hours", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(sunday, "01:00", "04:00")}},
			"2027-03-28T00:00:00Z", "2027-03-28T04:00:00+02:00"},
		{"Berlin spring forward: a window ending at 02:30 ends at the jump", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window([]string{"Sat"}, "23:00", "02:30")}},
			"2027-03-27T22:00:00Z", "2027-03-28T03:00:00+02:00"},
		{"Berlin fall back: 02:00-03:00 lasts two hours", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(sunday, "02:00", "03:00")}},
			"2026-10-25T00:00:00Z", "2026-10-25T03:00:00+01:00"},
		{"Berlin fall back: the first 02:30-02:45", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(sunday, "02:30", "02:45")}},
			"2027-10-31T00:30:00Z", "2027-10-31T02:45:00+02:00"},
		{"New York fall back: 01:30-02:30 pauses at the repeat of 01:00", rollout.Schedule{Timezone: newYork, Windows: []rollout.Window{window(sunday, "01:30", "02:30")}},
			"2026-11-01T05:30:00Z", "2026-11-01T01:00:00-05:00"},
		{"nothing closes", rollout.Schedule{Timezone: berlin}, "2026-12-01T00:00:00Z", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cal := compileSchedule(t, tc.schedule)
			got := cal.WindowEnd(instant(t, tc.at))
			if tc.want == "" {
				assert.True(t, got.IsZero(), "got %s", got)
				return
			}
			assert.Equal(t, tc.want, got.Format(time.RFC3339))
		})
	}
}

func TestCalendarWaveStarts(t *testing.T) {
	t.Parallel()
	nightly := []rollout.Window{window(tueToThu, "02:00", "05:00")}
	tests := []struct {
		name     string
		schedule rollout.Schedule
		at       string
		waves    int
		perWave  time.Duration
		want     []string
		err      string
	}{
		{"two waves a night", rollout.Schedule{Timezone: berlin, Windows: nightly, MaxWavesPerDay: 2}, "2026-11-30T10:00:00Z", 5, time.Hour,
			[]string{"2026-12-01T02:00:00+01:00", "2026-12-01T03:00:00+01:00", "2026-12-02T02:00:00+01:00", "2026-12-02T03:00:00+01:00", "2026-12-03T02:00:00+01:00"}, ""},
		{"a wave that does not fit waits for the next window", rollout.Schedule{Timezone: berlin, Windows: nightly}, "2026-11-30T10:00:00Z", 4, 150 * time.Minute,
			[]string{"2026-12-01T02:00:00+01:00", "2026-12-01T04:30:00+01:00", "2026-12-02T02:00:00+01:00", "2026-12-02T04:30:00+01:00"}, ""},
		{"the sample campaign across the year-end freeze", rollout.Schedule{Timezone: berlin, NotBefore: timePtr(t, "2026-12-01T00:00:00Z"), Windows: nightly,
			Blackouts: []rollout.Blackout{{From: "2026-12-20", To: "2027-01-05"}}, MaxWavesPerDay: 4}, "2026-12-15T00:00:00Z", 8, 150 * time.Minute,
			[]string{"2026-12-15T02:00:00+01:00", "2026-12-15T04:30:00+01:00", "2026-12-16T02:00:00+01:00", "2026-12-16T04:30:00+01:00",
				"2026-12-17T02:00:00+01:00", "2026-12-17T04:30:00+01:00", "2027-01-06T02:00:00+01:00", "2027-01-06T04:30:00+01:00"}, ""},
		{"waiting for notBefore", rollout.Schedule{NotBefore: timePtr(t, "2026-12-01T00:00:00Z")}, "2026-11-01T00:00:00Z", 2, time.Hour,
			[]string{"2026-12-01T00:00:00Z", "2026-12-01T01:00:00Z"}, ""},
		{"no waves", rollout.Schedule{}, "2026-11-01T00:00:00Z", 0, time.Hour, []string{}, ""},
		{"the second wave never fits", rollout.Schedule{Timezone: berlin, Blackouts: []rollout.Blackout{{From: "2026-12-02", To: "2030-01-01"}}},
			"2026-12-01T10:00:00Z", 3, 24 * time.Hour, []string{"2026-12-01T11:00:00+01:00"},
			"wave 2 of 3: from 2026-12-02 11:00 CET to 2028-12-02 11:00 CET: the schedule allows no wave"},
		{"negative", rollout.Schedule{}, "2026-11-01T00:00:00Z", -1, time.Hour, nil,
			"wave starts: waves (-1) and the time per wave (1h0m0s) must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cal := compileSchedule(t, tc.schedule)
			got, err := cal.WaveStarts(instant(t, tc.at), tc.waves, tc.perWave)
			if tc.err != "" {
				require.Error(t, err)
				assert.Equal(t, tc.err, err.Error())
			} else {
				require.NoError(t, err)
			}
			var texts []string
			for _, s := range got {
				texts = append(texts, s.Format(time.RFC3339))
			}
			if tc.want != nil && len(tc.want) == 0 {
				assert.Empty(t, texts)
				return
			}
			assert.Equal(t, tc.want, texts)
		})
	}
}

func TestScheduleCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		schedule rollout.Schedule
		want     string
	}{
		{"zone", rollout.Schedule{Timezone: "Mars/Base"}, `schedule timezone: "Mars/Base" is not an IANA time zone such as Europe/Berlin`},
		{"Local", rollout.Schedule{Timezone: "Local"}, `schedule timezone: "Local" depends on the machine fleetbot runs on: name an IANA time zone such as Europe/Berlin`},
		{"no days", rollout.Schedule{Windows: []rollout.Window{window(nil, "02:00", "03:00")}}, "schedule windows[0]: days is empty"},
		{"day", rollout.Schedule{Windows: []rollout.Window{window([]string{"Tuesday"}, "02:00", "03:00")}},
			`schedule windows[0]: days: "Tuesday" is not a day: use Mon, Tue, Wed, Thu, Fri, Sat or Sun`},
		{"24:00", rollout.Schedule{Windows: []rollout.Window{window(sunday, "22:00", "24:00")}}, `schedule windows[0]: end: "24:00" is not a time of day like "02:00"`},
		{"start", rollout.Schedule{Windows: []rollout.Window{window(sunday, "2am", "03:00")}}, `schedule windows[0]: start: "2am" is not a time of day like "02:00"`},
		{"no length", rollout.Schedule{Windows: []rollout.Window{window(sunday, "03:00", "3:00")}}, `schedule windows[0]: end: equals start (03:00): a window needs a length`},
		{"blackout date", rollout.Schedule{Blackouts: []rollout.Blackout{{From: "20.12.2026", To: "2027-01-05"}}}, `schedule blackouts[0].from: "20.12.2026" is not a date like 2026-12-20`},
		{"blackout reversed", rollout.Schedule{Blackouts: []rollout.Blackout{{From: "2027-01-05", To: "2026-12-20"}}}, `schedule blackouts[0].to: 2026-12-20 is before from (2027-01-05)`},
		{"negative cap", rollout.Schedule{MaxOpenPRs: -1}, `schedule caps must be at least 0, not maxOpenPRs -1 and maxWavesPerDay 0`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.schedule.Compile()
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

// TestExampleSchedulesCompile checks that every sample campaign's schedule
// compiles, since the loader and Compile check the same things.
func TestExampleSchedulesCompile(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "examples", "campaigns", "*.yaml"))
	require.NoError(t, err)
	valid, err := filepath.Glob(filepath.Join("testdata", "campaigns", "valid", "*.yaml"))
	require.NoError(t, err)
	for _, file := range append(files, valid...) {
		t.Run(filepath.ToSlash(file), func(t *testing.T) {
			t.Parallel()
			c, err := loadCampaignFile(file)
			require.NoError(t, err)
			_, err = c.Spec.Schedule.Compile()
			require.NoError(t, err)
		})
	}
}

// randomSchedule draws a schedule over zones with unusual offsets and
// daylight saving rules.
func randomSchedule(r *rand.Rand) rollout.Schedule {
	zones := []string{"UTC", berlin, newYork, "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago", "Pacific/Chatham"}
	s := rollout.Schedule{Timezone: zones[r.IntN(len(zones))]}
	allDays := []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	for range r.IntN(4) {
		var days []string
		for _, d := range allDays {
			if r.IntN(3) == 0 {
				days = append(days, d)
			}
		}
		if len(days) == 0 {
			days = []string{allDays[r.IntN(7)]}
		}
		start, end := r.IntN(24*60), r.IntN(24*60)
		if r.IntN(2) == 0 {
			start, end = start/30*30, end/30*30
		}
		if start == end {
			end = (end + 30) % (24 * 60)
		}
		s.Windows = append(s.Windows, window(days, fmt.Sprintf("%02d:%02d", start/60, start%60), fmt.Sprintf("%02d:%02d", end/60, end%60)))
	}
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for range r.IntN(3) {
		from := base.AddDate(0, 0, r.IntN(420))
		s.Blackouts = append(s.Blackouts, rollout.Blackout{From: from.Format(time.DateOnly), To: from.AddDate(0, 0, r.IntN(15)).Format(time.DateOnly)})
	}
	if r.IntN(4) == 0 {
		nb := base.Add(time.Duration(r.Int64N(int64(420 * 24 * time.Hour))))
		s.NotBefore = &nb
	}
	s.MaxWavesPerDay = r.IntN(3)
	return s
}

// checkNextIsEarliest checks the property of Next: the time it returns is
// allowed, and neither now nor any whole minute between now and it (within
// span) is, nor the second before it.
func checkNextIsEarliest(t *testing.T, cal *rollout.Calendar, now time.Time, st rollout.ScheduleState, span time.Duration) {
	t.Helper()
	next, err := cal.Next(now, st)
	if err != nil {
		t.Fatalf("Next(%s): %v", now, err)
	}
	if next.Before(now) {
		t.Fatalf("Next(%s) = %s, before now", now, next)
	}
	if ok, why := cal.Allowed(next, st); !ok {
		t.Fatalf("Next(%s) = %s, which Allowed refuses: %s", now, next, why)
	}
	if !next.After(now) {
		return
	}
	if ok, _ := cal.Allowed(now, st); ok {
		t.Fatalf("Next(%s) = %s, but now is allowed", now, next)
	}
	if before := next.Add(-time.Second); !before.Before(now) {
		if ok, _ := cal.Allowed(before, st); ok {
			t.Fatalf("Next(%s) = %s, but %s is allowed", now, next, before)
		}
	}
	end := now.Add(span)
	if next.Before(end) {
		end = next
	}
	for m := now.Truncate(time.Minute).Add(time.Minute); m.Before(end); m = m.Add(time.Minute) {
		if ok, _ := cal.Allowed(m, st); ok {
			t.Fatalf("Next(%s) = %s, but %s is allowed", now, next, m)
		}
	}
}

func randomCase(r *rand.Rand) (rollout.Schedule, time.Time, rollout.ScheduleState) {
	s := randomSchedule(r)
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	now := base.Add(time.Duration(r.Int64N(int64(430 * 24 * time.Hour))))
	var st rollout.ScheduleState
	for range r.IntN(4) {
		st.WavesStarted = append(st.WavesStarted, now.Add(time.Duration(r.Int64N(int64(4*24*time.Hour)))-24*time.Hour))
	}
	return s, now, st
}

func TestCalendarNextProperty(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(2026, 12))
	for i := range 120 {
		s, now, st := randomCase(r)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			cal, err := s.Compile()
			require.NoError(t, err, "%+v", s)
			checkNextIsEarliest(t, cal, now, st, 8*24*time.Hour)
		})
	}
}

// TestCalendarWindowEndProperty checks WindowEnd against Allowed: with no
// caps, every minute from an allowed instant to its window's end is
// allowed, and the end is not.
func TestCalendarWindowEndProperty(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(10, 25))
	for i := range 120 {
		s, now, _ := randomCase(r)
		s.MaxWavesPerDay = 0
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			cal, err := s.Compile()
			require.NoError(t, err)
			start, err := cal.Next(now, rollout.ScheduleState{})
			require.NoError(t, err)
			end := cal.WindowEnd(start)
			limit := start.Add(8 * 24 * time.Hour)
			if !end.IsZero() {
				require.True(t, end.After(start), "WindowEnd(%s) = %s", start, end)
				ok, _ := cal.Allowed(end, rollout.ScheduleState{})
				require.False(t, ok, "WindowEnd(%s) = %s, which is allowed", start, end)
				ok, _ = cal.Allowed(end.Add(-time.Second), rollout.ScheduleState{})
				require.True(t, ok, "the second before WindowEnd(%s) = %s is not allowed", start, end)
				if end.Before(limit) {
					limit = end
				}
			}
			for m := start.Truncate(time.Minute).Add(time.Minute); m.Before(limit); m = m.Add(time.Minute) {
				ok, why := cal.Allowed(m, rollout.ScheduleState{})
				require.True(t, ok, "WindowEnd(%s) = %s, but %s is not allowed: %s", start, end, m, why)
			}
		})
	}
}

// FuzzCalendarNext draws calendars from the fuzzer's seed and checks the
// property of Next over a day.
func FuzzCalendarNext(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 2026, 1031} {
		f.Add(seed, seed*7)
	}
	f.Fuzz(func(t *testing.T, a, b uint64) {
		s, now, st := randomCase(rand.New(rand.NewPCG(a, b)))
		cal, err := s.Compile()
		if err != nil {
			t.Fatalf("compile %+v: %v", s, err)
		}
		checkNextIsEarliest(t, cal, now, st, 24*time.Hour)
	})
}

func BenchmarkCalendarNext(b *testing.B) {
	cases := []struct {
		name     string
		schedule rollout.Schedule
		now      string
	}{
		{"next week's window", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(tueToThu, "02:00", "05:00")}}, "2026-12-03T05:00:00Z"},
		{"after a three-week blackout", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(weekdays, "09:00", "17:00")},
			Blackouts: []rollout.Blackout{{From: "2026-12-20", To: "2027-01-05"}}}, "2026-12-18T16:30:00Z"},
		{"never, two years searched", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(tueToThu, "02:00", "05:00")},
			Blackouts: []rollout.Blackout{{From: "2026-01-01", To: "2030-12-31"}}}, "2026-12-01T00:00:00Z"},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			cal := compileSchedule(b, bc.schedule)
			now := instant(b, bc.now)
			for b.Loop() {
				_, _ = cal.Next(now, rollout.ScheduleState{})
			}
		})
	}
}

func BenchmarkParseCampaign(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("..", "examples", "campaigns", "eks-1-30.yaml"))
	require.NoError(b, err)
	for b.Loop() {
		if _, err := rollout.ParseCampaign("eks-1-30.yaml", src); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCheckSchedule: a campaign whose schedule allows no wave within the
// horizon is refused, naming spec.schedule; one that allows a wave, however
// far ahead within it, is not.
func TestCheckSchedule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		schedule rollout.Schedule
		want     string
	}{
		{"no schedule", rollout.Schedule{}, ""},
		{"a window next week", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(sunday, "01:00", "02:00")}}, ""},
		{"notBefore a year ahead", rollout.Schedule{NotBefore: timePtr(t, "2027-12-01T00:00:00Z")}, ""},
		{"notBefore three years ahead: the horizon starts there", rollout.Schedule{NotBefore: timePtr(t, "2029-12-01T00:00:00Z")}, ""},
		{"a blackout over every window", rollout.Schedule{Timezone: berlin, Windows: []rollout.Window{window(sunday, "01:00", "02:00")},
			Blackouts: []rollout.Blackout{{From: "2026-01-01", To: "2030-12-31"}}},
			"spec.schedule: from 2026-12-01 01:00 CET to 2028-12-01 01:00 CET: the schedule allows no wave: change its windows or blackouts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &rollout.Campaign{Spec: rollout.Spec{Schedule: tc.schedule}}
			err := rollout.CheckSchedule(c, instant(t, "2026-12-01T00:00:00Z"))
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			var fe *rollout.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "spec.schedule", fe.Field)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}
