package rollout

import (
	"bytes"
	_ "embed" // the campaign JSON Schema
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
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
type FieldError struct {
	File string
	Line int // 0 when the YAML parser could not say
	// Field is the dotted path of the field; empty for the file as a whole.
	Field  string
	Reason string
}

// Error writes the problem as "file:line: field: reason".
func (e *FieldError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	what := e.Reason
	if e.Field != "" {
		what = e.Field + ": " + e.Reason
	}
	if where == "" { // a campaign built in code has no file
		return what
	}
	return where + ": " + what
}

// ErrorList holds every problem found in one campaign file, in line order.
// ParseCampaign returns one whenever it rejects a file.
type ErrorList []*FieldError

// Error writes one problem a line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each FieldError.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// ParseCampaign decodes and validates a campaign file and fills in the
// defaults. file names the source in errors. On any problem it returns an
// ErrorList naming every problem it found, each with file, line and field.
func ParseCampaign(file string, src []byte) (*Campaign, error) {
	d := &campaignDecoder{file: file, src: &campaignSource{
		file: file, items: map[string][]listItem{}, labels: map[string]listItem{},
	}}
	var c *Campaign
	if root := d.document(src); root != nil {
		c = d.campaign(root)
	}
	if c != nil {
		c.src = d.src
	}
	if len(d.errs) > 0 {
		slices.SortStableFunc(d.errs, func(a, b *FieldError) int { return a.Line - b.Line })
		return nil, d.errs
	}
	return c, nil
}

// campaignDecoder walks a campaign file's YAML nodes and collects problems.
type campaignDecoder struct {
	file string
	errs ErrorList
	src  *campaignSource
}

// campaignSource remembers where the selector's entries are written, so
// that checks against a fleet (CheckSelector) name file, line and field.
type campaignSource struct {
	file     string
	selector int                   // line of spec.selector, or of spec when absent
	items    map[string][]listItem // selector list key -> its entries, in Selector order
	labels   map[string]listItem   // selector label key -> its entry
}

func (d *campaignDecoder) fail(line int, field, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{File: d.file, Line: line, Field: field, Reason: fmt.Sprintf(format, args...)})
}

var yamlErrorRE = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

// document parses src and returns its one document's root node, or nil after
// reporting why there is none.
func (d *campaignDecoder) document(src []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.fail(1, "", "holds no campaign: the file is empty")
			return nil
		}
		d.yamlError(err, src)
		return nil
	}
	for {
		var more yaml.Node
		err := dec.Decode(&more)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d.yamlError(err, src)
			return nil
		}
		if len(more.Content) > 0 && !yamlIsNull(more.Content[0]) {
			d.fail(more.Content[0].Line, "", "a second YAML document starts here: a campaign file holds one campaign")
			return nil
		}
	}
	if len(doc.Content) == 0 || yamlIsNull(doc.Content[0]) {
		d.fail(1, "", "holds no campaign: the file is empty")
		return nil
	}
	root := yamlDeref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		d.fail(root.Line, "", "a campaign file is a mapping with apiVersion, kind, metadata and spec, not %s", describeNode(root))
		return nil
	}
	return root
}

// yamlError reports a parser error at its line, with a hint when the line
// is indented with a tab.
func (d *campaignDecoder) yamlError(err error, src []byte) {
	if m := yamlErrorRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		reason := m[2]
		if lines := bytes.Split(src, []byte("\n")); line >= 1 && line <= len(lines) &&
			bytes.HasPrefix(bytes.TrimLeft(lines[line-1], " "), []byte("\t")) {
			reason += ": indent with spaces, not tabs"
		}
		d.fail(line, "", "%s", reason)
		return
	}
	d.fail(0, "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
}

func yamlIsNull(n *yaml.Node) bool {
	n = yamlDeref(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// yamlDeref follows aliases to the node they name, so an anchored list can be
// reused.
func yamlDeref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func joinField(parent, key string) string {
	if strings.ContainsFunc(key, func(r rune) bool { return !unicode.IsPrint(r) }) {
		// A key that would not read as one word on one line is quoted, so
		// each error stays one line that names its field.
		key = strconv.Quote(key)
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexField(parent string, i int) string { return fmt.Sprintf("%s[%d]", parent, i) }

// yamlMap is a decoded YAML mapping: its fields by name.
type yamlMap struct {
	path   string
	line   int // the line "is required" errors point at
	keys   map[string]*yaml.Node
	values map[string]*yaml.Node
}

func (m *yamlMap) field(key string) string { return joinField(m.path, key) }

// lineOf returns the line of key, or of the mapping when key is absent.
func (m *yamlMap) lineOf(key string) int {
	if k, ok := m.keys[key]; ok {
		return k.Line
	}
	return m.line
}

// mapping reads n as a mapping with the known fields. It reports unknown
// and repeated keys and returns nil when n is not a mapping.
func (d *campaignDecoder) mapping(field string, line int, n *yaml.Node, known ...string) *yamlMap {
	n = yamlDeref(n)
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, field, "must be a mapping, not %s", describeNode(n))
		return nil
	}
	m := &yamlMap{path: field, line: line, keys: map[string]*yaml.Node{}, values: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], yamlDeref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.fail(k.Line, field, "a key must be a name, not %s", describeNode(k))
			continue
		}
		f := joinField(field, k.Value)
		if k.ShortTag() == "!!merge" {
			d.fail(k.Line, f, "merge keys are not supported: write the fields out")
			continue
		}
		if first, ok := m.keys[k.Value]; ok {
			d.fail(k.Line, f, "is given twice (first on line %d)", first.Line)
			continue
		}
		if !slices.Contains(known, k.Value) {
			d.fail(k.Line, f, "unknown field%s", suggestField(k.Value, known))
			continue
		}
		m.keys[k.Value], m.values[k.Value] = k, v
	}
	return m
}

// suggestField names the known field closest to an unknown one, or lists
// them all.
func suggestField(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(strings.ToLower(name), strings.ToLower(k)); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best != "" {
		return "; did you mean " + best + "?"
	}
	return "; known fields are " + strings.Join(known, ", ")
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// required returns the value under key, reporting it when absent or empty.
func (d *campaignDecoder) required(m *yamlMap, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	v := m.values[key]
	switch {
	case v == nil:
		d.fail(m.line, m.field(key), "is required")
		return nil
	case yamlIsNull(v):
		d.fail(v.Line, m.field(key), "has no value")
		return nil
	}
	return v
}

// optional returns the value under key, or nil when it is absent or empty.
func (m *yamlMap) optional(key string) *yaml.Node {
	if m == nil {
		return nil
	}
	v := m.values[key]
	if v == nil || yamlIsNull(v) {
		return nil
	}
	return v
}

// optionalScalar returns the value under key, or nil when absent; an empty
// value is reported, since a scalar has no empty form.
func (d *campaignDecoder) optionalScalar(m *yamlMap, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	v := m.values[key]
	if v != nil && yamlIsNull(v) {
		d.fail(v.Line, m.field(key), "has no value: give one or remove the key")
		return nil
	}
	return v
}

// object reads the mapping under key; nil when absent or not a mapping.
func (d *campaignDecoder) object(m *yamlMap, key string, required bool, known ...string) *yamlMap {
	var n *yaml.Node
	if required {
		n = d.required(m, key)
	} else {
		n = m.optional(key)
	}
	if n == nil {
		return nil
	}
	return d.mapping(m.field(key), m.lineOf(key), n, known...)
}

// str reads a string scalar. A YAML timestamp counts as its text.
func (d *campaignDecoder) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!str" || n.ShortTag() == "!!timestamp") {
		return n.Value, true
	}
	hint := ""
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		hint = ": quote it"
	}
	d.fail(n.Line, field, "must be a string, not %s%s", describeNode(n), hint)
	return "", false
}

// requiredString reads a required string field.
func (d *campaignDecoder) requiredString(m *yamlMap, key string) (string, *yaml.Node) {
	return d.stringAt(m, key, d.required(m, key))
}

// optionalString reads an optional string field.
func (d *campaignDecoder) optionalString(m *yamlMap, key string) (string, *yaml.Node) {
	return d.stringAt(m, key, d.optionalScalar(m, key))
}

// stringAt reads the string value n found at key; a nil n (absent, already
// reported when required) or a non-string value gives a nil node.
func (d *campaignDecoder) stringAt(m *yamlMap, key string, n *yaml.Node) (string, *yaml.Node) {
	if n == nil {
		return "", nil
	}
	s, ok := d.str(n, m.field(key))
	if !ok {
		return "", nil
	}
	return s, n
}

// list reads the sequence under key; nil when absent or empty.
func (d *campaignDecoder) list(m *yamlMap, key string) []*yaml.Node {
	n := m.optional(key)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, m.field(key), "must be a list, not %s", describeNode(n))
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, it := range n.Content {
		items[i] = yamlDeref(it)
	}
	return items
}

// listItem is one accepted entry of a list of names.
type listItem struct {
	value string
	line  int
	field string
}

func itemValues(items []listItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.value)
	}
	return out
}

// names reads a list of distinct, non-empty strings; check, when not nil,
// returns a problem with one of them.
func (d *campaignDecoder) names(m *yamlMap, key string, check func(string) string) []listItem {
	var out []listItem
	seen := map[string]bool{}
	for i, it := range d.list(m, key) {
		f := indexField(m.field(key), i)
		s, ok := d.str(it, f)
		switch {
		case !ok:
			continue
		case s == "":
			d.fail(it.Line, f, "is empty")
			continue
		case seen[s]:
			d.fail(it.Line, f, "%q is listed twice", s)
			continue
		}
		seen[s] = true
		if check != nil {
			if p := check(s); p != "" {
				d.fail(it.Line, f, "%s", p)
				continue
			}
		}
		out = append(out, listItem{value: s, line: it.Line, field: f})
	}
	return out
}

func (d *campaignDecoder) boolean(m *yamlMap, key string, def bool) bool {
	n := d.optionalScalar(m, key)
	if n == nil {
		return def
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.fail(n.Line, m.field(key), "must be true or false, not %s", describeNode(n))
		return def
	}
	return b
}

func (d *campaignDecoder) integer(m *yamlMap, key string, least int) int {
	n := d.optionalScalar(m, key)
	if n == nil {
		return 0
	}
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		if v, ok := yamlInt(n); ok {
			if v < least {
				d.fail(n.Line, m.field(key), "must be at least %d, not %d", least, v)
				return 0
			}
			return v
		}
	}
	d.fail(n.Line, m.field(key), "must be a whole number, not %s", describeNode(n))
	return 0
}

func (d *campaignDecoder) quantity(m *yamlMap, key string, least int, def Quantity) Quantity {
	n := d.optionalScalar(m, key)
	if n == nil {
		return def
	}
	q, err := quantityFromNode(n)
	if err != nil {
		d.fail(n.Line, m.field(key), "%v", err)
		return def
	}
	if q.Percent == 0 && q.Count < least {
		d.fail(n.Line, m.field(key), "must be at least %d, not %d", least, q.Count)
		return def
	}
	return q
}

func (d *campaignDecoder) duration(m *yamlMap, key string, def time.Duration) Duration {
	n := d.optionalScalar(m, key)
	if n == nil {
		return Duration{def}
	}
	v, err := durationFromNode(n)
	if err != nil {
		d.fail(n.Line, m.field(key), "%v", err)
		return Duration{def}
	}
	return v
}

// oneOf reads an optional string that must be one of allowed.
func (d *campaignDecoder) oneOf(m *yamlMap, key, what string, allowed ...string) string {
	s, n := d.optionalString(m, key)
	if n == nil {
		return ""
	}
	if !slices.Contains(allowed, s) {
		d.fail(n.Line, m.field(key), "%q is not a %s: use %s", s, what, campaignOrList(allowed))
		return ""
	}
	return s
}

// campaignOrList writes "a, b or c".
func campaignOrList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

var (
	campaignNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	eksVersionRE   = regexp.MustCompile(`^1\.[0-9]{2}$`)
	labelNameRE    = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	dnsSubdomainRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	keyPathRE      = regexp.MustCompile(`^([^.*]+|\*)(\.([^.*]+|\*))*$`)
	rfc3339RE      = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`)
)

func (d *campaignDecoder) campaign(root *yaml.Node) *Campaign {
	m := d.mapping("", root.Line, root, "apiVersion", "kind", "metadata", "spec")
	if m == nil {
		return nil
	}
	c := &Campaign{}
	if s, n := d.requiredString(m, "apiVersion"); n != nil {
		if s != CampaignAPIVersion {
			d.fail(n.Line, "apiVersion", "%q is not supported: use %s", s, CampaignAPIVersion)
		}
		c.APIVersion = s
	}
	if s, n := d.requiredString(m, "kind"); n != nil {
		if s != CampaignKind {
			d.fail(n.Line, "kind", "%q is not a campaign: use %s", s, CampaignKind)
		}
		c.Kind = s
	}
	if meta := d.object(m, "metadata", true, "name"); meta != nil {
		if s, n := d.requiredString(meta, "name"); n != nil {
			if !campaignNameRE.MatchString(s) {
				d.fail(n.Line, meta.field("name"), "%q is not a DNS label (it names branches): use up to 63 lower-case letters, digits and '-', starting and ending with a letter or digit", s)
			}
			c.Metadata.Name = s
		}
	}
	if spec := d.object(m, "spec", true, "change", "selector", "strategy", "gates", "schedule", "merge"); spec != nil {
		d.spec(spec, &c.Spec)
	}
	return c
}

func (d *campaignDecoder) spec(m *yamlMap, s *Spec) {
	if ch := d.object(m, "change", true, "eksVersion", "label", "field"); ch != nil {
		d.change(ch, &s.Change)
	}
	var envs, approvals []listItem
	d.src.selector = m.lineOf("selector")
	if sel := d.object(m, "selector", false, "tenants", "envs", "fleets", "clusters", "labels", "exclude"); sel != nil {
		envs = d.selector(sel, &s.Selector)
	}
	s.Strategy = Strategy{
		Canary:           true,
		MaxConcurrency:   Quantity{Count: DefaultMaxConcurrency},
		ProgressDeadline: Duration{DefaultProgressDeadline},
	}
	if st := d.object(m, "strategy", true, "order", "canary", "maxConcurrency", "maxPerTenant",
		"maxFailures", "bake", "progressDeadline", "approvals"); st != nil {
		approvals = d.strategy(st, &s.Strategy)
	}
	d.inOrder(envs, s.Strategy.Order)
	d.inOrder(approvals, s.Strategy.Order)
	if g := d.object(m, "gates", false, gateNames...); g != nil {
		s.Gates = d.gates(g, s.Strategy.ProgressDeadline.Duration)
	}
	if sc := d.object(m, "schedule", false, "notBefore", "timezone", "windows", "blackouts",
		"maxOpenPRs", "maxWavesPerDay"); sc != nil {
		d.schedule(sc, &s.Schedule)
	}
	s.Merge = MergeMode(d.oneOf(m, "merge", "merge mode", string(MergeOwners), string(MergeAuto)))
	if s.Merge == "" {
		s.Merge = MergeOwners
	}
}

// inOrder reports environments that strategy.order does not list.
func (d *campaignDecoder) inOrder(envs []listItem, order []string) {
	if len(order) == 0 {
		return
	}
	for _, it := range envs {
		if !slices.Contains(order, it.value) {
			d.fail(it.line, it.field, "%q is not in spec.strategy.order", it.value)
		}
	}
}

func (d *campaignDecoder) change(m *yamlMap, c *Change) {
	var kinds []string
	for _, k := range []string{"eksVersion", "label", "field"} {
		if _, ok := m.keys[k]; ok {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		d.fail(m.line, m.path, "names no change: write one of eksVersion, label or field")
	case 1:
	default:
		d.fail(m.lineOf(kinds[1]), m.path, "holds %s: a campaign makes exactly one change", strings.Join(kinds, " and "))
	}
	if e := d.object(m, "eksVersion", m.keys["eksVersion"] != nil, "to", "hops"); e != nil {
		c.EKSVersion = d.eksVersion(e)
	}
	if l := d.object(m, "label", m.keys["label"] != nil, "key", "from", "to"); l != nil {
		c.Label = d.label(l)
	}
	if f := d.object(m, "field", m.keys["field"] != nil, "files", "path", "from", "to", "revertible"); f != nil {
		c.Field = d.field(f)
	}
}

func (d *campaignDecoder) eksVersion(m *yamlMap) *EKSVersionChange {
	e := &EKSVersionChange{Hops: "sequential"}
	if n := d.required(m, "to"); n != nil {
		switch tag := n.ShortTag(); {
		case n.Kind == yaml.ScalarNode && (tag == "!!float" || tag == "!!int"):
			d.fail(n.Line, m.field("to"), "%s", unquotedVersion(n.Value))
		default:
			if s, ok := d.str(n, m.field("to")); ok {
				if !eksVersionRE.MatchString(s) {
					d.fail(n.Line, m.field("to"), "%q is not an EKS version of the form \"1.NN\", like \"1.30\"", s)
				}
				e.To = s
			}
		}
	}
	if h := d.oneOf(m, "hops", "hops mode", "sequential", "refuse"); h != "" {
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

func (d *campaignDecoder) label(m *yamlMap) *LabelChange {
	l := &LabelChange{}
	if s, n := d.requiredLabelString(m, "key"); n != nil {
		if p := labelNameProblem(s); p != "" {
			d.fail(n.Line, m.field("key"), "%s", p)
		}
		l.Key = s
	}
	if s, n := d.labelValue(m, "from", false); n != nil {
		l.From = s
	}
	if s, n := d.labelValue(m, "to", true); n != nil {
		l.To = s
		if l.From != "" && l.From == s {
			d.fail(n.Line, m.field("to"), "equals from (%s): the change would do nothing", s)
		}
	}
	return l
}

// requiredLabelString reads a required string, explaining that label
// keys and values are strings when YAML read something else.
func (d *campaignDecoder) requiredLabelString(m *yamlMap, key string) (string, *yaml.Node) {
	n := d.required(m, key)
	if n == nil {
		return "", nil
	}
	return d.labelString(n, m.field(key))
}

func (d *campaignDecoder) labelString(n *yaml.Node, field string) (string, *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!int", "!!float":
			d.fail(n.Line, field, "unquoted %s is a number to YAML; labels are strings: write \"%s\"", n.Value, n.Value)
			return "", nil
		case "!!bool":
			d.fail(n.Line, field, "unquoted %s is a boolean to YAML; labels are strings: write \"%s\"", n.Value, n.Value)
			return "", nil
		}
	}
	s, ok := d.str(n, field)
	if !ok {
		return "", nil
	}
	return s, n
}

func (d *campaignDecoder) labelValue(m *yamlMap, key string, required bool) (string, *yaml.Node) {
	var n *yaml.Node
	if required {
		n = d.required(m, key)
	} else {
		n = d.optionalScalar(m, key)
	}
	if n == nil {
		return "", nil
	}
	s, n := d.labelString(n, m.field(key))
	if n == nil {
		return "", nil
	}
	if p := labelValueProblem(s); p != "" {
		d.fail(n.Line, m.field(key), "%s", p)
		return "", nil
	}
	return s, n
}

// labelNameProblem says why s is not a Kubernetes label name, or "".
func labelNameProblem(s string) string {
	name := s
	if prefix, rest, ok := strings.Cut(s, "/"); ok {
		if len(prefix) > 253 || !dnsSubdomainRE.MatchString(prefix) {
			return fmt.Sprintf("%q is not a Kubernetes label name: the prefix %q is not a DNS subdomain", s, prefix)
		}
		name = rest
	}
	if !labelNameRE.MatchString(name) {
		return fmt.Sprintf("%q is not a Kubernetes label name: use up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit, after an optional DNS prefix and '/'", s)
	}
	return ""
}

// labelValueProblem says why s is not a Kubernetes label value, or "".
func labelValueProblem(s string) string {
	if !labelNameRE.MatchString(s) {
		return fmt.Sprintf("%q is not a Kubernetes label value: use up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit", s)
	}
	return ""
}

func (d *campaignDecoder) field(m *yamlMap) *FieldChange {
	f := &FieldChange{}
	if s, n := d.requiredString(m, "files"); n != nil {
		if p := globProblem(s); p != "" {
			d.fail(n.Line, m.field("files"), "%s", p)
		}
		f.Files = s
	}
	if s, n := d.requiredString(m, "path"); n != nil {
		if !keyPathRE.MatchString(s) {
			d.fail(n.Line, m.field("path"), "%q is not a key path like services.eks.config.*.version: keys are separated by single dots, and * stands alone for any key", s)
		}
		f.Path = s
	}
	from := d.optionalScalar(m, "from")
	if from != nil {
		if s, ok := d.scalar(from, m.field("from")); ok {
			f.From = s
		}
	}
	if n := d.required(m, "to"); n != nil {
		if s, ok := d.scalar(n, m.field("to")); ok {
			f.To = s
			if from != nil && from.Value == s && from.ShortTag() == n.ShortTag() {
				d.fail(n.Line, m.field("to"), "equals from (%s): the change would do nothing", s)
			}
		}
	}
	if n := m.optional("revertible"); n == nil {
		d.fail(m.lineOf("revertible"), m.field("revertible"), "is required: say true if rollback may write the old value back, false if the change is forward-only")
	} else {
		f.Revertible = d.boolean(m, "revertible", false)
	}
	return f
}

// scalar reads any scalar but null, keeping the text as written.
func (d *campaignDecoder) scalar(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n.Line, field, "must be a single value, not %s", describeNode(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!int", "!!float", "!!bool":
		return n.Value, true
	}
	d.fail(n.Line, field, "must be a string, number or boolean, not %s", describeNode(n))
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
func (d *campaignDecoder) selector(m *yamlMap, s *Selector) []listItem {
	src := d.src
	lists := []struct {
		key  string
		into *[]string
	}{{"tenants", &s.Tenants}, {"envs", &s.Envs}, {"fleets", &s.Fleets}, {"clusters", &s.Clusters}, {"exclude", &s.Exclude}}
	for _, l := range lists {
		items := d.names(m, l.key, nil)
		*l.into = itemValues(items)
		src.items[l.key] = items
	}
	envs := src.items["envs"]
	n := m.optional("labels")
	if n == nil {
		return envs
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, m.field("labels"), "must be a mapping, not %s", describeNode(n))
		return envs
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := yamlDeref(n.Content[i]), yamlDeref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.fail(k.Line, m.field("labels"), "a key must be a label name, not %s", describeNode(k))
			continue
		}
		key := k.Value
		f := joinField(m.field("labels"), key)
		if first, ok := seen[key]; ok {
			d.fail(k.Line, f, "is given twice (first on line %d)", first)
			continue
		}
		seen[key] = k.Line
		if p := labelNameProblem(key); p != "" {
			d.fail(k.Line, f, "%s", p)
			continue
		}
		val, vn := d.labelString(v, f)
		if vn == nil {
			continue
		}
		if p := labelValueProblem(val); p != "" {
			d.fail(v.Line, f, "%s", p)
			continue
		}
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[key] = val
		src.labels[key] = listItem{value: val, line: k.Line, field: f}
	}
	return envs
}

// strategy decodes the strategy and returns its approvals for inOrder.
func (d *campaignDecoder) strategy(m *yamlMap, s *Strategy) []listItem {
	if n := d.required(m, "order"); n != nil {
		s.Order = itemValues(d.names(m, "order", nil))
		if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
			d.fail(n.Line, m.field("order"), "is empty: list the environments in rollout order, like [dev, staging, prod]")
		}
	}
	s.Canary = d.boolean(m, "canary", true)
	s.MaxConcurrency = d.quantity(m, "maxConcurrency", 1, s.MaxConcurrency)
	s.MaxPerTenant = d.integer(m, "maxPerTenant", 0)
	s.MaxFailures = d.quantity(m, "maxFailures", 0, Quantity{})
	s.Bake = d.duration(m, "bake", 0)
	s.ProgressDeadline = d.duration(m, "progressDeadline", DefaultProgressDeadline)
	if n := m.optional("progressDeadline"); n != nil && s.ProgressDeadline.Duration == 0 {
		d.fail(n.Line, m.field("progressDeadline"), "must be more than 0s")
		s.ProgressDeadline = Duration{DefaultProgressDeadline}
	}
	approvals := d.names(m, "approvals", nil)
	s.Approvals = itemValues(approvals)
	return approvals
}

func (d *campaignDecoder) schedule(m *yamlMap, s *Schedule) {
	if n := d.optionalScalar(m, "notBefore"); n != nil {
		if v, ok := d.str(n, m.field("notBefore")); ok {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil || !rfc3339RE.MatchString(v) {
				d.fail(n.Line, m.field("notBefore"), "%q is not a time with a zone offset, like 2026-12-01T02:00:00+01:00 or 2026-12-01T01:00:00Z", v)
			} else {
				s.NotBefore = &t
			}
		}
	}
	if v, n := d.optionalString(m, "timezone"); n != nil {
		if _, err := scheduleZone(v); err != nil {
			d.fail(n.Line, m.field("timezone"), "%v", err)
		}
		s.Timezone = v
	}
	for i, it := range d.list(m, "windows") {
		f := indexField(m.field("windows"), i)
		if w := d.mapping(f, it.Line, it, "days", "start", "end"); w != nil {
			s.Windows = append(s.Windows, d.window(w))
		}
	}
	for i, it := range d.list(m, "blackouts") {
		f := indexField(m.field("blackouts"), i)
		if b := d.mapping(f, it.Line, it, "from", "to", "reason"); b != nil {
			s.Blackouts = append(s.Blackouts, d.blackout(b))
		}
	}
	s.MaxOpenPRs = d.integer(m, "maxOpenPRs", 0)
	s.MaxWavesPerDay = d.integer(m, "maxWavesPerDay", 0)
}

func (d *campaignDecoder) window(m *yamlMap) Window {
	var w Window
	if n := d.required(m, "days"); n != nil {
		w.Days = itemValues(d.names(m, "days", func(s string) string {
			if _, err := scheduleDay(s); err != nil {
				return err.Error()
			}
			return ""
		}))
		if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
			d.fail(n.Line, m.field("days"), "is empty: name the days the window starts on, like [Tue, Wed]")
		}
	}
	start, startOK := d.clock(m, "start")
	end, endOK := d.clock(m, "end")
	if startOK {
		w.Start = m.values["start"].Value
	}
	if endOK {
		w.End = m.values["end"].Value
		if startOK && start == end {
			d.fail(m.values["end"].Line, m.field("end"), "equals start (%s): a window needs a length", w.Start)
		}
	}
	return w
}

func (d *campaignDecoder) clock(m *yamlMap, key string) (int, bool) {
	return d.parsed(m, key, scheduleClock)
}

// parsed reads the required string at key and converts it with parse,
// reporting a conversion error at the value's line.
func (d *campaignDecoder) parsed(m *yamlMap, key string, parse func(string) (int, error)) (int, bool) {
	s, n := d.requiredString(m, key)
	if n == nil {
		return 0, false
	}
	v, err := parse(s)
	if err != nil {
		d.fail(n.Line, m.field(key), "%v", err)
		return 0, false
	}
	return v, true
}

func (d *campaignDecoder) blackout(m *yamlMap) Blackout {
	var b Blackout
	from, fromOK := d.date(m, "from")
	to, toOK := d.date(m, "to")
	if fromOK {
		b.From = m.values["from"].Value
	}
	if toOK {
		b.To = m.values["to"].Value
		if fromOK && to < from {
			d.fail(m.values["to"].Line, m.field("to"), "%s is before from (%s)", b.To, b.From)
		}
	}
	if s, n := d.optionalString(m, "reason"); n != nil {
		b.Reason = s
	}
	return b
}

func (d *campaignDecoder) date(m *yamlMap, key string) (int, bool) {
	return d.parsed(m, key, scheduleDate)
}
