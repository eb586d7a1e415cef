// Package testenv finds and starts the tools that tests use in place of
// remote services: the npm packages installed by `make deps` under
// tools/npm (dynalite, GitHub's OpenAPI description, webhook examples). It is
// imported by tests only. A missing tool fails the test with the command that
// installs it; nothing here skips.
package testenv
