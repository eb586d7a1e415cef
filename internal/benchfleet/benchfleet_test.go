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

// TestCached generates small fleets of each shape and counts their files,
// clusters, canaries, clusters of the gpu fleet and accounts; a second call
// finds each where the first left it.
func TestCached(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                           string
		o                              Options
		files, clusters, canaries, gpu int
	}{
		// the layout, the global label file; per tenant: its defaults, two
		// blueprints, two environment defaults and one cluster file in five;
		// a canary per tenant's environment, one cluster in four in gpu
		{"labels", Options{Tenants: 3}, 2 + 3*(1+2+2) + 3*ClustersPerTenant/OverrideEveryNth, 60, 6, 12},
		// and: two add-on defaults, per environment three files; per tenant
		// one file and one cluster file in five
		{"hierarchies", Options{Tenants: 3, Hierarchies: true}, 2 + 2 + 2*3 + 3*(1+2+2+1) + 2*3*ClustersPerTenant/OverrideEveryNth, 60, 6, 12},
		// owners in the layout; 4 clusters an environment, 24 in all
		{"owners", Options{Tenants: 3, PerEnv: 4, Owners: true}, 2 + 3*(1+2+2) + 24/OverrideEveryNth + 1, 24, 6, 6},
		// the same files; an account per tenant, the first tenant's
		// canaries only, no gpu fleet
		{"accounts", Options{Tenants: 3, PerEnv: 4, Accounts: true, CanaryTenants: 1, OneFleet: true}, 2 + 3*(1+2+2) + 24/OverrideEveryNth + 1, 24, 2, 0},
		// the layout and two blueprints a tenant, no label file
		{"no labels", Options{Tenants: 3, PerEnv: 4, NoLabels: true}, 1 + 3*2, 24, 6, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir, err := Cached(root, tt.o)
			require.NoError(t, err)
			assert.Equal(t, tt.clusters, tt.o.Clusters())
			files, clusters, canaries, gpu, accounts := 0, 0, 0, 0, 0
			require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				files++
				if strings.HasPrefix(filepath.ToSlash(p), filepath.ToSlash(dir)+"/tenants/") {
					b, err := os.ReadFile(p)
					require.NoError(t, err)
					clusters += strings.Count(string(b), "is_canary:")
					canaries += strings.Count(string(b), "is_canary: true")
					gpu += strings.Count(string(b), "fleet: gpu")
					accounts += strings.Count(string(b), "\naccount_id: ")
				}
				return nil
			}))
			assert.Equal(t, tt.files, files)
			assert.Equal(t, tt.clusters, clusters)
			assert.Equal(t, tt.canaries, canaries, "canaries")
			assert.Equal(t, tt.gpu, gpu, "clusters of the gpu fleet")
			if tt.o.Accounts {
				assert.Equal(t, tt.o.Tenants*Envs, accounts, "blueprints with an account")
				bp, err := os.ReadFile(filepath.Join(dir, "tenants", "tenant-002", "prod.yaml"))
				require.NoError(t, err)
				assert.Contains(t, string(bp), "\naccount_id: \""+Account(2)+"\"\n")
			} else {
				assert.Zero(t, accounts, "blueprints with an account")
			}
			layout, err := os.ReadFile(filepath.Join(dir, LayoutFile))
			require.NoError(t, err)
			assert.Equal(t, tt.o.Hierarchies, strings.Contains(string(layout), "hierarchies:"))
			assert.Equal(t, tt.o.Owners, strings.Contains(string(layout), "  tenant-002:\n    users: ["+Owner("tenant-002")+"]\n"))
			assert.Equal(t, tt.o.Owners, strings.Contains(string(layout), "admins:\n  users: ["+Admin+"]\n"))
			assert.Equal(t, tt.o.Accounts, strings.Contains(string(layout), "\n  account: account_id\n"))
			assert.Equal(t, !tt.o.NoLabels, strings.Contains(string(layout), "\nlabels:\n"))

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
