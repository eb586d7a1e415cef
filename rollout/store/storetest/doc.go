// Package storetest is the conformance suite every store.Store
// implementation passes: records, locks, leases, fencing, deliveries and a
// restart, each against a fresh store. It is imported by tests only and holds
// no implementation of its own.
package storetest
