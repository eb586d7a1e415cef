package rollout

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"
	_ "time/tzdata" // IANA zones on images without /usr/share/zoneinfo
)

// ScheduleHorizon bounds how far Next, WindowEnd and WaveStarts look ahead:
// two years, so a schedule that never opens is an error, not a hang.
const ScheduleHorizon = 731 * 24 * time.Hour

var (
	// ErrTooManyOpenPRs reports that the cap on open pull requests holds the
	// next wave back. Only a pull request closing lifts it, which a calendar
	// cannot foresee: the caller asks again when one closes.
	ErrTooManyOpenPRs = errors.New("too many open pull requests")
	// ErrNoWindow reports that the schedule allows no wave within
	// ScheduleHorizon.
	ErrNoWindow = errors.New("the schedule allows no wave")
)

// ScheduleState is what the caller knows when it asks the calendar.
type ScheduleState struct {
	// OpenPRs counts the campaign's pull requests open now.
	OpenPRs int
	// WavePRs counts the pull requests the next wave would open; 0 is read
	// as 1. A wave larger than the cap starts only when none is open.
	WavePRs int
	// WavesStarted lists when earlier waves started; those on the same
	// calendar day (in the schedule's zone) count against MaxWavesPerDay.
	WavesStarted []time.Time
}

// Calendar answers when a wave may start. It is built by Schedule.Compile
// and is safe for concurrent use.
//
// Windows are read by the wall clock of the schedule's zone: an instant is
// inside a window when its local time is. A window's day is the day it
// starts, so Fri 22:00-02:00 runs to 02:00 on Saturday. On the day clocks
// go forward, wall-clock times that do not exist are in no window (a
// 02:00-03:00 window in Europe/Berlin vanishes on 2027-03-28, 01:00-04:00
// lasts two hours); on the day they go back, times that occur twice are in
// the window both times (02:00-03:00 lasts two hours on 2026-10-25).
type Calendar struct {
	loc            *time.Location
	notBefore      time.Time
	windows        []calendarWindow
	blackouts      []calendarBlackout
	maxOpenPRs     int
	maxWavesPerDay int
	// bounds holds the seconds of the day at which a window starts or
	// ends, and 0, sorted: between two of them, on one side of a zone
	// change, whether a wave may start cannot change.
	bounds []int
}

type calendarWindow struct {
	days       [7]bool // by time.Weekday
	start, end int     // seconds of the day
}

type calendarBlackout struct {
	from, to int // dates as YYYYMMDD
	text     string
}

// Compile checks s and returns its Calendar.
func (s Schedule) Compile() (*Calendar, error) {
	c := &Calendar{loc: time.UTC, maxOpenPRs: s.MaxOpenPRs, maxWavesPerDay: s.MaxWavesPerDay, bounds: []int{0}}
	if s.Timezone != "" {
		loc, err := scheduleZone(s.Timezone)
		if err != nil {
			return nil, fmt.Errorf("schedule timezone: %w", err)
		}
		c.loc = loc
	}
	if s.NotBefore != nil {
		c.notBefore = *s.NotBefore
	}
	if s.MaxOpenPRs < 0 || s.MaxWavesPerDay < 0 {
		return nil, fmt.Errorf("schedule caps must be at least 0, not maxOpenPRs %d and maxWavesPerDay %d", s.MaxOpenPRs, s.MaxWavesPerDay)
	}
	for i, w := range s.Windows {
		cw, err := compileWindow(w)
		if err != nil {
			return nil, fmt.Errorf("schedule windows[%d]: %w", i, err)
		}
		c.windows = append(c.windows, cw)
		c.bounds = append(c.bounds, cw.start, cw.end)
	}
	slices.Sort(c.bounds)
	c.bounds = slices.Compact(c.bounds)
	for i, b := range s.Blackouts {
		from, err := scheduleDate(b.From)
		if err != nil {
			return nil, fmt.Errorf("schedule blackouts[%d].from: %w", i, err)
		}
		to, err := scheduleDate(b.To)
		if err != nil {
			return nil, fmt.Errorf("schedule blackouts[%d].to: %w", i, err)
		}
		if to < from {
			return nil, fmt.Errorf("schedule blackouts[%d].to: %s is before from (%s)", i, b.To, b.From)
		}
		text := b.From + " to " + b.To
		if b.Reason != "" {
			text += " (" + b.Reason + ")"
		}
		c.blackouts = append(c.blackouts, calendarBlackout{from: from, to: to, text: text})
	}
	return c, nil
}

func compileWindow(w Window) (calendarWindow, error) {
	var cw calendarWindow
	if len(w.Days) == 0 {
		return cw, errors.New("days is empty")
	}
	for _, d := range w.Days {
		wd, err := scheduleDay(d)
		if err != nil {
			return cw, fmt.Errorf("days: %w", err)
		}
		cw.days[wd] = true
	}
	var err error
	if cw.start, err = scheduleClock(w.Start); err != nil {
		return cw, fmt.Errorf("start: %w", err)
	}
	if cw.end, err = scheduleClock(w.End); err != nil {
		return cw, fmt.Errorf("end: %w", err)
	}
	if cw.start == cw.end {
		return cw, fmt.Errorf("end: equals start (%s): a window needs a length", w.Start)
	}
	return cw, nil
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Allowed reports whether a new wave may start at now, and if not, why, in
// words for a status comment. The reason is empty when ok.
func (c *Calendar) Allowed(now time.Time, st ScheduleState) (ok bool, reason string) {
	if ok, why := c.open(now); !ok {
		return false, why
	}
	if ok, why := c.underDailyCap(now, st); !ok {
		return false, why
	}
	if !c.prsFit(st) {
		return false, c.prsReason(st)
	}
	return true, ""
}

// Next returns the earliest instant at or after now when a new wave may
// start, in the calendar's zone. When the cap on open pull requests holds
// the wave back it returns ErrTooManyOpenPRs (ask again when a pull request
// closes, or pass OpenPRs 0 to learn when the calendar itself would allow
// it); when nothing allows a wave within ScheduleHorizon, ErrNoWindow.
func (c *Calendar) Next(now time.Time, st ScheduleState) (time.Time, error) {
	if !c.prsFit(st) {
		return time.Time{}, fmt.Errorf("%s: %w", c.prsReason(st), ErrTooManyOpenPRs)
	}
	t := now
	if t.Before(c.notBefore) {
		t = c.notBefore
	}
	limit := t.Add(ScheduleHorizon)
	for !t.After(limit) {
		if ok, _ := c.Allowed(t, st); ok {
			return t.In(c.loc), nil
		}
		t = c.nextChange(t)
	}
	return time.Time{}, fmt.Errorf("from %s to %s: %w", c.format(now), c.format(limit), ErrNoWindow)
}

// CheckSchedule refuses campaign c when its schedule allows no wave within
// ScheduleHorizon of now, or of its notBefore (a blackout over every
// window, say): started, it would hold its clusters and wait for nothing.
func CheckSchedule(c *Campaign, now time.Time) error {
	cal, err := c.Spec.Schedule.Compile()
	if err != nil {
		return &FieldError{Field: "spec.schedule", Reason: err.Error()}
	}
	if _, err := cal.Next(now, ScheduleState{}); errors.Is(err, ErrNoWindow) {
		return &FieldError{Field: "spec.schedule", Reason: err.Error() + ": change its windows or blackouts"}
	}
	return nil
}

// WindowEnd returns the first instant at or after t when notBefore, the
// windows or the blackouts stop allowing a wave: t itself when they do not
// allow one at t, and the zero Time when nothing closes within
// ScheduleHorizon (no windows and no blackouts ahead). Adjacent and
// overlapping windows count as one.
func (c *Calendar) WindowEnd(t time.Time) time.Time {
	if ok, _ := c.open(t); !ok {
		return t.In(c.loc)
	}
	limit := t.Add(ScheduleHorizon)
	for u := c.nextChange(t); !u.After(limit); u = c.nextChange(u) {
		if ok, _ := c.open(u); !ok {
			return u.In(c.loc)
		}
	}
	return time.Time{}
}

// WaveStarts returns when each of waves waves could start from at, each
// lasting perWave (bake plus the time a wave is expected to take): a wave
// starts at the first instant the calendar allows after the previous one
// ended, honouring notBefore, windows, blackouts and MaxWavesPerDay; the
// cap on open pull requests is left out, since a finished wave closed its
// pull requests. A window bounds when a wave starts, not how long it runs.
// When a wave cannot be placed within ScheduleHorizon it returns the starts
// placed so far and an error naming the wave.
func (c *Calendar) WaveStarts(at time.Time, waves int, perWave time.Duration) ([]time.Time, error) {
	if waves < 0 || perWave < 0 {
		return nil, fmt.Errorf("wave starts: waves (%d) and the time per wave (%s) must not be negative", waves, perWave)
	}
	starts := make([]time.Time, 0, waves)
	t := at
	for i := range waves {
		s, err := c.Next(t, ScheduleState{WavesStarted: starts})
		if err != nil {
			return starts, fmt.Errorf("wave %d of %d: %w", i+1, waves, err)
		}
		starts = append(starts, s)
		t = s.Add(perWave)
	}
	return starts, nil
}

// open applies the rules of time alone: notBefore, blackouts and windows.
func (c *Calendar) open(t time.Time) (bool, string) {
	if t.Before(c.notBefore) {
		return false, "before notBefore (" + c.format(c.notBefore) + ")"
	}
	lt := t.In(c.loc)
	day := calendarDate(lt)
	for _, b := range c.blackouts {
		if day >= b.from && day <= b.to {
			return false, "in the blackout " + b.text
		}
	}
	if !c.inWindow(lt) {
		return false, "outside the maintenance windows"
	}
	return true, ""
}

// inWindow reports whether the wall-clock time lt is inside a window.
func (c *Calendar) inWindow(lt time.Time) bool {
	if len(c.windows) == 0 {
		return true
	}
	sod := lt.Hour()*3600 + lt.Minute()*60 + lt.Second()
	today := lt.Weekday()
	yesterday := (today + 6) % 7
	for _, w := range c.windows {
		if w.start < w.end {
			if w.days[today] && sod >= w.start && sod < w.end {
				return true
			}
			continue
		}
		if (w.days[today] && sod >= w.start) || (w.days[yesterday] && sod < w.end) {
			return true
		}
	}
	return false
}

func (c *Calendar) underDailyCap(t time.Time, st ScheduleState) (bool, string) {
	if c.maxWavesPerDay == 0 {
		return true, ""
	}
	day := calendarDate(t.In(c.loc))
	n := 0
	for _, s := range st.WavesStarted {
		if calendarDate(s.In(c.loc)) == day {
			n++
		}
	}
	if n < c.maxWavesPerDay {
		return true, ""
	}
	return false, fmt.Sprintf("%d waves already started on %s (%s), the cap is %d a day",
		n, t.In(c.loc).Format(time.DateOnly), c.loc, c.maxWavesPerDay)
}

func (c *Calendar) prsFit(st ScheduleState) bool {
	if c.maxOpenPRs == 0 || st.OpenPRs <= 0 {
		return true
	}
	return st.OpenPRs+max(st.WavePRs, 1) <= c.maxOpenPRs
}

func (c *Calendar) prsReason(st ScheduleState) string {
	if st.WavePRs > 1 {
		return fmt.Sprintf("%d pull requests are open and the next wave opens %d, the cap is %d", st.OpenPRs, st.WavePRs, c.maxOpenPRs)
	}
	return fmt.Sprintf("%d pull requests are open, the cap is %d", st.OpenPRs, c.maxOpenPRs)
}

// nextChange returns the first instant after t at which the answer of
// Allowed may differ from its answer at t: the next window boundary or
// midnight by the wall clock, a change of the zone's offset, or notBefore.
func (c *Calendar) nextChange(t time.Time) time.Time {
	lt := t.In(c.loc)
	_, offset := lt.Zone()
	_, zoneEnd := lt.ZoneBounds()
	sod := lt.Hour()*3600 + lt.Minute()*60 + lt.Second()
	next := 24 * 3600
	for _, b := range c.bounds {
		if b > sod {
			next = b
			break
		}
	}
	// Step in wall time, read as UTC, then take the offset back out: the
	// offset holds until zoneEnd.
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC)
	cand := day.Add(time.Duration(next-offset) * time.Second)
	if !zoneEnd.IsZero() && zoneEnd.Before(cand) {
		cand = zoneEnd
	}
	if c.notBefore.After(t) && c.notBefore.Before(cand) {
		cand = c.notBefore
	}
	return cand
}

func (c *Calendar) format(t time.Time) string {
	return t.In(c.loc).Format("2006-01-02 15:04 MST")
}

func calendarDate(t time.Time) int {
	return t.Year()*10000 + int(t.Month())*100 + t.Day()
}

var scheduleDays = map[string]time.Weekday{
	"Mon": time.Monday, "Tue": time.Tuesday, "Wed": time.Wednesday, "Thu": time.Thursday,
	"Fri": time.Friday, "Sat": time.Saturday, "Sun": time.Sunday,
}

// scheduleDay reads a day name: Mon, Tue, Wed, Thu, Fri, Sat or Sun.
func scheduleDay(s string) (time.Weekday, error) {
	if d, ok := scheduleDays[s]; ok {
		return d, nil
	}
	return 0, fmt.Errorf("%q is not a day: use Mon, Tue, Wed, Thu, Fri, Sat or Sun", s)
}

var clockRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([01]?[0-9]|2[0-3]):([0-5][0-9])$`) })

// scheduleClock reads a wall-clock time "HH:MM" (or "H:MM") as seconds of
// the day.
func scheduleClock(s string) (int, error) {
	m := clockRE().FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a time of day like \"02:00\"", s)
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return h*3600 + mi*60, nil
}

var dateRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`) })

// scheduleDate reads a calendar date "YYYY-MM-DD" as YYYYMMDD.
func scheduleDate(s string) (int, error) {
	if dateRE().MatchString(s) {
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			return calendarDate(t), nil
		}
	}
	return 0, fmt.Errorf("%q is not a date like 2026-12-20", s)
}

var zoneRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][-A-Za-z0-9_+]*(/[-A-Za-z0-9_+]+)*$`) })

// scheduleZone loads an IANA time zone; "Local" is refused, since it names
// whatever machine runs fleetbot.
func scheduleZone(s string) (*time.Location, error) {
	switch s {
	case "":
		return nil, errors.New("is empty: name an IANA time zone such as Europe/Berlin, or leave timezone out for UTC")
	case "Local":
		return nil, errors.New(`"Local" depends on the machine fleetbot runs on: name an IANA time zone such as Europe/Berlin`)
	}
	if zoneRE().MatchString(s) {
		if loc, err := time.LoadLocation(s); err == nil {
			return loc, nil
		}
	}
	return nil, fmt.Errorf("%q is not an IANA time zone such as Europe/Berlin", s)
}
