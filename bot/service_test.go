package bot

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRepoOfCloneURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want string // empty: an error
	}{
		{"https://github.com/acme/fleet.git", "acme/fleet"},
		{"https://github.com/globex/fleet", "globex/fleet"},
		{"https://ghe.example.com/globex/fleet.git", "globex/fleet"},
		{"http://127.0.0.1:8080/globex/fleet.git", "globex/fleet"},
		{"https://x-access-token:secret@github.com/acme/fleet.git", "acme/fleet"},
		{"https://github.com/fleet.git", ""},
		{"https://github.com/", ""},
		{"https://github.com/acme/.git", ""},
		{"://not a url", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			got, err := repoOfCloneURL(tt.url)
			if tt.want == "" {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), "secret")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.String())
		})
	}
}
