package gate

import (
	"context"
	"sync"
)

// sharedReadsKey is the context key of one Run's shared reads.
type sharedReadsKey struct{}

// runReads holds what the checks of one Run read once for all of them: the
// clusters of a wave often share a merge commit, and its checks need to be
// read from GitHub once, not once per cluster.
type runReads struct {
	mu    sync.Mutex
	reads map[string]*sharedRead
}

type sharedRead struct {
	once sync.Once
	val  any
	err  error
}

// withSharedReads gives the checks run under ctx reads they share.
func withSharedReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, sharedReadsKey{}, &runReads{reads: map[string]*sharedRead{}})
}

// shared returns read's result, read once per key among the checks of one
// Run (concurrent ones wait for the first); outside a Run it reads.
func shared[T any](ctx context.Context, key string, read func() (T, error)) (T, error) {
	rr, ok := ctx.Value(sharedReadsKey{}).(*runReads)
	if !ok {
		return read()
	}
	rr.mu.Lock()
	r := rr.reads[key]
	if r == nil {
		r = &sharedRead{}
		rr.reads[key] = r
	}
	rr.mu.Unlock()
	r.once.Do(func() { r.val, r.err = read() })
	v, _ := r.val.(T)
	return v, r.err
}
