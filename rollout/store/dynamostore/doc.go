// Package dynamostore keeps fleetbot's state in one DynamoDB table, so several
// replicas can share it. It implements store.Store and nothing else: every
// write is a conditional operation on one item (versions, locks, lease tokens,
// the token that last wrote a record), and AWS errors are turned
// into the store package's errors here, at the edge. The item layout is in
// docs/store.md.
package dynamostore
