package dynamostore_test

import (
	"testing"

	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/rollout/store/dynamostore"
	"github.com/fleetbot/fleetbot/rollout/store/storetest"
)

// BenchmarkPut measures versioned state writes against dynalite on
// loopback: it shows the client and store overhead, not DynamoDB's latency.
func BenchmarkPut(b *testing.B) {
	storetest.BenchmarkPut(b, func(b *testing.B) store.Store {
		return dynamostore.New(testenv.DynamoDB(b), newTable(b))
	})
}

// BenchmarkDelivery measures storing a delivery and marking it processed
// against dynalite on loopback.
func BenchmarkDelivery(b *testing.B) {
	storetest.BenchmarkDelivery(b, func(b *testing.B) store.Store {
		return dynamostore.New(testenv.DynamoDB(b), newTable(b))
	})
}

// BenchmarkLargeState measures large states written and read back against
// dynalite on loopback; those over 300 KB go in parts.
func BenchmarkLargeState(b *testing.B) {
	storetest.BenchmarkLargeState(b, func(b *testing.B) store.Store {
		return dynamostore.New(testenv.DynamoDB(b), newTable(b))
	})
}
