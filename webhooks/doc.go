// Package webhooks is the HTTP intake of the GitHub App: it verifies each
// delivery's signature, persists it before answering and hands it to a queue
// whose workers call the bot's Handler, retrying with backoff and leaving what
// still fails pending in the store for the next start. It also decodes the
// payloads of the events fleetbot handles (Parse, with encoding/json, not
// go-github) and the `/fleet` lines of comments (ParseCommands), and serves
// the health, readiness and metrics routes beside the intake (NewMux). It
// never acts on an event itself; bot does.
package webhooks
