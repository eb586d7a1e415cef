package gitops

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LayoutFile is the name of the layout file fleetbot looks for at the root of
// a repository.
const LayoutFile = ".fleetbot.yaml"

// The apiVersion and kind a layout file must declare.
const (
	LayoutAPIVersion = "fleetbot.io/v1alpha1"
	LayoutKind       = "Layout"
)

// DefaultLabelsKey is the key path of the labels in a label file when the
// layout names none: the Helm values of the fleet-secret chart.
const DefaultLabelsKey = "externalSecret.labels"

// Layout says where a repository keeps the files that describe its fleet and
// who owns them. See docs/layout.md for the file format.
type Layout struct {
	// File is the layout file it was read from; empty for DefaultLayout.
	File string `json:"file,omitempty"`
	// Blueprints, when set, lists clusters from tenant blueprints.
	Blueprints *Blueprints `json:"blueprints,omitempty"`
	// Members, when set, lists clusters from Argo CD fleet-member files.
	Members *Members `json:"members,omitempty"`
	// Labels, when set, describes the fleet-secret label hierarchy.
	Labels *Labels `json:"labels,omitempty"`
	// Owners maps a tenant to the people who review and merge its changes.
	Owners map[string]Owners `json:"owners,omitempty"`
	// Admins own what all tenants share (shared label files, campaigns).
	Admins Owners `json:"admins"`

	// lines maps a list entry ("blueprints.paths[0]") to its line in File,
	// for diagnostics about what the entry finds.
	lines map[string]int
}

// Blueprints says where tenant blueprints are and which keys hold what. Key
// paths are dotted ("services.eks.config"); Fleet, Canary and Version are
// relative to each cluster's entry under Clusters.
type Blueprints struct {
	Paths  []string `json:"paths"`
	Tenant string   `json:"tenant"`
	Env    string   `json:"env"`
	Region string   `json:"region,omitempty"`
	// Account is the key of the tenant's 12-digit AWS account ID, which the
	// EKS gate needs; optional.
	Account  string `json:"account,omitempty"`
	Clusters string `json:"clusters"`
	Fleet    string `json:"fleet,omitempty"`
	Canary   string `json:"canary,omitempty"`
	Version  string `json:"version,omitempty"`
	// Enabled is the key, relative to each cluster's entry, of a boolean
	// that switches the cluster off when false; ServiceEnabled is the key,
	// from the blueprint's root, that switches off every cluster of the
	// blueprint (the EKS service). Defaults: enabled, services.eks.enabled;
	// an empty string means the format has no such key.
	Enabled        string `json:"enabled,omitempty"`
	ServiceEnabled string `json:"serviceEnabled,omitempty"`

	// detect makes a matched file a blueprint only when it holds the tenant,
	// env and clusters keys; other files are skipped, not reported.
	detect bool
	globs  globs
	keys   blueprintKeys
}

type blueprintKeys struct {
	tenant, env, region, account, clusters, fleet, canary, version, enabled, serviceEnabled keyPath
}

// Members says where Argo CD fleet-member files are (one cluster per file)
// and which keys hold what. Optional keys left empty are absent from the
// format: a cluster then has no region, fleet, canary flag or version.
type Members struct {
	Paths   []string `json:"paths"`
	Tenant  string   `json:"tenant"`
	Cluster string   `json:"cluster"`
	Env     string   `json:"env"`
	Region  string   `json:"region,omitempty"`
	Account string   `json:"account,omitempty"`
	Fleet   string   `json:"fleet,omitempty"`
	Canary  string   `json:"canary,omitempty"`
	Version string   `json:"version,omitempty"`
	// Enabled is the key of a boolean that switches the cluster off when
	// false; default enabled.
	Enabled string `json:"enabled,omitempty"`

	globs globs
	keys  memberKeys
}

type memberKeys struct {
	tenant, cluster, env, region, account, fleet, canary, version, enabled keyPath
}

// Labels describes the label hierarchy. Hierarchy lists path templates from
// the most general to the most specific: a later level overrides an earlier
// one, as Helm does with valueFiles. Templates may use {tenant}, {env} and
// {cluster}. Files lists globs of every label file, so that files no
// hierarchy path loads can be reported.
type Labels struct {
	Files     []string `json:"files,omitempty"`
	Key       string   `json:"key"`
	Hierarchy []string `json:"hierarchy"`

	globs     globs
	key       keyPath
	templates []template
}

// Owners are GitHub users (logins) and teams ("org/team-slug").
type Owners struct {
	Users []string `json:"users,omitempty"`
	Teams []string `json:"teams,omitempty"`
}

// List returns the users then the teams: a team always contains a slash, a
// login never does.
func (o Owners) List() []string {
	out := make([]string, 0, len(o.Users)+len(o.Teams))
	out = append(out, o.Users...)
	return append(out, o.Teams...)
}

// Seed-format key names, the defaults of a blueprints section.
const (
	seedTenant   = "tenant"
	seedEnv      = "env"
	seedRegion   = "region"
	seedClusters = "services.eks.config"
	seedFleet    = "fleet"
	seedCanary   = "is_canary"
	seedVersion  = "version"
	seedEnabled  = "enabled"
	seedService  = "services.eks.enabled"
)

// seedBlueprints returns a blueprints section with the seed key names.
func seedBlueprints() *Blueprints {
	return &Blueprints{
		Tenant: seedTenant, Env: seedEnv, Region: seedRegion, Clusters: seedClusters,
		Fleet: seedFleet, Canary: seedCanary, Version: seedVersion,
		Enabled: seedEnabled, ServiceEnabled: seedService,
	}
}

// seedHierarchy is the fleet-secret hierarchy of the seed format.
var seedHierarchy = []string{
	"addons/tenants/defaults/fleet/fleet-secret/values.yaml",
	"addons/tenants/{tenant}/defaults/fleet/fleet-secret/values.yaml",
	"addons/tenants/{tenant}/environments/{env}/defaults/fleet/fleet-secret/values.yaml",
	"addons/tenants/{tenant}/environments/{env}/clusters/{cluster}/fleet/fleet-secret/values.yaml",
}

// DefaultLayout is the layout of a repository without a layout file: any
// YAML file with top-level tenant, env and services.eks.config is a
// blueprint, and labels follow the seed fleet-secret hierarchy.
func DefaultLayout() *Layout {
	b := seedBlueprints()
	b.Paths = []string{"**/*.yaml", "**/*.yml"}
	b.detect = true
	l := &Layout{
		Blueprints: b,
		Labels: &Labels{
			Files:     []string{"addons/tenants/**/fleet/fleet-secret/values.yaml"},
			Key:       DefaultLabelsKey,
			Hierarchy: slices.Clone(seedHierarchy),
		},
	}
	d := &layoutDecoder{}
	d.finish(l, nil)
	if len(d.diags) > 0 {
		panic("gitops: default layout is invalid: " + d.diags.Error())
	}
	return l
}

// ReadLayout reads and decodes the layout file at path. A file that cannot
// be read is an error; a file with problems returns Diagnostics naming each
// of them with its line.
func ReadLayout(path string) (*Layout, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read layout: %w", err)
	}
	return ParseLayout(path, data)
}

// ParseLayout decodes a layout file strictly: unknown keys, wrong types and
// bad patterns are errors naming file, line and key. The error, if any, is
// of type Diagnostics.
func ParseLayout(file string, data []byte) (*Layout, error) {
	d := &layoutDecoder{file: file}
	var doc yaml.Node
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Diagnostics{{Severity: SeverityError, File: file, Message: "layout file is empty"}}
		}
		line, msg := yamlError(err)
		return nil, Diagnostics{{Severity: SeverityError, File: file, Line: line, Message: "invalid YAML: " + msg}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(&extra, "layout file holds more than one YAML document")
	}
	root := doc.Content[0]
	l := &Layout{File: file}
	var apiVersion, kind string
	d.fields(root, "layout", map[string]func(k, v *yaml.Node){
		"apiVersion": func(_, v *yaml.Node) { apiVersion = d.str(v, "apiVersion") },
		"kind":       func(_, v *yaml.Node) { kind = d.str(v, "kind") },
		"blueprints": func(_, v *yaml.Node) { l.Blueprints = d.blueprints(v) },
		"members":    func(_, v *yaml.Node) { l.Members = d.members(v) },
		"labels":     func(_, v *yaml.Node) { l.Labels = d.labels(v) },
		"owners":     func(_, v *yaml.Node) { l.Owners = d.owners(v) },
		"admins":     func(_, v *yaml.Node) { l.Admins = d.ownerSet(v, "admins") },
	})
	if root.Kind == yaml.MappingNode {
		if apiVersion != LayoutAPIVersion {
			d.errorf(d.keyOr(root, "apiVersion"), "apiVersion must be %s, not %q", LayoutAPIVersion, apiVersion)
		}
		if kind != LayoutKind {
			d.errorf(d.keyOr(root, "kind"), "kind must be %s, not %q", LayoutKind, kind)
		}
		if l.Blueprints == nil && l.Members == nil {
			d.errorf(root, "layout names neither blueprints nor members: no cluster can be found")
		}
	}
	d.finish(l, root)
	if len(d.diags) > 0 {
		return nil, d.diags
	}
	l.lines = d.lines
	return l, nil
}

// layoutDecoder decodes yaml.Node trees by hand so that every problem keeps
// its line; KnownFields alone would lose it.
type layoutDecoder struct {
	file  string
	diags Diagnostics
	lines map[string]int
}

// noteLines remembers the line of each string of list v, numbered as
// strList returns them.
func (d *layoutDecoder) noteLines(v *yaml.Node, what string) {
	if v.Kind != yaml.SequenceNode {
		return
	}
	if d.lines == nil {
		d.lines = map[string]int{}
	}
	i := 0
	for _, item := range v.Content {
		if item.Kind == yaml.ScalarNode && item.ShortTag() == "!!str" && item.Value != "" {
			d.lines[fmt.Sprintf("%s[%d]", what, i)] = item.Line
			i++
		}
	}
}

func (d *layoutDecoder) errorf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.diags = append(d.diags, Diagnostic{Severity: SeverityError, File: d.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// keyOr returns the key node named key in m, or m itself when absent, to
// point a diagnostic at the best line there is.
func (d *layoutDecoder) keyOr(m *yaml.Node, key string) *yaml.Node {
	if k, _ := lookup(m, key); k != nil {
		return k
	}
	return m
}

// fields walks mapping n, calling the handler of each known key and
// reporting unknown and repeated keys.
func (d *layoutDecoder) fields(n *yaml.Node, what string, handlers map[string]func(k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping, not %s", what, nodeKind(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if line, ok := seen[k.Value]; ok {
			d.errorf(k, "key %q repeated in %s (first at line %d)", k.Value, what, line)
			continue
		}
		seen[k.Value] = k.Line
		h, ok := handlers[k.Value]
		if !ok {
			d.errorf(k, "unknown key %q in %s (known: %s)", k.Value, what, strings.Join(slices.Sorted(maps.Keys(handlers)), ", "))
			continue
		}
		h(k, v)
	}
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		return "the " + scalarKind(n) + " " + strconvQuote(n.Value)
	}
	return "empty"
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

func (d *layoutDecoder) str(v *yaml.Node, what string) string {
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
		d.errorf(v, "%s must be a string, not %s", what, nodeKind(v))
		return ""
	}
	return v.Value
}

func (d *layoutDecoder) strList(v *yaml.Node, what string) []string {
	if v.Kind != yaml.SequenceNode {
		d.errorf(v, "%s must be a list of strings, not %s", what, nodeKind(v))
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for _, item := range v.Content {
		if s := d.str(item, what+" item"); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// keyField decodes a key path setting, checking its syntax at its line.
func (d *layoutDecoder) keyField(v *yaml.Node, what string, into *string) {
	s := d.str(v, what)
	if _, err := parseKeyPath(s); err != nil {
		d.errorf(v, "%s: %v", what, err)
		return
	}
	*into = s
}

func (d *layoutDecoder) globList(v *yaml.Node, what string) []string {
	pats := d.strList(v, what)
	d.noteLines(v, what)
	for i, p := range pats {
		if _, err := compileGlob(p); err != nil {
			d.errorf(v.Content[min(i, len(v.Content)-1)], "%s: %v", what, err)
		}
	}
	return pats
}

func (d *layoutDecoder) blueprints(v *yaml.Node) *Blueprints {
	b := seedBlueprints()
	d.fields(v, "blueprints", map[string]func(k, v *yaml.Node){
		"paths":    func(_, v *yaml.Node) { b.Paths = d.globList(v, "blueprints.paths") },
		"tenant":   func(_, v *yaml.Node) { d.keyField(v, "blueprints.tenant", &b.Tenant) },
		"env":      func(_, v *yaml.Node) { d.keyField(v, "blueprints.env", &b.Env) },
		"region":   func(_, v *yaml.Node) { d.keyField(v, "blueprints.region", &b.Region) },
		"account":  func(_, v *yaml.Node) { d.keyField(v, "blueprints.account", &b.Account) },
		"clusters": func(_, v *yaml.Node) { d.keyField(v, "blueprints.clusters", &b.Clusters) },
		"fleet":    func(_, v *yaml.Node) { d.keyField(v, "blueprints.fleet", &b.Fleet) },
		"canary":   func(_, v *yaml.Node) { d.keyField(v, "blueprints.canary", &b.Canary) },
		"version":  func(_, v *yaml.Node) { d.keyField(v, "blueprints.version", &b.Version) },
		"enabled":  func(_, v *yaml.Node) { d.keyField(v, "blueprints.enabled", &b.Enabled) },
		"serviceEnabled": func(_, v *yaml.Node) {
			d.keyField(v, "blueprints.serviceEnabled", &b.ServiceEnabled)
		},
	})
	for _, req := range []struct{ name, val string }{
		{"paths", strings.Join(b.Paths, "")}, {"tenant", b.Tenant}, {"env", b.Env}, {"clusters", b.Clusters},
	} {
		if req.val == "" && v.Kind == yaml.MappingNode {
			d.errorf(v, "blueprints.%s is required", req.name)
		}
	}
	return b
}

func (d *layoutDecoder) members(v *yaml.Node) *Members {
	m := &Members{Tenant: "tenant", Cluster: "clusterName", Env: "environment", Enabled: seedEnabled}
	d.fields(v, "members", map[string]func(k, v *yaml.Node){
		"paths":   func(_, v *yaml.Node) { m.Paths = d.globList(v, "members.paths") },
		"tenant":  func(_, v *yaml.Node) { d.keyField(v, "members.tenant", &m.Tenant) },
		"cluster": func(_, v *yaml.Node) { d.keyField(v, "members.cluster", &m.Cluster) },
		"env":     func(_, v *yaml.Node) { d.keyField(v, "members.env", &m.Env) },
		"region":  func(_, v *yaml.Node) { d.keyField(v, "members.region", &m.Region) },
		"account": func(_, v *yaml.Node) { d.keyField(v, "members.account", &m.Account) },
		"fleet":   func(_, v *yaml.Node) { d.keyField(v, "members.fleet", &m.Fleet) },
		"canary":  func(_, v *yaml.Node) { d.keyField(v, "members.canary", &m.Canary) },
		"version": func(_, v *yaml.Node) { d.keyField(v, "members.version", &m.Version) },
		"enabled": func(_, v *yaml.Node) { d.keyField(v, "members.enabled", &m.Enabled) },
	})
	for _, req := range []struct{ name, val string }{
		{"paths", strings.Join(m.Paths, "")}, {"tenant", m.Tenant}, {"cluster", m.Cluster}, {"env", m.Env},
	} {
		if req.val == "" && v.Kind == yaml.MappingNode {
			d.errorf(v, "members.%s is required", req.name)
		}
	}
	return m
}

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// placeholders are the names a hierarchy template may use.
var placeholders = map[string]bool{"{tenant}": true, "{env}": true, "{cluster}": true}

func (d *layoutDecoder) labels(v *yaml.Node) *Labels {
	l := &Labels{Key: DefaultLabelsKey}
	d.fields(v, "labels", map[string]func(k, v *yaml.Node){
		"files": func(_, v *yaml.Node) { l.Files = d.globList(v, "labels.files") },
		"key":   func(_, v *yaml.Node) { d.keyField(v, "labels.key", &l.Key) },
		"hierarchy": func(_, v *yaml.Node) {
			l.Hierarchy = d.strList(v, "labels.hierarchy")
			d.noteLines(v, "labels.hierarchy")
			for i, t := range l.Hierarchy {
				if err := checkTemplate(t); err != nil {
					d.errorf(v.Content[min(i, len(v.Content)-1)], "labels.hierarchy: %v", err)
				}
			}
		},
	})
	if len(l.Hierarchy) == 0 && v.Kind == yaml.MappingNode {
		d.errorf(v, "labels.hierarchy is required: list the label files from the most general to the most specific")
	}
	if l.Key == "" && v.Kind == yaml.MappingNode {
		d.errorf(v, "labels.key must not be empty")
	}
	return l
}

func checkTemplate(t string) error {
	if strings.HasPrefix(t, "/") {
		return fmt.Errorf("template %q is absolute: write it relative to the repository root", t)
	}
	for _, seg := range strings.Split(t, "/") {
		if seg == ".." || seg == "." || seg == "" {
			return fmt.Errorf("template %q has a %q path segment", t, seg)
		}
	}
	for _, p := range placeholder.FindAllString(t, -1) {
		if !placeholders[p] {
			return fmt.Errorf("template %q uses unknown placeholder %s (known: {tenant}, {env}, {cluster})", t, p)
		}
	}
	if rest := placeholder.ReplaceAllString(t, ""); strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("template %q has an unmatched brace", t)
	}
	return nil
}

var (
	githubLogin = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	githubTeam  = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

func (d *layoutDecoder) owners(v *yaml.Node) map[string]Owners {
	if v.Kind != yaml.MappingNode {
		d.errorf(v, "owners must be a mapping of tenant to users and teams, not %s", nodeKind(v))
		return nil
	}
	out := map[string]Owners{}
	seen := map[string]int{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		tenant := d.str(k, "tenant name")
		if line, ok := seen[tenant]; ok {
			d.errorf(k, "owners of tenant %q repeated (first at line %d)", tenant, line)
			continue
		}
		seen[tenant] = k.Line
		out[tenant] = d.ownerSet(val, "owners."+tenant)
	}
	return out
}

func (d *layoutDecoder) ownerSet(v *yaml.Node, what string) Owners {
	var o Owners
	d.fields(v, what, map[string]func(k, v *yaml.Node){
		"users": func(_, v *yaml.Node) {
			o.Users = d.strList(v, what+".users")
			for i, u := range o.Users {
				if !githubLogin.MatchString(u) {
					d.errorf(v.Content[min(i, len(v.Content)-1)], "%s.users: %q is not a GitHub login (write teams under teams, as org/team)", what, u)
				}
			}
		},
		"teams": func(_, v *yaml.Node) {
			o.Teams = d.strList(v, what+".teams")
			for i, t := range o.Teams {
				if !githubTeam.MatchString(t) {
					d.errorf(v.Content[min(i, len(v.Content)-1)], "%s.teams: %q is not a GitHub team: write org/team-slug", what, t)
				}
			}
		},
	})
	return o
}

// finish compiles patterns and key paths once decoding found no error in
// them, so that loading never parses them again.
func (d *layoutDecoder) finish(l *Layout, root *yaml.Node) {
	if len(d.diags) > 0 {
		return
	}
	compile := func(pats []string) globs {
		gs := make(globs, 0, len(pats))
		for _, p := range pats {
			g, err := compileGlob(p)
			if err != nil {
				d.errorf(root, "%v", err)
				continue
			}
			gs = append(gs, g)
		}
		return gs
	}
	kp := func(s string) keyPath {
		p, err := parseKeyPath(s)
		if err != nil {
			d.errorf(root, "%v", err)
		}
		return p
	}
	if b := l.Blueprints; b != nil {
		b.globs = compile(b.Paths)
		b.keys = blueprintKeys{
			tenant: kp(b.Tenant), env: kp(b.Env), region: kp(b.Region), account: kp(b.Account), clusters: kp(b.Clusters),
			fleet: kp(b.Fleet), canary: kp(b.Canary), version: kp(b.Version),
			enabled: kp(b.Enabled), serviceEnabled: kp(b.ServiceEnabled),
		}
	}
	if m := l.Members; m != nil {
		m.globs = compile(m.Paths)
		m.keys = memberKeys{
			tenant: kp(m.Tenant), cluster: kp(m.Cluster), env: kp(m.Env), region: kp(m.Region), account: kp(m.Account),
			fleet: kp(m.Fleet), canary: kp(m.Canary), version: kp(m.Version), enabled: kp(m.Enabled),
		}
	}
	if lb := l.Labels; lb != nil {
		lb.globs = compile(lb.Files)
		lb.key = kp(lb.Key)
		lb.templates = make([]template, len(lb.Hierarchy))
		for i, t := range lb.Hierarchy {
			lb.templates[i] = compileTemplate(t)
		}
	}
}
