package store

import (
	"fmt"
	"time"
)

// Grant decides an Acquire for an implementation. cur is the stored lease
// (the zero Lease when there is none; Holder is empty once released). It
// returns the lease to store, or a *HeldError when another holder's lease has
// not expired at now.
func Grant(cur Lease, name, holder string, now time.Time, ttl time.Duration) (Lease, error) {
	if err := checkLease(name, holder, ttl); err != nil {
		return Lease{}, err
	}
	held := cur.Holder != "" && now.Before(cur.Expires)
	switch {
	case held && cur.Holder == holder:
		return Lease{Name: name, Holder: holder, Token: cur.Token, Expires: now.Add(ttl)}, nil
	case held:
		return Lease{}, &HeldError{Lease: name, Holder: cur.Holder, Expires: cur.Expires}
	default:
		return Lease{Name: name, Holder: holder, Token: cur.Token + 1, Expires: now.Add(ttl)}, nil
	}
}

// CanRenew reports whether l, as its holder remembers it, is still the stored
// lease cur and has not expired at now.
func CanRenew(cur, l Lease, now time.Time) bool {
	return cur.Holder != "" && cur.Holder == l.Holder && cur.Token == l.Token && now.Before(cur.Expires)
}

// CanRelease reports whether l's holder may release the stored lease cur:
// it still holds it (expired or not) or has released it already.
func CanRelease(cur, l Lease) bool {
	return cur.Token == l.Token && (cur.Holder == l.Holder || cur.Holder == "")
}

// Admits reports whether a write under f may go ahead when the lease's
// current token is token (exists is false when the lease was never taken).
// The zero Fence admits every write.
func (f Fence) Admits(token uint64, exists bool) bool {
	if f == (Fence{}) {
		return true
	}
	return exists && token == f.Token
}

// checkLease returns an error for an Acquire no implementation accepts.
func checkLease(name, holder string, ttl time.Duration) error {
	switch {
	case name == "":
		return fmt.Errorf("lease name is empty")
	case holder == "":
		return fmt.Errorf("lease %s: holder is empty", name)
	case ttl <= 0:
		return fmt.Errorf("lease %s: ttl %s is not positive", name, ttl)
	}
	return nil
}

// CheckPut returns an error for a write no implementation accepts: an empty
// key, a negative expected version, or a fence without a lease name.
func CheckPut(key string, expectVersion int64, fence Fence) error {
	switch {
	case key == "":
		return fmt.Errorf("record key is empty")
	case expectVersion < 0:
		return fmt.Errorf("record %s: expected version %d is negative", key, expectVersion)
	case fence != (Fence{}) && fence.Lease == "":
		return fmt.Errorf("record %s: fence token %d names no lease", key, fence.Token)
	}
	return nil
}

// CheckDelete returns an error for a delete no implementation accepts: those
// CheckPut refuses, and version 0, which no stored record has.
func CheckDelete(key string, expectVersion int64, fence Fence) error {
	if err := CheckPut(key, expectVersion, fence); err != nil {
		return err
	}
	if expectVersion == 0 {
		return fmt.Errorf("delete %s: expected version is 0", key)
	}
	return nil
}
