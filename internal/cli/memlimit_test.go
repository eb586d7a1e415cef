package cli

import (
	"math"
	"runtime"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryLimitFor(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	for _, tc := range []struct {
		live uint64
		want int64
	}{
		{0, 256 * mib},
		{100 * mib, 256 * mib},          // the floor: the default would collect at 200 MiB
		{200 * mib, 256 * mib},          // the floor clips the default's 400
		{204 * mib, 256 * mib},          // a quarter past it reaches the floor
		{400 * mib, 500 * mib},          // a quarter past the live heap
		{1 << 62, 5 << 60},              // large
		{math.MaxUint64, math.MaxInt64}, // never overflows
	} {
		assert.Equal(t, tc.want, memoryLimitFor(tc.live), "live %d MiB", tc.live/mib)
	}
}

// TestLimitMemory: the commands that load a whole fleet, and only they,
// are annotated for main to limit their memory; the limit is set, raised
// from the live heap after each collection until stopped, and left alone
// when the environment tunes the collector.
func TestLimitMemory(t *testing.T) {
	var annotated []string
	for _, c := range newRootCmd().Commands() {
		if c.Annotations[loadsFleet] != "" {
			annotated = append(annotated, c.Name())
		}
	}
	slices.Sort(annotated)
	assert.Equal(t, []string{"inventory", "plan"}, annotated)

	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "1GiB")
	_, ok := limitMemory()
	assert.False(t, ok, "GOMEMLIMIT is the operator's")
	assert.Equal(t, before, debug.SetMemoryLimit(-1))
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "50")
	_, ok = limitMemory()
	assert.False(t, ok, "so is GOGC")
	t.Setenv("GOGC", "")

	stop, ok := limitMemory()
	require.True(t, ok)
	defer stop()
	assert.Equal(t, int64(memoryFloor), debug.SetMemoryLimit(-1))
	// After a collection, the limit is what memoryLimitFor makes of the
	// live heap: set it elsewhere and see it put back.
	debug.SetMemoryLimit(1 << 40)
	require.Eventually(t, func() bool {
		runtime.GC()
		return debug.SetMemoryLimit(-1) == memoryLimitFor(liveHeap())
	}, time.Minute, 10*time.Millisecond, "set again after a collection")

	var calls atomic.Int64
	stopCounting := watchCollections(func() { calls.Add(1) })
	require.Eventually(t, func() bool { runtime.GC(); return calls.Load() >= 2 }, time.Minute, 10*time.Millisecond, "called after each collection")
	stopCounting()
	runtime.GC()
	runtime.GC()
	n := calls.Load()
	for range 3 {
		runtime.GC()
	}
	assert.LessOrEqual(t, calls.Load(), n+1, "not called once stopped")
}
