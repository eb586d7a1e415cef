// Package boltstore keeps fleetbot's state in one bbolt file, for a single
// replica. It implements store.Store and nothing else: one bucket per
// capability, every method one transaction that is synced to disk before it
// returns. The payloads of webhook deliveries are kept beside the file, in
// segment files synced before the transaction that names them, so that a
// backlog does not stay in memory with the file's map. The file is locked
// while open, so a second process is refused rather than sharing it.
package boltstore
