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
)

// panicked turns p, a panic recovered where (panicWebhook, ...), into the
// error of what panicked (a phrase: "reconcile"), counts it and logs it at
// error level with its stack and attrs. Called from the deferred function
// that recovered it, so the stack shows where it was raised. A panic is a
// bug; serve goes on, and the work it cut short is tried again as after an
// error.
func (b *Bot) panicked(where, what string, p any, attrs ...any) error {
	b.metrics.panics.WithLabelValues(where).Inc()
	b.log.Error(what+" panicked", append(attrs, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))...)
	return fmt.Errorf("%s panicked: %v (the log has where)", what, p)
}
