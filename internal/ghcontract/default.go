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

// Default returns GitHub's description from the npm package
// @octokit/openapi under tools/npm, loaded once per test binary and shared,
// compiled schemas included, by every test that asks; opts apply to the
// returned view only.
func Default(t testing.TB, opts ...Option) *Spec {
	t.Helper()
	dir := testenv.NodeModule(t, "@octokit/openapi")
	shared.once.Do(func() {
		shared.spec, shared.err = Load(filepath.Join(dir, "generated", "api.github.com.json"))
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.spec.With(opts...)
}
