package store

import (
	"errors"
	"testing"
	"time"
)

func TestGrant(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	held := Lease{Name: "c", Holder: "a", Token: 4, Expires: now.Add(time.Second)}
	expired := Lease{Name: "c", Holder: "a", Token: 4, Expires: now}
	released := Lease{Name: "c", Token: 4}
	tests := []struct {
		name      string
		cur       Lease
		holder    string
		wantToken uint64
		wantHeld  bool
	}{
		{"never taken", Lease{}, "a", 1, false},
		{"renewal by the holder", held, "a", 4, false},
		{"held by another", held, "b", 0, true},
		{"expired, other holder", expired, "b", 5, false},
		{"expired, same holder", expired, "a", 5, false},
		{"released", released, "b", 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Grant(tt.cur, "c", tt.holder, now, time.Minute)
			if tt.wantHeld {
				var he *HeldError
				if !errors.As(err, &he) || !errors.Is(err, ErrHeld) || he.Holder != tt.cur.Holder {
					t.Fatalf("Grant() error = %v, want a HeldError naming %s", err, tt.cur.Holder)
				}
				return
			}
			if err != nil {
				t.Fatalf("Grant() error = %v", err)
			}
			want := Lease{Name: "c", Holder: tt.holder, Token: tt.wantToken, Expires: now.Add(time.Minute)}
			if got != want {
				t.Fatalf("Grant() = %+v, want %+v", got, want)
			}
		})
	}
}

func TestLeaseChecks(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	mine := Lease{Name: "c", Holder: "a", Token: 4, Expires: now.Add(time.Second)}
	tests := []struct {
		name                   string
		cur                    Lease
		wantRenew, wantRelease bool
	}{
		{"still mine", mine, true, true},
		{"expired", Lease{Name: "c", Holder: "a", Token: 4, Expires: now}, false, true},
		{"released", Lease{Name: "c", Token: 4}, false, true},
		{"taken by another", Lease{Name: "c", Holder: "b", Token: 5, Expires: now.Add(time.Minute)}, false, false},
		{"retaken by me", Lease{Name: "c", Holder: "a", Token: 5, Expires: now.Add(time.Minute)}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := CanRenew(tt.cur, mine, now); got != tt.wantRenew {
				t.Errorf("CanRenew() = %v, want %v", got, tt.wantRenew)
			}
			if got := CanRelease(tt.cur, mine); got != tt.wantRelease {
				t.Errorf("CanRelease() = %v, want %v", got, tt.wantRelease)
			}
		})
	}
}

func TestFenceAdmits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fence  Fence
		token  uint64
		exists bool
		want   bool
	}{
		{"no fence", Fence{}, 0, false, true},
		{"current token", Fence{Lease: "c", Token: 3}, 3, true, true},
		{"newer holder", Fence{Lease: "c", Token: 3}, 4, true, false},
		{"token never granted", Fence{Lease: "c", Token: 5}, 4, true, false},
		{"lease never taken", Fence{Lease: "c", Token: 1}, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.fence.Admits(tt.token, tt.exists); got != tt.want {
				t.Errorf("Admits(%d, %v) = %v, want %v", tt.token, tt.exists, got, tt.want)
			}
		})
	}
}
