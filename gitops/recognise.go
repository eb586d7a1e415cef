package gitops

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The values a fleet file holds, in the order a layout section lists them.
const (
	fieldCluster = "cluster"
	fieldTenant  = "tenant"
	fieldEnv     = "env"
	fieldRegion  = "region"
	fieldAccount = "account"
	fieldFleet   = "fleet"
	fieldCanary  = "canary"
	fieldVersion = "version"
	fieldEnabled = "enabled"
)

// fieldNames are the key names fleets commonly give each value, the most
// usual first. Recognise reads keys by these names, and Adopt reads AWS tags
// and Terraform outputs by them. A name may be prefixed ("acme.io/tenant").
var fieldNames = map[string][]string{
	fieldCluster: {"clusterName", "cluster_name", "name", "cluster"},
	fieldTenant:  {"tenant", "tenant_name", "tenantName"},
	fieldEnv:     {"env", "environment", "stage"},
	fieldRegion:  {"region", "aws_region", "awsRegion"},
	fieldAccount: {"account_id", "aws_account_id", "accountId", "awsAccountId", "account"},
	fieldFleet:   {"fleet", "fleet_class"},
	fieldCanary:  {"canary", "is_canary", "isCanary"},
	fieldVersion: {"version", "kubernetes_version", "cluster_version", "eks_version", "kubernetesVersion", "clusterVersion", "k8s_version"},
	fieldEnabled: {"enabled"},
}

// nameRank returns the rank of key among the names of field, or -1.
func nameRank(field, key string) int {
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		key = key[i+1:]
	}
	return slices.Index(fieldNames[field], key)
}

// Recognition is what Recognise found in a repository: a layout that
// describes it and what does not fit that layout.
type Recognition struct {
	// Dir is the repository as given.
	Dir string
	// Layout is the layout file's text; ParseLayout accepts it.
	Layout []byte
	// Found says, one line each, what the layout's sections describe.
	Found []string
	// Unplaced lists files that look like fleet files but fit no section,
	// and keys the layout could not map, with the reason.
	Unplaced []Unplaced
	// Files and YAML count what was looked at.
	Files, YAML int
}

// Unplaced is a file, or a key in a file, that Recognise could not place.
type Unplaced struct {
	File   string // repository-relative
	Key    string // the key path, or empty for the whole file
	Reason string
}

func (u Unplaced) String() string {
	if u.Key != "" {
		return fmt.Sprintf("%s: %s: %s", u.File, u.Key, u.Reason)
	}
	return fmt.Sprintf("%s: %s", u.File, u.Reason)
}

// NotRecognisedError reports a repository in which Recognise found neither
// tenant blueprints nor fleet-member files.
type NotRecognisedError struct {
	Dir         string
	Files, YAML int
	Unplaced    []Unplaced
}

func (e *NotRecognisedError) Error() string {
	return fmt.Sprintf("%s: no fleet files recognised in %d files (%d YAML): no tenant blueprint (tenant, env and a mapping of clusters with a version each) and no fleet-member file (tenant, env and cluster name in one file)",
		e.Dir, e.Files, e.YAML)
}

// fleetDoc is one parsed YAML file of the repository.
type fleetDoc struct {
	rel    string
	root   *yaml.Node
	leaves []leaf // scalar values down to leafDepth, in document order
	k8s    bool   // a Kubernetes object: apiVersion and kind at the root
}

// leaf is a scalar value and its key path.
type leaf struct {
	kp   keyPath
	node *yaml.Node
}

const leafDepth = 4

func collectLeaves(m *yaml.Node, prefix keyPath, out []leaf) []leaf {
	if m == nil || m.Kind != yaml.MappingNode || len(prefix) >= leafDepth {
		return out
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		kp := append(slices.Clone(prefix), k.Value)
		switch v.Kind {
		case yaml.ScalarNode:
			out = append(out, leaf{kp: kp, node: v})
		case yaml.MappingNode:
			out = collectLeaves(v, kp, out)
		}
	}
	return out
}

func isString(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" }

// isFlag reports whether n is a boolean or the string "true" or "false".
func isFlag(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!bool" || (isString(n) && (n.Value == "true" || n.Value == "false")))
}

// fits reports whether n can hold field: names for tenant, env and cluster,
// MAJOR.MINOR for a version, a quoted account ID, a flag for canary and
// enabled.
func fits(field string, n *yaml.Node) bool {
	switch field {
	case fieldTenant, fieldEnv, fieldCluster:
		return isString(n) && isName(n.Value)
	case fieldVersion:
		return isString(n) && isEKSVersion(n.Value)
	case fieldAccount:
		return isString(n) && isAccount(n.Value)
	case fieldCanary, fieldEnabled:
		return isFlag(n)
	default:
		return isString(n) && n.Value != ""
	}
}

// pick returns the leaf that best holds field: by name rank, then the
// shallowest. A Kubernetes object's metadata.name names the object, not the
// cluster.
func (d *fleetDoc) pick(field string, leaves []leaf, skip func(keyPath) bool) (leaf, bool) {
	var best leaf
	bestRank := -1
	for _, l := range leaves {
		r := nameRank(field, l.kp[len(l.kp)-1])
		if r < 0 || (skip != nil && skip(l.kp)) || !fits(field, l.node) {
			continue
		}
		if field == fieldCluster && d.k8s && l.kp.String() == "metadata.name" {
			continue
		}
		if bestRank < 0 || r < bestRank || (r == bestRank && len(l.kp) < len(best.kp)) {
			best, bestRank = l, r
		}
	}
	return best, bestRank >= 0
}

// blueprintShape is what makes a file a tenant blueprint.
type blueprintShape struct {
	tenant, env, clusters keyPath
	entries               []blueprintEntry
}

type blueprintEntry struct {
	name   string
	leaves []leaf // relative to the entry
}

// memberShape is what makes a file a fleet-member file.
type memberShape struct {
	tenant, env, cluster keyPath
	values               map[string]string // tenant, env, cluster
}

// asBlueprint finds a mapping of cluster name to settings, at least one of
// which has a version, with a tenant and an env outside it.
func (d *fleetDoc) asBlueprint() (blueprintShape, bool) {
	var found blueprintShape
	var walk func(m *yaml.Node, prefix keyPath) bool
	walk = func(m *yaml.Node, prefix keyPath) bool {
		if len(prefix) >= leafDepth-1 {
			return false
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if v.Kind != yaml.MappingNode {
				continue
			}
			kp := append(slices.Clone(prefix), k.Value)
			if entries, ok := clusterEntries(v); ok {
				found = blueprintShape{clusters: kp, entries: entries}
				return true
			}
			if walk(v, kp) {
				return true
			}
		}
		return false
	}
	if !walk(d.root, nil) {
		return blueprintShape{}, false
	}
	outside := func(kp keyPath) bool { return hasPrefix(kp, found.clusters) }
	t, ok1 := d.pick(fieldTenant, d.leaves, outside)
	e, ok2 := d.pick(fieldEnv, d.leaves, outside)
	if !ok1 || !ok2 {
		return blueprintShape{}, false
	}
	found.tenant, found.env = t.kp, e.kp
	return found, true
}

// clusterEntries reads m as a mapping of cluster name to settings, at
// least one of which holds a version.
func clusterEntries(m *yaml.Node) ([]blueprintEntry, bool) {
	var out []blueprintEntry
	versioned := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if v.Kind != yaml.MappingNode || !isName(k.Value) {
			return nil, false
		}
		e := blueprintEntry{name: k.Value, leaves: collectLeaves(v, nil, nil)}
		for _, l := range e.leaves {
			if len(l.kp) == 1 && nameRank(fieldVersion, l.kp[0]) >= 0 && fits(fieldVersion, l.node) {
				versioned = true
			}
		}
		out = append(out, e)
	}
	return out, versioned && len(out) > 0
}

func hasPrefix(kp, prefix keyPath) bool {
	return len(kp) >= len(prefix) && slices.Equal(kp[:len(prefix)], prefix)
}

// asMember finds a tenant, an env and a cluster name in one file.
func (d *fleetDoc) asMember() (memberShape, []string) {
	var s memberShape
	var missing []string
	s.values = map[string]string{}
	for _, f := range []string{fieldTenant, fieldEnv, fieldCluster} {
		l, ok := d.pick(f, d.leaves, nil)
		if !ok {
			missing = append(missing, f)
			continue
		}
		s.values[f] = l.node.Value
		switch f {
		case fieldTenant:
			s.tenant = l.kp
		case fieldEnv:
			s.env = l.kp
		default:
			s.cluster = l.kp
		}
	}
	return s, missing
}

// Recognise looks at the YAML files of the repository at dir and writes a
// layout for the fleet files it finds: tenant blueprints, fleet-member
// files (whatever their keys are nested under: Argo CD cluster Secret
// manifests and per-cluster Helm values included) and a label hierarchy.
// Files are told apart by the keys they hold, not by their names. When it
// finds neither blueprints nor member files the error is a
// *NotRecognisedError.
func Recognise(ctx context.Context, dir string) (*Recognition, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("repository: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("repository %s is not a directory", dir)
	}
	files, err := listFiles(ctx, dir, 2)
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", dir, err)
	}
	r := &recogniser{rec: &Recognition{Dir: dir, Files: len(files)}, files: files}
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		if rel == LayoutFile || !(strings.HasSuffix(rel, ".yaml") || strings.HasSuffix(rel, ".yml")) {
			continue
		}
		r.rec.YAML++
		data, err := os.ReadFile(joinRepo(dir, rel))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", rel, err)
		}
		var doc yaml.Node
		// Files that are not one YAML mapping (Helm templates, multi-document
		// manifests) are not fleet files.
		if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		root := doc.Content[0]
		d := &fleetDoc{rel: rel, root: root, leaves: collectLeaves(root, nil, nil)}
		_, av := lookup(root, "apiVersion")
		_, kv := lookup(root, "kind")
		d.k8s = av != nil && kv != nil
		r.docs = append(r.docs, d)
	}
	r.classify()
	if len(r.blueprints) == 0 && len(r.members) == 0 {
		r.reportNameless(nil)
		return nil, &NotRecognisedError{Dir: dir, Files: r.rec.Files, YAML: r.rec.YAML, Unplaced: r.rec.Unplaced}
	}
	var b layoutText
	b.header()
	if len(r.blueprints) > 0 {
		r.blueprintSection(&b)
	}
	if len(r.members) > 0 {
		r.memberSection(&b)
	}
	r.labelSection(&b)
	for _, c := range r.clusters {
		if !slices.Contains(b.tenants, c.Tenant) {
			b.tenants = append(b.tenants, c.Tenant)
		}
	}
	slices.Sort(b.tenants)
	b.footer()
	r.rec.Layout = []byte(b.String())
	if _, err := ParseLayout(LayoutFile, r.rec.Layout); err != nil {
		return nil, fmt.Errorf("the layout written for %s does not parse: %w", dir, err)
	}
	slices.SortStableFunc(r.rec.Unplaced, func(a, b Unplaced) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Key, b.Key))
	})
	return r.rec, nil
}

type recogniser struct {
	rec   *Recognition
	files map[string]bool
	docs  []*fleetDoc

	blueprints []*fleetDoc
	bshape     blueprintShape // of the placed blueprints
	bshapes    map[*fleetDoc]blueprintShape
	members    []*fleetDoc
	mshape     memberShape
	placed     map[string]bool
	clusters   []Cluster // names, tenants and envs of the placed files
	// nameless are files with a tenant and an env but no cluster name,
	// reported unless they are label files.
	nameless []namelessDoc
}

type namelessDoc struct {
	d *fleetDoc
	s memberShape
}

func (r *recogniser) unplaced(file, key, format string, args ...any) {
	r.rec.Unplaced = append(r.rec.Unplaced, Unplaced{File: file, Key: key, Reason: fmt.Sprintf(format, args...)})
}

// classify sorts the documents into blueprints and member files, keeping
// the largest group of each that shares its keys.
func (r *recogniser) classify() {
	r.placed = map[string]bool{}
	r.bshapes = map[*fleetDoc]blueprintShape{}
	bgroups := map[string][]*fleetDoc{}
	mgroups := map[string][]*fleetDoc{}
	mshapes := map[*fleetDoc]memberShape{}
	for _, d := range r.docs {
		if s, ok := d.asBlueprint(); ok {
			r.bshapes[d] = s
			sig := s.tenant.String() + "|" + s.env.String() + "|" + s.clusters.String()
			bgroups[sig] = append(bgroups[sig], d)
			continue
		}
		s, missing := d.asMember()
		switch {
		case len(missing) == 0:
			mshapes[d] = s
			sig := s.tenant.String() + "|" + s.env.String() + "|" + s.cluster.String()
			mgroups[sig] = append(mgroups[sig], d)
		case len(missing) == 1 && missing[0] == fieldCluster && !d.k8s:
			r.nameless = append(r.nameless, namelessDoc{d, s})
		}
	}
	r.blueprints = r.largest(bgroups, "tenant blueprints")
	if len(r.blueprints) > 0 {
		r.bshape = r.bshapes[r.blueprints[0]]
	}
	r.members = r.largest(mgroups, "fleet-member files")
	if len(r.members) > 0 {
		r.mshape = mshapes[r.members[0]]
	}
	for _, d := range r.blueprints {
		r.placed[d.rel] = true
		s := r.bshapes[d]
		_, tv, _ := lookupPath(d.root, s.tenant)
		_, ev, _ := lookupPath(d.root, s.env)
		for _, e := range s.entries {
			r.clusters = append(r.clusters, Cluster{Name: e.name, Tenant: tv.Value, Env: ev.Value})
		}
	}
	for _, d := range r.members {
		r.placed[d.rel] = true
		v := mshapes[d].values
		r.clusters = append(r.clusters, Cluster{Name: v[fieldCluster], Tenant: v[fieldTenant], Env: v[fieldEnv]})
	}
}

// largest returns the biggest group (ties: the first signature) and
// reports the files of the others.
func (r *recogniser) largest(groups map[string][]*fleetDoc, what string) []*fleetDoc {
	sigs := slices.Sorted(maps.Keys(groups))
	if len(sigs) == 0 {
		return nil
	}
	best := sigs[0]
	for _, s := range sigs[1:] {
		if len(groups[s]) > len(groups[best]) {
			best = s
		}
	}
	for _, s := range sigs {
		if s == best {
			continue
		}
		for _, d := range groups[s] {
			r.unplaced(d.rel, "", "looks like one of the %s, but with its tenant, env and cluster under other keys (%s) than the %d files placed (%s): a layout section reads one set of keys",
				what, strings.ReplaceAll(s, "|", ", "), len(groups[best]), strings.ReplaceAll(best, "|", ", "))
		}
	}
	return groups[best]
}

// optional chooses, for each optional field, the key path most of the
// records hold (relative to each record), and reports the other places the
// field's names appear. required lists the key paths already taken.
func (r *recogniser) optional(records []record, fields []string, taken []keyPath, all bool) map[string]keyPath {
	out := map[string]keyPath{}
	used := map[string]bool{}
	for _, kp := range taken {
		used[kp.String()] = true
	}
	for _, f := range fields {
		count := map[string]int{}
		rank := map[string]int{}
		var bad []string
		for _, rec := range records {
			for _, l := range rec.leaves {
				key := l.kp.String()
				rk := nameRank(f, l.kp[len(l.kp)-1])
				if rk < 0 || used[key] {
					continue
				}
				if !fits(f, l.node) {
					if !slices.Contains(bad, key) {
						bad = append(bad, key)
						r.unplaced(rec.file, key, "%s looks like the %s but is not one: %s", l.node.Value, f, fieldWant[f])
					}
					continue
				}
				count[key]++
				rank[key] = rk*10 + len(l.kp)
			}
		}
		keys := slices.SortedFunc(maps.Keys(count), func(a, b string) int {
			return cmp.Or(cmp.Compare(count[b], count[a]), cmp.Compare(rank[a], rank[b]), cmp.Compare(a, b))
		})
		if len(keys) == 0 {
			continue
		}
		best := keys[0]
		if f == fieldVersion && all && count[best] < len(records) {
			r.unplaced(records[0].file, best, "looks like the EKS version but only %d of %d files have it: with a version key every file must hold one, so it is not mapped", count[best], len(records))
		} else {
			kp, _ := parseKeyPath(best)
			out[f] = kp
			used[best] = true
		}
		for _, k := range keys[1:] {
			if used[k] {
				continue
			}
			r.unplaced(r.fileWith(records, k), k, "also looks like the %s; the layout reads %s", f, best)
		}
	}
	return out
}

// fieldWant says what a field's value must look like.
var fieldWant = map[string]string{
	fieldVersion: `an EKS version is a string MAJOR.MINOR, such as "1.30"`,
	fieldAccount: `an AWS account ID is a quoted string of 12 digits`,
	fieldCanary:  `a flag is true or false, or the string "true" or "false"`,
	fieldEnabled: `a flag is true or false, or the string "true" or "false"`,
	fieldRegion:  "a region is a string",
	fieldFleet:   "a fleet is a string",
}

func (r *recogniser) fileWith(records []record, key string) string {
	for _, rec := range records {
		for _, l := range rec.leaves {
			if l.kp.String() == key {
				return rec.file
			}
		}
	}
	return records[0].file
}

// record is one cluster's values: a member file, or a blueprint entry.
type record struct {
	file   string
	leaves []leaf
}

func (r *recogniser) blueprintSection(b *layoutText) {
	s := r.bshape
	var roots, entries []record
	for _, d := range r.blueprints {
		var top []leaf
		for _, l := range d.leaves {
			if !hasPrefix(l.kp, s.clusters) {
				top = append(top, l)
			}
		}
		roots = append(roots, record{file: d.rel, leaves: top})
		for _, e := range r.bshapes[d].entries {
			entries = append(entries, record{file: d.rel, leaves: e.leaves})
		}
	}
	top := r.optional(roots, []string{fieldRegion, fieldAccount}, []keyPath{s.tenant, s.env}, false)
	in := r.optional(entries, []string{fieldVersion, fieldFleet, fieldCanary, fieldEnabled}, nil, false)
	paths := r.globs(r.blueprints)
	b.section("blueprints")
	b.list("paths", paths)
	b.key("tenant", s.tenant)
	b.key("env", s.env)
	b.key("region", top[fieldRegion])
	b.key("account", top[fieldAccount])
	b.key("clusters", s.clusters)
	b.comment("Keys inside each cluster's entry.")
	b.key("fleet", in[fieldFleet])
	b.key("canary", in[fieldCanary])
	b.key("version", in[fieldVersion])
	b.key("enabled", in[fieldEnabled])
	if len(in[fieldVersion]) > 0 {
		b.WriteString("  # To replace clusters blue-green rather than upgrade them in place (a\n" +
			"  # campaign's strategy.method), name the key of each entry that holds the\n" +
			"  # cluster's share of traffic and uncomment; see docs/layout.md#bluegreen:\n" +
			"  #\n  # blueGreen:\n  #   name: \"{cluster}-g{n}\"\n  #   traffic: traffic_weight\n")
	}
	r.rec.Found = append(r.rec.Found, fmt.Sprintf("tenant blueprints: %d files (%s), %d clusters under %s",
		len(r.blueprints), strings.Join(paths, ", "), len(entries), s.clusters))
	for _, e := range entries {
		if !slices.ContainsFunc(e.leaves, func(l leaf) bool { return len(in[fieldVersion]) > 0 && slices.Equal(l.kp, in[fieldVersion]) }) {
			r.unplaced(e.file, "", "a cluster entry under %s has no version (%s): fleetbot validate reports it", s.clusters, in[fieldVersion])
		}
	}
}

func (r *recogniser) memberSection(b *layoutText) {
	s := r.mshape
	var recs []record
	for _, d := range r.members {
		recs = append(recs, record{file: d.rel, leaves: d.leaves})
	}
	opt := r.optional(recs, []string{fieldRegion, fieldAccount, fieldFleet, fieldCanary, fieldVersion, fieldEnabled},
		[]keyPath{s.tenant, s.env, s.cluster}, true)
	paths := r.globs(r.members)
	b.section("members")
	b.list("paths", paths)
	b.key("cluster", s.cluster)
	b.key("tenant", s.tenant)
	b.key("env", s.env)
	for _, f := range []string{fieldRegion, fieldAccount, fieldFleet, fieldCanary, fieldVersion, fieldEnabled} {
		b.key(f, opt[f])
	}
	kind := "fleet-member files"
	switch {
	case r.members[0].k8s:
		kind = "Kubernetes manifests (Argo CD cluster Secrets)"
	case len(s.tenant) > 1:
		kind = "per-cluster values files"
	}
	r.rec.Found = append(r.rec.Found, fmt.Sprintf("%s, one cluster each: %d files (%s); cluster %s, tenant %s, env %s",
		kind, len(r.members), strings.Join(paths, ", "), s.cluster, s.tenant, s.env))
	if opt[fieldVersion] == nil {
		r.rec.Found = append(r.rec.Found, "no EKS version in the member files: fleetbot can roll label and field changes out on these clusters, not version upgrades")
	}
}

// globs returns patterns that match the files of docs and no other file
// of the repository: each path segment the files share is kept, the others
// become wildcards. When that would match other files, the files are listed.
func (r *recogniser) globs(docs []*fleetDoc) []string {
	byDepth := map[int][][]string{}
	for _, d := range docs {
		segs := strings.Split(d.rel, "/")
		byDepth[len(segs)] = append(byDepth[len(segs)], segs)
	}
	mine := map[string]bool{}
	for _, d := range docs {
		mine[d.rel] = true
	}
	var out []string
	for _, depth := range slices.Sorted(maps.Keys(byDepth)) {
		group := byDepth[depth]
		pat := make([]string, depth)
		for i := range depth {
			pat[i] = group[0][i]
			for _, segs := range group[1:] {
				if segs[i] != pat[i] {
					pat[i] = "*"
					if i == depth-1 {
						pat[i] = "*" + commonExt(group)
					}
					break
				}
			}
		}
		g, err := compileGlob(strings.Join(pat, "/"))
		over := err != nil
		for f := range r.files {
			if !over && !mine[f] && g.match(f) {
				over = true
			}
		}
		if !over {
			out = append(out, g.pattern)
			continue
		}
		for _, segs := range group {
			out = append(out, strings.Join(segs, "/"))
		}
	}
	slices.Sort(out)
	return out
}

// commonExt returns the extension every file name of group ends with, or "".
func commonExt(group [][]string) string {
	ext := path.Ext(group[0][len(group[0])-1])
	for _, segs := range group {
		if path.Ext(segs[len(segs)-1]) != ext {
			return ""
		}
	}
	return ext
}

// labelsKey finds a mapping of labels in root: the shallowest key "labels"
// whose value maps names to scalars.
func labelsKey(root *yaml.Node) (keyPath, bool) {
	queue := []struct {
		m  *yaml.Node
		kp keyPath
	}{{root, nil}}
	for len(queue) > 0 {
		q := queue[0]
		queue = queue[1:]
		if len(q.kp) >= leafDepth-1 {
			continue
		}
		for i := 0; i+1 < len(q.m.Content); i += 2 {
			k, v := q.m.Content[i], q.m.Content[i+1]
			if v.Kind != yaml.MappingNode {
				continue
			}
			kp := append(slices.Clone(q.kp), k.Value)
			if k.Value == "labels" && len(v.Content) > 0 && !slices.ContainsFunc(v.Content, func(n *yaml.Node) bool { return n.Kind != yaml.ScalarNode }) {
				return kp, true
			}
			queue = append(queue, struct {
				m  *yaml.Node
				kp keyPath
			}{v, kp})
		}
	}
	return nil, false
}

// template turns a path into a hierarchy template for the cluster whose
// names fill the most of its segments ({cluster}, {tenant}, {env}, whole or
// before the extension). It returns the template and the number of
// placeholders.
func (r *recogniser) template(rel string) (string, int) {
	segs := strings.Split(rel, "/")
	best, bestN := rel, 0
	for _, c := range r.clusters {
		out := make([]string, len(segs))
		n := 0
		for i, seg := range segs {
			ext := path.Ext(seg)
			stem := strings.TrimSuffix(seg, ext)
			out[i] = seg
			for _, f := range []struct{ value, ph string }{{c.Name, "{cluster}"}, {c.Tenant, "{tenant}"}, {c.Env, "{env}"}} {
				if seg == f.value {
					out[i], n = f.ph, n+1
					break
				}
				if ext != "" && stem == f.value {
					out[i], n = f.ph+ext, n+1
					break
				}
			}
		}
		if t := strings.Join(out, "/"); n > bestN || (n == bestN && n > 0 && t < best) {
			best, bestN = t, n
		}
	}
	return best, bestN
}

// specificity orders hierarchy levels: shared, {env}, {tenant},
// {tenant}+{env}, then {cluster}.
func specificity(t string) int {
	n := 0
	if strings.Contains(t, "{cluster}") {
		n += 4
	}
	if strings.Contains(t, "{tenant}") {
		n += 2
	}
	if strings.Contains(t, "{env}") {
		n++
	}
	return n
}

// family is what the files of one hierarchy share: the last two segments
// (the chart's directory and the values file).
func family(rel string) string {
	segs := strings.Split(rel, "/")
	return strings.Join(segs[max(0, len(segs)-2):], "/")
}

// commonTail returns the last segments all paths share after pre.
func commonTail(paths []string, pre string) string {
	tail := strings.Split(strings.TrimPrefix(paths[0], pre), "/")
	for _, p := range paths[1:] {
		segs := strings.Split(strings.TrimPrefix(p, pre), "/")
		n := 0
		for n < len(tail) && n < len(segs) && tail[len(tail)-1-n] == segs[len(segs)-1-n] {
			n++
		}
		tail = tail[len(tail)-n:]
	}
	return strings.Join(tail, "/")
}

// prefix is the part of a template before its first placeholder segment.
func prefix(t string) string {
	i := strings.IndexByte(t, '{')
	if i < 0 {
		return path.Dir(t) + "/"
	}
	return t[:strings.LastIndexByte(t[:i], '/')+1]
}

func (r *recogniser) labelSection(b *layoutText) {
	type cand struct {
		d    *fleetDoc
		key  string
		tmpl string
		n    int
	}
	var cands []cand
	isLabels := map[string]bool{}
	for _, d := range r.docs {
		if r.placed[d.rel] {
			continue
		}
		key, ok := labelsKey(d.root)
		if !ok {
			continue
		}
		t, n := r.template(d.rel)
		cands = append(cands, cand{d: d, key: key.String(), tmpl: t, n: n})
	}
	// The key, family and prefix most templated files share.
	vote := func(of func(cand) string, keep func(cand) bool) string {
		count := map[string]int{}
		for _, c := range cands {
			if c.n > 0 && keep(c) {
				count[of(c)]++
			}
		}
		return slices.MaxFunc(append(slices.Sorted(maps.Keys(count)), ""), func(a, b string) int {
			return cmp.Or(cmp.Compare(count[a], count[b]), cmp.Compare(b, a))
		})
	}
	all := func(cand) bool { return true }
	key := vote(func(c cand) string { return c.key }, all)
	fam := vote(func(c cand) string { return family(c.d.rel) }, func(c cand) bool { return c.key == key })
	pre := vote(func(c cand) string { return prefix(c.tmpl) }, func(c cand) bool { return c.key == key && family(c.d.rel) == fam })
	levels := map[string][]string{} // template -> files
	var shared []cand
	for _, c := range cands {
		inFamily := c.key == key && family(c.d.rel) == fam
		switch {
		case key == "":
		case c.n > 0 && inFamily && prefix(c.tmpl) == pre:
			levels[c.tmpl] = append(levels[c.tmpl], c.d.rel)
			isLabels[c.d.rel] = true
		case c.n > 0:
			r.unplaced(c.d.rel, c.key, "holds labels and its path names a cluster's tenant, env or name (%s), but it is not one of the %s files under %s that hold labels at %s: a layout has one label hierarchy",
				c.tmpl, fam, pre, key)
			isLabels[c.d.rel] = true
		case inFamily && strings.HasPrefix(c.d.rel, pre):
			shared = append(shared, c)
			isLabels[c.d.rel] = true
		case inFamily:
			r.unplaced(c.d.rel, c.key, "holds labels like the hierarchy's files, but outside %s and without the name of any cluster, tenant or env found in its path", pre)
			isLabels[c.d.rel] = true
		}
	}
	r.reportNameless(isLabels)
	if len(levels) == 0 {
		return
	}
	hier := slices.Collect(maps.Keys(levels))
	for _, c := range shared {
		hier = append(hier, c.d.rel)
		levels[c.d.rel] = []string{c.d.rel}
	}
	slices.SortFunc(hier, func(a, b string) int {
		return cmp.Or(cmp.Compare(specificity(a), specificity(b)), cmp.Compare(strings.Count(a, "/"), strings.Count(b, "/")), cmp.Compare(a, b))
	})
	files := 0
	var placed []string
	for _, t := range hier {
		files += len(levels[t])
		placed = append(placed, levels[t]...)
	}
	kp, _ := parseKeyPath(key)
	b.section("labels")
	b.list("files", []string{pre + "**/" + commonTail(placed, pre)})
	b.key("key", kp)
	b.comment("From the most general to the most specific: a later file wins.")
	b.list("hierarchy", hier)
	r.rec.Found = append(r.rec.Found, fmt.Sprintf("label hierarchy: %d levels in %d files, labels at %s; the order is inferred (shared, env, tenant, tenant and env, cluster): check it against the valueFiles your ApplicationSet passes",
		len(hier), files, key))
	for i := 1; i < len(hier); i++ {
		if specificity(hier[i]) == specificity(hier[i-1]) {
			r.rec.Found = append(r.rec.Found, fmt.Sprintf("levels %s and %s are equally specific: their order is a guess", hier[i-1], hier[i]))
		}
	}
}

// reportNameless reports the files with a tenant and an env but no
// cluster name that are not label files.
func (r *recogniser) reportNameless(isLabels map[string]bool) {
	for _, n := range r.nameless {
		if !isLabels[n.d.rel] {
			r.unplaced(n.d.rel, "", "holds a tenant (%s) and an env (%s) but no key with the cluster's name: a layout reads the name from a key, not from the file's path; add one (such as name: %s) to each such file",
				n.s.tenant, n.s.env, path.Base(path.Dir(n.d.rel)))
		}
	}
}

// layoutText writes a layout file.
type layoutText struct {
	strings.Builder
	tenants []string
}

func (b *layoutText) header() {
	b.WriteString("# Layout written by fleetbot init from the files of this repository.\n" +
		"# Check it, fill in the owners and commit it as .fleetbot.yaml; see\n" +
		"# docs/layout.md.\n" +
		"apiVersion: " + LayoutAPIVersion + "\nkind: " + LayoutKind + "\n")
}

func (b *layoutText) section(name string) { b.WriteString("\n" + name + ":\n") }

func (b *layoutText) comment(s string) { b.WriteString("  # " + s + "\n") }

func (b *layoutText) list(key string, items []string) {
	b.WriteString("  " + key + ":\n")
	for _, it := range items {
		b.WriteString("    - " + yamlString(it) + "\n")
	}
}

func (b *layoutText) key(name string, kp keyPath) {
	if len(kp) > 0 {
		b.WriteString("  " + name + ": " + yamlString(kp.String()) + "\n")
	}
}

// footer writes the owners of the tenants found, commented out.
func (b *layoutText) footer() {
	b.WriteString("\n# Who reviews and merges each tenant's pull requests: GitHub logins under\n" +
		"# users, org/team-slug under teams. Fleet admins own the files all tenants\n" +
		"# share and steer campaigns. Uncomment and fill in:\n#\n# owners:\n")
	for _, t := range b.tenants {
		b.WriteString("#   " + t + ":\n#     teams: [your-org/" + t + "]\n")
	}
	b.WriteString("#\n# admins:\n#   teams: [your-org/platform]\n")
}

// yamlString writes s as a YAML scalar, quoted when YAML would read it as
// something else.
func yamlString(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(out), "\n")
}
