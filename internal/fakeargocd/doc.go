// Package fakeargocd is a small Argo CD API server for tests and the demo:
// it serves the read-only part of Argo CD's REST API the argocd gate uses
// (listing and getting applications, listing clusters), requires a bearer
// token as Argo CD does, and lets its owner set applications and clusters,
// simulate a sync and remove a cluster with its applications. Its tests check every request and response against
// Argo CD's own Swagger description (package argocontract), so the fake
// cannot drift from the real API unnoticed. It holds everything in memory
// and never talks to a cluster.
package fakeargocd
