package rollout

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/rollout/decode"
)

// Gate names, as they appear under spec.gates and in Policy.Gates.
const (
	GateTerraform  = "terraform"
	GateArgoCD     = "argocd"
	GatePrometheus = "prometheus"
	GateEKS        = "eks"
	// GatePreflight is not a gate a cluster passes after its merge: it is
	// asked before a cluster of an EKS version wave goes into a pull request
	// (EKSGate.Preflight), and its results are fed back as gate results
	// under this name.
	GatePreflight = "preflight"
)

// gateNames lists the gates in the order the documentation gives them.
var gateNames = []string{GateTerraform, GateArgoCD, GatePrometheus, GateEKS}

// Names returns the names of the configured gates, sorted: the gates every
// cluster must pass (Policy.Gates).
func (g Gates) Names() []string {
	var names []string
	if g.Terraform != nil {
		names = append(names, GateTerraform)
	}
	if g.ArgoCD != nil {
		names = append(names, GateArgoCD)
	}
	if g.Prometheus != nil {
		names = append(names, GatePrometheus)
	}
	if g.EKS != nil {
		names = append(names, GateEKS)
	}
	slices.Sort(names)
	return names
}

// TerraformGate passes a cluster when the Terraform CI checks on its merge
// commit succeeded.
type TerraformGate struct {
	// Checks names check runs or commit-status contexts. Each entry is a
	// template over TemplateVars (CI running one workspace per cluster names
	// its checks after the cluster, as in "terraform-apply ({{ .Cluster }})")
	// that renders, per cluster, to a path.Match pattern; every pattern must
	// match at least one check run or status.
	Checks []Template `json:"checks" yaml:"checks"`
}

// Patterns renders the checks for one cluster: the path.Match patterns its
// check runs and statuses must match. The values of v are escaped, so a
// name always stands for itself, never for a pattern.
func (g TerraformGate) Patterns(v TemplateVars) ([]string, error) {
	out := make([]string, len(g.Checks))
	for i, c := range g.Checks {
		p, err := c.Execute(v.escaped())
		if err != nil {
			return nil, fmt.Errorf("check %q: %w", c, err)
		}
		out[i] = p
	}
	return out, nil
}

// escaped returns v with every value escaped as by escapePattern.
func (v TemplateVars) escaped() TemplateVars {
	return TemplateVars{
		Cluster: escapePattern(v.Cluster), Tenant: escapePattern(v.Tenant), Env: escapePattern(v.Env),
		Region: escapePattern(v.Region), Account: escapePattern(v.Account), Fleet: escapePattern(v.Fleet),
		Traffic: v.Traffic,
	}
}

// escapePattern escapes the characters path.Match gives a meaning (*, ?, [
// and \), so that s as a pattern matches s alone.
func escapePattern(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ArgoCDGate passes a cluster when its Argo CD applications are Synced to a
// revision containing the merge commit and Healthy.
type ArgoCDGate struct {
	// Server is the Argo CD API's base URL.
	Server string `json:"server" yaml:"server"`
	// TokenEnv names the environment variable holding the bearer token; the
	// token itself never appears in a campaign file.
	TokenEnv string `json:"tokenEnv" yaml:"tokenEnv"`
	// Selector, when set, is a label selector narrowing the cluster's
	// applications.
	Selector string `json:"selector,omitempty" yaml:"selector,omitempty"`
	// Project, when set, narrows the applications to one Argo CD project.
	Project string `json:"project,omitempty" yaml:"project,omitempty"`
}

// PrometheusGate passes a cluster when its queries met their success
// conditions Count times, measured Interval apart.
type PrometheusGate struct {
	// Address is the Prometheus HTTP API's base URL.
	Address string `json:"address" yaml:"address"`
	// Interval is the least time between two measurements (default 1m).
	Interval Duration `json:"interval" yaml:"interval"`
	// Count is the number of successful measurements needed (default 3).
	Count int `json:"count" yaml:"count"`
	// FailureLimit is the number of failed measurements tolerated
	// (default 0: the first one fails the cluster).
	FailureLimit int `json:"failureLimit" yaml:"failureLimit"`
	// InconclusiveLimit is the number of measurements without a verdict
	// (no data) tolerated (default 0).
	InconclusiveLimit int `json:"inconclusiveLimit" yaml:"inconclusiveLimit"`
	// Queries are run at every measurement; all must succeed.
	Queries []PrometheusQuery `json:"queries" yaml:"queries"`
}

// Defaults ParseCampaign fills in for a Prometheus gate.
const (
	DefaultPrometheusInterval = time.Minute
	DefaultPrometheusCount    = 3
)

// PrometheusQuery is one PromQL query and what its result must be.
type PrometheusQuery struct {
	// Name identifies the query in details and evidence.
	Name string `json:"name" yaml:"name"`
	// Query is the PromQL text, a template over TemplateVars.
	Query Template `json:"query" yaml:"query"`
	// Success is true of a healthy result.
	Success Condition `json:"success" yaml:"success"`
	// Failure, when set, is true of an unhealthy result; a result neither
	// healthy nor unhealthy is inconclusive. Without it, a result that is
	// not healthy is unhealthy.
	Failure *Condition `json:"failure,omitempty" yaml:"failure,omitempty"`
}

// EKSGate passes a cluster when DescribeCluster, in the tenant's account,
// reports the target version and ACTIVE.
type EKSGate struct {
	// RoleARN is the role assumed per tenant, a template over TemplateVars
	// (usually naming .Account).
	RoleARN Template `json:"roleARN" yaml:"roleARN"`
	// ExternalID, when set, is passed to AssumeRole.
	ExternalID string `json:"externalID,omitempty" yaml:"externalID,omitempty"`
	// Nodegroups says whether managed node groups must be on the control
	// plane's version too (default true).
	Nodegroups bool `json:"nodegroups" yaml:"nodegroups"`
	// Preflight asks EKS, before a cluster of an EKS version wave is put in
	// a pull request, whether it is ready for the target minor: upgrade
	// insights, add-on versions and node groups (default false).
	Preflight bool `json:"preflight,omitempty" yaml:"preflight,omitempty"`
}

// TemplateVars are the values a gate template may use: {{ .Cluster }},
// {{ .Tenant }}, {{ .Env }}, {{ .Region }}, {{ .Account }}, {{ .Fleet }},
// and {{ .Traffic }}, the share of traffic in percent the cluster looked at
// carries once the wave merged (Subject.Traffic).
type TemplateVars struct {
	Cluster string
	Tenant  string
	Env     string
	Region  string
	Account string
	Fleet   string
	Traffic int
}

// templateFields are the names of TemplateVars' fields.
var templateFields = []string{"Cluster", "Tenant", "Env", "Region", "Account", "Fleet", "Traffic"}

// sampleVars fill a template once at load time, so a template that cannot be
// executed is refused then rather than at the first cluster.
var sampleVars = TemplateVars{
	Cluster: "dev-cpu-1", Tenant: "tenant-a", Env: "dev",
	Region: "eu-west-1", Account: "123456789012", Fleet: "cpu", Traffic: 50,
}

// Template is a text/template over TemplateVars, kept with its source text.
// The zero Template is empty and executes to "".
type Template struct {
	src  string
	tmpl *template.Template
}

// ParseTemplate parses s and checks that it names only the fields of
// TemplateVars and executes.
func ParseTemplate(s string) (Template, error) {
	t, err := template.New("t").Option("missingkey=error").Parse(s)
	if err != nil {
		return Template{}, fmt.Errorf("%q is not a template: %s", s, templateErrorText(err))
	}
	if p := templateFieldProblem(t.Root); p != "" {
		return Template{}, fmt.Errorf("%q: %s", s, p)
	}
	out := Template{src: s, tmpl: t}
	if _, err := out.Execute(sampleVars); err != nil {
		return Template{}, fmt.Errorf("%q does not execute: %w", s, err)
	}
	return out, nil
}

// Execute fills the template with v.
func (t Template) Execute(v TemplateVars) (string, error) {
	if t.tmpl == nil {
		return t.src, nil
	}
	var b strings.Builder
	if err := t.tmpl.Execute(&b, v); err != nil {
		return "", errors.New(templateErrorText(err))
	}
	return b.String(), nil
}

// String returns the template's source text.
func (t Template) String() string { return t.src }

// MarshalText returns the source text.
func (t Template) MarshalText() ([]byte, error) { return []byte(t.src), nil }

// UnmarshalText parses a template as ParseTemplate does.
func (t *Template) UnmarshalText(b []byte) error {
	v, err := ParseTemplate(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// templateErrorRE matches the prefix text/template puts before its messages:
// the template's name, a line, maybe a column, maybe the action executing.
var templateErrorRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^template: t:[0-9]+(:[0-9]+)?: (executing "t" at <[^>]*>: )?`)
})

func templateErrorText(err error) string {
	return templateErrorRE().ReplaceAllString(err.Error(), "")
}

// templateFieldProblem walks a template's parse tree and names the first
// field that TemplateVars does not have, or returns "".
func templateFieldProblem(n parse.Node) string {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return ""
		}
		for _, c := range n.Nodes {
			if p := templateFieldProblem(c); p != "" {
				return p
			}
		}
	case *parse.ActionNode:
		return templateFieldProblem(n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return ""
		}
		for _, c := range n.Cmds {
			if p := templateFieldProblem(c); p != "" {
				return p
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if p := templateFieldProblem(a); p != "" {
				return p
			}
		}
	case *parse.IfNode:
		return branchFieldProblem(&n.BranchNode)
	case *parse.WithNode:
		return branchFieldProblem(&n.BranchNode)
	case *parse.RangeNode:
		return branchFieldProblem(&n.BranchNode)
	case *parse.TemplateNode:
		return templateFieldProblem(n.Pipe)
	case *parse.ChainNode:
		return templateFieldProblem(n.Node)
	case *parse.FieldNode:
		return fieldIdentProblem(n.Ident)
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			return fieldIdentProblem(n.Ident[1:])
		}
	}
	return ""
}

func branchFieldProblem(b *parse.BranchNode) string {
	for _, n := range []parse.Node{b.Pipe, b.List, b.ElseList} {
		if p := templateFieldProblem(n); p != "" {
			return p
		}
	}
	return ""
}

func fieldIdentProblem(ident []string) string {
	name := "." + strings.Join(ident, ".")
	if !slices.Contains(templateFields, ident[0]) {
		return fmt.Sprintf("%s is not a field: use %s", name, templateFieldList())
	}
	if len(ident) > 1 {
		return fmt.Sprintf("%s: .%s is a string and has no fields", name, ident[0])
	}
	return ""
}

func templateFieldList() string {
	dotted := make([]string, len(templateFields))
	for i, f := range templateFields {
		dotted[i] = "." + f
	}
	return decode.OrList(dotted)
}

// Condition is a test on a query's result: comparisons "result OP number",
// OP one of < <= > >= == !=, joined by "and" and "or" ("and" binds
// tighter). It is kept with its source text. The zero Condition is never
// true.
type Condition struct {
	src string
	// any holds the alternatives joined by "or", each the comparisons
	// joined by "and".
	any [][]comparison
}

type comparison struct {
	op    string
	value float64
}

// conditionHint ends every condition error with the grammar.
const conditionHint = `a condition is "result OP number", OP one of <, <=, >, >=, == or !=, joined by and / or, as in "result > 0 and result < 0.5"`

// ParseCondition parses a condition such as "result < 0.5" or
// "result >= 1 and result <= 3".
func ParseCondition(s string) (Condition, error) {
	p := conditionParser{src: []rune(s)}
	c, err := p.parse()
	if err != nil {
		return Condition{}, fmt.Errorf("%q is not a condition: %w; %s", s, err, conditionHint)
	}
	c.src = s
	return c, nil
}

// Eval reports whether the condition holds of result. NaN satisfies only
// "!=".
func (c Condition) Eval(result float64) bool {
	for _, all := range c.any {
		ok := true
		for _, cmp := range all {
			if !cmp.holds(result) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (c comparison) holds(r float64) bool {
	switch c.op {
	case "<":
		return r < c.value
	case "<=":
		return r <= c.value
	case ">":
		return r > c.value
	case ">=":
		return r >= c.value
	case "==":
		return r == c.value
	case "!=":
		return r != c.value
	}
	return false
}

// String returns the source text.
func (c Condition) String() string { return c.src }

// IsZero reports whether c was never parsed.
func (c Condition) IsZero() bool { return c.any == nil }

// MarshalText returns the source text.
func (c Condition) MarshalText() ([]byte, error) { return []byte(c.src), nil }

// UnmarshalText parses a condition as ParseCondition does.
func (c *Condition) UnmarshalText(b []byte) error {
	v, err := ParseCondition(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// conditionParser reads a condition token by token; columns count
// characters from 1.
type conditionParser struct {
	src []rune
	pos int
}

type conditionToken struct {
	text   string
	column int
}

func (t conditionToken) found() string {
	if t.text == "" {
		return "found the end"
	}
	return "found " + strconv.Quote(t.text)
}

var (
	conditionOps      = []string{"<", "<=", ">", ">=", "==", "!="}
	conditionNumberRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$`)
	})
)

func (p *conditionParser) parse() (Condition, error) {
	if strings.Trim(string(p.src), " \t\n\f\r") == "" {
		return Condition{}, fmt.Errorf("it is empty")
	}
	var c Condition
	all := []comparison{}
	for {
		cmp, err := p.comparison()
		if err != nil {
			return Condition{}, err
		}
		all = append(all, cmp)
		t := p.next()
		switch t.text {
		case "":
			c.any = append(c.any, all)
			return c, nil
		case "and":
		case "or":
			c.any = append(c.any, all)
			all = []comparison{}
		default:
			return Condition{}, fmt.Errorf("at column %d: want and, or or the end, %s", t.column, t.found())
		}
	}
}

func (p *conditionParser) comparison() (comparison, error) {
	if t := p.next(); t.text != "result" {
		return comparison{}, fmt.Errorf("at column %d: want result, %s", t.column, t.found())
	}
	op := p.next()
	if !slices.Contains(conditionOps, op.text) {
		return comparison{}, fmt.Errorf("at column %d: want a comparison (<, <=, >, >=, == or !=), %s", op.column, op.found())
	}
	num := p.next()
	if !conditionNumberRE().MatchString(num.text) {
		return comparison{}, fmt.Errorf("at column %d: want a number, %s", num.column, num.found())
	}
	v, err := strconv.ParseFloat(num.text, 64)
	if err != nil || math.IsInf(v, 0) {
		return comparison{}, fmt.Errorf("at column %d: %s is out of range", num.column, num.text)
	}
	return comparison{op: op.text, value: v}, nil
}

// next returns the next token: a word, a run of comparison characters, a
// number, or one other character; text "" at the end.
func (p *conditionParser) next() conditionToken {
	for p.pos < len(p.src) && strings.ContainsRune(" \t\n\f\r", p.src[p.pos]) {
		p.pos++
	}
	start := p.pos
	if p.pos == len(p.src) {
		return conditionToken{column: start + 1}
	}
	r := p.src[p.pos]
	switch {
	case unicode.IsLetter(r) || r == '_':
		for p.pos < len(p.src) && (unicode.IsLetter(p.src[p.pos]) || unicode.IsDigit(p.src[p.pos]) || p.src[p.pos] == '_') {
			p.pos++
		}
	case strings.ContainsRune("<>=!", r):
		for p.pos < len(p.src) && strings.ContainsRune("<>=!", p.src[p.pos]) {
			p.pos++
		}
	case unicode.IsDigit(r) || strings.ContainsRune("+-.", r):
		p.pos++
		for p.pos < len(p.src) {
			c := p.src[p.pos]
			signAfterExp := (c == '+' || c == '-') && (p.src[p.pos-1] == 'e' || p.src[p.pos-1] == 'E')
			if !unicode.IsDigit(c) && !strings.ContainsRune(".eE", c) && !signAfterExp {
				break
			}
			p.pos++
		}
	default:
		p.pos++
	}
	return conditionToken{text: string(p.src[start:p.pos]), column: start + 1}
}

// Loading spec.gates.

var (
	baseURLRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^https?://[^\s/?#@]+(/[^\s?#]*)?$`) })
	envNameRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })
	roleARNRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`) })
	externalIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@:/-]+$`) })
)

// gates decodes spec.gates. deadline is the strategy's progress deadline,
// which a Prometheus gate's measurements must fit in.
func (d *campaignDecoder) gates(m *decode.Map, deadline time.Duration) Gates {
	var g Gates
	present := func(key string) bool { return m.Has(key) }
	if t := m.Object(GateTerraform, present(GateTerraform), "checks"); t != nil {
		g.Terraform = d.terraformGate(t)
	}
	if a := m.Object(GateArgoCD, present(GateArgoCD), "server", "tokenEnv", "selector", "project"); a != nil {
		g.ArgoCD = d.argoCDGate(a)
	}
	if p := m.Object(GatePrometheus, present(GatePrometheus), "address", "interval", "count",
		"failureLimit", "inconclusiveLimit", "queries"); p != nil {
		g.Prometheus = d.prometheusGate(p, deadline)
	}
	if e := m.Object(GateEKS, present(GateEKS), "roleARN", "externalID", "nodegroups", "preflight"); e != nil {
		g.EKS = d.eksGate(e)
	}
	return g
}

func (d *campaignDecoder) terraformGate(m *decode.Map) *TerraformGate {
	g := &TerraformGate{}
	n := m.Required("checks")
	if n == nil {
		return g
	}
	parsed := map[string]Template{}
	items := m.Names("checks", func(s string) string {
		t, p := checkTemplate(s)
		if p == "" {
			parsed[s] = t
		}
		return p
	})
	for _, it := range items {
		g.Checks = append(g.Checks, parsed[it.Value])
	}
	if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		d.Failf(n.Line, m.Field("checks"), "is empty: name the check runs or commit statuses Terraform CI reports, like [terraform-apply]")
	}
	return g
}

// checkTemplate parses one of the terraform gate's checks and renders it for
// a sample cluster, or says why it is not a check: not a template, or not
// rendering to a valid path.Match pattern.
func checkTemplate(s string) (Template, string) {
	t, err := ParseTemplate(s)
	if err != nil {
		return Template{}, err.Error()
	}
	patterns, err := TerraformGate{Checks: []Template{t}}.Patterns(sampleVars)
	if err != nil {
		return Template{}, err.Error()
	}
	sample := patterns[0]
	_, err = path.Match(sample, "")
	switch {
	case sample == s && err != nil:
		return Template{}, fmt.Sprintf("%q is not a valid pattern: %v", s, err)
	case strings.TrimSpace(sample) == "":
		return Template{}, fmt.Sprintf("%q renders to an empty name for cluster %s", s, sampleVars.Cluster)
	case err != nil:
		return Template{}, fmt.Sprintf("%q renders to %q for cluster %s, which is not a valid pattern: %v", s, sample, sampleVars.Cluster, err)
	}
	return t, ""
}

func (d *campaignDecoder) argoCDGate(m *decode.Map) *ArgoCDGate {
	g := &ArgoCDGate{}
	if s, n := m.RequiredString("server"); n != nil {
		if p := baseURLProblem(s, "https://argocd.example.com"); p != "" {
			d.Failf(n.Line, m.Field("server"), "%s", p)
		}
		g.Server = s
	}
	if s, n := m.RequiredString("tokenEnv"); n != nil {
		if !envNameRE().MatchString(s) {
			d.Failf(n.Line, m.Field("tokenEnv"), "%q is not an environment variable name: use letters, digits and '_', not starting with a digit (the token itself never goes in the file)", s)
		}
		g.TokenEnv = s
	}
	if s, n := m.OptionalString("selector"); n != nil {
		if p := labelSelectorProblem(s); p != "" {
			d.Failf(n.Line, m.Field("selector"), "%s", p)
		}
		g.Selector = s
	}
	if s, n := m.OptionalString("project"); n != nil {
		g.Project = s
	}
	return g
}

func (d *campaignDecoder) prometheusGate(m *decode.Map, deadline time.Duration) *PrometheusGate {
	g := &PrometheusGate{Count: DefaultPrometheusCount}
	if s, n := m.RequiredString("address"); n != nil {
		if p := baseURLProblem(s, "https://prometheus.example.com"); p != "" {
			d.Failf(n.Line, m.Field("address"), "%s", p)
		}
		g.Address = s
	}
	g.Interval = duration(m, "interval", DefaultPrometheusInterval)
	if n := m.Optional("interval"); n != nil && g.Interval.Duration == 0 {
		d.Failf(n.Line, m.Field("interval"), "must be more than 0s")
		g.Interval = Duration{DefaultPrometheusInterval}
	}
	if m.Optional("count") != nil {
		if c := integer(m, "count", 1); c > 0 {
			g.Count = c
		}
	}
	g.FailureLimit = integer(m, "failureLimit", 0)
	g.InconclusiveLimit = integer(m, "inconclusiveLimit", 0)
	if n := m.Required("queries"); n != nil {
		if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
			d.Failf(n.Line, m.Field("queries"), "is empty: give at least one query with a name, a query and a success condition")
		}
		seen := map[string]int{}
		for i, it := range m.List("queries") {
			f := decode.Index(m.Field("queries"), i)
			if q := d.Fields(it, f, it.Line, "name", "query", "success", "failure"); q != nil {
				g.Queries = append(g.Queries, d.prometheusQuery(q, seen))
			}
		}
	}
	if need := time.Duration(g.Count-1) * g.Interval.Duration; deadline > 0 && need >= deadline {
		d.Failf(m.Line, m.Path, "%d measurements %s apart take %s, not less than spec.strategy.progressDeadline (%s): the gate could never pass in time",
			g.Count, g.Interval, Duration{need}, Duration{deadline})
	}
	return g
}

func (d *campaignDecoder) prometheusQuery(m *decode.Map, seen map[string]int) PrometheusQuery {
	var q PrometheusQuery
	if s, n := m.RequiredString("name"); n != nil {
		switch first, dup := seen[s]; {
		case !labelNameRE().MatchString(s):
			d.Failf(n.Line, m.Field("name"), "%q is not a query name: use up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit", s)
		case dup:
			d.Failf(n.Line, m.Field("name"), "%q names another query too (line %d)", s, first)
		default:
			seen[s] = n.Line
		}
		q.Name = s
	}
	if s, n := m.RequiredString("query"); n != nil {
		t, err := ParseTemplate(s)
		switch {
		case strings.TrimSpace(s) == "":
			d.Failf(n.Line, m.Field("query"), "is empty: write the PromQL query")
		case err != nil:
			d.Failf(n.Line, m.Field("query"), "%v", err)
		}
		q.Query = t
	}
	if c := d.condition(m, "success", true); c != nil {
		q.Success = *c
	}
	q.Failure = d.condition(m, "failure", false)
	return q
}

// condition reads a condition at key; nil when absent or wrong.
func (d *campaignDecoder) condition(m *decode.Map, key string, required bool) *Condition {
	c, n := decode.Text(m, key, required, ParseCondition)
	if n == nil {
		return nil
	}
	return &c
}

func (d *campaignDecoder) eksGate(m *decode.Map) *EKSGate {
	g := &EKSGate{}
	if s, n := m.RequiredString("roleARN"); n != nil {
		t, err := ParseTemplate(s)
		if err != nil {
			d.Failf(n.Line, m.Field("roleARN"), "%v", err)
		} else if arn, _ := t.Execute(sampleVars); !roleARNRE().MatchString(arn) {
			d.Failf(n.Line, m.Field("roleARN"), "%q is not an IAM role ARN such as arn:aws:iam::{{ .Account }}:role/fleetbot-verify", s)
		}
		g.RoleARN = t
	}
	if s, n := m.OptionalString("externalID"); n != nil {
		if len(s) < 2 || len(s) > 1224 || !externalIDRE().MatchString(s) {
			d.Failf(n.Line, m.Field("externalID"), "is not an STS external ID: use 2 to 1224 letters, digits and any of _+=,.@:/-")
		}
		g.ExternalID = s
	}
	g.Nodegroups = m.Bool("nodegroups", true)
	g.Preflight = m.Bool("preflight", false)
	d.preflightLine = m.LineOf("preflight")
	return g
}

// baseURLProblem says why s is not an http(s) base URL such as example,
// or "".
func baseURLProblem(s, example string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return fmt.Sprintf("%q is not an http or https URL such as %s", s, example)
	case u.User != nil:
		return "holds credentials: never write them in the file; the URL is the server's address alone"
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#"):
		return fmt.Sprintf("%q is a base URL: leave out the query and fragment", s)
	case !baseURLRE().MatchString(s):
		return fmt.Sprintf("%q is not an http or https URL such as %s", s, example)
	}
	return ""
}

// labelSelectorProblem says why s is not a Kubernetes label selector
// (key, !key, key=value, key==value, key!=value, key in (a,b),
// key notin (a,b), joined by commas), or "".
func labelSelectorProblem(s string) string {
	if strings.TrimSpace(s) == "" {
		return "is empty: leave selector out to use all of the cluster's applications"
	}
	for _, req := range SplitLabelSelector(s) {
		if p := requirementProblem(strings.TrimSpace(req)); p != "" {
			return fmt.Sprintf("%q is not a label selector: %s", s, p)
		}
	}
	return ""
}

// SplitLabelSelector splits a Kubernetes label selector into its
// requirements: at the commas outside parentheses, so `env in (a,b)` stays
// whole.
func SplitLabelSelector(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

var setRequirementRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\S+)\s+(in|notin)\s*\(([^()]*)\)$`) })

func requirementProblem(req string) string {
	if req == "" {
		return "an empty requirement between commas"
	}
	if m := setRequirementRE().FindStringSubmatch(req); m != nil {
		if p := labelNameProblem(m[1]); p != "" {
			return p
		}
		for v := range strings.SplitSeq(m[3], ",") {
			if v = strings.TrimSpace(v); v != "" {
				if p := labelValueProblem(v); p != "" {
					return p
				}
			}
		}
		return ""
	}
	for _, op := range []string{"!=", "==", "="} {
		if k, v, ok := strings.Cut(req, op); ok {
			if p := labelNameProblem(strings.TrimSpace(k)); p != "" {
				return p
			}
			if v = strings.TrimSpace(v); v != "" {
				return labelValueProblem(v)
			}
			return ""
		}
	}
	return labelNameProblem(strings.TrimPrefix(req, "!"))
}
