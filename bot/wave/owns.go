package wave

import "github.com/fleetbot/fleetbot/gitops"

// TenantFiles returns the Owns rule of tenant's pull requests in repo (the
// repository as given to gitops.Load): the files that declare the tenant's
// clusters, and the levels of their label hierarchy that are the tenant's
// own (not shared with other tenants), whether those files exist yet or not.
func TenantFiles(inv *gitops.Inventory, repo, tenant string) func(path string) bool {
	own := map[string]bool{}
	for _, c := range inv.Clusters {
		if c.Repo != repo || c.Tenant != tenant {
			continue
		}
		if c.File != "" {
			own[c.File] = true
		}
		for _, l := range c.LabelChain {
			if !l.Shared {
				own[l.Path] = true
			}
		}
		if r := inv.Replacement(&c); r != nil && r.GreenLabels != "" {
			own[r.GreenLabels] = true // created by a blue-green replacement
		}
	}
	return func(path string) bool { return own[path] }
}

// AdminFiles returns the Owns rule of the fleet admins' pull requests in repo
// (the repository as given to gitops.Load): the files the layout gives to no
// single tenant, such as the shared label defaults and a values file of an
// environment of every tenant.
func AdminFiles(inv *gitops.Inventory, repo string) func(path string) bool {
	shared := inv.SharedFiles(repo)
	return func(path string) bool { return shared[path] }
}
