// Package gitops reads and edits the files that describe a fleet: layout files,
// tenant blueprints, fleet-member files and the fleet-secret label hierarchy. It
// builds the inventory of clusters from one or more repositories and reports
// what it cannot trust, naming file and line. It never decides what to change;
// rollout does.
package gitops
