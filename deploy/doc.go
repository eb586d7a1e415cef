// Package deploy holds what registering fleetbot with GitHub takes beyond
// the binary: the GitHub App manifest (github-app.json, embedded), with the
// permissions and webhook events `fleetbot serve` needs and no others, and
// the HTML form of GitHub's manifest flow. Its tests prove the manifest and
// the code agree: every event the webhook intake handles is subscribed,
// every REST operation the GitHub client calls is open to GitHub Apps, and
// the permissions granted are exactly those the calls and events need. The
// CLI prints the manifest, and the sandbox GitHub reports its permissions and
// events for its App. It must not talk to GitHub.
package deploy
