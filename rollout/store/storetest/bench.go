package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// stateValue is a 4 KiB JSON document, the size of a large campaign state.
var stateValue = []byte(`{"state":"` + strings.Repeat("x", 4096-12) + `"}`)

// BenchmarkPut measures versioned writes of a 4 KiB state, round-robin over
// one key and over many keys, each on a store that open returns: unfenced,
// and fenced by a lease as the bot writes a campaign's state.
func BenchmarkPut(b *testing.B, open func(b *testing.B) store.Store) {
	for _, fenced := range []bool{false, true} {
		for _, keys := range []int{1, 1000} {
			b.Run(fmt.Sprintf("fenced=%t/keys=%d", fenced, keys), func(b *testing.B) {
				benchmarkPut(b, open(b), fenced, keys)
			})
		}
	}
}

func benchmarkPut(b *testing.B, s store.Store, fenced bool, keys int) {
	var fence store.Fence
	if fenced {
		l, err := s.Acquire(b.Context(), "campaign/bench", "bench", time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		fence = l.Fence()
	}
	versions := make([]int64, keys)
	b.SetBytes(int64(len(stateValue)))
	for i := 0; b.Loop(); i++ {
		k := i % keys
		v, err := s.Put(b.Context(), fmt.Sprintf("campaigns/c-%d", k), stateValue, versions[k], fence)
		if err != nil {
			b.Fatal(err)
		}
		versions[k] = v
	}
}

// BenchmarkDelivery measures a webhook delivery's life in the store: a 16
// KiB payload stored, then marked processed, one delivery after another.
func BenchmarkDelivery(b *testing.B, open func(b *testing.B) store.Store) {
	s := open(b)
	payload := []byte(strings.Repeat("p", 16<<10))
	b.SetBytes(int64(len(payload)))
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("delivery-%d", i)
		if _, err := s.PutDelivery(b.Context(), id, "issue_comment", payload, now); err != nil {
			b.Fatal(err)
		}
		if err := s.MarkProcessed(b.Context(), id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLargeState measures a campaign state of hundreds of clusters
// (several KB of evidence each) written at its next version and read
// back, one key, at sizes below and above what one DynamoDB item holds.
func BenchmarkLargeState(b *testing.B, open func(b *testing.B) store.Store) {
	for _, size := range []int{256 << 10, 1 << 20, 8 << 20} {
		b.Run(fmt.Sprintf("size=%dKiB", size>>10), func(b *testing.B) {
			s := open(b)
			value := LargeValue(size, 1)
			b.SetBytes(int64(size))
			var v int64
			for b.Loop() {
				var err error
				if v, err = s.Put(b.Context(), "campaigns/large/state", value, v, store.Fence{}); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Get(b.Context(), "campaigns/large/state"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
