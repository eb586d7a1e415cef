package gitrepo

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// repoLock serializes the writes to one repository directory.
type repoLock struct{ mu sync.Mutex }

// locks holds one repoLock per repository directory for the life of the
// process, so every Repo opened on a path, and the HTTP handler's pushes,
// share it. The lock is in-process only: two processes writing to one
// repository are not serialized by it (git's own ref locks still keep each
// single update atomic).
var locks sync.Map // cleaned absolute path -> *repoLock

func lockFor(abs string) *repoLock {
	key := filepath.Clean(abs)
	if real, err := filepath.EvalSymlinks(key); err == nil {
		key = real
	}
	l, _ := locks.LoadOrStore(key, &repoLock{})
	return l.(*repoLock)
}

// held marks a context as running inside WithLock of one repository, until
// WithLock returns.
type held struct{ active atomic.Bool }

// holds reports whether ctx was handed out by WithLock of r's repository and
// that WithLock is still running.
func (r *Repo) holds(ctx context.Context) bool {
	h, ok := ctx.Value(r.lock).(*held)
	return ok && h.active.Load()
}

// WithLock runs fn holding the repository's write lock, so that a REST
// operation of several steps (write blobs, a tree and a commit, then move a
// branch) does not interleave with a push or with another writer. The lock is
// shared by every Repo opened on the same path and by NewHTTP's pushes.
//
// fn must make its calls with the context it receives: that context carries
// the lock, so writes made with it do not wait for the lock again, while
// writes made with any other context wait until fn returns. The context stops
// carrying the lock when fn returns; keep it no longer. Reads never take the
// lock. WithLock returns fn's error, or ctx's error if ctx ends before the
// lock is free.
func (r *Repo) WithLock(ctx context.Context, fn func(ctx context.Context) error) error {
	if r.holds(ctx) {
		return fn(ctx)
	}
	if err := r.acquire(ctx); err != nil {
		return r.errorf("lock repository", err)
	}
	defer r.lock.mu.Unlock()
	h := &held{}
	h.active.Store(true)
	defer h.active.Store(false)
	return fn(context.WithValue(ctx, r.lock, h))
}

// acquire takes the write lock, giving up when ctx ends first.
func (r *Repo) acquire(ctx context.Context) error {
	if r.lock.mu.TryLock() {
		return nil
	}
	locked := make(chan struct{})
	go func() {
		r.lock.mu.Lock()
		close(locked)
	}()
	select {
	case <-locked:
		return nil
	case <-ctx.Done():
		// The goroutine still gets the lock; hand it straight back.
		go func() {
			<-locked
			r.lock.mu.Unlock()
		}()
		return ctx.Err()
	}
}

// write runs one write operation under the repository's lock, unless ctx
// already holds it.
func (r *Repo) write(ctx context.Context, fn func() error) error {
	return r.WithLock(ctx, func(context.Context) error { return fn() })
}
