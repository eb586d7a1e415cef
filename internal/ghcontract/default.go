package ghcontract

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

var shared struct {
	once sync.Once
	spec *Spec
	err  error
}

var sharedGraphQL struct {
	once sync.Once
	g    *GraphQL
	err  error
}

// Default returns GitHub's description from the npm package
// @octokit/openapi under tools/npm, loaded once per test binary and shared,
// compiled schemas included, by every test that asks; opts apply to the
// returned view only. POST /graphql is checked against DefaultGraphQL.
func Default(t testing.TB, opts ...Option) *Spec {
	t.Helper()
	dir := testenv.NodeModule(t, "@octokit/openapi")
	shared.once.Do(func() {
		shared.spec, shared.err = Load(filepath.Join(dir, "generated", "api.github.com.json"))
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.spec.With(append([]Option{WithGraphQL(DefaultGraphQL(t))}, opts...)...)
}

// DefaultGraphQL returns GitHub's GraphQL schema from the npm package
// @octokit/graphql-schema under tools/npm, loaded once per test binary.
func DefaultGraphQL(t testing.TB) *GraphQL {
	t.Helper()
	dir := testenv.NodeModule(t, "@octokit/graphql-schema")
	sharedGraphQL.once.Do(func() {
		sharedGraphQL.g, sharedGraphQL.err = LoadGraphQL(filepath.Join(dir, "schema.graphql"))
	})
	if sharedGraphQL.err != nil {
		t.Fatal(sharedGraphQL.err)
	}
	return sharedGraphQL.g
}
