// Command fleetbot-server carries out the commands of fleetbot that talk to
// GitHub, AWS, Prometheus or a store: serve, store, campaign, sandbox, demo
// and plan --preflight. fleetbot runs it for them, so that the commands
// that only read and edit a fleet's files start without the clients these
// link. Each command lives in a file of its own and only wires the
// packages together.
package main
