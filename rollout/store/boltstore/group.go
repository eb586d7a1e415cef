package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
	// removeErr is why old payload segments could not be removed the
	// last time, nil when they were.
	removeErr error
}

type groupCall struct {
	fn func(*bolt.Tx, payloadRef) error
	// payload, when not nil, is written to the spool and synced before
	// the transaction; fn receives where it went.
	payload []byte
	ref     payloadRef
	done    chan error
}

// batch runs fn in a write transaction shared with other batch calls,
// unless ctx is already done. fn may run twice (alone, when a call it
// shared the transaction with failed), so it must set its results afresh
// each time it runs.
func (s *Store) batch(ctx context.Context, fn func(*bolt.Tx) error) error {
	return s.batchPayload(ctx, nil, func(tx *bolt.Tx, _ payloadRef) error { return fn(tx) })
}

// batchPayload is batch for a call that stores payload in the spool: it is
// on disk before the transaction that runs fn, which receives where it is.
func (s *Store) batchPayload(ctx context.Context, payload []byte, fn func(*bolt.Tx, payloadRef) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &groupCall{fn: fn, payload: payload, done: make(chan error, 1)}
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
		if err := s.spoolPayloads(calls); err != nil {
			// The payloads are not on disk: their calls fail, the
			// others go on.
			calls = slices.DeleteFunc(calls, func(c *groupCall) bool {
				if c.payload != nil {
					c.done <- err
				}
				return c.payload != nil
			})
			if len(calls) == 0 {
				continue
			}
		}
		err := s.db.Update(func(tx *bolt.Tx) error {
			for _, c := range calls {
				if err := c.fn(tx, c.ref); err != nil {
					return err
				}
			}
			return nil
		})
		errs := make([]error, len(calls))
		for i := range calls {
			errs[i] = err
		}
		if err != nil && len(calls) > 1 {
			// One call failed and took the others down with it: each
			// runs again alone, so only the failing one fails.
			for i, c := range calls {
				errs[i] = s.db.Update(func(tx *bolt.Tx) error { return c.fn(tx, c.ref) })
			}
		}
		// What the group processed may let old segments go, before its
		// callers hear back. Only this goroutine writes to the spool, so
		// no payload is being written to a segment while it looks.
		s.removeSegments()
		for i, c := range calls {
			c.done <- errs[i]
		}
	}
}

// spoolPayloads writes the payloads of calls to the spool with one sync and
// tells each call where its payload went.
func (s *Store) spoolPayloads(calls []*groupCall) error {
	var payloads [][]byte
	for _, c := range calls {
		if c.payload != nil {
			payloads = append(payloads, c.payload)
		}
	}
	if len(payloads) == 0 {
		return nil
	}
	refs, err := s.spool.append(payloads)
	if err != nil {
		return err
	}
	for _, c := range calls {
		if c.payload != nil {
			c.ref, refs = refs[0], refs[1:]
		}
	}
	return nil
}

// removeSegments removes the spool's segments that no pending delivery
// names: those before the segment of the oldest pending delivery. A removal
// that fails costs disk space until the next group tries again; Close
// reports the last failure.
func (s *Store) removeSegments() {
	if !s.spool.removable() {
		return
	}
	floor := s.spool.floor()
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(deliveriesBucket)
		c := tx.Bucket(pendingBucket).Cursor()
		// Deliveries stored by earlier versions keep their payloads in
		// the file, and come first.
		for _, id := c.First(); id != nil; _, id = c.Next() {
			var h deliveryHead
			if err := json.Unmarshal(b.Get(id), &h); err != nil {
				return fmt.Errorf("decode delivery %s: %w", id, err)
			}
			if h.Spool != nil {
				floor = h.Spool.Seg
				return nil
			}
		}
		return nil
	})
	if err == nil {
		err = s.spool.removeBefore(floor)
	}
	s.group.mu.Lock()
	s.group.removeErr = err
	s.group.mu.Unlock()
}
