// Package store declares where fleetbot keeps its state: versioned records
// (campaign state, serialised by the caller), per-cluster locks, leases with
// fencing tokens, and received webhook deliveries. It owns the contract and its
// errors only; the implementations live in boltstore (one replica, one file)
// and dynamostore (several replicas, one DynamoDB table), and storetest holds
// the conformance suite both must pass. Values are opaque bytes, so this
// package knows nothing of campaigns and must not import the rest of rollout.
package store
