package dynamostore_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout/store/dynamostore"
)

// TestDeliveryTTL: with WithDeliveryTTL, both items of a delivery (the
// record and its place in the pending queue) carry when DynamoDB may
// delete them, in Unix seconds; without it, neither does.
func TestDeliveryTTL(t *testing.T) {
	t.Parallel()
	client := testenv.DynamoDB(t)
	received := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		want string
	}{
		{"a week", 7 * 24 * time.Hour, "1796983200"},
		{"none", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			table := newTable(t)
			s := dynamostore.New(client, table, dynamostore.WithDeliveryTTL(tc.ttl))
			stored, err := s.PutDelivery(t.Context(), "d-1", "push", []byte(`{}`), received)
			require.NoError(t, err)
			require.True(t, stored)
			out, err := client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(table)})
			require.NoError(t, err)
			n := 0
			for _, item := range out.Items {
				if _, ok := item["payload"]; !ok {
					continue // not an item of the delivery
				}
				n++
				ttl, ok := item[dynamostore.AttrTTL].(*types.AttributeValueMemberN)
				if tc.want == "" {
					assert.False(t, ok, "no expiry without a retention: %v", item)
					continue
				}
				require.True(t, ok, "an expiry on %v", item["pk"])
				assert.Equal(t, tc.want, ttl.Value, "received + %s", tc.ttl)
			}
			assert.Equal(t, 2, n, "the delivery and its pending entry")
		})
	}
}

// ttlServer stands in front of dynalite, which answers DescribeTimeToLive
// (always off) but not UpdateTimeToLive: it takes UpdateTimeToLive as
// DynamoDB does, and from then on describes what it was told.
type ttlServer struct {
	mu      sync.Mutex
	status  string // DISABLED until an update
	attr    string
	updates []string // the bodies of the updates
}

func (s *ttlServer) handler(t *testing.T, dynalite string) http.Handler {
	u, err := url.Parse(dynalite)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(u)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case op == "UpdateTimeToLive":
			body, _ := io.ReadAll(r.Body)
			s.updates = append(s.updates, string(body))
			var in struct {
				TimeToLiveSpecification struct {
					AttributeName string
					Enabled       bool
				}
			}
			_ = json.Unmarshal(body, &in)
			s.status, s.attr = "ENABLED", in.TimeToLiveSpecification.AttributeName
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			_ = json.NewEncoder(w).Encode(map[string]any{"TimeToLiveSpecification": in.TimeToLiveSpecification})
		case op == "DescribeTimeToLive" && s.status != "":
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			_ = json.NewEncoder(w).Encode(map[string]any{"TimeToLiveDescription": map[string]string{"TimeToLiveStatus": s.status, "AttributeName": s.attr}})
		default:
			proxy.ServeHTTP(w, r)
		}
	})
}

func TestEnableTTL(t *testing.T) {
	t.Parallel()
	table := newTable(t)
	direct := testenv.DynamoDB(t)

	// dynalite itself has no UpdateTimeToLive: EnableTTL says so.
	_, err := dynamostore.EnableTTL(t.Context(), direct, table)
	require.ErrorIs(t, err, dynamostore.ErrNoTTL)
	assert.Contains(t, err.Error(), table)

	fake := &ttlServer{}
	srv := httptest.NewServer(fake.handler(t, testenv.Dynalite(t)))
	t.Cleanup(srv.Close)
	client := dynamodb.New(direct.Options(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(srv.URL) })

	enabled, err := dynamostore.EnableTTL(t.Context(), client, table)
	require.NoError(t, err)
	assert.True(t, enabled)
	require.Len(t, fake.updates, 1)
	assert.JSONEq(t, `{"TableName":"`+table+`","TimeToLiveSpecification":{"AttributeName":"ttl","Enabled":true}}`, fake.updates[0])

	enabled, err = dynamostore.EnableTTL(t.Context(), client, table)
	require.NoError(t, err, "on already")
	assert.False(t, enabled)
	assert.Len(t, fake.updates, 1, "no second update")

	fake.attr = "expiresAt"
	_, err = dynamostore.EnableTTL(t.Context(), client, table)
	require.Error(t, err, "time to live on another attribute")
	assert.Contains(t, err.Error(), `time to live is on attribute "expiresAt"; fleetbot needs it on "ttl"`)
	assert.Len(t, fake.updates, 1)
}
