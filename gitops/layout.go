package gitops

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/rollout/decode"
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
	// Labels, when set, describes the fleet-secret label hierarchy; it is
	// also the hierarchy named "labels".
	Labels *Labels `json:"labels,omitempty"`
	// Hierarchies maps a name to a hierarchy of values files, such as the
	// Helm values of an add-on.
	Hierarchies map[string]*Hierarchy `json:"hierarchies,omitempty"`
	// Owners maps a tenant to the people who review and merge its changes.
	Owners map[string]Owners `json:"owners,omitempty"`
	// Admins own what all tenants share (shared label files, campaigns).
	Admins Owners `json:"admins"`

	// lines maps a list entry ("blueprints.paths[0]") to its line in File,
	// for diagnostics about what the entry finds.
	lines map[string]int
	// all holds every hierarchy by name, the label hierarchy as "labels";
	// records lists the key paths of {record.KEY} placeholders they use.
	all     map[string]*Hierarchy
	records []keyPath
}

// LabelsHierarchy is the name of the label hierarchy among the layout's
// hierarchies.
const LabelsHierarchy = "labels"

// Hierarchy is a named hierarchy of values files: path templates from the
// most general to the most specific (a later file overrides an earlier one,
// as Helm does with valueFiles), and the key path inside each file under
// which the values sit (empty: the file's root).
type Hierarchy struct {
	Paths []string `json:"paths"`
	Key   string   `json:"key,omitempty"`

	templates []template
	key       keyPath
}

// Hierarchy returns the hierarchy called name; "labels" is the label
// hierarchy.
func (l *Layout) Hierarchy(name string) (*Hierarchy, bool) {
	h, ok := l.all[name]
	return h, ok
}

// HierarchyNames returns the names of the layout's hierarchies, sorted.
func (l *Layout) HierarchyNames() []string {
	return slices.Sorted(maps.Keys(l.all))
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
	// Hub is the key, inside each cluster's entry, of the Argo CD hub that
	// manages the cluster; optional.
	Hub string `json:"hub,omitempty"`
	// BlueGreen, when set, says how a cluster is replaced blue-green: the
	// green cluster's name and the key of its share of traffic.
	BlueGreen *BlueGreen `json:"blueGreen,omitempty"`

	// detect makes a matched file a blueprint only when it holds the tenant,
	// env and clusters keys; other files are skipped, not reported.
	detect bool
	globs  globs
	keys   blueprintKeys
}

type blueprintKeys struct {
	tenant, env, region, account, clusters, fleet, canary, version, enabled, serviceEnabled, hub keyPath
}

// Members says where Argo CD fleet-member files are (one cluster per file,
// or one per document of a multi-document file) and which keys hold what. Optional keys left empty are absent from the
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
	// Hub is the key of the Argo CD hub that manages the cluster; optional.
	Hub string `json:"hub,omitempty"`

	globs globs
	keys  memberKeys
}

type memberKeys struct {
	tenant, cluster, env, region, account, fleet, canary, version, enabled, hub keyPath
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
	d := &layoutDecoder{Decoder: decode.New(file), lines: map[string]int{}}
	root, ok := d.Document(data, "layout file")
	if ok && root == nil {
		d.Failf(0, "", "layout file is empty")
	}
	l := &Layout{File: file}
	if m := d.layout(root, l); m != nil {
		if v, n := m.RequiredString("apiVersion"); n != nil && v != LayoutAPIVersion {
			d.Failf(n.Line, "apiVersion", "must be %s, not %q", LayoutAPIVersion, v)
		}
		if v, n := m.RequiredString("kind"); n != nil && v != LayoutKind {
			d.Failf(n.Line, "kind", "must be %s, not %q", LayoutKind, v)
		}
		if l.Blueprints == nil && l.Members == nil {
			d.Failf(m.Line, "", "layout names neither blueprints nor members: no cluster can be found")
		}
	}
	if errs := d.Errors(); len(errs) > 0 {
		return nil, decodeDiagnostics(errs, SeverityError)
	}
	d.finish(l, root)
	if len(d.diags) > 0 {
		return nil, d.diags
	}
	l.lines = d.lines
	return l, nil
}

// decodeDiagnostics turns the decoder's problems into diagnostics.
func decodeDiagnostics(errs decode.Errors, sev Severity) Diagnostics {
	out := make(Diagnostics, len(errs))
	for i, e := range errs {
		out[i] = Diagnostic{Severity: sev, File: e.File, Line: e.Line, Field: e.Field, Message: e.Reason}
	}
	return out
}

// layoutDecoder reads a layout file with the shared strict decoder, and
// keeps the line of each list entry for diagnostics about what it finds.
type layoutDecoder struct {
	*decode.Decoder
	diags Diagnostics // of compiling what decoded well: none expected
	lines map[string]int
}

// layout decodes the sections of root into l and returns its mapping.
func (d *layoutDecoder) layout(root *yaml.Node, l *Layout) *decode.Map {
	if root == nil {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.Failf(root.Line, "", "a layout file is a mapping with apiVersion, kind and blueprints or members, not %s", decode.Describe(root))
		return nil
	}
	m := d.Fields(root, "", root.Line, "apiVersion", "kind", "blueprints", "members", "labels", "hierarchies", "owners", "admins")
	if m == nil {
		return nil
	}
	if b := m.Object("blueprints", false, "paths", "tenant", "env", "region", "account", "clusters",
		"fleet", "canary", "version", "enabled", "serviceEnabled", "hub", "blueGreen"); b != nil {
		l.Blueprints = d.blueprints(b)
	}
	if mm := m.Object("members", false, "paths", "tenant", "cluster", "env", "region", "account",
		"fleet", "canary", "version", "enabled", "hub"); mm != nil {
		l.Members = d.members(mm)
	}
	if lb := m.Object("labels", false, "files", "key", "hierarchy"); lb != nil {
		l.Labels = d.labels(lb)
	}
	if n := m.Optional("hierarchies"); n != nil {
		l.Hierarchies = d.hierarchies(d.Entries(n, "hierarchies", m.LineOf("hierarchies")))
	}
	if n := m.Optional("owners"); n != nil {
		l.Owners = d.owners(d.Entries(n, "owners", m.LineOf("owners")))
	}
	l.Admins = d.ownerSet(m.Object("admins", false, "users", "teams"))
	return m
}

// list reads the list of strings under key, checking each with check and
// remembering its line by its index among those kept.
func (d *layoutDecoder) list(m *decode.Map, key string, check func(string) string) []string {
	items := m.Names(key, check)
	for i, it := range items {
		d.lines[decode.Index(m.Field(key), i)] = it.Line
	}
	return decode.Values(items)
}

// globProblem says why p is not a glob of the layout, or "".
func globProblem(p string) string {
	if _, err := compileGlob(p); err != nil {
		return err.Error()
	}
	return ""
}

// keyField reads the key path setting under key into *into, when given.
func keyField(m *decode.Map, key string, into *string) {
	if s, n := decode.Text(m, key, false, func(s string) (string, error) {
		_, err := parseKeyPath(s)
		return s, err
	}); n != nil {
		*into = s
	}
}

// requireFields reports the fields of m whose value is still empty.
func (d *layoutDecoder) requireFields(m *decode.Map, fields map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if k == "paths" && m.Has(k) && !decode.IsNull(m.Value(k)) {
			continue // a list given is reported for what is wrong with it
		}
		if fields[k] == "" {
			d.Failf(m.Line, m.Field(k), "is required")
		}
	}
}

func (d *layoutDecoder) blueprints(m *decode.Map) *Blueprints {
	b := seedBlueprints()
	b.Paths = d.list(m, "paths", globProblem)
	for key, into := range map[string]*string{
		"tenant": &b.Tenant, "env": &b.Env, "region": &b.Region, "account": &b.Account, "clusters": &b.Clusters,
		"fleet": &b.Fleet, "canary": &b.Canary, "version": &b.Version, "enabled": &b.Enabled, "serviceEnabled": &b.ServiceEnabled,
		"hub": &b.Hub,
	} {
		keyField(m, key, into)
	}
	d.requireFields(m, map[string]string{"paths": strings.Join(b.Paths, ""), "tenant": b.Tenant, "env": b.Env, "clusters": b.Clusters})
	if bg := m.Object("blueGreen", false, "name", "traffic", "copy"); bg != nil {
		b.BlueGreen = d.blueGreen(bg, b.Version)
	}
	return b
}

func (d *layoutDecoder) members(m *decode.Map) *Members {
	mm := &Members{Tenant: "tenant", Cluster: "clusterName", Env: "environment", Enabled: seedEnabled}
	mm.Paths = d.list(m, "paths", globProblem)
	for key, into := range map[string]*string{
		"tenant": &mm.Tenant, "cluster": &mm.Cluster, "env": &mm.Env, "region": &mm.Region, "account": &mm.Account,
		"fleet": &mm.Fleet, "canary": &mm.Canary, "version": &mm.Version, "enabled": &mm.Enabled, "hub": &mm.Hub,
	} {
		keyField(m, key, into)
	}
	d.requireFields(m, map[string]string{"paths": strings.Join(mm.Paths, ""), "tenant": mm.Tenant, "cluster": mm.Cluster, "env": mm.Env})
	return mm
}

var placeholder = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{[^{}]*\}`) })

// labelPlaceholders are the names a label hierarchy template may use; the
// templates of hierarchies may also use hierarchyPlaceholders and
// {record.KEY}.
var (
	labelPlaceholders     = []string{"tenant", "env", "cluster"}
	hierarchyPlaceholders = []string{"tenant", "env", "cluster", "fleet", "region", "hub"}
)

// recordPrefix starts a placeholder naming a key of the cluster's own
// record: its entry in a blueprint, or its fleet-member document.
const recordPrefix = "record."

func (d *layoutDecoder) labels(m *decode.Map) *Labels {
	l := &Labels{Key: DefaultLabelsKey}
	l.Files = d.list(m, "files", globProblem)
	keyField(m, "key", &l.Key)
	l.Hierarchy = d.list(m, "hierarchy", templateProblem(labelPlaceholders, false))
	if len(l.Hierarchy) == 0 && !m.Has("hierarchy") {
		d.Failf(m.Line, m.Field("hierarchy"), "is required: list the label files from the most general to the most specific")
	}
	if l.Key == "" {
		d.Failf(m.LineOf("key"), m.Field("key"), "must not be empty")
	}
	return l
}

// hierarchies decodes the hierarchies section: name to paths and key.
func (d *layoutDecoder) hierarchies(m *decode.Map) map[string]*Hierarchy {
	if m == nil {
		return nil
	}
	out := map[string]*Hierarchy{}
	for _, name := range m.Keys() {
		field := m.Field(name)
		if name == LabelsHierarchy {
			d.Failf(m.LineOf(name), field, "is the label hierarchy: describe it under labels")
			continue
		}
		if !isName(name) {
			d.Failf(m.LineOf(name), field, "a hierarchy name is letters, digits, '.', '_' and '-', starting with a letter or digit")
			continue
		}
		hm := d.Fields(m.Value(name), field, m.LineOf(name), "paths", "key")
		if hm == nil {
			continue
		}
		h := &Hierarchy{}
		h.Paths = d.list(hm, "paths", templateProblem(hierarchyPlaceholders, true))
		keyField(hm, "key", &h.Key)
		switch v := hm.Value("paths"); {
		case v == nil || decode.IsNull(v):
			d.Failf(hm.LineOf("paths"), hm.Field("paths"), "is required: list the values files from the most general to the most specific")
		case v.Kind == yaml.SequenceNode && len(v.Content) == 0:
			d.Failf(v.Line, hm.Field("paths"), "is empty: list the values files from the most general to the most specific")
		}
		out[name] = h
	}
	return out
}

// templateProblem returns a check of path templates that may use the
// placeholders known, and {record.KEY} when records is true.
func templateProblem(known []string, records bool) func(string) string {
	return func(t string) string {
		if err := checkTemplate(t, known, records); err != nil {
			return err.Error()
		}
		return ""
	}
}

func checkTemplate(t string, known []string, records bool) error {
	if strings.HasPrefix(t, "/") {
		return fmt.Errorf("template %q is absolute: write it relative to the repository root", t)
	}
	for _, seg := range strings.Split(t, "/") {
		if seg == ".." || seg == "." || seg == "" {
			return fmt.Errorf("template %q has a %q path segment", t, seg)
		}
	}
	for _, p := range placeholder().FindAllString(t, -1) {
		name := p[1 : len(p)-1]
		if slices.Contains(known, name) {
			continue
		}
		if key, ok := strings.CutPrefix(name, recordPrefix); ok && records {
			if kp, err := parseKeyPath(key); err != nil || len(kp) == 0 {
				return fmt.Errorf("template %q: placeholder %s needs a key path after %q", t, p, recordPrefix)
			}
			continue
		}
		names := make([]string, 0, len(known)+1)
		for _, k := range known {
			names = append(names, "{"+k+"}")
		}
		if records {
			names = append(names, "{"+recordPrefix+"KEY}")
		}
		return fmt.Errorf("template %q uses unknown placeholder %s (known: %s)", t, p, strings.Join(names, ", "))
	}
	if rest := placeholder().ReplaceAllString(t, ""); strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("template %q has an unmatched brace", t)
	}
	return nil
}

// IsLogin reports whether s is written as a GitHub user's login: letters,
// digits and hyphens, at most 39 characters, not starting with a hyphen.
func IsLogin(s string) bool { return githubLogin().MatchString(s) }

var (
	githubLogin = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`) })
	githubTeam  = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	})
)

func (d *layoutDecoder) owners(m *decode.Map) map[string]Owners {
	if m == nil {
		return nil
	}
	out := map[string]Owners{}
	for _, tenant := range m.Keys() {
		out[tenant] = d.ownerSet(d.Fields(m.Value(tenant), m.Field(tenant), m.LineOf(tenant), "users", "teams"))
	}
	return out
}

func (d *layoutDecoder) ownerSet(m *decode.Map) Owners {
	if m == nil {
		return Owners{}
	}
	return Owners{
		Users: decode.Values(m.Names("users", func(u string) string {
			if !IsLogin(u) {
				return fmt.Sprintf("%q is not a GitHub login (write teams under teams, as org/team)", u)
			}
			return ""
		})),
		Teams: decode.Values(m.Names("teams", func(t string) string {
			if !githubTeam().MatchString(t) {
				return fmt.Sprintf("%q is not a GitHub team: write org/team-slug", t)
			}
			return ""
		})),
	}
}

// finish compiles patterns and key paths once decoding found no error in
// them, so that loading never parses them again.
func (d *layoutDecoder) finish(l *Layout, root *yaml.Node) {
	if len(d.diags) > 0 {
		return
	}
	fail := func(err error) {
		d.diags = append(d.diags, Diagnostic{Severity: SeverityError, File: l.File, Line: nodeLine(root), Message: err.Error()})
	}
	compile := func(pats []string) globs {
		gs := make(globs, 0, len(pats))
		for _, p := range pats {
			g, err := compileGlob(p)
			if err != nil {
				fail(err)
				continue
			}
			gs = append(gs, g)
		}
		return gs
	}
	kp := func(s string) keyPath {
		p, err := parseKeyPath(s)
		if err != nil {
			fail(err)
		}
		return p
	}
	if b := l.Blueprints; b != nil {
		if bg := b.BlueGreen; bg != nil {
			bg.traffic = kp(bg.Traffic)
			bg.name = compileGreenName(bg.Name)
		}
		b.globs = compile(b.Paths)
		b.keys = blueprintKeys{
			tenant: kp(b.Tenant), env: kp(b.Env), region: kp(b.Region), account: kp(b.Account), clusters: kp(b.Clusters),
			fleet: kp(b.Fleet), canary: kp(b.Canary), version: kp(b.Version),
			enabled: kp(b.Enabled), serviceEnabled: kp(b.ServiceEnabled), hub: kp(b.Hub),
		}
	}
	if m := l.Members; m != nil {
		m.globs = compile(m.Paths)
		m.keys = memberKeys{
			tenant: kp(m.Tenant), cluster: kp(m.Cluster), env: kp(m.Env), region: kp(m.Region), account: kp(m.Account),
			fleet: kp(m.Fleet), canary: kp(m.Canary), version: kp(m.Version), enabled: kp(m.Enabled), hub: kp(m.Hub),
		}
	}
	l.all = map[string]*Hierarchy{}
	if lb := l.Labels; lb != nil {
		lb.globs = compile(lb.Files)
		lb.key = kp(lb.Key)
		lb.templates = make([]template, len(lb.Hierarchy))
		for i, t := range lb.Hierarchy {
			lb.templates[i] = compileTemplate(t)
		}
		l.all[LabelsHierarchy] = &Hierarchy{Paths: lb.Hierarchy, Key: lb.Key, templates: lb.templates, key: lb.key}
	}
	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(l.Hierarchies)) {
		h := l.Hierarchies[name]
		h.key = kp(h.Key)
		h.templates = make([]template, len(h.Paths))
		for i, t := range h.Paths {
			h.templates[i] = compileTemplate(t)
			for _, p := range h.templates[i].parts {
				if p.field == fieldRecord && !seen[p.record.String()] {
					seen[p.record.String()] = true
					l.records = append(l.records, p.record)
				}
			}
		}
		l.all[name] = h
	}
}
