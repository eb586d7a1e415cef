package store

import (
	"context"
	"time"
)

// Record is one stored value and its version. Versions start at 1 and grow by
// one with every write, so a caller can write back only what it read.
type Record struct {
	Value   []byte
	Version int64
}

// Entry is a record with its key, as List returns it.
type Entry struct {
	Key string
	Record
}

// Fence ties a write to a lease: the write succeeds only while Token is the
// lease's current token. The zero Fence writes without a lease.
type Fence struct {
	Lease string
	Token uint64
}

// Lease is the right, until Expires, of one holder to act on a named thing
// (a campaign). Token grows every time the lease changes hands and stays the
// same while the same holder renews it.
type Lease struct {
	Name    string
	Holder  string
	Token   uint64
	Expires time.Time
}

// Fence returns the fence that ties writes to this lease.
func (l Lease) Fence() Fence {
	return Fence{Lease: l.Name, Token: l.Token}
}

// Delivery is one webhook delivery as it was received.
type Delivery struct {
	ID       string
	Event    string
	Payload  []byte
	Received time.Time
	// Seq is its arrival number: later deliveries have larger ones.
	Seq uint64
}

// Records keeps versioned values with optimistic concurrency.
type Records interface {
	// Get returns the record at key, or ErrNotFound.
	Get(ctx context.Context, key string) (Record, error)
	// Put writes value at key if the stored version is expectVersion (0: the
	// key must not exist) and returns the new version. It returns ErrConflict
	// when the version differs and ErrFenced when fence is set and its token
	// is no longer the lease's current one (docs/store.md says how each
	// store judges that).
	Put(ctx context.Context, key string, value []byte, expectVersion int64, fence Fence) (int64, error)
	// Delete removes key if its version is expectVersion. It returns
	// ErrNotFound when key does not exist, ErrConflict when the version
	// differs and ErrFenced as Put does.
	Delete(ctx context.Context, key string, expectVersion int64, fence Fence) error
	// List returns the records whose keys start with prefix, in key order.
	List(ctx context.Context, prefix string) ([]Entry, error)
}

// Locks keeps per-cluster locks so two campaigns never hold the same cluster.
type Locks interface {
	// Lock gives cluster to owner. It succeeds again for the same owner and
	// returns a *LockedError naming the holder for any other.
	Lock(ctx context.Context, cluster, owner string) error
	// Unlock frees cluster if owner holds it; freeing a free cluster
	// succeeds. It returns a *LockedError when another owner holds it.
	Unlock(ctx context.Context, cluster, owner string) error
	// Locks returns every held cluster and its owner.
	Locks(ctx context.Context) (map[string]string, error)
}

// Leases keeps expiring leases with fencing tokens so only one replica acts on
// a campaign at a time. Expiry is judged by the store's clock.
type Leases interface {
	// Acquire gives the lease to holder for ttl. A holder that still holds
	// it renews it and keeps its token; a free or expired lease goes to
	// holder with a larger token. A lease another holder holds returns a
	// *HeldError.
	Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error)
	// Renew extends a lease the caller still holds to ttl from now, with the
	// same token. It returns ErrLost when the lease expired, was released or
	// changed hands.
	Renew(ctx context.Context, lease Lease, ttl time.Duration) (Lease, error)
	// Release frees a lease the caller holds; releasing it twice succeeds.
	// It returns ErrLost when the lease changed hands.
	Release(ctx context.Context, lease Lease) error
}

// Deliveries keeps received webhook deliveries until they are processed.
type Deliveries interface {
	// PutDelivery stores a delivery unless one with the same id was stored
	// before, and reports whether it was new.
	PutDelivery(ctx context.Context, id, event string, payload []byte, received time.Time) (isNew bool, err error)
	// PendingDeliveries returns, in the order they were stored, at most
	// limit unprocessed deliveries stored after the one whose Seq is after
	// (0: from the first); limit 0 returns them all. A caller pages through
	// them without holding every payload at once.
	PendingDeliveries(ctx context.Context, after uint64, limit int) ([]Delivery, error)
	// MarkProcessed takes a delivery off the pending list; marking it twice
	// succeeds. It returns ErrNotFound for an unknown id.
	MarkProcessed(ctx context.Context, id string) error
	// PruneDeliveries removes the deliveries received before before,
	// processed or not, and returns how many it removed. A delivery pruned
	// is forgotten: the same id stored again is new.
	PruneDeliveries(ctx context.Context, before time.Time) (int, error)
}

// Store is all of fleetbot's state. Every method has persisted its effect
// before it returns.
type Store interface {
	Records
	Locks
	Leases
	Deliveries
	// Close releases the store's resources; the state stays where it is.
	Close() error
}
