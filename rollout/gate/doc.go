// Package gate checks that a cluster is really healthy after its pull
// request merged: each Gate looks at one outside system (Terraform CI's
// checks, Prometheus, ...) and returns a Result whose outcome the state
// machine records as a rollout.GateResult. The Runner runs every gate on
// every cluster of a wave, concurrently and bounded, and turns a provider's
// error or panic into a waiting result, never a failure: an outage of a
// monitoring system delays a rollout until its progress deadline, it does
// not fail clusters that may be healthy. One gate looks before the merge
// instead: Preflight asks EKS whether a cluster is ready for the next
// minor before it is put in a version pull request. A cluster the change
// removes (Target.Gone) is checked for being gone, or on its way out,
// instead of healthy.
//
// Gates only read; they never change a cluster, a repository or a cloud
// resource. Each reaches its system through a narrow interface or client
// given to its constructor, so tests run them against fakes or real local
// servers. The GitHub-backed gates declare what they read (Checks, Comparer)
// in their own plain types; the bot adapts its GitHub client to them, since
// nothing under rollout/ imports bot/.
package gate
