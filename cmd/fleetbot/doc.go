// Command fleetbot upgrades fleets of Amazon EKS clusters through Git. Each
// sub-command lives in a file of its own (options, newXCmd, runX) and only
// wires the packages together: gitops reads and edits the fleet's files,
// rollout plans and decides. Run `fleetbot --help` for the list.
package main
