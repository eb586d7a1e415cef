package store

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotFound reports that a key or delivery does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict reports that a record's version is not the one the writer
// expected: someone else wrote it since the writer read it. Read and retry.
var ErrConflict = errors.New("version conflict")

// ErrFenced reports that a fenced write was refused because its lease has
// changed hands: the writer must stop acting on what the lease guards.
var ErrFenced = errors.New("fenced: lease changed hands")

// ErrLocked reports that a cluster is locked by another owner. Errors that
// match it are *LockedError values naming the owner.
var ErrLocked = errors.New("locked")

// ErrHeld reports that a lease is held by another holder. Errors that match
// it are *HeldError values naming the holder.
var ErrHeld = errors.New("lease held")

// ErrLost reports that the caller no longer holds a lease it renews or
// releases: it expired, was released, or went to another holder.
var ErrLost = errors.New("lease lost")

// LockedError names the owner that holds a cluster.
type LockedError struct {
	Cluster string
	Owner   string
}

// Error names the cluster and its owner.
func (e *LockedError) Error() string {
	return fmt.Sprintf("cluster %s is locked by %s", e.Cluster, e.Owner)
}

// Is makes a LockedError match ErrLocked.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// HeldError names the holder of a lease and when its hold ends.
type HeldError struct {
	Lease   string
	Holder  string
	Expires time.Time
}

// Error names the lease, its holder and when the hold ends.
func (e *HeldError) Error() string {
	return fmt.Sprintf("lease %s is held by %s until %s", e.Lease, e.Holder, e.Expires.UTC().Format(time.RFC3339))
}

// Is makes a HeldError match ErrHeld.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }
