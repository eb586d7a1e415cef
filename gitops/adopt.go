package gitops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Record is one cluster as AWS or Terraform describes it, to be written as
// a fleet-member file.
type Record struct {
	Name    string
	Tenant  string
	Env     string
	Region  string
	Account string
	Version string
	Fleet   string
	Canary  bool
	// From says where in the input the cluster is, for messages:
	// "clusters.json: [2]".
	From string
}

// Records are the clusters read from one input file.
type Records struct {
	Clusters []Record
	// Notes say what the input held that is not read, such as fields of
	// Terraform objects with no meaning to fleetbot.
	Notes []string
}

// ReadRecords reads clusters from the JSON of file: the output of `aws eks
// describe-cluster` ({"cluster": {...}}) or a list of such outputs, or
// `terraform output -json` (every output, or one output's value): a list of
// objects, or a map of cluster name to object, with name, tenant, env,
// region, version, account, canary and fleet. Tenant, env and canary of an
// EKS cluster come from its tags, its region and account from its ARN.
// Every problem is reported, each naming the cluster and the field.
func ReadRecords(file string, data []byte) (*Records, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: not JSON: %w", file, err)
	}
	r := &recordReader{file: file, out: &Records{}, ignored: map[string]int{}}
	r.top(v)
	for _, k := range slices.Sorted(maps.Keys(r.ignored)) {
		r.out.Notes = append(r.out.Notes, fmt.Sprintf("%s: field %s of %s not read: fleetbot does not use it", file, k, plural(r.ignored[k], "cluster")))
	}
	seen := map[string]string{}
	for _, c := range r.out.Clusters {
		if prev, ok := seen[c.Name]; ok && c.Name != "" {
			r.failf(c.From, "cluster %s is listed twice (also at %s)", c.Name, prev)
		}
		seen[c.Name] = c.From
	}
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	if len(r.out.Clusters) == 0 {
		return nil, fmt.Errorf("%s: no cluster listed", file)
	}
	return r.out, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

type recordReader struct {
	file    string
	out     *Records
	errs    []error
	ignored map[string]int
}

func (r *recordReader) failf(at, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s: %s", r.file, at, fmt.Sprintf(format, args...)))
}

// top tells the shapes of input apart.
func (r *recordReader) top(v any) {
	switch t := v.(type) {
	case []any:
		r.list(t, "")
	case map[string]any:
		if c, ok := t["cluster"].(map[string]any); ok && len(t) == 1 {
			r.eks(c, "cluster")
			return
		}
		if outputs := terraformOutputs(t); outputs != nil {
			var names []string
			for _, k := range slices.Sorted(maps.Keys(outputs)) {
				if isClusterList(outputs[k]) {
					names = append(names, k)
				}
			}
			switch len(names) {
			case 0:
				r.failf("outputs", "no Terraform output holds a list or map of clusters (outputs: %s)", strings.Join(slices.Sorted(maps.Keys(outputs)), ", "))
			case 1:
				r.value(outputs[names[0]], names[0]+".value")
			default:
				r.failf("outputs", "several Terraform outputs hold clusters (%s): give one with terraform output -json NAME", strings.Join(names, ", "))
			}
			return
		}
		r.value(t, "")
	default:
		r.failf("top", "want a JSON object or array of clusters, not %s", jsonKind(v))
	}
}

// terraformOutputs returns the outputs of `terraform output -json`: a map
// of objects that each hold a value and a type.
func terraformOutputs(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		val, hasValue := o["value"]
		if _, hasType := o["type"]; !hasValue || !hasType {
			return nil
		}
		out[k] = val
	}
	return out
}

// isClusterList reports whether v is a non-empty list or map of objects.
func isClusterList(v any) bool {
	switch t := v.(type) {
	case []any:
		return len(t) > 0 && !slices.ContainsFunc(t, func(e any) bool { _, ok := e.(map[string]any); return !ok })
	case map[string]any:
		for _, e := range t {
			if _, ok := e.(map[string]any); !ok {
				return false
			}
		}
		return len(t) > 0
	}
	return false
}

// value reads one Terraform output's value: a list of objects, or a map of
// cluster name to object.
func (r *recordReader) value(v any, at string) {
	switch t := v.(type) {
	case []any:
		r.list(t, at)
	case map[string]any:
		for _, name := range slices.Sorted(maps.Keys(t)) {
			o, ok := t[name].(map[string]any)
			where := joinAt(at, name)
			if !ok {
				r.failf(where, "want an object with the cluster's name, tenant, env, region, version and account, not %s", jsonKind(t[name]))
				continue
			}
			r.terraform(o, where, name)
		}
	default:
		r.failf(at, "want a list or map of clusters, not %s", jsonKind(v))
	}
}

func joinAt(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

func (r *recordReader) list(items []any, at string) {
	for i, it := range items {
		where := fmt.Sprintf("%s[%d]", at, i)
		o, ok := it.(map[string]any)
		if !ok {
			r.failf(where, "want an object, not %s", jsonKind(it))
			continue
		}
		if c, ok := o["cluster"].(map[string]any); ok && len(o) == 1 {
			r.eks(c, where+".cluster")
			continue
		}
		r.terraform(o, where, "")
	}
}

// field finds the value of field in m under one of its usual names, exact
// first, then ignoring case; it returns the key used.
func field(m map[string]any, f string) (string, any) {
	for _, n := range fieldNames[f] {
		if v, ok := m[n]; ok {
			return n, v
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if nameRank(f, k) >= 0 {
			return k, m[k]
		}
		for _, n := range fieldNames[f] {
			if strings.EqualFold(k, n) {
				return k, m[k]
			}
		}
	}
	return "", nil
}

// eks reads one cluster of `aws eks describe-cluster`.
func (r *recordReader) eks(c map[string]any, at string) {
	rec := Record{From: at}
	rec.Name, _ = c["name"].(string)
	if rec.Name == "" {
		r.failf(at, "no name")
		return
	}
	rec.From = fmt.Sprintf("%s (cluster %s)", at, rec.Name)
	if v, ok := c["version"].(string); ok {
		rec.Version = v
	}
	if arn, ok := c["arn"].(string); ok {
		parts := strings.Split(arn, ":")
		if len(parts) != 6 || parts[0] != "arn" || parts[2] != "eks" {
			r.failf(rec.From, "arn %q is not an EKS cluster ARN (arn:aws:eks:REGION:ACCOUNT:cluster/NAME)", arn)
		} else {
			rec.Region, rec.Account = parts[3], parts[4]
		}
	}
	tags, _ := c["tags"].(map[string]any)
	r.fill(&rec, tags, "tag", []string{fieldTenant, fieldEnv, fieldFleet, fieldCanary}, nil)
	r.check(&rec, "tag")
}

// terraform reads one object of a Terraform output; key is its key in a
// map, which names the cluster.
func (r *recordReader) terraform(o map[string]any, at, key string) {
	rec := Record{From: at}
	used := map[string]bool{}
	k, v := field(o, fieldCluster)
	switch name, _ := v.(string); {
	case k == "" && key != "":
		rec.Name = key
	case k == "":
		r.failf(at, "no cluster name (field name)")
		return
	case key != "" && name != key:
		r.failf(at, "the object's %s %q differs from its key %q", k, name, key)
		return
	default:
		rec.Name = name
		used[k] = true
	}
	if at == "" || !strings.Contains(at, rec.Name) {
		rec.From = fmt.Sprintf("%s (cluster %s)", at, rec.Name)
	}
	r.fill(&rec, o, "field", []string{fieldTenant, fieldEnv, fieldRegion, fieldAccount, fieldFleet, fieldCanary, fieldVersion}, used)
	for k := range o {
		if !used[k] {
			r.ignored[k]++
		}
	}
	r.check(&rec, "field")
}

// fill reads fields of rec from m (tags or an object's fields).
func (r *recordReader) fill(rec *Record, m map[string]any, what string, fields []string, used map[string]bool) {
	for _, f := range fields {
		k, v := field(m, f)
		if k == "" || v == nil {
			continue
		}
		if used != nil {
			used[k] = true
		}
		if f == fieldCanary {
			switch b := v.(type) {
			case bool:
				rec.Canary = b
			case string:
				if b != "true" && b != "false" {
					r.failf(rec.From, "%s %s is %q: want true or false", what, k, b)
				}
				rec.Canary = b == "true"
			default:
				r.failf(rec.From, "%s %s is %s: want true or false", what, k, jsonKind(v))
			}
			continue
		}
		s, ok := v.(string)
		if !ok {
			hint := ""
			if n, isNum := v.(json.Number); isNum {
				hint = fmt.Sprintf(`: write "%s" (a number loses zeros: 1.30 is 1.3, an account ID its leading zeros)`, n)
			}
			r.failf(rec.From, "%s %s is %s, want a string%s", what, k, jsonKind(v), hint)
			continue
		}
		*map[string]*string{
			fieldTenant: &rec.Tenant, fieldEnv: &rec.Env, fieldRegion: &rec.Region,
			fieldAccount: &rec.Account, fieldFleet: &rec.Fleet, fieldVersion: &rec.Version,
		}[f] = s
	}
}

// check reports what rec misses or holds wrongly, then keeps it; src says
// where its values come from ("tag" or "field").
func (r *recordReader) check(rec *Record, src string) {
	n := len(r.errs)
	if !isName(rec.Name) {
		r.failf(rec.From, "cluster name %q must be letters, digits, '.', '_' and '-'", rec.Name)
	}
	for _, f := range []struct {
		name, value string
	}{{fieldTenant, rec.Tenant}, {fieldEnv, rec.Env}} {
		switch {
		case f.value == "":
			r.failf(rec.From, "no %s: add a %s %s (one of %s)", f.name, src, f.name, strings.Join(fieldNames[f.name], ", "))
		case !isName(f.value):
			r.failf(rec.From, "%s %q must be letters, digits, '.', '_' and '-'", f.name, f.value)
		}
	}
	if rec.Version != "" && !isEKSVersion(rec.Version) {
		r.failf(rec.From, "version %q is not an EKS version MAJOR.MINOR, such as \"1.30\"", rec.Version)
	}
	if rec.Account != "" && !isAccount(rec.Account) {
		r.failf(rec.From, "account %q is not a 12-digit AWS account ID", rec.Account)
	}
	if len(r.errs) == n {
		r.out.Clusters = append(r.out.Clusters, *rec)
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	default:
		return "an object"
	}
}

// MemberFile is a fleet-member file written for one cluster.
type MemberFile struct {
	// Path is repository-relative, slash-separated.
	Path    string
	Cluster string
	Data    []byte
}

// MemberFiles renders one fleet-member file per cluster in the format of
// the layout's members section, at the path dir gives ({tenant}, {env} and
// {cluster} filled in; a directory gets the file name the members glob
// has, or {cluster}.yaml), or, without dir, at the path of the one members
// glob with a single wildcard. Every path must be one the layout reads. A
// cluster without a value the format requires is an error naming the
// cluster and the field. The notes say what the format has no key for.
func MemberFiles(l *Layout, recs []Record, dir, from string) ([]MemberFile, []string, error) {
	m := l.Members
	if m == nil {
		return nil, nil, fmt.Errorf("%s has no members section: fleetbot adopt writes one fleet-member file per cluster in the format it describes (docs/adopting.md)", layoutName(l))
	}
	tmpl, err := memberTemplate(m, dir)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", layoutName(l), err)
	}
	var errs []error
	lost := map[string]int{}
	var out []MemberFile
	for _, rec := range recs {
		c := Cluster{Name: rec.Name, Tenant: rec.Tenant, Env: rec.Env}
		rendered, ok := tmpl.render(&c)
		if !ok {
			errs = append(errs, fmt.Errorf("cluster %s: the path template %s names a value the cluster lacks", rec.Name, tmpl.text))
			continue
		}
		p := path.Clean(rendered)
		if !m.globs.match(p) {
			errs = append(errs, fmt.Errorf("cluster %s: %s is not matched by members.paths (%s) of %s: fleetbot inventory would not read it",
				rec.Name, p, strings.Join(m.Paths, ", "), layoutName(l)))
			continue
		}
		if len(m.keys.version) > 0 && rec.Version == "" {
			errs = append(errs, fmt.Errorf("%s: %s: no version, which %s requires in every member file (key %s)", from, rec.From, layoutName(l), m.keys.version))
			continue
		}
		values := []struct {
			kp    keyPath
			what  string
			value string
		}{
			{m.keys.cluster, "name", rec.Name}, {m.keys.tenant, fieldTenant, rec.Tenant}, {m.keys.env, fieldEnv, rec.Env},
			{m.keys.region, fieldRegion, rec.Region}, {m.keys.account, fieldAccount, rec.Account}, {m.keys.fleet, fieldFleet, rec.Fleet},
			{m.keys.canary, fieldCanary, map[bool]string{true: "true"}[rec.Canary]}, {m.keys.version, fieldVersion, rec.Version},
		}
		root := &yaml.Node{Kind: yaml.MappingNode}
		for _, v := range values {
			if v.value == "" {
				continue
			}
			if len(v.kp) == 0 {
				lost[v.what]++
				continue
			}
			if err := setPath(root, v.kp, v.value); err != nil {
				errs = append(errs, fmt.Errorf("cluster %s: %w", rec.Name, err))
			}
		}
		doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root},
			HeadComment: fmt.Sprintf("Cluster %s, written by fleetbot adopt from %s.", rec.Name, path.Base(from))}
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return nil, nil, fmt.Errorf("cluster %s: %w", rec.Name, err)
		}
		out = append(out, MemberFile{Path: p, Cluster: rec.Name, Data: buf.Bytes()})
	}
	var notes []string
	for _, w := range slices.Sorted(maps.Keys(lost)) {
		notes = append(notes, fmt.Sprintf("%s names no key for the %s (members.%s): the %s of %s is not written", layoutName(l), w, w, w, plural(lost[w], "cluster")))
	}
	byPath := map[string]string{}
	for _, f := range out {
		if other, ok := byPath[f.Path]; ok {
			errs = append(errs, fmt.Errorf("clusters %s and %s would both be written to %s: put {cluster} in --dir", other, f.Cluster, f.Path))
		}
		byPath[f.Path] = f.Cluster
	}
	if len(errs) > 0 {
		return nil, notes, errors.Join(errs...)
	}
	return out, notes, nil
}

func layoutName(l *Layout) string {
	if l.File != "" {
		return l.File
	}
	return "the default layout"
}

// memberTemplate returns where a cluster's member file goes: dir (a file
// template, or a directory) or the members glob with one wildcard segment.
func memberTemplate(m *Members, dir string) (template, error) {
	if dir != "" {
		if err := checkTemplate(dir, labelPlaceholders, false); err != nil {
			return template{}, fmt.Errorf("--dir: %w", err)
		}
		if ext := path.Ext(dir); ext != ".yaml" && ext != ".yml" {
			name := "{cluster}.yaml"
			if len(m.Paths) == 1 {
				if base := path.Base(m.Paths[0]); !strings.ContainsAny(base, "*?[") {
					name = base
				}
			}
			dir = strings.TrimSuffix(dir, "/") + "/" + name
		}
		if !strings.Contains(dir, "{cluster}") {
			return template{}, fmt.Errorf("--dir %s has no {cluster}: every cluster needs a file of its own", dir)
		}
		return compileTemplate(dir), nil
	}
	for _, p := range m.Paths {
		var wild []int
		segs := strings.Split(p, "/")
		for i, s := range segs {
			if strings.ContainsAny(s, "*?[") {
				wild = append(wild, i)
			}
		}
		if len(wild) != 1 || segs[wild[0]] == "**" || strings.ContainsAny(segs[wild[0]], "?[") || strings.Count(segs[wild[0]], "*") != 1 {
			continue
		}
		segs[wild[0]] = strings.Replace(segs[wild[0]], "*", "{cluster}", 1)
		return compileTemplate(strings.Join(segs, "/")), nil
	}
	return template{}, fmt.Errorf("no members.paths glob (%s) has exactly one wildcard to put the cluster name in: say where each file goes with --dir, such as --dir clusters/{tenant}/{cluster}.yaml",
		strings.Join(m.Paths, ", "))
}

// setPath sets the string at kp in the mapping root, making the mappings
// on the way.
func setPath(root *yaml.Node, kp keyPath, value string) error {
	cur := root
	for i, seg := range kp {
		_, v := lookup(cur, seg)
		if i == len(kp)-1 {
			if v != nil {
				return fmt.Errorf("key %s is given twice by the layout", kp)
			}
			cur.Content = append(cur.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg},
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
			return nil
		}
		if v == nil {
			v = &yaml.Node{Kind: yaml.MappingNode}
			cur.Content = append(cur.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg}, v)
		}
		if v.Kind != yaml.MappingNode {
			return fmt.Errorf("key %s is under %s, which the layout also uses for a value", kp, keyPath(kp[:i+1]))
		}
		cur = v
	}
	return nil
}
