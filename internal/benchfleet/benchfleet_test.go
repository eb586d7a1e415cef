package benchfleet

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCached generates small fleets of both shapes and counts their files;
// a second call finds each where the first left it.
func TestCached(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		o               Options
		files, clusters int
	}{
		// the layout, the global label file; per tenant: its defaults, two
		// blueprints, two environment defaults and one cluster file in five
		{"labels", Options{Tenants: 3}, 2 + 3*(1+2+2) + 3*ClustersPerTenant/OverrideEveryNth, 60},
		// and: two add-on defaults, per environment three files; per tenant
		// one file and one cluster file in five
		{"hierarchies", Options{Tenants: 3, Hierarchies: true}, 2 + 2 + 2*3 + 3*(1+2+2+1) + 2*3*ClustersPerTenant/OverrideEveryNth, 60},
		// owners in the layout; 4 clusters an environment, 24 in all
		{"owners", Options{Tenants: 3, PerEnv: 4, Owners: true}, 2 + 3*(1+2+2) + 24/OverrideEveryNth + 1, 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir, err := Cached(root, tt.o)
			require.NoError(t, err)
			assert.Equal(t, tt.clusters, tt.o.Clusters())
			files, clusters := 0, 0
			require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				files++
				if strings.HasPrefix(filepath.ToSlash(p), filepath.ToSlash(dir)+"/tenants/") {
					b, err := os.ReadFile(p)
					require.NoError(t, err)
					clusters += strings.Count(string(b), "is_canary:")
				}
				return nil
			}))
			assert.Equal(t, tt.files, files)
			assert.Equal(t, tt.clusters, clusters)
			layout, err := os.ReadFile(filepath.Join(dir, LayoutFile))
			require.NoError(t, err)
			assert.Equal(t, tt.o.Hierarchies, strings.Contains(string(layout), "hierarchies:"))
			assert.Equal(t, tt.o.Owners, strings.Contains(string(layout), "  tenant-002:\n    users: ["+Owner("tenant-002")+"]\n"))
			assert.Equal(t, tt.o.Owners, strings.Contains(string(layout), "admins:\n  users: ["+Admin+"]\n"))

			// Found again, not written again; nothing left beside it.
			require.NoError(t, os.WriteFile(filepath.Join(dir, "marker"), nil, 0o600))
			again, err := Cached(root, tt.o)
			require.NoError(t, err)
			assert.Equal(t, dir, again)
			assert.FileExists(t, filepath.Join(again, "marker"))
			entries, err := os.ReadDir(root)
			require.NoError(t, err)
			assert.Len(t, entries, 1)
		})
	}
}
