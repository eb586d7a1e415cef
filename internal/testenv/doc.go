// Package testenv finds and starts the tools that tests use in place of
// remote services or a person: the npm packages installed by `make deps`
// under tools/npm (dynalite, GitHub's OpenAPI description, webhook
// examples), and Debian's prometheus and chromium (a headless browser that
// loads the status page). It is imported by tests only. A missing tool
// fails the test with the command that installs it; nothing here skips.
package testenv
