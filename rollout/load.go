package rollout

import (
	"bytes"
	"cmp"
	_ "embed" // the campaign JSON Schema
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/rollout/decode"
)

//go:embed campaign.schema.json
var campaignSchema []byte

// CampaignSchema returns the JSON Schema (draft 2020-12) of campaign files.
// docs/campaign.schema.json is a copy. The schema accepts a few files the
// loader refuses (rules one field cannot express, such as approvals naming
// environments of the order); docs/campaign.md lists them.
func CampaignSchema() []byte { return bytes.Clone(campaignSchema) }

// FieldError is one problem in a campaign file: the file, the line, the
// field's path (such as spec.strategy.order[1]) and what is wrong.
type FieldError = decode.Error

// ErrorList holds every problem found in one campaign file, in line order.
// ParseCampaign returns one whenever it rejects a file.
type ErrorList = decode.Errors

// ParseCampaign decodes and validates a campaign file and fills in the
// defaults. file names the source in errors. On any problem it returns an
// ErrorList naming every problem it found, each with file, line and field.
func ParseCampaign(file string, src []byte) (*Campaign, error) {
	d := &campaignDecoder{Decoder: decode.New(file), src: &campaignSource{
		file: file, items: map[string][]decode.Item{}, labels: map[string]decode.Item{},
	}}
	var c *Campaign
	if root := d.document(src); root != nil {
		c = d.campaign(root)
	}
	if c != nil {
		c.src = d.src
	}
	if errs := d.Errors(); len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// campaignDecoder walks a campaign file's YAML nodes and collects problems.
type campaignDecoder struct {
	*decode.Decoder
	src *campaignSource
	// preflightLine is the line of spec.gates.eks.preflight, once read.
	preflightLine int
}

// campaignSource remembers where the selector's entries are written, so
// that checks against a fleet (CheckSelector) name file, line and field.
type campaignSource struct {
	file     string
	selector int                      // line of spec.selector, or of spec when absent
	items    map[string][]decode.Item // selector list key -> its entries, in Selector order
	labels   map[string]decode.Item   // selector label key -> its entry
	// approvals are the entries of spec.strategy.approvals.
	approvals []decode.Item
}

// document parses src and returns its one document's root node, or nil after
// reporting why there is none.
func (d *campaignDecoder) document(src []byte) *yaml.Node {
	root, ok := d.Document(src, "campaign file")
	switch {
	case !ok:
		return nil
	case root == nil:
		d.Failf(1, "", "holds no campaign: the file is empty")
		return nil
	case root.Kind != yaml.MappingNode:
		d.Failf(root.Line, "", "a campaign file is a mapping with apiVersion, kind, metadata and spec, not %s", decode.Describe(root))
		return nil
	}
	return root
}

// integer reads a whole number of at least least; 0 when absent or wrong.
func integer(m *decode.Map, key string, least int) int {
	v, _ := m.Int(key, least)
	return v
}

func (d *campaignDecoder) quantity(m *decode.Map, key string, least int, def Quantity) Quantity {
	q, n := decode.Value(m, key, false, quantityFromNode)
	switch {
	case n == nil:
		return def
	case q.Percent == 0 && q.Count < least:
		d.Failf(n.Line, m.Field(key), "must be at least %d, not %d", least, q.Count)
		return def
	}
	return q
}

func duration(m *decode.Map, key string, def time.Duration) Duration {
	v, n := decode.Value(m, key, false, durationFromNode)
	if n == nil {
		return Duration{def}
	}
	return v
}

// MaxCampaignName is the longest campaign name: the bot labels the
// campaign's pull requests and dashboard issue campaign:NAME, and GitHub
// takes labels of up to 50 characters.
const MaxCampaignName = 50 - len("campaign:")

// The regular expressions of rollout compile on first use, not when the
// program starts: every command of the CLI links this package, and `fleetbot
// set`, which uses none of them, would pay for them all.
var (
	campaignNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`) })
	eksVersionRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^1\.[0-9]{2}$`) })
	labelNameRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`) })
	dnsSubdomainRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	})
	keyPathRE       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([^.*]+|\*)(\.([^.*]+|\*))*$`) })
	hierarchyNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9._]*$`) })
	rfc3339RE       = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`)
	})
)

func (d *campaignDecoder) campaign(root *yaml.Node) *Campaign {
	m := d.Fields(root, "", root.Line, "apiVersion", "kind", "metadata", "spec")
	if m == nil {
		return nil
	}
	c := &Campaign{}
	if s, n := m.RequiredString("apiVersion"); n != nil {
		if s != CampaignAPIVersion {
			d.Failf(n.Line, "apiVersion", "%q is not supported: use %s", s, CampaignAPIVersion)
		}
		c.APIVersion = s
	}
	if s, n := m.RequiredString("kind"); n != nil {
		if s != CampaignKind {
			d.Failf(n.Line, "kind", "%q is not a campaign: use %s", s, CampaignKind)
		}
		c.Kind = s
	}
	if meta := m.Object("metadata", true, "name"); meta != nil {
		if s, n := meta.RequiredString("name"); n != nil {
			switch {
			case !campaignNameRE().MatchString(s):
				d.Failf(n.Line, meta.Field("name"), "%q is not a DNS label (it names branches): use up to 41 lower-case letters, digits and '-', starting and ending with a letter or digit", s)
			case len(s) > MaxCampaignName:
				d.Failf(n.Line, meta.Field("name"), "%q is %d characters: use at most %d, so that the label campaign:NAME on its pull requests fits GitHub's limit of 50 on a label", s, len(s), MaxCampaignName)
			}
			c.Metadata.Name = s
		}
	}
	if spec := m.Object("spec", true, "change", "selector", "strategy", "gates", "schedule", "merge", "mergeMethod"); spec != nil {
		d.spec(spec, &c.Spec)
	}
	return c
}

func (d *campaignDecoder) spec(m *decode.Map, s *Spec) {
	if ch := m.Object("change", true, "eksVersion", "label", "field"); ch != nil {
		d.change(ch, &s.Change)
	}
	var envs, approvals []decode.Item
	d.src.selector = m.LineOf("selector")
	if sel := m.Object("selector", false, "tenants", "envs", "fleets", "clusters", "labels", "exclude"); sel != nil {
		envs = d.selector(sel, &s.Selector)
	}
	s.Strategy = Strategy{
		Canary:           true,
		MaxConcurrency:   Quantity{Count: DefaultMaxConcurrency},
		ProgressDeadline: Duration{DefaultProgressDeadline},
	}
	if st := m.Object("strategy", true, "order", "canary", "maxConcurrency", "maxPerTenant",
		"maxFailures", "bake", "progressDeadline", "approvals", "unapprovedMerge", "method", "traffic"); st != nil {
		approvals = d.strategy(st, &s.Strategy)
		methods := d.methods(st, &s.Strategy, s.Change.EKSVersion != nil)
		d.inOrder(methods, s.Strategy.Order)
	}
	d.inOrder(envs, s.Strategy.Order)
	d.inOrder(approvals, s.Strategy.Order)
	if g := m.Object("gates", false, gateNames...); g != nil {
		s.Gates = d.gates(g, s.Strategy.ProgressDeadline.Duration)
		if e := s.Gates.EKS; e != nil && e.Preflight && s.Change.EKSVersion == nil && (s.Change.Label != nil || s.Change.Field != nil) {
			d.Failf(d.preflightLine, "spec.gates.eks.preflight", "asks EKS whether a cluster is ready for the next minor version: only an eksVersion change has one")
		}
	}
	if sc := m.Object("schedule", false, "notBefore", "timezone", "windows", "blackouts",
		"maxOpenPRs", "maxWavesPerDay"); sc != nil {
		d.schedule(sc, &s.Schedule)
	}
	s.Merge = MergeMode(m.OneOf("merge", "merge mode", string(MergeOwners), string(MergeAuto)))
	if s.Merge == "" {
		s.Merge = MergeOwners
	}
	s.MergeMethod = m.OneOf("mergeMethod", "merge method", "merge", "squash", "rebase")
	if s.MergeMethod == "" {
		s.MergeMethod = "merge"
	}
}

// inOrder reports environments that strategy.order does not list.
func (d *campaignDecoder) inOrder(envs []decode.Item, order []string) {
	if len(order) == 0 {
		return
	}
	for _, it := range envs {
		if !slices.Contains(order, it.Value) {
			d.Failf(it.Line, it.Field, "%q is not in spec.strategy.order", it.Value)
		}
	}
}

func (d *campaignDecoder) change(m *decode.Map, c *Change) {
	var kinds []string
	for _, k := range []string{"eksVersion", "label", "field"} {
		if m.Has(k) {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		d.Failf(m.Line, m.Path, "names no change: write one of eksVersion, label or field")
	case 1:
	default:
		d.Failf(m.LineOf(kinds[1]), m.Path, "holds %s: a campaign makes exactly one change", strings.Join(kinds, " and "))
	}
	if e := m.Object("eksVersion", m.Has("eksVersion"), "to", "hops"); e != nil {
		c.EKSVersion = d.eksVersion(e)
	}
	if l := m.Object("label", m.Has("label"), "key", "from", "to", "level"); l != nil {
		c.Label = d.label(l)
	}
	if f := m.Object("field", m.Has("field"), "files", "hierarchy", "level", "path", "from", "to", "revertible"); f != nil {
		c.Field = d.field(f)
	}
}

func (d *campaignDecoder) eksVersion(m *decode.Map) *EKSVersionChange {
	e := &EKSVersionChange{Hops: "sequential"}
	if n := m.Required("to"); n != nil {
		switch tag := n.ShortTag(); {
		case n.Kind == yaml.ScalarNode && (tag == "!!float" || tag == "!!int"):
			d.Failf(n.Line, m.Field("to"), "%s", unquotedVersion(n.Value))
		default:
			if s, ok := d.String(n, m.Field("to")); ok {
				if !eksVersionRE().MatchString(s) {
					d.Failf(n.Line, m.Field("to"), "%q is not an EKS version of the form \"1.NN\", like \"1.30\"", s)
				}
				e.To = s
			}
		}
	}
	if h := m.OneOf("hops", "hops mode", "sequential", "refuse"); h != "" {
		e.Hops = h
	}
	return e
}

// unquotedVersion explains why 1.30 must be quoted.
func unquotedVersion(v string) string {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if s := strconv.FormatFloat(f, 'f', -1, 64); s != v {
			return fmt.Sprintf("unquoted %s is the number %s to YAML: quote it, \"%s\"", v, s, v)
		}
	}
	return fmt.Sprintf("unquoted %s is a number to YAML: quote it, \"%s\"", v, v)
}

func (d *campaignDecoder) label(m *decode.Map) *LabelChange {
	l := &LabelChange{}
	if s, n := d.requiredLabelString(m, "key"); n != nil {
		if p := labelNameProblem(s); p != "" {
			d.Failf(n.Line, m.Field("key"), "%s", p)
		}
		l.Key = s
	}
	if s, n := d.labelValue(m, "from", false); n != nil {
		l.From = s
	}
	if s, n := d.labelValue(m, "to", true); n != nil {
		l.To = s
		if l.From != "" && l.From == s {
			d.Failf(n.Line, m.Field("to"), "equals from (%s): the change would do nothing", s)
		}
	}
	l.Level = m.OneOf("level", "level", Levels...)
	return l
}

// requiredLabelString reads a required string, explaining that label
// keys and values are strings when YAML read something else.
func (d *campaignDecoder) requiredLabelString(m *decode.Map, key string) (string, *yaml.Node) {
	n := m.Required(key)
	if n == nil {
		return "", nil
	}
	return d.labelString(n, m.Field(key))
}

func (d *campaignDecoder) labelString(n *yaml.Node, field string) (string, *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!int", "!!float":
			d.Failf(n.Line, field, "unquoted %s is a number to YAML; labels are strings: write \"%s\"", n.Value, n.Value)
			return "", nil
		case "!!bool":
			d.Failf(n.Line, field, "unquoted %s is a boolean to YAML; labels are strings: write \"%s\"", n.Value, n.Value)
			return "", nil
		}
	}
	s, ok := d.String(n, field)
	if !ok {
		return "", nil
	}
	return s, n
}

func (d *campaignDecoder) labelValue(m *decode.Map, key string, required bool) (string, *yaml.Node) {
	var n *yaml.Node
	if required {
		n = m.Required(key)
	} else {
		n = m.OptionalScalar(key)
	}
	if n == nil {
		return "", nil
	}
	s, n := d.labelString(n, m.Field(key))
	if n == nil {
		return "", nil
	}
	if p := labelValueProblem(s); p != "" {
		d.Failf(n.Line, m.Field(key), "%s", p)
		return "", nil
	}
	return s, n
}

// labelNameProblem says why s is not a Kubernetes label name, or "".
func labelNameProblem(s string) string {
	name := s
	if prefix, rest, ok := strings.Cut(s, "/"); ok {
		if len(prefix) > 253 || !dnsSubdomainRE().MatchString(prefix) {
			return fmt.Sprintf("%q is not a Kubernetes label name: the prefix %q is not a DNS subdomain", s, prefix)
		}
		name = rest
	}
	if !labelNameRE().MatchString(name) {
		return fmt.Sprintf("%q is not a Kubernetes label name: use up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit, after an optional DNS prefix and '/'", s)
	}
	return ""
}

// labelValueProblem says why s is not a Kubernetes label value, or "".
func labelValueProblem(s string) string {
	if !labelNameRE().MatchString(s) {
		return fmt.Sprintf("%q is not a Kubernetes label value: use up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit", s)
	}
	return ""
}

func (d *campaignDecoder) field(m *decode.Map) *FieldChange {
	f := &FieldChange{}
	switch {
	case m.Has("files") && m.Has("hierarchy"):
		d.Failf(m.LineOf("hierarchy"), m.Field("hierarchy"), "and files exclude each other: a field change edits the files a glob matches or a hierarchy of the layout, not both")
	case !m.Has("files") && !m.Has("hierarchy"):
		d.Failf(m.Line, m.Path, "names no files: write files (a glob) or hierarchy (a hierarchy of the layout)")
	}
	if m.Has("level") && !m.Has("hierarchy") {
		d.Failf(m.LineOf("level"), m.Field("level"), "needs hierarchy: a level is a level of a hierarchy of the layout")
	}
	if s, n := m.OptionalString("files"); n != nil {
		if p := globProblem(s); p != "" {
			d.Failf(n.Line, m.Field("files"), "%s", p)
		}
		f.Files = s
	}
	if s, n := m.OptionalString("hierarchy"); n != nil {
		if !hierarchyNameRE().MatchString(s) {
			d.Failf(n.Line, m.Field("hierarchy"), "%q is not a hierarchy name: letters, digits, '.', '_' and '-', starting with a letter or digit", s)
		}
		f.Hierarchy = s
		f.Level = cmp.Or(m.OneOf("level", "level", Levels...), LevelCluster)
	}
	if s, n := m.RequiredString("path"); n != nil {
		switch {
		case f.Hierarchy != "":
			if p := hierarchyPathProblem(s); p != "" {
				d.Failf(n.Line, m.Field("path"), "%s", p)
			}
		case !keyPathRE().MatchString(s):
			d.Failf(n.Line, m.Field("path"), "%q is not a key path like services.eks.config.*.version: keys are separated by single dots, and * stands alone for any key", s)
		}
		f.Path = s
	}
	from := m.OptionalScalar("from")
	if from != nil {
		if s, ok := d.Scalar(from, m.Field("from")); ok {
			f.From = s
		}
	}
	if n := m.Required("to"); n != nil {
		if s, ok := d.Scalar(n, m.Field("to")); ok {
			f.To = s
			if from != nil && from.Value == s && from.ShortTag() == n.ShortTag() {
				d.Failf(n.Line, m.Field("to"), "equals from (%s): the change would do nothing", s)
			}
		}
	}
	if n := m.Optional("revertible"); n == nil {
		d.Failf(m.LineOf("revertible"), m.Field("revertible"), "is required: say true if rollback may write the old value back, false if the change is forward-only")
	} else {
		f.Revertible = m.Bool("revertible", false)
	}
	return f
}

// hierarchyPathProblem says why s is not the key path of one value in a
// hierarchy, or "".
func hierarchyPathProblem(s string) string {
	p, err := decode.KeyPath(s)
	if err != nil {
		return fmt.Sprintf("%v: write keys separated by dots, with \\. for a dot inside a key", err)
	}
	if slices.Contains(p, "*") {
		return fmt.Sprintf("%q: * matches no key here: a field of a hierarchy is one key path", s)
	}
	return ""
}

// scalar reads any scalar but null, keeping the text as written.
func (d *campaignDecoder) scalar(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.Failf(n.Line, field, "must be a single value, not %s", decode.Describe(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!int", "!!float", "!!bool":
		return n.Value, true
	}
	d.Failf(n.Line, field, "must be a string, number or boolean, not %s", decode.Describe(n))
	return "", false
}

// globProblem says why s is not a usable file glob, or "". The syntax is
// the one gitops matches: path.Match per segment, "**" for any directories.
func globProblem(s string) string {
	if strings.HasPrefix(s, "/") {
		return fmt.Sprintf("%q is absolute: write it relative to the repository root", s)
	}
	for seg := range strings.SplitSeq(s, "/") {
		switch {
		case seg == "" || seg == "." || seg == "..":
			return fmt.Sprintf("%q is not a clean relative path: no empty, \".\" or \"..\" segments", s)
		case seg != "**" && strings.Contains(seg, "**"):
			return fmt.Sprintf("%q: ** stands alone between slashes, as in tenants/**/blueprint.yaml", s)
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Sprintf("%q is not a valid glob: %v", s, err)
		}
	}
	return ""
}

// selector decodes the selector and returns its envs for inOrder.
func (d *campaignDecoder) selector(m *decode.Map, s *Selector) []decode.Item {
	src := d.src
	lists := []struct {
		key  string
		into *[]string
	}{{"tenants", &s.Tenants}, {"envs", &s.Envs}, {"fleets", &s.Fleets}, {"clusters", &s.Clusters}, {"exclude", &s.Exclude}}
	for _, l := range lists {
		items := m.Names(l.key, nil)
		*l.into = decode.Values(items)
		src.items[l.key] = items
	}
	envs := src.items["envs"]
	n := m.Optional("labels")
	if n == nil {
		return envs
	}
	if n.Kind != yaml.MappingNode {
		d.Failf(n.Line, m.Field("labels"), "must be a mapping, not %s", decode.Describe(n))
		return envs
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := decode.Deref(n.Content[i]), decode.Deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.Failf(k.Line, m.Field("labels"), "a key must be a label name, not %s", decode.Describe(k))
			continue
		}
		key := k.Value
		f := decode.Join(m.Field("labels"), key)
		if first, ok := seen[key]; ok {
			d.Failf(k.Line, f, "is given twice (first on line %d)", first)
			continue
		}
		seen[key] = k.Line
		if p := labelNameProblem(key); p != "" {
			d.Failf(k.Line, f, "%s", p)
			continue
		}
		val, vn := d.labelString(v, f)
		if vn == nil {
			continue
		}
		if p := labelValueProblem(val); p != "" {
			d.Failf(v.Line, f, "%s", p)
			continue
		}
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[key] = val
		src.labels[key] = decode.Item{Value: val, Line: k.Line, Field: f}
	}
	return envs
}

// strategy decodes the strategy and returns its approvals for inOrder.
func (d *campaignDecoder) strategy(m *decode.Map, s *Strategy) []decode.Item {
	if n := m.Required("order"); n != nil {
		s.Order = decode.Values(m.Names("order", nil))
		if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
			d.Failf(n.Line, m.Field("order"), "is empty: list the environments in rollout order, like [dev, staging, prod]")
		}
	}
	s.Canary = m.Bool("canary", true)
	s.MaxConcurrency = d.quantity(m, "maxConcurrency", 1, s.MaxConcurrency)
	s.MaxPerTenant = integer(m, "maxPerTenant", 0)
	s.MaxFailures = d.quantity(m, "maxFailures", 0, Quantity{})
	s.Bake = duration(m, "bake", 0)
	s.ProgressDeadline = duration(m, "progressDeadline", DefaultProgressDeadline)
	if n := m.Optional("progressDeadline"); n != nil && s.ProgressDeadline.Duration == 0 {
		d.Failf(n.Line, m.Field("progressDeadline"), "must be more than 0s")
		s.ProgressDeadline = Duration{DefaultProgressDeadline}
	}
	approvals := m.Names("approvals", nil)
	s.Approvals = decode.Values(approvals)
	d.src.approvals = approvals
	s.UnapprovedMerge = m.OneOf("unapprovedMerge", "choice for an unapproved merge", UnapprovedHalt, UnapprovedRecord)
	if s.UnapprovedMerge == "" {
		s.UnapprovedMerge = UnapprovedHalt
	}
	return approvals
}

// methods decodes strategy.method and strategy.traffic and returns the
// environments method names, for inOrder. Blue-green replaces clusters, so
// only an eksVersion change (eks) may ask for it; traffic steps rise to 100
// and mean something only then.
func (d *campaignDecoder) methods(m *decode.Map, s *Strategy, eks bool) []decode.Item {
	var envs []decode.Item
	blueGreen := false
	if n := m.Optional("method"); n != nil {
		if mm := d.Entries(n, m.Field("method"), m.LineOf("method")); mm != nil {
			for _, env := range mm.Keys() {
				f := mm.Field(env)
				v := mm.OneOf(env, "change method", MethodInPlace, MethodBlueGreen)
				if v == "" {
					continue
				}
				line := mm.LineOf(env)
				envs = append(envs, decode.Item{Value: env, Line: line, Field: f})
				if v == MethodBlueGreen && !eks {
					d.Failf(line, f, "blueGreen replaces a cluster by a new one at the new version: only an eksVersion change may ask for it")
					continue
				}
				if s.Method == nil {
					s.Method = map[string]string{}
				}
				s.Method[env] = v
				blueGreen = blueGreen || v == MethodBlueGreen
			}
		}
	}
	items := m.List("traffic")
	if len(items) > 0 && !blueGreen {
		d.Failf(m.LineOf("traffic"), m.Field("traffic"), "gives the traffic steps of blue-green environments, and spec.strategy.method names none")
		return envs
	}
	last := 0
	for i, it := range items {
		f := decode.Index(m.Field("traffic"), i)
		v, ok := decode.Int(it)
		switch {
		case !ok:
			d.Failf(it.Line, f, "must be a whole number of percent, not %s", decode.Describe(it))
			return envs
		case v <= last || v > 100:
			d.Failf(it.Line, f, "%d: the steps must rise, each from 1 to 100", v)
			return envs
		}
		last = v
		s.Traffic = append(s.Traffic, v)
	}
	if len(items) > 0 && last != 100 {
		d.Failf(items[len(items)-1].Line, m.Field("traffic"), "ends at %d: the last step gives the green cluster all of the traffic (100), before the blue one is removed", last)
	}
	return envs
}

func (d *campaignDecoder) schedule(m *decode.Map, s *Schedule) {
	if n := m.OptionalScalar("notBefore"); n != nil {
		if v, ok := d.String(n, m.Field("notBefore")); ok {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil || !rfc3339RE().MatchString(v) {
				d.Failf(n.Line, m.Field("notBefore"), "%q is not a time with a zone offset, like 2026-12-01T02:00:00+01:00 or 2026-12-01T01:00:00Z", v)
			} else {
				s.NotBefore = &t
			}
		}
	}
	if v, n := m.OptionalString("timezone"); n != nil {
		if _, err := scheduleZone(v); err != nil {
			d.Failf(n.Line, m.Field("timezone"), "%v", err)
		}
		s.Timezone = v
	}
	for i, it := range m.List("windows") {
		f := decode.Index(m.Field("windows"), i)
		if w := d.Fields(it, f, it.Line, "days", "start", "end"); w != nil {
			s.Windows = append(s.Windows, d.window(w))
		}
	}
	for i, it := range m.List("blackouts") {
		f := decode.Index(m.Field("blackouts"), i)
		if b := d.Fields(it, f, it.Line, "from", "to", "reason"); b != nil {
			s.Blackouts = append(s.Blackouts, d.blackout(b))
		}
	}
	s.MaxOpenPRs = integer(m, "maxOpenPRs", 0)
	s.MaxWavesPerDay = integer(m, "maxWavesPerDay", 0)
}

func (d *campaignDecoder) window(m *decode.Map) Window {
	var w Window
	if n := m.Required("days"); n != nil {
		w.Days = decode.Values(m.Names("days", func(s string) string {
			if _, err := scheduleDay(s); err != nil {
				return err.Error()
			}
			return ""
		}))
		if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
			d.Failf(n.Line, m.Field("days"), "is empty: name the days the window starts on, like [Tue, Wed]")
		}
	}
	start, startN := decode.Text(m, "start", true, scheduleClock)
	end, endN := decode.Text(m, "end", true, scheduleClock)
	startOK, endOK := startN != nil, endN != nil
	if startOK {
		w.Start = m.Value("start").Value
	}
	if endOK {
		w.End = m.Value("end").Value
		if startOK && start == end {
			d.Failf(m.Value("end").Line, m.Field("end"), "equals start (%s): a window needs a length", w.Start)
		}
	}
	return w
}

func (d *campaignDecoder) blackout(m *decode.Map) Blackout {
	var b Blackout
	from, fromN := decode.Text(m, "from", true, scheduleDate)
	to, toN := decode.Text(m, "to", true, scheduleDate)
	fromOK, toOK := fromN != nil, toN != nil
	if fromOK {
		b.From = m.Value("from").Value
	}
	if toOK {
		b.To = m.Value("to").Value
		if fromOK && to < from {
			d.Failf(m.Value("to").Line, m.Field("to"), "%s is before from (%s)", b.To, b.From)
		}
	}
	if s, n := m.OptionalString("reason"); n != nil {
		b.Reason = s
	}
	return b
}
