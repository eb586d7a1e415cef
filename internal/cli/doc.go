// Package cli holds fleetbot's command line: the commands that read and
// edit a fleet's files (inventory, init, adopt, validate, set, plan, app,
// version), each in a file of its own (options, newXCmd, runX) that only
// wires the packages together: gitops reads and edits the fleet's files,
// rollout plans and decides. Program is either of the two programs built
// on it: fleetbot, which runs fleetbot-server for the commands that talk to
// GitHub, AWS, Prometheus or a store (server.go), and fleetbot-server,
// which carries those out too.
package cli
