package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// Bucket names, one per capability.
var (
	recordsBucket    = []byte("records")
	locksBucket      = []byte("locks")
	leasesBucket     = []byte("leases")
	deliveriesBucket = []byte("deliveries")
	pendingBucket    = []byte("pending")
	payloadsBucket   = []byte("payloads")
)

// Store is a store.Store in one bbolt file.
type Store struct {
	db    *bolt.DB
	path  string
	now   func() time.Time
	group group  // the deliveries' writes, committed together
	spool *spool // the payloads of pending deliveries, in PayloadDir
}

var _ store.Store = (*Store)(nil)

// Option changes how Open opens a store.
type Option func(*options)

type options struct {
	now         func() time.Time
	lockTimeout time.Duration
	segmentSize int64
}

// WithClock makes the store judge lease expiry by now instead of time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithLockTimeout sets how long Open waits for another process to let go of
// the file before giving up (default one second).
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) { o.lockTimeout = d }
}

// PayloadDir is the directory beside the state file at path where the
// payloads of pending deliveries are kept, outside the file.
func PayloadDir(path string) string { return path + ".payloads" }

// ErrLocked is Open's error when another process holds the state file.
var ErrLocked = errors.New("another process holds it")

// Open opens or creates the state file at path, and the payloads beside it
// (PayloadDir), removing those no pending delivery needs any more.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, lockTimeout: time.Second, segmentSize: segmentSize}
	for _, opt := range opts {
		opt(&o)
	}
	if o.lockTimeout <= 0 {
		return nil, fmt.Errorf("open state file %s: lock timeout %s is not positive", path, o.lockTimeout)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open state file %s: %w (waited %s); stop it or use another file", path, ErrLocked, o.lockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{recordsBucket, locksBucket, leasesBucket, deliveriesBucket, pendingBucket, payloadsBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open state file %s: %w", path, err), db.Close())
	}
	sp, err := openSpool(PayloadDir(path), o.segmentSize)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open state file %s: %w", path, err), db.Close())
	}
	s := &Store{db: db, path: path, now: o.now, spool: sp}
	s.removeSegments()
	if err := s.group.removeErr; err != nil {
		return nil, errors.Join(fmt.Errorf("open state file %s: %w", path, err), s.spool.close(), db.Close())
	}
	return s, nil
}

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.path }

// Close closes the file and the payloads; everything written is already on
// disk. It reports too why payloads no longer needed could not be removed,
// if they could not the last time.
func (s *Store) Close() error {
	s.group.mu.Lock()
	removeErr := s.group.removeErr
	s.group.mu.Unlock()
	err := errors.Join(s.db.Close(), s.spool.close(), removeErr)
	if err != nil {
		return fmt.Errorf("close state file %s: %w", s.path, err)
	}
	return nil
}

// update runs fn in a write transaction unless ctx is already done.
func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

// view runs fn in a read transaction unless ctx is already done.
func (s *Store) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

// Records.

// decodeRecord splits a stored record into its version and a copy of its
// value (bbolt's slices die with the transaction).
func decodeRecord(key string, raw []byte) (store.Record, error) {
	if len(raw) < 8 {
		return store.Record{}, fmt.Errorf("record %s: stored value of %d bytes has no version", key, len(raw))
	}
	return store.Record{Version: int64(binary.BigEndian.Uint64(raw)), Value: bytes.Clone(raw[8:])}, nil
}

func encodeRecord(version int64, value []byte) []byte {
	raw := make([]byte, 8+len(value))
	binary.BigEndian.PutUint64(raw, uint64(version))
	copy(raw[8:], value)
	return raw
}

// Get implements store.Records.
func (s *Store) Get(ctx context.Context, key string) (store.Record, error) {
	var rec store.Record
	err := s.view(ctx, func(tx *bolt.Tx) error {
		raw := tx.Bucket(recordsBucket).Get([]byte(key))
		if raw == nil {
			return store.ErrNotFound
		}
		var err error
		rec, err = decodeRecord(key, raw)
		return err
	})
	if err != nil {
		return store.Record{}, fmt.Errorf("get %s: %w", key, err)
	}
	return rec, nil
}

// checkFence returns store.ErrFenced unless fence admits a write in tx.
func checkFence(tx *bolt.Tx, fence store.Fence) error {
	if fence == (store.Fence{}) {
		return nil
	}
	cur, exists, err := getLease(tx, fence.Lease)
	if err != nil {
		return err
	}
	if !fence.Admits(cur.Token, exists) {
		return fmt.Errorf("lease %s token %d is not current (%d): %w", fence.Lease, fence.Token, cur.Token, store.ErrFenced)
	}
	return nil
}

// storedVersion returns the version of key in tx, 0 when it does not exist.
func storedVersion(tx *bolt.Tx, key string) (int64, error) {
	raw := tx.Bucket(recordsBucket).Get([]byte(key))
	if raw == nil {
		return 0, nil
	}
	rec, err := decodeRecord(key, raw)
	return rec.Version, err
}

// Put implements store.Records.
func (s *Store) Put(ctx context.Context, key string, value []byte, expectVersion int64, fence store.Fence) (int64, error) {
	if err := store.CheckPut(key, expectVersion, fence); err != nil {
		return 0, err
	}
	next := expectVersion + 1
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if err := checkFence(tx, fence); err != nil {
			return err
		}
		have, err := storedVersion(tx, key)
		if err != nil {
			return err
		}
		if have != expectVersion {
			return fmt.Errorf("stored version %d, expected %d: %w", have, expectVersion, store.ErrConflict)
		}
		return tx.Bucket(recordsBucket).Put([]byte(key), encodeRecord(next, value))
	})
	if err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	return next, nil
}

// Delete implements store.Records.
func (s *Store) Delete(ctx context.Context, key string, expectVersion int64, fence store.Fence) error {
	if err := store.CheckDelete(key, expectVersion, fence); err != nil {
		return err
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if err := checkFence(tx, fence); err != nil {
			return err
		}
		have, err := storedVersion(tx, key)
		switch {
		case err != nil:
			return err
		case have == 0:
			return store.ErrNotFound
		case have != expectVersion:
			return fmt.Errorf("stored version %d, expected %d: %w", have, expectVersion, store.ErrConflict)
		}
		return tx.Bucket(recordsBucket).Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// List implements store.Records.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Entry, error) {
	var entries []store.Entry
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(recordsBucket).Cursor()
		p := []byte(prefix)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			rec, err := decodeRecord(string(k), v)
			if err != nil {
				return err
			}
			entries = append(entries, store.Entry{Key: string(k), Record: rec})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	return entries, nil
}

// Locks.

// Lock implements store.Locks.
func (s *Store) Lock(ctx context.Context, cluster, owner string) error {
	if cluster == "" || owner == "" {
		return fmt.Errorf("lock cluster %q for owner %q: both must be set", cluster, owner)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(locksBucket)
		if have := b.Get([]byte(cluster)); have != nil && string(have) != owner {
			return &store.LockedError{Cluster: cluster, Owner: string(have)}
		}
		return b.Put([]byte(cluster), []byte(owner))
	})
	if err != nil {
		return fmt.Errorf("lock %s for %s: %w", cluster, owner, err)
	}
	return nil
}

// Unlock implements store.Locks.
func (s *Store) Unlock(ctx context.Context, cluster, owner string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(locksBucket)
		have := b.Get([]byte(cluster))
		if have == nil {
			return nil
		}
		if string(have) != owner {
			return &store.LockedError{Cluster: cluster, Owner: string(have)}
		}
		return b.Delete([]byte(cluster))
	})
	if err != nil {
		return fmt.Errorf("unlock %s for %s: %w", cluster, owner, err)
	}
	return nil
}

// Locks implements store.Locks.
func (s *Store) Locks(ctx context.Context) (map[string]string, error) {
	locks := map[string]string{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(locksBucket).ForEach(func(k, v []byte) error {
			locks[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	return locks, nil
}

// Leases.

// storedLease is a lease as the leases bucket holds it; Holder is empty once
// released. Expires is in Unix nanoseconds.
type storedLease struct {
	Holder  string `json:"holder,omitempty"`
	Token   uint64 `json:"token"`
	Expires int64  `json:"expires"`
}

func getLease(tx *bolt.Tx, name string) (store.Lease, bool, error) {
	raw := tx.Bucket(leasesBucket).Get([]byte(name))
	if raw == nil {
		return store.Lease{Name: name}, false, nil
	}
	var sl storedLease
	if err := json.Unmarshal(raw, &sl); err != nil {
		return store.Lease{}, false, fmt.Errorf("decode lease %s: %w", name, err)
	}
	l := store.Lease{Name: name, Holder: sl.Holder, Token: sl.Token}
	if sl.Holder != "" {
		l.Expires = time.Unix(0, sl.Expires)
	}
	return l, true, nil
}

func putLease(tx *bolt.Tx, l store.Lease) error {
	sl := storedLease{Holder: l.Holder, Token: l.Token}
	if l.Holder != "" {
		sl.Expires = l.Expires.UnixNano()
	}
	raw, err := json.Marshal(sl)
	if err != nil {
		return fmt.Errorf("encode lease %s: %w", l.Name, err)
	}
	return tx.Bucket(leasesBucket).Put([]byte(l.Name), raw)
}

// Acquire implements store.Leases.
func (s *Store) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error) {
	var got store.Lease
	err := s.update(ctx, func(tx *bolt.Tx) error {
		cur, _, err := getLease(tx, name)
		if err != nil {
			return err
		}
		got, err = store.Grant(cur, name, holder, s.now(), ttl)
		if err != nil {
			return err
		}
		got.Expires = time.Unix(0, got.Expires.UnixNano())
		return putLease(tx, got)
	})
	if err != nil {
		return store.Lease{}, fmt.Errorf("acquire lease %s for %s: %w", name, holder, err)
	}
	return got, nil
}

// Renew implements store.Leases.
func (s *Store) Renew(ctx context.Context, lease store.Lease, ttl time.Duration) (store.Lease, error) {
	if ttl <= 0 {
		return store.Lease{}, fmt.Errorf("renew lease %s: ttl %s is not positive", lease.Name, ttl)
	}
	var got store.Lease
	err := s.update(ctx, func(tx *bolt.Tx) error {
		cur, _, err := getLease(tx, lease.Name)
		if err != nil {
			return err
		}
		now := s.now()
		if !store.CanRenew(cur, lease, now) {
			return store.ErrLost
		}
		got = cur
		got.Expires = time.Unix(0, now.Add(ttl).UnixNano())
		return putLease(tx, got)
	})
	if err != nil {
		return store.Lease{}, fmt.Errorf("renew lease %s for %s: %w", lease.Name, lease.Holder, err)
	}
	return got, nil
}

// Release implements store.Leases.
func (s *Store) Release(ctx context.Context, lease store.Lease) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		cur, exists, err := getLease(tx, lease.Name)
		if err != nil {
			return err
		}
		if !exists || !store.CanRelease(cur, lease) {
			return store.ErrLost
		}
		return putLease(tx, store.Lease{Name: lease.Name, Token: cur.Token})
	})
	if err != nil {
		return fmt.Errorf("release lease %s for %s: %w", lease.Name, lease.Holder, err)
	}
	return nil
}

// Deliveries.

// storedDelivery is a delivery as the deliveries bucket holds it. Seq is its
// key in the pending bucket, which it leaves once processed. Its payload is
// in the spool, where Spool says, until then (files of earlier versions
// keep it in the payloads bucket, or here in Payload).
type storedDelivery struct {
	Event    string      `json:"event"`
	Payload  []byte      `json:"payload,omitempty"`
	Spool    *payloadRef `json:"spool,omitempty"`
	Received time.Time   `json:"received"`
	Seq      uint64      `json:"seq"`
}

// deliveryHead is a stored delivery without its payload, which decoding
// skips.
type deliveryHead struct {
	Spool    *payloadRef `json:"spool,omitempty"`
	Received time.Time   `json:"received"`
	Seq      uint64      `json:"seq"`
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// PutDelivery implements store.Deliveries.
func (s *Store) PutDelivery(ctx context.Context, id, event string, payload []byte, received time.Time) (bool, error) {
	if id == "" {
		return false, fmt.Errorf("put delivery of event %s: id is empty", event)
	}
	if payload == nil {
		payload = []byte{} // spooled too, so that its reference names a segment
	}
	isNew := false
	err := s.batchPayload(ctx, payload, func(tx *bolt.Tx, ref payloadRef) error {
		isNew = false
		b := tx.Bucket(deliveriesBucket)
		if b.Get([]byte(id)) != nil {
			return nil
		}
		pending := tx.Bucket(pendingBucket)
		seq, err := pending.NextSequence()
		if err != nil {
			return err
		}
		raw, err := json.Marshal(storedDelivery{Event: event, Spool: &ref, Received: received, Seq: seq})
		if err != nil {
			return err
		}
		if err := b.Put([]byte(id), raw); err != nil {
			return err
		}
		isNew = true
		return pending.Put(seqKey(seq), []byte(id))
	})
	if err != nil {
		return false, fmt.Errorf("put delivery %s: %w", id, err)
	}
	return isNew, nil
}

// PendingDeliveries implements store.Deliveries.
func (s *Store) PendingDeliveries(ctx context.Context, after uint64, limit int) ([]store.Delivery, error) {
	var out []store.Delivery
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b, payloads := tx.Bucket(deliveriesBucket), tx.Bucket(payloadsBucket)
		c := tx.Bucket(pendingBucket).Cursor()
		for k, id := c.Seek(seqKey(after + 1)); k != nil && (limit <= 0 || len(out) < limit); k, id = c.Next() {
			var sd storedDelivery
			if err := json.Unmarshal(b.Get(id), &sd); err != nil {
				return fmt.Errorf("decode delivery %s: %w", id, err)
			}
			switch p := payloads.Get(id); {
			case sd.Spool != nil:
				var err error
				sd.Payload, err = s.spool.read(*sd.Spool)
				if errors.Is(err, errPayloadGone) {
					continue // processed since this transaction began
				}
				if err != nil {
					return fmt.Errorf("delivery %s: %w", id, err)
				}
			case p != nil:
				sd.Payload = bytes.Clone(p)
			}
			out = append(out, store.Delivery{ID: string(id), Event: sd.Event, Payload: sd.Payload, Received: sd.Received, Seq: binary.BigEndian.Uint64(k)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list pending deliveries: %w", err)
	}
	return out, nil
}

// MarkProcessed implements store.Deliveries. It takes the delivery off the
// pending list and drops its payload, and leaves its record (the id, for
// recognising a redelivery) as it is: a delivery is processed when the
// pending list no longer holds it (records of earlier versions say processed
// in the record too).
func (s *Store) MarkProcessed(ctx context.Context, id string) error {
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		raw := tx.Bucket(deliveriesBucket).Get([]byte(id))
		if raw == nil {
			return store.ErrNotFound
		}
		var sd deliveryHead
		if err := json.Unmarshal(raw, &sd); err != nil {
			return fmt.Errorf("decode delivery: %w", err)
		}
		// The payload is not needed any more. One in the file (as
		// earlier versions stored it) frees its pages; one in the
		// spool goes with its segment.
		if err := tx.Bucket(payloadsBucket).Delete([]byte(id)); err != nil {
			return err
		}
		return tx.Bucket(pendingBucket).Delete(seqKey(sd.Seq))
	})
	if err != nil {
		return fmt.Errorf("mark delivery %s processed: %w", id, err)
	}
	return nil
}

// PruneDeliveries implements store.Deliveries.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time) (int, error) {
	n := 0
	// In a group, so that the segments it lets go are removed by the one
	// goroutine that writes them.
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		n = 0
		b, pending := tx.Bucket(deliveriesBucket), tx.Bucket(pendingBucket)
		var old [][]byte
		var seqs []uint64
		err := b.ForEach(func(id, raw []byte) error {
			var sd deliveryHead
			if err := json.Unmarshal(raw, &sd); err != nil {
				return fmt.Errorf("decode delivery %s: %w", id, err)
			}
			if sd.Received.Before(before) {
				old = append(old, append([]byte(nil), id...))
				seqs = append(seqs, sd.Seq) // on the pending list unless processed
			}
			return nil
		})
		if err != nil {
			return err
		}
		payloads := tx.Bucket(payloadsBucket)
		for _, id := range old {
			if err := b.Delete(id); err != nil {
				return err
			}
			if err := payloads.Delete(id); err != nil {
				return err
			}
		}
		for _, seq := range seqs {
			if err := pending.Delete(seqKey(seq)); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune deliveries received before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}
