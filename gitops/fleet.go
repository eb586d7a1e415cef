package gitops

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/gitops/yamledit"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/decode"
)

// Fleet turns the inventory into the planner's input: each cluster with where
// its version is written and the chain of label files that applies to it. An
// inventory with errors is refused, since a plan from it could not be trusted.
func (inv *Inventory) Fleet() (rollout.Fleet, error) {
	return inv.fleet(false, true, "")
}

// fleet is Fleet; with consume, it lets go of each cluster of the inventory
// once it has made the planner's cluster from it, and leaves Clusters nil
// (on an error too), so that the inventory's clusters and the fleet are
// never held whole at once. Without chains the clusters' label chains are
// left out (only a label change reads them), a null label refused all the
// same. With only set, each level of the chains carries the label only
// of its labels (the label change's key: the planner reads no other).
func (inv *Inventory) fleet(consume, chains bool, only string) (rollout.Fleet, error) {
	if err := inv.Err(); err != nil {
		return rollout.Fleet{}, fmt.Errorf("inventory has errors: %w", err)
	}
	f := rollout.Fleet{Clusters: make([]rollout.Cluster, 0, len(inv.Clusters))}
	scopes := map[string]string{} // label template -> its scope
	levels := levelMaps{files: map[fileKey]levelLabels{}, only: only}
	var buf []LabelLevel // a chain made from a cluster's files (Cluster.chain)
	for i := range inv.Clusters {
		c := &inv.Clusters[i]
		rc := rollout.Cluster{
			Name: c.Name, Tenant: c.Tenant, Env: c.Env, Fleet: c.Fleet, Region: c.Region,
			Repo: c.Repo, Canary: c.Canary, Version: c.Version,
			Labels: c.Labels,
		}
		if c.Disabled {
			src := c.Sources.Get("disabled")
			rc.Disabled = true
			rc.DisabledAt = &rollout.Location{Repo: c.Repo, File: src.File, Path: slices.Clone(c.DisabledPath), Line: src.Line, Document: c.Document}
		}
		if len(c.VersionPath) > 0 {
			src := c.Sources.Get("version")
			path := c.VersionPath
			if !consume {
				path = slices.Clone(path) // the inventory's stays its own
			}
			rc.VersionAt = rollout.Location{Repo: c.Repo, File: c.File, Path: path, Line: src.Line, Document: c.Document}
		}
		rc.BlueGreen = inv.replacement(c, consume)
		chain := c.LabelChain
		if chains {
			chain = c.chain(inv.Layouts[c.Repo], buf)
			buf = chain[:0]
		}
		if len(chain) > 0 && chains {
			rc.LabelChain = make([]rollout.LabelLevel, 0, len(chain))
		}
		for _, lv := range chain {
			var (
				labels map[string]string
				lines  map[string]int
				err    error
			)
			if chains {
				labels, lines, err = levels.of(c.Repo, lv)
			} else {
				err = nullLabel(lv.Path, lv.Labels)
			}
			if err != nil {
				if consume {
					inv.Clusters = nil
				}
				return rollout.Fleet{}, err
			}
			if !chains {
				continue
			}
			rc.LabelChain = append(rc.LabelChain, rollout.LabelLevel{
				Repo: c.Repo, File: lv.Path, Scope: levelScope(scopes, lv.Template), Shared: lv.Shared, Exists: lv.Exists,
				Labels: labels, Lines: lines,
			})
		}
		if cf := c.files; cf != nil && !chains {
			for _, pf := range cf.files {
				if err := nullLabel(pf.rel, pf.labels); err != nil {
					if consume {
						inv.Clusters = nil
					}
					return rollout.Fleet{}, err
				}
			}
		}
		f.Clusters = append(f.Clusters, rc)
		if consume {
			*c = Cluster{}
		}
	}
	if consume {
		inv.Clusters = nil
	}
	return f, nil
}

// Replacement says how cluster c is replaced blue-green, as Fleet gives it
// to the planner; nil when c's layout says no way.
func (inv *Inventory) Replacement(c *Cluster) *rollout.Replacement {
	return inv.replacement(c, false)
}

// replacement says how c is replaced blue-green, when the layout of its
// repository has a blueGreen section and c is a blueprint cluster; nil
// otherwise. With consume, it takes c's traffic path instead of copying it.
func (inv *Inventory) replacement(c *Cluster, consume bool) *rollout.Replacement {
	l := inv.Layouts[c.Repo]
	if l == nil || l.Blueprints == nil || l.Blueprints.BlueGreen == nil || c.entry == nil {
		return nil
	}
	bg := l.Blueprints.BlueGreen
	r := &rollout.Replacement{
		Green: bg.GreenName(c.Name),
		Entry: rollout.Location{
			Repo: c.Repo, File: c.File, Path: c.EntryPath(), Line: c.Sources.Get("name").Line, Document: c.Document,
		},
		Copy:    slices.Clip(bg.Copy),
		Traffic: c.Traffic,
	}
	if len(c.TrafficPath) > 0 {
		path := c.TrafficPath
		if !consume {
			path = slices.Clone(path) // the inventory's stays its own
		}
		r.TrafficAt = rollout.Location{Repo: c.Repo, File: c.File, Path: path, Line: c.Sources.Get("traffic").Line, Document: c.Document}
	}
	// The green's own files are rendered with the green's name and the
	// blue's other values (tenant, environment).
	green := *c
	green.Name = r.Green
	if lb := l.Labels; lb != nil {
		// Its label file is at the most specific level of one cluster's
		// files.
		for level, t := range slices.Backward(lb.templates) {
			if t.uses(fieldCluster) {
				r.GreenLabels, _ = t.render(&green) // labels use tenant, env and cluster: always set
				r.BlueLabels, _ = c.levelFile(level)
				break
			}
		}
	}
	r.Values = ownValues(l, c, &green)
	return r
}

// ownValues returns the files of c's own of the hierarchies of layout l
// other than the labels that exist, each with the green cluster's path:
// the most specific level of each hierarchy whose template names the
// cluster, rendered for c and for green.
func ownValues(l *Layout, c, green *Cluster) []rollout.OwnFile {
	var out []rollout.OwnFile
	for _, name := range slices.Sorted(maps.Keys(l.Hierarchies)) {
		for _, t := range slices.Backward(l.Hierarchies[name].templates) {
			if !t.uses(fieldCluster) {
				continue
			}
			blue, ok := t.render(c)
			gp, gok := t.render(green)
			if ok && gok && fileExists(joinRepo(c.Repo, blue)) {
				out = append(out, rollout.OwnFile{Hierarchy: name, Blue: blue, Green: gp})
			}
			break
		}
	}
	return out
}

// levelMaps holds the labels and lines of each label file, made once per
// Fleet and shared by every cluster whose chain has the file: the planner
// reads them and never changes them. The files that set no label (or, with
// only, not that one) share one pair of empty maps, kept under the empty
// key.
type levelMaps struct {
	files map[fileKey]levelLabels
	only  string
}

type levelLabels struct {
	labels map[string]string
	lines  map[string]int
}

// of returns the labels the level lv of a cluster of repo sets, and the
// line of each; a null label is refused (nullLabel).
func (m levelMaps) of(repo string, lv LabelLevel) (map[string]string, map[string]int, error) {
	k := fileKey{repo, lv.Path}
	if len(lv.Labels) == 0 {
		k = fileKey{}
	}
	if l, ok := m.files[k]; ok {
		return l.labels, l.lines, nil
	}
	if err := nullLabel(lv.Path, lv.Labels); err != nil {
		return nil, nil, err
	}
	labels := lv.Labels
	if m.only != "" {
		labels = nil
		if i := slices.IndexFunc(lv.Labels, func(l Label) bool { return l.Key == m.only }); i >= 0 {
			labels = lv.Labels[i : i+1]
		}
	}
	if len(labels) == 0 {
		l, ok := m.files[fileKey{}]
		if !ok {
			l = levelLabels{labels: map[string]string{}, lines: map[string]int{}}
			m.files[fileKey{}] = l
		}
		m.files[k] = l
		return l.labels, l.lines, nil
	}
	l := levelLabels{labels: make(map[string]string, len(labels)), lines: make(map[string]int, len(labels))}
	for _, lab := range labels {
		l.labels[lab.Key] = lab.Value
		l.lines[lab.Key] = lab.Line
	}
	m.files[k] = l
	return l.labels, l.lines, nil
}

// nullLabel refuses a null label of the label file at path: it removes the
// inherited value, and the planner's model of the hierarchy has no such
// level, so it would plan from a wrong effective value.
func nullLabel(path string, labels []Label) error {
	for _, lab := range labels {
		if lab.Null {
			return fmt.Errorf("%s:%d: label %s is null: fleetbot cannot plan around a label removed by null; give it a value or delete the key", path, lab.Line, lab.Key)
		}
	}
	return nil
}

// levelScope names a label hierarchy level by its template (see
// template.scope), compiling each template once.
func levelScope(cache map[string]string, t string) string {
	s, ok := cache[t]
	if !ok {
		s = compileTemplate(t).scope()
		cache[t] = s
	}
	return s
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
// inventory's repositories matching the glob files, and in it, in every YAML
// document, every scalar at the key path, where a "*" segment matches any key
// (or any sequence index). Each hit is attributed to the clusters its file
// serves (see fileOwners): a key under a cluster's entry in a blueprint, a
// fleet-member document and a cluster-level hierarchy file belong to that
// cluster; the rest of a blueprint to its tenant and environment; a
// hierarchy file to the scope its template gives it. A file nothing in the
// layout gives an owner is shared by all tenants.
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
			docs, index, ok := d.Stream(data)
			if !ok {
				return nil, d.Err()
			}
			for i, doc := range docs {
				for _, m := range matchPath(doc, kp, nil) {
					h := rollout.FieldHit{
						At:    rollout.Location{Repo: repo, File: name, Path: m.path, Line: m.node.Line, Document: index[i]},
						Value: m.node.Value,
					}
					owners[fileKey{repo, name}].attribute(&h)
					hits = append(hits, h)
				}
			}
		}
	}
	return hits, nil
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
