// Package sandbox is a local, stateful stand-in for the part of GitHub's
// REST API that fleetbot uses, over real git repositories. It answers with
// GitHub's paths, status codes and JSON shapes, serves git smart HTTP at
// /OWNER/REPO.git, authenticates the App's JWT and installation tokens, and
// delivers signed webhooks for every change. It keeps its state in one
// directory so a restart continues where it stopped. It is a test and demo
// tool: it must never be exposed beyond loopback, and it must not be used by
// the bot's own code paths, which speak to GitHub through bot/gh alone.
//
// Sandbox-only extension: a request that carries the static token may add the
// header X-Sandbox-As: LOGIN to act as that user (for example a tenant owner
// approving a pull request). GitHub has no such header.
package sandbox
