package bot

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout"
)

// TestDecodeShared: a stored value is decoded once while its bytes stay
// the same, again when they change, an undecodable one names its key, and
// the cache keeps at most maxDecoded keys.
func TestDecodeShared(t *testing.T) {
	var mu sync.Mutex
	cache := map[string]decoded[rollout.State]{}
	running := []byte(`{"campaign":"a","phase":"Running","waves":[{"number":1,"phase":"Open"}]}`)
	done := []byte(`{"campaign":"a","phase":"Succeeded","waves":[{"number":1,"phase":"Succeeded"}]}`)

	first, err := decodeShared(&mu, cache, "campaigns/a/state", running)
	require.NoError(t, err)
	assert.Equal(t, rollout.CampaignRunning, first.Phase)
	again, err := decodeShared(&mu, cache, "campaigns/a/state", append([]byte(nil), running...))
	require.NoError(t, err)
	assert.Same(t, first, again, "the same bytes are not decoded again")

	changed, err := decodeShared(&mu, cache, "campaigns/a/state", done)
	require.NoError(t, err)
	assert.NotSame(t, first, changed)
	assert.Equal(t, rollout.CampaignSucceeded, changed.Phase)
	assert.Equal(t, rollout.CampaignRunning, first.Phase, "a value handed out is never changed")

	other, err := decodeShared(&mu, cache, "campaigns/b/state", running)
	require.NoError(t, err)
	assert.NotSame(t, first, other, "each key has its own value")

	_, err = decodeShared(&mu, cache, "campaigns/c/state", []byte(`{"phase":`))
	require.ErrorContains(t, err, "decode campaigns/c/state")

	for i := range 2 * maxDecoded {
		_, err := decodeShared(&mu, cache, fmt.Sprintf("campaigns/x%d/state", i), running)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(cache), maxDecoded)
	}
}
