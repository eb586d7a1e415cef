package cli

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// The commands that load a whole fleet (plan, inventory) hold most of their
// memory for a moment: at 100,000 clusters, plan's live heap peaks near 200
// MB while the planner runs and the state is built, and Go's collector,
// letting the heap grow to twice what it last found live, took the process
// past 400 MiB for that moment. A soft limit clips that doubling: the
// collector runs more often only while the heap is near the limit.
const (
	// memoryFloor is the least soft limit: a fleet whose live heap stays
	// under half of it is collected as Go's default would.
	memoryFloor = 256 << 20
	// memoryHeadroom is how far above the live heap the limit is set, in
	// quarters: 5 lets the heap grow a quarter past what the last
	// collection found live (Go's default lets it double), so a fleet too
	// large for the floor is collected about four times as often, trading
	// CPU for half the memory.
	memoryHeadroom = 5
)

// loadsFleet is the annotation of the commands that load a whole fleet at
// once: main limits their memory (limitMemory).
const loadsFleet = "fleetbot/loads-fleet"

// memoryLimitFor is the soft memory limit for a process whose last
// collection found live bytes live.
func memoryLimitFor(live uint64) int64 {
	if live/4 > math.MaxInt64/memoryHeadroom {
		return math.MaxInt64
	}
	return max(memoryFloor, int64(live/4*memoryHeadroom))
}

// limitMemory sets the soft memory limit of a command that loads a whole
// fleet, and raises it after each collection as the live heap grows
// (memoryLimitFor), unless the environment tunes the collector itself
// (GOMEMLIMIT or GOGC): the operator's word wins. stop ends the raising;
// ok says whether it started.
func limitMemory() (stop func(), ok bool) {
	if os.Getenv("GOMEMLIMIT") != "" || os.Getenv("GOGC") != "" {
		return func() {}, false
	}
	debug.SetMemoryLimit(memoryFloor)
	return watchCollections(func() { debug.SetMemoryLimit(memoryLimitFor(liveHeap())) }), true
}

// sentinel is an object made only to be collected: its finalizer runs once
// per collection. It holds a pointer so that it is not one of the small
// pointer-free objects the allocator packs together and may never free.
type sentinel struct{ _ *int }

// watchCollections calls f after each garbage collection, from the
// runtime's finalizer goroutine, until stop is called.
func watchCollections(f func()) (stop func()) {
	var stopped atomic.Bool
	var again func(*sentinel)
	again = func(*sentinel) {
		if stopped.Load() {
			return
		}
		f()
		runtime.SetFinalizer(&sentinel{}, again)
	}
	runtime.SetFinalizer(&sentinel{}, again)
	return func() { stopped.Store(true) }
}

// liveHeap is the heap the last collection found live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
