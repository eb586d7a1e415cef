package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/rollout/store/boltstore"
	"github.com/fleetbot/fleetbot/rollout/store/storetest"
)

// openBench opens a fresh store for a benchmark, closed at its end.
func openBench(b *testing.B) store.Store {
	s, err := boltstore.Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkPut measures versioned state writes, each synced to disk.
func BenchmarkPut(b *testing.B) { storetest.BenchmarkPut(b, openBench) }

// BenchmarkDelivery measures storing a delivery and marking it processed.
func BenchmarkDelivery(b *testing.B) { storetest.BenchmarkDelivery(b, openBench) }

// BenchmarkLargeState measures large states written, synced and read back.
func BenchmarkLargeState(b *testing.B) { storetest.BenchmarkLargeState(b, openBench) }
