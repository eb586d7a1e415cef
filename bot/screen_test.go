package bot

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestIgnores: before decoding, the bot sets aside comments without a
// `/fleet` line, and news of commits while no campaign is in flight; once
// one is, news of commits is decoded and handled. Anything else always is.
func TestIgnores(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "eks-1-30.yaml")
	b := w.bot(t, "r1", nil)
	comment := func(body string) []byte {
		return []byte(`{"action":"created","issue":{"number":2,"pull_request":{}},"comment":{"id":9,"body":"` + body + `","user":{"login":"pat"}},"repository":{"full_name":"acme/fleet","name":"fleet","owner":{"login":"acme"}}}`)
	}
	checkRun := []byte(`{"action":"completed","check_run":{"name":"ci","head_sha":"abc","pull_requests":[]},"repository":{"name":"fleet","owner":{"login":"acme"}}}`)
	tests := []struct {
		event   string
		payload []byte
		idle    bool // ignored while no campaign is in flight
		running bool // ignored while one is
	}{
		{"issue_comment", comment("LGTM"), true, true},
		{"issue_comment", comment("/fleet status"), false, false},
		{"check_run", checkRun, true, false},
		{"status", []byte(`{"sha":"abc","state":"success"}`), true, false},
		{"push", []byte(`{"ref":"refs/heads/main"}`), false, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.idle, b.Ignores(t.Context(), tt.event, tt.payload), "%s %s, no campaign", tt.event, tt.payload)
	}
	started(t, w, b)
	for _, tt := range tests {
		assert.Equal(t, tt.running, b.Ignores(t.Context(), tt.event, tt.payload), "%s %s, a campaign in flight", tt.event, tt.payload)
	}
}
