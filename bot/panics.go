package bot

import (
	"fmt"
	"runtime/debug"
)

// Where a panic was recovered: the values of fleetbot_panics_total's
// label.
const (
	panicWebhook   = "webhook"
	panicReconcile = "reconcile"
	panicOpen      = "open-pull-request"
	panicGate      = "gate"
	panicLease     = "lease"
)

// panicked turns p, a panic recovered where (panicWebhook, ...), into the
// error of what panicked (a phrase: "reconcile"), counts it and logs it at
// error level with attrs and stack: debug.Stack() taken in the deferred
// function that recovered it, which shows where it was raised. A panic is
// a bug; serve goes on, and the work it cut short is tried again as after
// an error.
func (b *Bot) panicked(where, what string, p any, stack []byte, attrs ...any) error {
	b.metrics.panics.WithLabelValues(where).Inc()
	b.log.Error(what+" panicked", append(attrs, "panic", fmt.Sprint(p), "stack", string(stack))...)
	return fmt.Errorf("%s panicked: %v (the log has where)", what, p)
}

// recovered runs f, the work of a goroutine that must outlive a bug in it
// (the renewal of a lease), and returns its error, or the panic that ended
// it as panicked's error.
func (b *Bot) recovered(where, what string, f func() error, attrs ...any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = b.panicked(where, what, p, debug.Stack(), attrs...)
		}
	}()
	return f()
}
