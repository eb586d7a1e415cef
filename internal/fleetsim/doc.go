// Package fleetsim simulates what happens to a fleet after a change merges
// in its repository, for the demo and the end-to-end tests: it follows the
// branch through git, and for each new commit plays Terraform CI (a check
// run per changed, added or removed cluster on the commit, then the new EKS
// version in the EKS fake and the new labels on the Argo CD cluster, a new
// cluster in both, a removed one deleted from both) and Argo CD (every
// cluster's applications synced to the head). Time runs on a Clock that may
// be compressed, so a demo of hours takes minutes and a test seconds.
//
// It only plays the fakes' world: it writes to the fakes and to the
// sandbox's check runs, and never to the repository.
package fleetsim
