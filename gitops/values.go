package gitops

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/decode"
)

// EffectiveValue is the value a key path takes for one cluster once every
// file of a hierarchy is applied, the most specific file that sets it
// winning, as Helm merges valueFiles.
type EffectiveValue struct {
	Cluster string `json:"cluster"`
	Tenant  string `json:"tenant"`
	Env     string `json:"env"`
	// Set is false when no file of the cluster's hierarchy sets the key, or
	// when the most specific file that mentions it sets it to null, which
	// removes what more general files set (Null is then true).
	Set  bool `json:"set"`
	Null bool `json:"null,omitempty"`
	// Value is the scalar as written; a mapping or a list is shown in YAML
	// flow style.
	Value string `json:"value,omitempty"`
	// Source is the file and line of the value (or of the null); nil when
	// no file mentions the key.
	Source *Source `json:"source,omitempty"`
}

// Effective returns, for every cluster, the effective value of the key path
// key (dotted, as yamledit.ParsePath reads it) under the key of the
// hierarchy called name, reading each file of the hierarchy once. An unknown
// hierarchy is an error naming the known ones; so is a file that is not
// YAML.
func (inv *Inventory) Effective(name, key string) ([]EffectiveValue, error) {
	kp, err := parseKeyPath(key)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", key, err)
	}
	if len(kp) == 0 {
		return nil, errors.New("key path is empty")
	}
	hs, err := inv.hierarchies(name)
	if err != nil {
		return nil, err
	}
	files := map[fileKey]*yaml.Node{}
	var levels []levelValue
	out := make([]EffectiveValue, 0, len(inv.Clusters))
	for i := range inv.Clusters {
		c := &inv.Clusters[i]
		h := hs[c.Repo]
		if h == nil {
			continue
		}
		full := append(slices.Clone(h.key), kp...)
		ev := EffectiveValue{Cluster: c.Name, Tenant: c.Tenant, Env: c.Env}
		if levels, err = clusterLevels(files, h, c, full, levels[:0]); err != nil {
			return nil, err
		}
		for _, lv := range levels {
			v := lv.value
			if v == nil {
				continue
			}
			ev.Source = &Source{Repo: c.Repo, File: lv.path, Line: v.Line, Column: v.Column}
			ev.Null = v.ShortTag() == "!!null"
			ev.Set = !ev.Null
			ev.Value = ""
			if ev.Set {
				ev.Value = valueText(v)
			}
		}
		out = append(out, ev)
	}
	return out, nil
}

// hierarchies returns the hierarchy called name of each repository's
// layout; one without it is an error naming the known ones.
func (inv *Inventory) hierarchies(name string) (map[string]*Hierarchy, error) {
	hs := map[string]*Hierarchy{}
	for _, repo := range inv.Repos {
		l := inv.Layouts[repo]
		if l == nil {
			continue
		}
		h, ok := l.Hierarchy(name)
		if !ok {
			return nil, fmt.Errorf("unknown hierarchy %q in the layout of %s (known: %s)", name, repo, knownHierarchies(l))
		}
		hs[repo] = h
	}
	return hs, nil
}

// Chains fills in the chain of every cluster of f (rollout.Cluster.Chain)
// for a field change of the hierarchy called name at key path path (under
// the hierarchy's key, dotted as yamledit.ParsePath reads it): each file its
// templates name for the cluster, from the most general, with its scope,
// whether every tenant loads it, whether it exists, and the scalar it holds
// at the key path with the key's line, under the key path as written. It
// returns the key path the planner edits in each file (rollout.WithFieldKey):
// the hierarchy's key, then path, on which every repository must agree. An
// unknown hierarchy is an error naming the known ones; so is a null (the
// planner's model has no removal) or a mapping at the key path.
func (inv *Inventory) Chains(f *rollout.Fleet, name, path string) ([]string, error) {
	kp, err := parseKeyPath(path)
	if err != nil {
		return nil, fmt.Errorf("field path %q: %w", path, err)
	}
	if len(kp) == 0 {
		return nil, errors.New("field path is empty")
	}
	hs, err := inv.hierarchies(name)
	if err != nil {
		return nil, err
	}
	var full keyPath
	from := ""
	for _, repo := range inv.Repos {
		h := hs[repo]
		if h == nil {
			continue
		}
		k := append(slices.Clone(h.key), kp...)
		switch {
		case from == "":
			full, from = k, repo
		case !slices.Equal(k, full):
			return nil, fmt.Errorf("repositories %s and %s keep hierarchy %s under different keys (%s, %s)", from, repo, name, full, k)
		}
	}
	index := make(map[string]int, len(f.Clusters))
	for i := range f.Clusters {
		index[f.Clusters[i].Name] = i
	}
	files := map[fileKey]*yaml.Node{}
	exists := map[fileKey]bool{}
	var levels []levelValue
	for i := range inv.Clusters {
		c := &inv.Clusters[i]
		h := hs[c.Repo]
		fi, ok := index[c.Name]
		if h == nil || !ok {
			continue
		}
		if levels, err = clusterLevels(files, h, c, full, levels[:0]); err != nil {
			return nil, err
		}
		chain := make([]rollout.LabelLevel, 0, len(levels))
		for _, lv := range levels {
			p, k, v := lv.path, lv.key, lv.value
			fk := fileKey{c.Repo, p}
			there, seen := exists[fk]
			if !seen {
				there = lv.root != nil || fileExists(joinRepo(c.Repo, p))
				exists[fk] = there
			}
			lvl := rollout.LabelLevel{Repo: c.Repo, File: p, Scope: lv.t.scope(), Shared: lv.t.shared(), Exists: there}
			if v != nil {
				switch {
				case v.ShortTag() == "!!null":
					return nil, fmt.Errorf("%s:%d: %s is null: fleetbot cannot plan around a value removed by null; give it a value or delete the key", p, k.Line, full)
				case v.Kind != yaml.ScalarNode:
					return nil, fmt.Errorf("%s:%d: %s holds %s, not a single value", p, k.Line, full, decode.Describe(v))
				}
				lvl.Labels = map[string]string{path: v.Value}
				lvl.Lines = map[string]int{path: k.Line}
			}
			chain = append(chain, lvl)
		}
		f.Clusters[fi].Chain = chain
	}
	return full, nil
}

// levelValue is one file of a cluster's hierarchy: its template, its path,
// its root (nil when it does not exist or is empty), and the key and value
// nodes at a key path (nil when the file lacks it; aliases followed).
type levelValue struct {
	t                template
	path             string
	root, key, value *yaml.Node
}

// clusterLevels appends to out the files of h that apply to c, from the
// most general, with their nodes at full; files caches the parsed files.
func clusterLevels(files map[fileKey]*yaml.Node, h *Hierarchy, c *Cluster, full keyPath, out []levelValue) ([]levelValue, error) {
	for _, t := range h.templates {
		p, ok := t.render(c)
		if !ok {
			continue
		}
		root, err := readValues(files, c.Repo, p)
		if err != nil {
			return nil, err
		}
		k, v, _ := lookupPath(root, full)
		out = append(out, levelValue{t: t, path: p, root: root, key: k, value: decode.Deref(v)})
	}
	return out, nil
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// knownHierarchies lists the hierarchies of l for a message.
func knownHierarchies(l *Layout) string {
	names := l.HierarchyNames()
	if len(names) == 0 {
		return "none: the layout has no labels and no hierarchies section"
	}
	return strings.Join(names, ", ")
}

// readValues returns the root of the values file rel of repo, parsing it
// once; nil when the file does not exist or is empty.
func readValues(cache map[fileKey]*yaml.Node, repo, rel string) (*yaml.Node, error) {
	k := fileKey{repo, rel}
	if root, ok := cache[k]; ok {
		return root, nil
	}
	path := joinRepo(repo, rel)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		cache[k] = nil
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	d := decode.New(path)
	root, _ := d.Document(data, "values file")
	if err := d.Err(); err != nil {
		return nil, err
	}
	cache[k] = root
	return root, nil
}

// valueText writes a scalar as it is, and a mapping or a list on one line in
// YAML flow style.
func valueText(v *yaml.Node) string {
	if v.Kind == yaml.ScalarNode {
		return v.Value
	}
	flow := *v
	flow.Style = yaml.FlowStyle
	b, err := yaml.Marshal(&flow)
	if err != nil {
		return decode.Describe(v)
	}
	return strings.TrimSpace(string(b))
}
