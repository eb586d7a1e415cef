// Package bot is the GitHub App: it turns GitHub events into rollout events and
// rollout actions into what GitHub shows (pull requests, comments, check runs,
// reviews). It decides nothing about the rollout itself; rollout does, and bot
// carries the decisions out through a thin client of ours around go-github.
package bot
