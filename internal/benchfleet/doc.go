// Package benchfleet writes the generated seed-format fleets the
// benchmarks of the inventory and of `fleetbot plan`, and the campaigns at
// scale (opening a wave, the GitHub API budget), run on: tenants with one
// blueprint per environment, the four-level fleet-secret label hierarchy,
// one cluster in five with its own label file, and optionally two
// hierarchies of add-on values, owners, AWS accounts, fewer canaries and
// fleets, or no label files. A fleet is generated once per size and kept
// in the temporary directory, so that a benchmark of 100,000 clusters does
// not spend its first minute writing files.
//
// It writes files only; it knows nothing of the inventory that reads them.
package benchfleet
