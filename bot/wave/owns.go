package wave

import "github.com/fleetbot/fleetbot/gitops"

// TenantFiles returns the Owns rule of tenant's pull requests in repo (the
// repository as given to gitops.Load): the files the layout gives the
// tenant (gitops.Inventory.TenantFiles: those that declare its clusters,
// the levels of its label and values hierarchies no other tenant loads),
// whether they exist yet or not, and the own files of the green clusters
// that replace its clusters blue-green.
func TenantFiles(inv *gitops.Inventory, repo, tenant string) func(path string) bool {
	own := inv.TenantFiles(repo, tenant)
	for i := range inv.Clusters {
		c := &inv.Clusters[i]
		if c.Repo != repo || c.Tenant != tenant {
			continue
		}
		if r := inv.Replacement(c); r != nil {
			if r.GreenLabels != "" {
				own[r.GreenLabels] = true // created by a blue-green replacement
			}
			for _, v := range r.Values {
				own[v.Green] = true
			}
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
