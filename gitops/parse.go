package gitops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/gitops/yamledit"
	"github.com/fleetbot/fleetbot/rollout/decode"
)

// fileRole says what a file is to the layout; one file may be several.
type fileRole uint8

const (
	roleBlueprint fileRole = 1 << iota
	roleMember
	roleLabels
)

// parsedFile is what one file contributes: clusters, labels and
// diagnostics. Each is written by the one worker that parses the file.
type parsedFile struct {
	rel   string
	roles fileRole

	clusters   []Cluster
	spots      *fileSpots // where its clusters' versions sit, when known
	labels     []Label
	labelsLine int // line of the labels key, for diagnostics about the file
	diags      Diagnostics
}

type parseJob struct {
	scan       *repoScan
	file       *parsedFile
	labelsOnly bool
}

// runJobs parses the files of jobs on workers goroutines. With done, it
// calls done for each job in the jobs' order as soon as that job and every
// one before it are parsed, one call at a time.
func runJobs(ctx context.Context, jobs []parseJob, workers int, done func(parseJob)) error {
	if len(jobs) == 0 {
		return nil
	}
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		firstEr error

		mu       sync.Mutex
		finished = make([]bool, len(jobs))
		cursor   int
	)
	for range min(workers, len(jobs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) || ctx.Err() != nil {
					return
				}
				if err := jobs[i].run(); err != nil {
					errOnce.Do(func() { firstEr = err })
					return
				}
				if done == nil {
					continue
				}
				mu.Lock()
				for finished[i] = true; cursor < len(jobs) && finished[cursor]; cursor++ {
					done(jobs[cursor])
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return firstEr
}

func (j parseJob) run() error {
	s, pf := j.scan, j.file
	path := joinRepo(s.root, pf.rel)
	data, ok := s.ahead[pf.rel]
	if !ok {
		var err error
		if data, err = readFile(path); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
	roles := pf.roles
	if j.labelsOnly {
		roles = roleLabels
	}
	b := s.layout.Blueprints
	if roles&roleBlueprint != 0 && b.detect && !mayBeBlueprint(data, b) {
		roles &^= roleBlueprint
	}
	if roles == 0 {
		return nil
	}
	p := &fileParser{root: s.root, rel: pf.rel, file: path, out: pf, d: decode.New(path), records: s.layout.records, data: data}
	defer p.flush()
	docs, index, ok := p.d.Stream(data)
	// What the file says is copied out of its nodes (names, values, lines):
	// the next file read reuses them.
	defer p.d.Release()
	if !ok {
		return nil
	}
	if len(docs) == 1 && (s.spots && roles&(roleBlueprint|roleMember) != 0 || s.spotLabel != "" && roles&roleLabels != 0) {
		p.one = docs[0]
	}
	if roles&roleBlueprint != 0 {
		p.blueprint(docs, b)
	}
	if roles&roleMember != 0 {
		p.member(docs, index, s.layout.Members)
	}
	if roles&roleLabels != 0 {
		p.labels(docs, s.layout.Labels, s.spotLabel)
	}
	if pf.spots != nil && roles&(roleBlueprint|roleMember) == 0 {
		pf.spots.data = data // a label file: a few lines, kept for the plan's check
	}
	return nil
}

// mayBeBlueprint is a cheap test that skips parsing the many YAML files of a
// repository without a layout file that cannot be blueprints.
func mayBeBlueprint(data []byte, b *Blueprints) bool {
	return len(b.keys.tenant) > 0 && len(b.keys.clusters) > 0 &&
		bytes.Contains(data, []byte(b.keys.tenant[0])) && bytes.Contains(data, []byte(b.keys.clusters[0]))
}

// fileParser extracts clusters and labels from one file's YAML.
type fileParser struct {
	root, rel, file string
	out             *parsedFile
	d               *decode.Decoder // the file's YAML: syntax, documents, repeated keys
	records         []keyPath       // the {record.KEY} keys of the layout's hierarchies
	data            []byte          // the file's bytes
	one             *yaml.Node      // the root of the file's only document, when its spots are recorded
	clusters        int             // how many clusters the file may hold
}

// spot records where the scalar at path sits in the file's only document,
// when an edit there can be checked without parsing the file again
// (yamledit.Locate): checking that a plan's edits apply then starts from
// this parse, for the same bytes.
func (p *fileParser) spot(path []string) {
	if p.one == nil {
		return
	}
	sp, ok := yamledit.Locate(p.one, yamledit.Path(path))
	if !ok {
		return
	}
	if p.out.spots == nil {
		p.out.spots = &fileSpots{sum: sha256.Sum256(p.data), at: make([]pathSpot, 0, max(1, p.clusters))}
	}
	p.out.spots.at = append(p.out.spots.at, pathSpot{path: path, spot: sp})
}

// flush adds the decoder's problems to the file's diagnostics.
func (p *fileParser) flush() {
	p.out.diags = append(p.out.diags, decodeDiagnostics(p.d.Errors(), SeverityError)...)
}

func (p *fileParser) diag(sev Severity, line int, format string, args ...any) {
	p.out.diags = append(p.out.diags, Diagnostic{Severity: sev, File: p.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (p *fileParser) errorf(n *yaml.Node, format string, args ...any) {
	p.diag(SeverityError, nodeLine(n), format, args...)
}

func nodeLine(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

func (p *fileParser) source(n *yaml.Node) Source {
	return Source{Repo: p.root, File: p.rel, Line: n.Line, Column: n.Column}
}

// single returns the root node of a one-document file, reporting a file
// with several documents; nil for an empty file.
func (p *fileParser) single(docs []*yaml.Node, what string) *yaml.Node {
	return p.d.One(docs, what)
}

// checkDuplicates reports the repeated keys of mapping m at field path
// path. Fleet files are shared with other tools: any other key is theirs.
func (p *fileParser) checkDuplicates(m *yaml.Node, path string) {
	p.d.Repeated(m, path, "")
}

// isName reports whether s can be a tenant, env or cluster name: a letter or
// digit, then letters, digits, '.', '_' and '-' (^[A-Za-z0-9][A-Za-z0-9._-]*$).
// It is checked for every cluster of the fleet, so it is a loop, not a
// regular expression.
func isName(s string) bool {
	if s == "" || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// isDigits reports whether s is one digit or more.
func isDigits(s string) bool {
	for i := range len(s) {
		if !isDigit(s, i) {
			return false
		}
	}
	return s != ""
}

// name reads a tenant, env or cluster name: a string that can stand for one
// directory in a hierarchy path.
func (p *fileParser) name(k, v *yaml.Node, what string) (string, bool) {
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
		p.errorf(v, "%s (key %s) must be a string, not %s", what, k.Value, decode.Describe(v))
		return "", false
	}
	if !isName(v.Value) {
		p.errorf(v, "%s %q must be letters, digits, '.', '_' and '-', starting with a letter or digit", what, v.Value)
		return "", false
	}
	return v.Value, true
}

// optString reads an optional string at key path kp of m into *into.
func (p *fileParser) optString(m *yaml.Node, kp keyPath, what string, c *Cluster, into *string) {
	if len(kp) == 0 {
		return
	}
	_, v, _ := lookupPath(m, kp)
	if v == nil || v.ShortTag() == "!!null" {
		return
	}
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
		p.errorf(v, "%s must be a string, not %s", kp, decode.Describe(v))
		return
	}
	*into = v.Value
	c.Sources.Set(what, p.source(v))
}

// record reads the keys of the cluster's own record m that the layout's
// hierarchy templates name as {record.KEY}. Each value stands for one
// directory or file name in a path, so it must be a scalar that reads as a
// name; an absent or null key leaves the templates that use it out of the
// cluster's hierarchies.
func (p *fileParser) record(m *yaml.Node, c *Cluster) {
	for _, kp := range p.records {
		_, v, _ := lookupPath(m, kp)
		v = decode.Deref(v)
		if v == nil || v.ShortTag() == "!!null" {
			continue
		}
		if v.Kind != yaml.ScalarNode || !isName(v.Value) {
			p.errorf(v, "%s of cluster %s stands for a path segment ({%s%s} in the layout): it must be a scalar of letters, digits, '.', '_' and '-', not %s",
				kp, c.Name, recordPrefix, kp, decode.Describe(v))
			continue
		}
		if c.Record == nil {
			c.Record = map[string]string{}
		}
		c.Record[kp.String()] = v.Value
		c.Sources.Set(recordPrefix+kp.String(), p.source(v))
	}
}

// accountID checks that v is an AWS account ID written as a string of 12
// digits. Unquoted, YAML reads it as a number and drops leading zeros.
func (p *fileParser) accountID(v *yaml.Node, kp keyPath) bool {
	if v.Kind != yaml.ScalarNode {
		p.errorf(v, "%s must be a string, not %s", kp, decode.Describe(v))
		return false
	}
	if v.ShortTag() != "!!str" {
		p.errorf(v, "%s must be a quoted 12-digit AWS account ID: write \"%s\"", kp, v.Value)
		return false
	}
	if !isAccount(v.Value) {
		p.errorf(v, "%s %q is not a 12-digit AWS account ID", kp, v.Value)
		return false
	}
	return true
}

// isAccount reports whether s is an AWS account ID: twelve digits.
func isAccount(s string) bool { return len(s) == 12 && isDigits(s) }

// boolAt reads the flag at kp of m: a YAML boolean, or the string "true"
// or "false" (Argo CD labels and annotations are strings). It returns the
// node and the value; nil when the key is absent or null, or the value is
// neither (reported).
func (p *fileParser) boolAt(m *yaml.Node, kp keyPath) (*yaml.Node, bool) {
	if len(kp) == 0 || m == nil {
		return nil, false
	}
	_, v, _ := lookupPath(m, kp)
	if v == nil || v.ShortTag() == "!!null" {
		return nil, false
	}
	if v.Kind == yaml.ScalarNode {
		switch {
		case v.ShortTag() == "!!bool":
			return v, v.Value == "true" || v.Value == "True" || v.Value == "TRUE"
		case v.ShortTag() == "!!str" && (v.Value == "true" || v.Value == "false"):
			return v, v.Value == "true"
		}
	}
	p.errorf(v, "%s must be true or false (or the string \"true\" or \"false\"), not %s", kp, decode.Describe(v))
	return nil, false
}

// optBool reads the flag at kp of m into into, with its source.
func (p *fileParser) optBool(m *yaml.Node, kp keyPath, what string, c *Cluster, into *bool) {
	if v, on := p.boolAt(m, kp); v != nil {
		*into = on
		c.Sources.Set(what, p.source(v))
	}
}

// disabledBy reads the flag at kp of m; it returns the node when it is
// false, nil when it is true, absent or not a flag (reported).
func (p *fileParser) disabledBy(m *yaml.Node, kp keyPath) *yaml.Node {
	if v, on := p.boolAt(m, kp); v != nil && !on {
		return v
	}
	return nil
}

// disable marks c as switched off by node v at key path at.
func (p *fileParser) disable(c *Cluster, v *yaml.Node, at []string) {
	c.Disabled, c.DisabledPath = true, at
	c.Sources.Set("disabled", p.source(v))
}

// isEKSVersion reports whether s reads as an EKS version: digits, a dot,
// digits (^[0-9]+\.[0-9]+$).
func isEKSVersion(s string) bool {
	major, minor, ok := strings.Cut(s, ".")
	return ok && isDigits(major) && isDigits(minor)
}

// version reads the EKS version at kp of m. A format that has a version key
// requires it on every cluster.
func (p *fileParser) version(m, at *yaml.Node, kp keyPath, c *Cluster) bool {
	if len(kp) == 0 {
		return false
	}
	_, v, _ := lookupPath(m, kp)
	switch {
	case v == nil || v.ShortTag() == "!!null":
		p.errorf(at, "cluster %s has no version (key %s)", c.Name, kp)
		return false
	case v.Kind == yaml.AliasNode:
		p.errorf(v, "version of cluster %s is an alias: write the version itself so it can be edited", c.Name)
		return false
	case v.Kind == yaml.ScalarNode && (v.ShortTag() == "!!float" || v.ShortTag() == "!!int"):
		p.errorf(v, "version %s is a number: write %q", decodedNumber(v), v.Value)
		c.Version = v.Value
	case v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str":
		p.errorf(v, "version of cluster %s must be a string such as \"1.30\", not %s", c.Name, decode.Describe(v))
		return false
	case !isEKSVersion(v.Value):
		p.errorf(v, "version %q of cluster %s is not an EKS version: write MAJOR.MINOR, such as \"1.30\"", v.Value, c.Name)
		c.Version = v.Value
	default:
		c.Version = v.Value
	}
	c.Sources.Set("version", p.source(v))
	return true
}

// traffic reads the cluster's share of traffic at kp of its entry m, when
// the entry has one: a whole number, 0 or more (a percentage, or a weight
// such as a Route 53 record's, 0 to 255), which a blue-green replacement
// edits.
func (p *fileParser) traffic(m *yaml.Node, kp keyPath, c *Cluster) {
	_, v, _ := lookupPath(m, kp)
	switch {
	case v == nil:
		return
	case v.Kind == yaml.AliasNode:
		p.errorf(v, "traffic of cluster %s is an alias: write the share itself so it can be edited", c.Name)
		return
	case v.ShortTag() == "!!null":
		p.errorf(v, "traffic of cluster %s (key %s) has no value: write its share of traffic, a whole number, or remove the key", c.Name, kp)
		return
	case v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!int" && v.ShortTag() != "!!str"):
		p.errorf(v, "traffic of cluster %s must be a whole number, 0 or more, not %s", c.Name, decode.Describe(v))
		return
	}
	if n, err := strconv.Atoi(v.Value); err != nil || n < 0 {
		p.errorf(v, "traffic %q of cluster %s is not a share of traffic: write a whole number, 0 or more", v.Value, c.Name)
		return
	}
	c.Traffic = v.Value
	c.TrafficPath = append(slices.Clone(c.entry), kp...)
	c.Sources.Set("traffic", p.source(v))
	p.spot(c.TrafficPath)
}

// blueprint extracts the clusters of a tenant blueprint.
func (p *fileParser) blueprint(docs []*yaml.Node, b *Blueprints) {
	root := p.single(docs, "blueprint")
	if b.detect {
		// Without a layout file only files shaped like blueprints count.
		if root == nil || root.Kind != yaml.MappingNode {
			return
		}
		for _, kp := range []keyPath{b.keys.tenant, b.keys.env, b.keys.clusters} {
			if _, v, _ := lookupPath(root, kp); v == nil {
				return
			}
		}
	}
	if root == nil {
		p.diag(SeverityError, 0, "blueprint is empty")
		return
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "blueprint must be a mapping, not %s", decode.Describe(root))
		return
	}
	p.checkDuplicates(root, "")
	tk, tv, _ := lookupPath(root, b.keys.tenant)
	ek, ev, _ := lookupPath(root, b.keys.env)
	if tv == nil {
		p.errorf(root, "blueprint has no tenant (key %s)", b.keys.tenant)
	}
	if ev == nil {
		p.errorf(root, "blueprint has no env (key %s)", b.keys.env)
	}
	if tv == nil || ev == nil {
		return
	}
	tenant, ok1 := p.name(tk, tv, "tenant")
	env, ok2 := p.name(ek, ev, "env")
	if !ok1 || !ok2 {
		return
	}
	var region string
	var regionNode *yaml.Node
	if len(b.keys.region) > 0 {
		if _, v, _ := lookupPath(root, b.keys.region); v != nil && v.ShortTag() != "!!null" {
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
				p.errorf(v, "%s must be a string, not %s", b.keys.region, decode.Describe(v))
			} else {
				region, regionNode = v.Value, v
			}
		}
	}
	var account string
	var accountNode *yaml.Node
	if len(b.keys.account) > 0 {
		if _, v, _ := lookupPath(root, b.keys.account); v != nil && v.ShortTag() != "!!null" {
			if p.accountID(v, b.keys.account) {
				account, accountNode = v.Value, v
			}
		}
	}
	serviceOff := p.disabledBy(root, b.keys.serviceEnabled)
	_, cfg, _ := lookupPath(root, b.keys.clusters)
	if cfg == nil || cfg.ShortTag() == "!!null" {
		return
	}
	if cfg.Kind != yaml.MappingNode {
		p.errorf(cfg, "clusters (key %s) must be a mapping of cluster name to settings, not %s", b.keys.clusters, decode.Describe(cfg))
		return
	}
	p.checkDuplicates(cfg, b.keys.clusters.String())
	p.clusters = len(cfg.Content) / 2
	p.out.clusters = slices.Grow(p.out.clusters, p.clusters)
	for i := 0; i+1 < len(cfg.Content); i += 2 {
		k, v := cfg.Content[i], cfg.Content[i+1]
		name := k.Value
		if k.Kind != yaml.ScalarNode || !isName(name) {
			p.errorf(k, "cluster name %q must be letters, digits, '.', '_' and '-', starting with a letter or digit", name)
			continue
		}
		if v.Kind != yaml.MappingNode {
			p.errorf(v, "cluster %s must be a mapping of settings, not %s", name, decode.Describe(v))
			continue
		}
		p.d.Repeated(v, b.keys.clusters.String(), name)
		c := Cluster{
			Name: name, Tenant: tenant, Env: env, Region: region, Repo: p.root, File: p.rel,
		}
		c.Sources.Set("name", p.source(k))
		c.Sources.Set("tenant", p.source(tv))
		c.Sources.Set("env", p.source(ev))
		if regionNode != nil {
			c.Sources.Set("region", p.source(regionNode))
		}
		if accountNode != nil {
			c.Account = account
			c.Sources.Set("account", p.source(accountNode))
		}
		// The entry's key path and the version's, which goes on from it,
		// share one array.
		n := len(b.keys.clusters) + 1
		path := append(append(append(make([]string, 0, n+len(b.keys.version)), b.keys.clusters...), name), b.keys.version...)
		c.entry = path[:n:n]
		p.optString(v, b.keys.fleet, "fleet", &c, &c.Fleet)
		p.optString(v, b.keys.hub, "hub", &c, &c.Hub)
		p.record(v, &c)
		p.optBool(v, b.keys.canary, "canary", &c, &c.Canary)
		if off := p.disabledBy(v, b.keys.enabled); off != nil {
			p.disable(&c, off, append(append(append([]string{}, b.keys.clusters...), name), b.keys.enabled...))
		} else if serviceOff != nil {
			p.disable(&c, serviceOff, append([]string{}, b.keys.serviceEnabled...))
		}
		if p.version(v, k, b.keys.version, &c) {
			c.VersionPath = path
			p.spot(path)
		}
		if bg := b.BlueGreen; bg != nil {
			p.traffic(v, bg.traffic, &c)
		}
		p.out.clusters = append(p.out.clusters, c)
	}
}

// member extracts the clusters of an Argo CD fleet-member file: one per
// file, or one per document of a multi-document stream. In a stream, a
// document holding none of the cluster name, tenant and environment keys is
// another tool's and is left alone; index gives each document's place in the
// stream.
func (p *fileParser) member(docs []*yaml.Node, index []int, m *Members) {
	if len(docs) == 0 {
		p.diag(SeverityError, 0, "fleet-member file is empty")
		return
	}
	var mine []int
	for i, doc := range docs {
		root := decode.Deref(doc)
		if len(docs) == 1 || root.Kind != yaml.MappingNode || holdsAny(root, m.keys.cluster, m.keys.tenant, m.keys.env) {
			mine = append(mine, i)
		}
	}
	if len(mine) == 0 {
		mine = []int{0} // reports what the first document lacks
	}
	for _, i := range mine {
		p.memberDoc(decode.Deref(docs[i]), index[i], m)
	}
}

// holdsAny reports whether mapping root has a value at any of the key paths.
func holdsAny(root *yaml.Node, kps ...keyPath) bool {
	for _, kp := range kps {
		if _, v, _ := lookupPath(root, kp); v != nil {
			return true
		}
	}
	return false
}

// memberDoc extracts the cluster of one fleet-member document, the
// document-th of its file's stream.
func (p *fileParser) memberDoc(root *yaml.Node, document int, m *Members) {
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "fleet-member file must be a mapping, not %s", decode.Describe(root))
		return
	}
	p.checkDuplicates(root, "")
	nodes := map[string]*yaml.Node{}
	vals := map[string]string{}
	for _, f := range []struct {
		what string
		kp   keyPath
	}{{"cluster name", m.keys.cluster}, {"tenant", m.keys.tenant}, {"env", m.keys.env}} {
		k, v, _ := lookupPath(root, f.kp)
		if v == nil {
			p.errorf(root, "fleet-member file has no %s (key %s)", f.what, f.kp)
			return
		}
		s, ok := p.name(k, v, f.what)
		if !ok {
			return
		}
		nodes[f.what], vals[f.what] = v, s
	}
	c := Cluster{
		Name: vals["cluster name"], Tenant: vals["tenant"], Env: vals["env"], Repo: p.root, File: p.rel, Document: document,
	}
	c.Sources.Set("name", p.source(nodes["cluster name"]))
	c.Sources.Set("tenant", p.source(nodes["tenant"]))
	c.Sources.Set("env", p.source(nodes["env"]))
	p.optString(root, m.keys.region, "region", &c, &c.Region)
	if len(m.keys.account) > 0 {
		if _, v, _ := lookupPath(root, m.keys.account); v != nil && v.ShortTag() != "!!null" && p.accountID(v, m.keys.account) {
			c.Account = v.Value
			c.Sources.Set("account", p.source(v))
		}
	}
	p.optString(root, m.keys.fleet, "fleet", &c, &c.Fleet)
	p.optString(root, m.keys.hub, "hub", &c, &c.Hub)
	p.record(root, &c)
	p.optBool(root, m.keys.canary, "canary", &c, &c.Canary)
	if off := p.disabledBy(root, m.keys.enabled); off != nil {
		p.disable(&c, off, append([]string{}, m.keys.enabled...))
	}
	if p.version(root, nodes["cluster name"], m.keys.version, &c) {
		c.VersionPath = append([]string{}, m.keys.version...)
		p.spot(c.VersionPath)
	}
	p.out.clusters = append(p.out.clusters, c)
}

// labels extracts the labels of a label file. A file without the labels key
// sets none; labels that are not strings are warned about, since Argo CD
// labels are strings. The spot of label spot's value is recorded, when the
// file's spots are.
func (p *fileParser) labels(docs []*yaml.Node, lb *Labels, spot string) {
	root := p.single(docs, "label file")
	if root == nil {
		return
	}
	cur := root
	for i, seg := range lb.key {
		if cur.ShortTag() == "!!null" {
			return
		}
		if cur.Kind != yaml.MappingNode {
			p.errorf(cur, "%s must be a mapping, not %s", keyPath(lb.key[:i]).String(), decode.Describe(cur))
			return
		}
		p.checkDuplicates(cur, keyPath(lb.key[:i]).String())
		k, v := lookup(cur, seg)
		if v == nil {
			return
		}
		p.out.labelsLine = k.Line
		cur = v
	}
	if cur.ShortTag() == "!!null" {
		return
	}
	if cur.Kind != yaml.MappingNode {
		p.errorf(cur, "%s must be a mapping of label to value, not %s", lb.key, decode.Describe(cur))
		return
	}
	p.checkDuplicates(cur, lb.key.String())
	seen := map[string]bool{}
	for i := 0; i+1 < len(cur.Content); i += 2 {
		k, v := cur.Content[i], cur.Content[i+1]
		if seen[k.Value] {
			continue
		}
		seen[k.Value] = true
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if v.Kind != yaml.ScalarNode {
			p.errorf(v, "label %s must be a string, not %s", k.Value, decode.Describe(v))
			continue
		}
		lab := Label{Key: k.Value, Value: v.Value, Line: v.Line, column: v.Column}
		if k.Value == spot && v == cur.Content[i+1] {
			p.spot(append(slices.Clip(lb.key), k.Value))
		}
		switch v.ShortTag() {
		case "!!str":
		case "!!null":
			lab.Null, lab.Value = true, ""
		default:
			p.diag(SeverityWarning, v.Line, "label %s: %s is a %s: write %q (Argo CD labels are strings)", k.Value, v.Value, scalarKind(v), v.Value)
		}
		p.out.labels = append(p.out.labels, lab)
	}
}
