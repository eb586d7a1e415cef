package dynamostore_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/rollout/store/dynamostore"
)

// TestDeliveryStoppedBetweenWrites stops a delivery's writes after each
// step in turn (the request refused, as if the process died there) and
// shows that the next calls finish the job: a delivery never answered is
// stored when GitHub sends it again, a delivery stored is never stored
// twice, and one marked processed is never listed again.
func TestDeliveryStoppedBetweenWrites(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	received := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	refuse := func(x *interceptor, op, part string) {
		x.set(func(o string, body []byte) bool {
			if o != op || !bytes.Contains(body, []byte(`"`+part+`"`)) {
				return false
			}
			x.set(nil)
			return true
		})
	}
	cases := []struct {
		name, op, part string
		// answered: the first PutDelivery stored the delivery despite the
		// stop (the step stopped only spares later work).
		answered bool
	}{
		{"before the pending item", "PutItem", "pending", false},
		{"before marking the delivery pending", "UpdateItem", "delivery", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := &interceptor{}
			s := dynamostore.New(x.client(t), newTable(t))
			refuse(x, c.op, c.part)
			isNew, err := s.PutDelivery(ctx, "d1", "issue_comment", []byte("payload"), received)
			if c.answered {
				require.NoError(t, err)
				assert.True(t, isNew)
			} else {
				require.Error(t, err, "stopped")
				assert.Contains(t, err.Error(), "put delivery d1")
			}
			again, err := s.PutDelivery(ctx, "d1", "issue_comment", []byte("payload"), received)
			require.NoError(t, err)
			assert.Equal(t, !c.answered, again, "sent again: new only if it was never answered")
			pending, err := s.PendingDeliveries(ctx, 0, 0)
			require.NoError(t, err)
			require.Len(t, pending, 1)
			assert.Equal(t, "payload", string(pending[0].Payload))
			isNew, err = s.PutDelivery(ctx, "d1", "issue_comment", []byte("payload"), received)
			require.NoError(t, err)
			assert.False(t, isNew, "a third time")
		})
	}

	t.Run("between marking it processed and removing its pending item", func(t *testing.T) {
		x := &interceptor{}
		s := dynamostore.New(x.client(t), newTable(t))
		for _, id := range []string{"d1", "d2"} {
			isNew, err := s.PutDelivery(ctx, id, "push", []byte(id), received)
			require.NoError(t, err)
			require.True(t, isNew)
		}
		refuse(x, "DeleteItem", "pending")
		require.Error(t, s.MarkProcessed(ctx, "d1"), "stopped")
		pending, err := s.PendingDeliveries(ctx, 0, 0)
		require.NoError(t, err)
		require.Len(t, pending, 1, "the processed delivery is listed")
		assert.Equal(t, "d2", pending[0].ID)
		require.NoError(t, s.MarkProcessed(ctx, "d1"), "marked again")
		isNew, err := s.PutDelivery(ctx, "d1", "push", []byte("d1"), received)
		require.NoError(t, err)
		assert.False(t, isNew, "sent again after it was processed")
		pending, err = s.PendingDeliveries(ctx, 0, 0)
		require.NoError(t, err)
		assert.Len(t, pending, 1)
	})
}
