package boltstore

import (
	"context"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// group commits the write transactions of concurrent callers together: one
// transaction, one sync to disk, for every call that arrived while the
// previous commit was syncing. A lone call commits at once; nothing waits
// for company. Webhook deliveries come in bursts, and each must be on disk
// before it is answered.
type group struct {
	mu      sync.Mutex
	queue   []*groupCall
	running bool
}

type groupCall struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// batch runs fn in a write transaction shared with other batch calls,
// unless ctx is already done. fn may run twice (alone, when a call it
// shared the transaction with failed), so it must set its results afresh
// each time it runs.
func (s *Store) batch(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &groupCall{fn: fn, done: make(chan error, 1)}
	s.group.mu.Lock()
	s.group.queue = append(s.group.queue, c)
	start := !s.group.running
	s.group.running = true
	s.group.mu.Unlock()
	if start {
		go s.commitGroups()
	}
	return <-c.done
}

// commitGroups commits what is queued, group after group, until the queue
// is empty.
func (s *Store) commitGroups() {
	for {
		s.group.mu.Lock()
		calls := s.group.queue
		s.group.queue = nil
		if len(calls) == 0 {
			s.group.running = false
			s.group.mu.Unlock()
			return
		}
		s.group.mu.Unlock()
		err := s.db.Update(func(tx *bolt.Tx) error {
			for _, c := range calls {
				if err := c.fn(tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil || len(calls) == 1 {
			for _, c := range calls {
				c.done <- err
			}
			continue
		}
		// One call failed and took the others down with it: each runs
		// again alone, so only the failing one fails.
		for _, c := range calls {
			c.done <- s.db.Update(c.fn)
		}
	}
}
