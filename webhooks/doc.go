// Package webhooks is the HTTP intake of the GitHub App: it verifies each
// delivery's signature, persists it before answering and hands it to a queue.
// It never acts on an event itself; bot does.
package webhooks
