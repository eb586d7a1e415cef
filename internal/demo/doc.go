// Package demo runs a whole campaign on this machine, with no account
// anywhere: the sandbox (a local GitHub over real repositories) holding the
// example fleet, a simulated fleet whose Terraform CI, Argo CD and EKS react
// to merges, and the real bot with its real gates pointed at local fakes. It
// plays the tenant owners who approve and merge each wave's pull requests,
// and prints what happens as a person would want to follow it.
//
// It owns the wiring and the telling, nothing else: every decision is the
// bot's, every fact comes from the sandbox, the fakes or the bot's state.
package demo
