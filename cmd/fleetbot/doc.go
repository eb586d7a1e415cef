// Command fleetbot upgrades fleets of Amazon EKS clusters through Git. It
// carries out the commands that read and edit a fleet's files (package
// cli) and runs fleetbot-server, installed beside it, for those that talk
// to GitHub, AWS, Prometheus or a store. Run `fleetbot --help` for the list.
package main
