package bot

import (
	"context"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/webhooks"
)

var _ webhooks.Screener = (*Bot)(nil)

// Ignores tells the intake, before it decodes a delivery, that Handle would
// ignore it: a comment that holds no `/fleet` line, and news of a commit
// (a check run, check suite, status or review) while no campaign is in
// flight. It counts the delivery ignored, as Handle would. Anything else,
// a store that cannot be read included, is decoded and handled.
func (b *Bot) Ignores(ctx context.Context, event string, payload []byte) bool {
	ignored := false
	switch event {
	case "issue_comment":
		ignored = !webhooks.MayHoldCommand(payload)
	case "check_run", "check_suite", "status", "pull_request_review":
		names, err := b.campaignsWhere(ctx, func(rollout.State) bool { return true })
		ignored = err == nil && len(names) == 0
	}
	if ignored {
		b.metrics.webhooks.WithLabelValues(event, "ignored").Inc()
	}
	return ignored
}
