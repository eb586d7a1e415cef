package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// work is one worker: it handles queued deliveries until the queue is
// drained after Shutdown, or until ctx ends.
func (in *Intake) work(ctx context.Context) {
	defer in.workers.Done()
	for ctx.Err() == nil {
		select {
		case d := <-in.queue:
			in.process(ctx, d)
			continue
		default:
		}
		// The queue is empty.
		select {
		case <-in.draining:
			return
		default:
		}
		if in.takeSpill() {
			if _, err := in.load(ctx, false); err != nil {
				in.log.Error("read pending webhook deliveries", "err", err)
			}
			continue
		}
		select {
		case d := <-in.queue:
			in.process(ctx, d)
		case <-in.draining:
		case <-ctx.Done():
		}
	}
}

// takeSpill reports whether deliveries were left in the store for want of
// room in the queue, and forgets it: the caller reads them again.
func (in *Intake) takeSpill() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	s := in.spilled
	in.spilled = false
	return s
}

// process handles one delivery: parse, call the handler (again after a
// backoff while attempts remain), mark it processed. A delivery that is not
// marked stays pending in the store.
func (in *Intake) process(ctx context.Context, d store.Delivery) {
	in.metrics.queueDepth.Dec()
	if ctx.Err() != nil {
		in.release(d.ID, stopped)
		return
	}
	in.trace(ctx, "webhook handling", d)
	if s, ok := in.cfg.Handler.(Screener); ok && s.Ignores(ctx, d.Event, d.Payload) {
		in.finish(ctx, d, ResultProcessed)
		return
	}
	ev, err := Parse(d.Event, d.ID, d.Payload)
	switch {
	case errors.Is(err, ErrUnhandled):
		// Stored by a version of fleetbot that handled this event: there
		// is nothing left to do with it.
		in.logOf(d).Info("stored webhook no longer handled")
		in.finish(ctx, d, ResultUnhandled)
		return
	case err != nil:
		in.logOf(d).Error("stored webhook left pending: payload does not decode", "err", err)
		in.metrics.count(d.Event, ResultFailed)
		in.release(d.ID, gaveUp)
		return
	}
	for attempt := 1; ; attempt++ {
		err := in.handle(ctx, ev)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			in.logOf(d).Info("webhook left pending: intake stopping", "attempt", attempt, "err", err)
			in.release(d.ID, stopped)
			return
		}
		if attempt >= in.cfg.Attempts {
			in.logOf(d).Error("webhook left pending after its last attempt", "attempts", attempt, "err", err)
			in.metrics.count(d.Event, ResultFailed)
			in.release(d.ID, gaveUp)
			return
		}
		wait := in.backoff(attempt)
		in.logOf(d).Warn("webhook handler failed; retrying", "attempt", attempt, "retry_in", wait, "err", err)
		if !sleep(ctx, wait) {
			in.logOf(d).Info("webhook left pending: intake stopping", "attempt", attempt)
			in.release(d.ID, stopped)
			return
		}
	}
	in.finish(ctx, d, ResultProcessed)
}

// logOf is the intake's logger naming d. Only a delivery that has
// something to say pays for it: the many that do not are handled without
// formatting a logger each.
func (in *Intake) logOf(d store.Delivery) *slog.Logger {
	return in.log.With("delivery", d.ID, "event", d.Event)
}

// finish marks d processed, even when ctx ended meanwhile: the handler's
// work is done and should not be repeated. The mark is written while the
// worker goes on to its next delivery, so the marks of many deliveries
// share one synced write and no worker waits for the disk; d stays active,
// never queued again, until its mark is written. At most marksPerWorker
// marks per worker are being written at once.
func (in *Intake) finish(ctx context.Context, d store.Delivery, result string) {
	in.marks <- struct{}{}
	in.workers.Add(1) // Shutdown waits for the mark as for a worker
	go func() {
		defer in.workers.Done()
		defer func() { <-in.marks }()
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		err := in.cfg.Store.MarkProcessed(mctx, d.ID)
		cancel()
		if err != nil {
			in.logOf(d).Error("webhook handled but not marked processed; it will be handled again", "err", err)
			in.metrics.count(d.Event, ResultFailed)
			in.release(d.ID, gaveUp)
			return
		}
		in.metrics.count(d.Event, result)
		in.release(d.ID, done)
		in.trace(ctx, "webhook processed", d)
	}()
}

// trace logs, at debug level, a step of d's handling: across restarts the
// records say how often each delivery was taken up, and that it was done.
func (in *Intake) trace(ctx context.Context, msg string, d store.Delivery) {
	if in.log.Enabled(ctx, slog.LevelDebug) {
		in.log.LogAttrs(ctx, slog.LevelDebug, msg, slog.String("delivery", d.ID), slog.String("event", d.Event))
	}
}

// marksPerWorker bounds the marks being written per worker: enough that
// the workers keep handling deliveries while one synced write carries the
// marks of those just handled.
const marksPerWorker = 4

// How a worker let go of a delivery.
const (
	done    = iota // marked processed
	gaveUp         // left pending after its last attempt: only Retry queues it again
	stopped        // left pending because the intake stopped
)

// release lets a delivery be queued again.
func (in *Intake) release(id string, how int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	delete(in.active, id)
	switch how {
	case done:
		if in.loads > 0 {
			in.finished[id] = true
		}
	case gaveUp:
		in.given[id] = true
	case stopped:
		in.dropped++
	}
}

// handle makes one call of the handler, bounded by HandleTimeout. A panic
// is turned into an error so one bad event does not stop the process.
func (in *Intake) handle(ctx context.Context, ev Event) (err error) {
	hctx, cancel := context.WithTimeout(ctx, in.cfg.HandleTimeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			in.log.Error("webhook handler panicked", "event", ev.Info().Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", p)
		}
		in.metrics.processing.WithLabelValues(ev.Info().Name).Observe(time.Since(start).Seconds())
	}()
	return in.cfg.Handler.Handle(hctx, ev)
}

// backoff is the wait after the given failed attempt: Backoff, doubled for
// each attempt after the first, at most maxBackoff.
func (in *Intake) backoff(attempt int) time.Duration {
	d := in.cfg.Backoff
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// sleep waits for d and reports whether ctx was still alive after it.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
