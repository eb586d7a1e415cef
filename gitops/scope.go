package gitops

import (
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/fleetbot/fleetbot/rollout"
)

type fileKey struct{ repo, file string }

// fileOwner says whom the scalars of one file belong to: a cluster, a
// tenant's environment, a tenant, an environment of every tenant (tenant
// empty, env set) or the whole fleet (both empty), and the clusters the file
// serves.
type fileOwner struct {
	tenant, env, cluster string
	reach                []string // sorted

	// declares is true for a blueprint or fleet-member file: the clusters it
	// declares own it, whatever hierarchy template also names it.
	declares bool
	// entries maps a blueprint's per-cluster key path prefix
	// (services.eks.config.<name>, joined by NULs) to the cluster's name.
	entries map[string]string
	// docs maps a document of a fleet-member stream to its cluster.
	docs map[int]*fileOwner
}

// attribute fills in the owner of h: the cluster of its blueprint entry or
// member document when it lies in one, else the file's owner.
func (o *fileOwner) attribute(h *rollout.FieldHit) {
	if o == nil {
		return // a file no one owns: shared by all tenants
	}
	if d, ok := o.docs[h.At.Document]; ok {
		o = d
	}
	h.Tenant, h.Env, h.Cluster, h.Reach = o.tenant, o.env, o.cluster, slices.Clone(o.reach)
	for i := len(h.At.Path); i > 0 && h.Cluster == ""; i-- {
		if name, ok := o.entries[strings.Join(h.At.Path[:i], "\x00")]; ok {
			h.Cluster, h.Reach = name, []string{name}
		}
	}
}

// clusterOwner is the owner of a file that serves cluster c alone.
func clusterOwner(c *Cluster) *fileOwner {
	return &fileOwner{tenant: c.Tenant, env: c.Env, cluster: c.Name, reach: []string{c.Name}}
}

// widen makes o the owner of what o and other both own: a field kept only
// where they agree, the clusters of both (sorted by fileOwners once all are
// in).
func (o *fileOwner) widen(other *fileOwner) {
	if o.tenant != other.tenant {
		o.tenant = ""
	}
	if o.env != other.env {
		o.env = ""
	}
	if o.cluster != other.cluster {
		o.cluster = ""
	}
	o.reach = append(o.reach, other.reach...)
}

// fileOwners indexes by owner the files the inventory knows: blueprints and
// fleet-member files by the clusters they declare, and every file a
// hierarchy template (the labels' included) renders to for some cluster by
// the scope of its template:
//
//   - {cluster}: that cluster;
//   - {tenant} and {env}: that tenant's environment; {tenant}: that tenant;
//   - {env} without {tenant}: that environment of every tenant;
//   - no placeholder: the whole fleet;
//   - {fleet}, {region}, {hub} or {record.KEY} narrow the clusters a file
//     serves to those with that value; when no two clusters share a file of
//     the template, each file is its cluster's.
//
// A file several templates render to is owned by what they agree on and
// serves the clusters of all of them.
func (inv *Inventory) fileOwners() map[fileKey]*fileOwner {
	if inv.owners == nil {
		return inv.workOutOwners()
	}
	inv.owners.once.Do(func() { inv.owners.m = inv.workOutOwners() })
	return inv.owners.m
}

// ownersOnce holds the owners of an inventory's files, worked out once:
// callers only read them.
type ownersOnce struct {
	once sync.Once
	m    map[fileKey]*fileOwner
}

// workOutOwners is fileOwners, worked out anew.
func (inv *Inventory) workOutOwners() map[fileKey]*fileOwner {
	out := map[fileKey]*fileOwner{}
	byRepo := map[string][]*Cluster{}
	for i := range inv.Clusters {
		c := &inv.Clusters[i]
		byRepo[c.Repo] = append(byRepo[c.Repo], c)
		k := fileKey{c.Repo, c.File}
		o := out[k]
		switch {
		case o == nil && c.entry != nil:
			// The rest of a blueprint is its tenant's and environment's.
			o = &fileOwner{tenant: c.Tenant, env: c.Env, reach: []string{c.Name}, declares: true}
			out[k] = o
		case o == nil:
			o = clusterOwner(c)
			o.declares = true
			out[k] = o
		default:
			o.widen(clusterOwner(c))
		}
		if c.entry != nil {
			if o.entries == nil {
				o.entries = map[string]string{}
			}
			o.entries[strings.Join(c.entry, "\x00")] = c.Name
			continue
		}
		if o.docs == nil {
			o.docs = map[int]*fileOwner{}
		}
		o.docs[c.Document] = clusterOwner(c)
	}
	for _, repo := range slices.Sorted(maps.Keys(byRepo)) {
		l := inv.Layouts[repo]
		if l == nil {
			continue
		}
		cs := byRepo[repo]
		for _, name := range l.HierarchyNames() {
			for _, t := range l.all[name].templates {
				for path, o := range templateOwners(t, cs) {
					k := fileKey{repo, path}
					switch prev := out[k]; {
					case prev == nil:
						out[k] = o
					case !prev.declares:
						prev.widen(o)
					}
				}
			}
		}
	}
	for _, o := range out {
		slices.Sort(o.reach)
		o.reach = slices.Compact(o.reach)
	}
	return out
}

// templateOwners renders t for every cluster of cs and returns the owner of
// each file it names.
func templateOwners(t template, cs []*Cluster) map[string]*fileOwner {
	out := map[string]*fileOwner{}
	served := map[string]int{}
	for _, c := range cs {
		p, ok := t.render(c)
		if !ok {
			continue
		}
		served[p]++
		o := &fileOwner{reach: []string{c.Name}}
		switch {
		case t.uses(fieldCluster):
			o = clusterOwner(c)
		default:
			if t.uses(fieldTenant) {
				o.tenant = c.Tenant
			}
			if t.uses(fieldEnv) {
				o.env = c.Env
			}
		}
		if prev, ok := out[p]; ok {
			prev.widen(o)
			continue
		}
		out[p] = o
	}
	if !t.narrows() || t.uses(fieldCluster) {
		return out
	}
	for _, n := range served {
		if n > 1 {
			return out
		}
	}
	// Every file of the template serves one cluster: it is that cluster's.
	byName := make(map[string]*Cluster, len(cs))
	for _, c := range cs {
		byName[c.Name] = c
	}
	for p, o := range out {
		out[p] = clusterOwner(byName[o.reach[0]])
	}
	return out
}

// TenantFiles returns the files of repo that the layout gives to tenant,
// whether they exist yet or not: the blueprints and fleet-member files
// that declare its clusters (a file declaring clusters of several tenants
// is each one's: each one's pull request edits its own clusters there),
// and the hierarchy files (the labels' included, an add-on's values too)
// that serve its clusters and no other tenant's.
func (inv *Inventory) TenantFiles(repo, tenant string) map[string]bool {
	out := map[string]bool{}
	if tenant == "" {
		return out
	}
	for k, o := range inv.fileOwners() {
		if k.repo == repo && o.tenant == tenant {
			out[k.file] = true
		}
	}
	for i := range inv.Clusters {
		if c := &inv.Clusters[i]; c.Repo == repo && c.Tenant == tenant && c.File != "" {
			out[c.File] = true
		}
	}
	return out
}

// SharedFiles returns the files of repo that the layout gives to no single
// tenant, whether they exist yet or not: the hierarchy files (the labels'
// included) that serve an environment of every tenant, several tenants or
// the whole fleet. Fleet admins own them.
func (inv *Inventory) SharedFiles(repo string) map[string]bool {
	out := map[string]bool{}
	for k, o := range inv.fileOwners() {
		if k.repo == repo && o.tenant == "" && !o.declares {
			out[k.file] = true
		}
	}
	return out
}
