package gh

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGraphQLPath(t *testing.T) {
	t.Parallel()
	for root, want := range map[string]string{
		"/":               "/graphql",
		"":                "/graphql",
		"/api/v3/":        "/api/graphql",
		"/github/api/v3/": "/github/api/graphql",
		"/sandbox/":       "/sandbox/graphql",
	} {
		assert.Equal(t, want, graphqlPath(root), root)
	}
}

func TestGraphQLFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		errs []graphqlError
		want error
	}{
		{"the branch moved", []graphqlError{{Type: "UNPROCESSABLE", Message: "exists"}, {Type: "STALE_DATA", Message: "expected"}}, ErrConflict},
		{"no such repository", []graphqlError{{Type: "NOT_FOUND", Message: "no repo"}, {Type: "NOT_FOUND", Message: "no repo"}}, ErrNotFound},
		{"invalid", []graphqlError{{Type: "UNPROCESSABLE", Message: "bad name"}}, ErrInvalid},
	}
	for _, tt := range tests {
		err := graphqlFailure("op", tt.errs)
		assert.ErrorIs(t, err, tt.want, tt.name)
		for _, e := range tt.errs {
			assert.Contains(t, err.Error(), e.Message, tt.name)
		}
	}
	assert.ErrorContains(t, graphqlFailure("op", nil), "no commit and gave no error")
}
