package gitops

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

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
		out[i] = Diagnostic{Severity: sev, File: e.File, Line: e.Line, Message: e.Message()}
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
	m := d.Fields(root, "", root.Line, "apiVersion", "kind", "blueprints", "members", "labels", "owners", "admins")
	if m == nil {
		return nil
	}
	if b := m.Object("blueprints", false, "paths", "tenant", "env", "region", "account", "clusters",
		"fleet", "canary", "version", "enabled", "serviceEnabled"); b != nil {
		l.Blueprints = d.blueprints(b)
	}
	if mm := m.Object("members", false, "paths", "tenant", "cluster", "env", "region", "account",
		"fleet", "canary", "version", "enabled"); mm != nil {
		l.Members = d.members(mm)
	}
	if lb := m.Object("labels", false, "files", "key", "hierarchy"); lb != nil {
		l.Labels = d.labels(lb)
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
	} {
		keyField(m, key, into)
	}
	d.requireFields(m, map[string]string{"paths": strings.Join(b.Paths, ""), "tenant": b.Tenant, "env": b.Env, "clusters": b.Clusters})
	return b
}

func (d *layoutDecoder) members(m *decode.Map) *Members {
	mm := &Members{Tenant: "tenant", Cluster: "clusterName", Env: "environment", Enabled: seedEnabled}
	mm.Paths = d.list(m, "paths", globProblem)
	for key, into := range map[string]*string{
		"tenant": &mm.Tenant, "cluster": &mm.Cluster, "env": &mm.Env, "region": &mm.Region, "account": &mm.Account,
		"fleet": &mm.Fleet, "canary": &mm.Canary, "version": &mm.Version, "enabled": &mm.Enabled,
	} {
		keyField(m, key, into)
	}
	d.requireFields(m, map[string]string{"paths": strings.Join(mm.Paths, ""), "tenant": mm.Tenant, "cluster": mm.Cluster, "env": mm.Env})
	return mm
}

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// placeholders are the names a hierarchy template may use.
var placeholders = map[string]bool{"{tenant}": true, "{env}": true, "{cluster}": true}

func (d *layoutDecoder) labels(m *decode.Map) *Labels {
	l := &Labels{Key: DefaultLabelsKey}
	l.Files = d.list(m, "files", globProblem)
	keyField(m, "key", &l.Key)
	l.Hierarchy = d.list(m, "hierarchy", func(t string) string {
		if err := checkTemplate(t); err != nil {
			return err.Error()
		}
		return ""
	})
	if len(l.Hierarchy) == 0 && !m.Has("hierarchy") {
		d.Failf(m.Line, m.Field("hierarchy"), "is required: list the label files from the most general to the most specific")
	}
	if l.Key == "" {
		d.Failf(m.LineOf("key"), m.Field("key"), "must not be empty")
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
			if !githubLogin.MatchString(u) {
				return fmt.Sprintf("%q is not a GitHub login (write teams under teams, as org/team)", u)
			}
			return ""
		})),
		Teams: decode.Values(m.Names("teams", func(t string) string {
			if !githubTeam.MatchString(t) {
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
