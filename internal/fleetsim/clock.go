package fleetsim

import (
	"context"
	"math"
	"time"
)

// Clock is compressed time: it starts at Start and runs Factor times as
// fast as the wall clock. A nil *Clock is the wall clock.
type Clock struct {
	start  time.Time
	wall   time.Time // when the clock was made, with its monotonic reading
	factor float64
}

// NewClock returns a clock reading start now and running factor times as
// fast as the wall clock. A factor that is not a positive number is 1.
func NewClock(start time.Time, factor float64) *Clock {
	if !(factor > 0) || math.IsInf(factor, 1) {
		factor = 1
	}
	return &Clock{start: start, wall: time.Now(), factor: factor}
}

// Now returns the simulated time.
func (c *Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c.start.Add(time.Duration(float64(time.Since(c.wall)) * c.factor))
}

// Factor is how many times as fast as the wall clock c runs (1 for nil).
func (c *Clock) Factor() float64 {
	if c == nil {
		return 1
	}
	return c.factor
}

// Real is the wall time d of simulated time takes. It rounds up, so
// sleeping Real(d) lets at least d of simulated time pass.
func (c *Clock) Real(d time.Duration) time.Duration {
	if c == nil || d <= 0 {
		return d
	}
	return time.Duration(math.Ceil(float64(d) / c.factor))
}

// Sleep waits d of simulated time or until ctx ends, whichever comes
// first; in the second case it returns ctx's error.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(c.Real(d))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
