// Package wave turns one planned pull request of a rollout wave into a pull
// request on GitHub, and keeps the local mirror of blueprint repositories
// that the edits are computed from. It writes only through GitHub's Git Data
// API (so commits are Verified) on branches it owns, checks that a tenant's
// pull request touches only that tenant's files, and is idempotent: calling
// Ensure again reuses what an earlier call made. It does not decide when a
// wave opens or what it changes; rollout does.
package wave
