package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// stateValue is a 4 KiB JSON document, the size of a large campaign state.
var stateValue = []byte(`{"state":"` + strings.Repeat("x", 4096-12) + `"}`)

// BenchmarkPut measures versioned writes of a 4 KiB state, round-robin over
// one key and over many keys, each on a store that open returns.
func BenchmarkPut(b *testing.B, open func(b *testing.B) store.Store) {
	for _, keys := range []int{1, 1000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			s := open(b)
			versions := make([]int64, keys)
			b.SetBytes(int64(len(stateValue)))
			for i := 0; b.Loop(); i++ {
				k := i % keys
				v, err := s.Put(b.Context(), fmt.Sprintf("campaigns/c-%d", k), stateValue, versions[k], store.Fence{})
				if err != nil {
					b.Fatal(err)
				}
				versions[k] = v
			}
		})
	}
}
