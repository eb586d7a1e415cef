package gitops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/gitops/yamledit"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/decode"
)

// Fleet turns the inventory into the planner's input: each cluster with where
// its version is written and the chain of label files that applies to it. An
// inventory with errors is refused, since a plan from it could not be trusted.
func (inv *Inventory) Fleet() (rollout.Fleet, error) {
	if err := inv.Err(); err != nil {
		return rollout.Fleet{}, fmt.Errorf("inventory has errors: %w", err)
	}
	f := rollout.Fleet{Clusters: make([]rollout.Cluster, 0, len(inv.Clusters))}
	for _, c := range inv.Clusters {
		rc := rollout.Cluster{
			Name: c.Name, Tenant: c.Tenant, Env: c.Env, Fleet: c.Fleet, Region: c.Region,
			Repo: c.Repo, Canary: c.Canary, Version: c.Version,
			Labels: c.Labels,
		}
		if c.Disabled {
			src := c.Sources["disabled"]
			rc.Disabled = true
			rc.DisabledAt = rollout.Location{Repo: c.Repo, File: src.File, Path: slices.Clone(c.DisabledPath), Line: src.Line}
		}
		if len(c.VersionPath) > 0 {
			src := c.Sources["version"]
			rc.VersionAt = rollout.Location{Repo: c.Repo, File: c.File, Path: slices.Clone(c.VersionPath), Line: src.Line}
		}
		for _, lv := range c.LabelChain {
			rl := rollout.LabelLevel{
				Repo: c.Repo, File: lv.Path, Scope: levelScope(lv.Template), Shared: lv.Shared, Exists: lv.Exists,
				Labels: map[string]string{}, Lines: map[string]int{},
			}
			for _, l := range lv.Labels {
				if l.Null {
					// A null removes the inherited value; the planner's model of
					// the hierarchy has no such level, so refuse rather than
					// plan from a wrong effective value.
					return rollout.Fleet{}, fmt.Errorf("%s:%d: label %s is null: fleetbot cannot plan around a label removed by null; give it a value or delete the key", lv.Path, l.Line, l.Key)
				}
				rl.Labels[l.Key] = l.Value
				rl.Lines[l.Key] = l.Line
			}
			rc.LabelChain = append(rc.LabelChain, rl)
		}
		f.Clusters = append(f.Clusters, rc)
	}
	return f, nil
}

// levelScope names a hierarchy level by the most specific placeholder of its
// template.
func levelScope(template string) string {
	switch {
	case strings.Contains(template, "{cluster}"):
		return "cluster"
	case strings.Contains(template, "{env}"):
		return "env"
	case strings.Contains(template, "{tenant}"):
		return "tenant"
	default:
		return "global"
	}
}

// LabelsKey returns the key path of the labels, on which every
// repository's layout must agree: one plan writes labels under one key.
func (inv *Inventory) LabelsKey() ([]string, error) {
	var key, from string
	for _, repo := range inv.Repos {
		l := inv.Layouts[repo]
		if l == nil || l.Labels == nil {
			continue
		}
		switch {
		case from == "":
			key, from = l.Labels.Key, repo
		case l.Labels.Key != key:
			return nil, fmt.Errorf("repositories %s and %s keep labels under different keys (%s, %s)", from, repo, key, l.Labels.Key)
		}
	}
	if key == "" {
		key = DefaultLabelsKey
	}
	p, err := parseKeyPath(key)
	if err != nil {
		return nil, fmt.Errorf("labels key %q: %w", key, err)
	}
	return p, nil
}

// FieldHits finds the scalars a field change matches: every file of the
// inventory's repositories matching the glob files, and in it every scalar at
// the key path, where a "*" segment matches any key (or any sequence index).
// Each hit is attributed to the cluster, tenant and environment that own it:
// a key under a cluster's entry in a blueprint belongs to that cluster, the
// rest of a blueprint to its tenant and environment, a label file to its
// level of the hierarchy, and any other file to all tenants.
func (inv *Inventory) FieldHits(ctx context.Context, files, path string) ([]rollout.FieldHit, error) {
	g, err := compileGlob(files)
	if err != nil {
		return nil, fmt.Errorf("field files: %w", err)
	}
	p, err := yamledit.ParsePath(path)
	kp := keyPath(p)
	if err != nil {
		return nil, fmt.Errorf("field path: %w", err)
	}
	owners := inv.fileOwners()
	var hits []rollout.FieldHit
	for _, repo := range inv.Repos {
		all, err := listFiles(ctx, repo, 1)
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(all))
		for name := range all {
			if g.match(name) {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			data, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(name)))
			if err != nil {
				return nil, err
			}
			d := decode.New(name)
			docs, ok := d.Documents(data)
			if !ok {
				return nil, d.Err()
			}
			if len(docs) == 0 {
				continue
			}
			for _, m := range matchPath(docs[0], kp, nil) {
				h := rollout.FieldHit{
					At:    rollout.Location{Repo: repo, File: name, Path: m.path, Line: m.node.Line},
					Value: m.node.Value,
				}
				owners[fileKey{repo, name}].attribute(&h)
				hits = append(hits, h)
			}
		}
	}
	return hits, nil
}

type fileKey struct{ repo, file string }

// fileOwner says whom the scalars of one file belong to.
type fileOwner struct {
	tenant, env, cluster string
	// clusterPrefixes maps a blueprint's per-cluster key path prefix
	// (services.eks.config.<name>) to the cluster's name.
	clusterPrefixes map[string]string
}

func (o *fileOwner) attribute(h *rollout.FieldHit) {
	if o == nil {
		return // a file no tenant owns: shared by all
	}
	h.Tenant, h.Env, h.Cluster = o.tenant, o.env, o.cluster
	for i := len(h.At.Path); i > 0 && h.Cluster == ""; i-- {
		if name, ok := o.clusterPrefixes[strings.Join(h.At.Path[:i], "\x00")]; ok {
			h.Cluster = name
		}
	}
}

// fileOwners indexes the blueprint and label files of the inventory by owner.
func (inv *Inventory) fileOwners() map[fileKey]*fileOwner {
	out := map[fileKey]*fileOwner{}
	for _, c := range inv.Clusters {
		if len(c.VersionPath) > 0 {
			k := fileKey{c.Repo, c.File}
			o := out[k]
			if o == nil {
				o = &fileOwner{tenant: c.Tenant, env: c.Env, clusterPrefixes: map[string]string{}}
				out[k] = o
			}
			o.clusterPrefixes[strings.Join(c.VersionPath[:len(c.VersionPath)-1], "\x00")] = c.Name
		}
		for _, lv := range c.LabelChain {
			if lv.Shared {
				continue
			}
			o := &fileOwner{tenant: c.Tenant}
			switch levelScope(lv.Template) {
			case "cluster":
				o.env, o.cluster = c.Env, c.Name
			case "env":
				o.env = c.Env
			}
			out[fileKey{c.Repo, lv.Path}] = o
		}
	}
	return out
}

type pathMatch struct {
	path []string
	node *yaml.Node
}

// matchPath returns the scalars under n at the key path kp, where "*" matches
// any mapping key or sequence index, in document order.
func matchPath(n *yaml.Node, kp keyPath, at []string) []pathMatch {
	if len(kp) == 0 {
		if n.Kind == yaml.ScalarNode {
			return []pathMatch{{path: slices.Clone(at), node: n}}
		}
		return nil
	}
	seg, rest := kp[0], kp[1:]
	var out []pathMatch
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if seg == "*" || seg == k {
				out = append(out, matchPath(n.Content[i+1], rest, append(at, k))...)
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if idx := strconv.Itoa(i); seg == "*" || seg == idx {
				out = append(out, matchPath(item, rest, append(at, idx))...)
			}
		}
	}
	return out
}
