// Package rollout owns campaigns: the campaign file, the planner that turns an
// inventory into waves, the state machine that moves a campaign through its
// states, the schedule, and the gates' verdicts. It is pure: no network, no
// disk and no clock it did not receive, so every rule can be tested with plain
// values.
package rollout
