package rollout

import "slices"

// Ownership is what a replica knows when it decides which campaigns to
// try to take the ownership of: the owner reconciles a campaign, keeps its
// timers and polls its gates, so that replicas share that work instead of
// each doing all of it. Steps themselves are still fenced by the
// campaign's lease, whoever owns it.
type Ownership struct {
	// Campaigns are the campaigns the store holds.
	Campaigns []string
	// Owned are those this replica owns now.
	Owned []string
	// Alive is how many replicas, this one included, wrote a heartbeat
	// within a lease's duration.
	Alive int
}

// FairShare is how many of campaigns each of alive replicas owns at most:
// the campaigns divided among them, rounded up, so that the shares cover
// every campaign.
func FairShare(campaigns, alive int) int {
	if alive < 1 {
		alive = 1
	}
	return (campaigns + alive - 1) / alive
}

// Claims returns the campaigns a replica should try to take, in name
// order, and how many of them it may take: its fair share less what it
// owns. The replica tries them in turn until it took that many; those
// another replica owns are refused. Since every replica takes up to its
// share and the shares cover all campaigns, every campaign gets an owner;
// one whose owner died is taken once its lease expired and its owner's
// heartbeat no longer counts it alive. A replica owning more than its
// share (it was alone, and another started) lets go of the rest: release,
// the last in name order, for the others to take.
func (o Ownership) Claims() (try []string, room int, release []string) {
	owned := slices.Sorted(slices.Values(o.Owned))
	share := FairShare(len(o.Campaigns), o.Alive)
	if len(owned) > share {
		return nil, 0, owned[share:]
	}
	room = share - len(owned)
	if room == 0 {
		return nil, 0, nil
	}
	for _, n := range slices.Sorted(slices.Values(o.Campaigns)) {
		if !slices.Contains(owned, n) {
			try = append(try, n)
		}
	}
	return try, min(room, len(try)), nil
}
