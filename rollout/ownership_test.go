package rollout

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFairShare(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ campaigns, alive, want int }{
		{0, 1, 0}, {1, 1, 1}, {2, 2, 1}, {3, 2, 2}, {5, 3, 2}, {4, 0, 4},
	} {
		assert.Equal(t, tt.want, FairShare(tt.campaigns, tt.alive), "%d campaigns, %d alive", tt.campaigns, tt.alive)
	}
}

func TestOwnershipClaims(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		o       Ownership
		try     []string
		room    int
		release []string
	}{
		{"alone, it tries every campaign, in name order",
			Ownership{Campaigns: []string{"b", "a", "c"}, Alive: 1}, []string{"a", "b", "c"}, 3, nil},
		{"two replicas: half each",
			Ownership{Campaigns: []string{"a", "b", "c", "d"}, Alive: 2}, []string{"a", "b", "c", "d"}, 2, nil},
		{"it owns some: the rest of its share",
			Ownership{Campaigns: []string{"a", "b", "c"}, Owned: []string{"b"}, Alive: 2}, []string{"a", "c"}, 1, nil},
		{"its share is full",
			Ownership{Campaigns: []string{"a", "b", "c", "d"}, Owned: []string{"c", "d"}, Alive: 2}, nil, 0, nil},
		{"more than its share (another replica started): it lets go of the rest",
			Ownership{Campaigns: []string{"a", "b", "c"}, Owned: []string{"c", "a", "b"}, Alive: 2}, nil, 0, []string{"c"}},
		{"the other replica died: its campaigns come into this one's share",
			Ownership{Campaigns: []string{"a", "b", "c", "d"}, Owned: []string{"a", "b"}, Alive: 1}, []string{"c", "d"}, 2, nil},
		{"no heartbeat read: counted alone",
			Ownership{Campaigns: []string{"a"}}, []string{"a"}, 1, nil},
		{"no campaign", Ownership{Alive: 2}, nil, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			try, room, release := tt.o.Claims()
			assert.Equal(t, tt.try, try)
			assert.Equal(t, tt.room, room)
			assert.Equal(t, tt.release, release)
		})
	}
}
