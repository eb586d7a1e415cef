package gitops

import (
	"strings"
)

// Placeholders of a hierarchy template beyond the cluster values of
// recognise.go (fieldTenant, fieldEnv, fieldCluster, fieldFleet,
// fieldRegion), which they share their names with.
const (
	fieldHub    = "hub"
	fieldRecord = "record" // {record.KEY}: a key of the cluster's own record
)

// template is a compiled hierarchy template: literal text and placeholders.
type template struct {
	text  string
	parts []templatePart
}

type templatePart struct {
	lit    string
	field  string  // one of the field constants; empty for a literal
	record keyPath // the key path of a {record.KEY} placeholder
}

// compileTemplate compiles a template that checkTemplate accepted.
func compileTemplate(t string) template {
	ct := template{text: t}
	for t != "" {
		i := strings.IndexByte(t, '{')
		j := strings.IndexByte(t, '}')
		if i < 0 || j < i {
			ct.parts = append(ct.parts, templatePart{lit: t})
			break
		}
		if i > 0 {
			ct.parts = append(ct.parts, templatePart{lit: t[:i]})
		}
		name := t[i+1 : j]
		if key, ok := strings.CutPrefix(name, recordPrefix); ok {
			kp, _ := parseKeyPath(key) // checked by checkTemplate
			ct.parts = append(ct.parts, templatePart{field: fieldRecord, record: kp})
		} else {
			ct.parts = append(ct.parts, templatePart{field: name})
		}
		t = t[j+1:]
	}
	return ct
}

// render fills the template for a cluster. It returns false when the
// cluster has no value for one of the placeholders (no fleet, no hub, no
// such key in its record): the level does not apply to it.
func (t template) render(c *Cluster) (string, bool) {
	if len(t.parts) == 1 && t.parts[0].field == "" {
		return t.text, true
	}
	b, ok := t.appendRender(make([]byte, 0, len(t.text)+len(c.Tenant)+len(c.Env)+len(c.Name)), c)
	if !ok {
		return "", false
	}
	return string(b), true
}

// appendRender is render appending to b: a caller that only looks the path
// up (in a map, with string(b)) makes no string of it.
func (t template) appendRender(b []byte, c *Cluster) ([]byte, bool) {
	for _, p := range t.parts {
		v := p.lit
		switch p.field {
		case fieldTenant:
			v = c.Tenant
		case fieldEnv:
			v = c.Env
		case fieldCluster:
			v = c.Name
		case fieldFleet:
			v = c.Fleet
		case fieldRegion:
			v = c.Region
		case fieldHub:
			v = c.Hub
		case fieldRecord:
			v = c.Record[p.record.String()]
		}
		if v == "" {
			return b, false
		}
		b = append(b, v...)
	}
	return b, true
}

// uses reports whether the template has the placeholder field.
func (t template) uses(field string) bool {
	for _, p := range t.parts {
		if p.field == field {
			return true
		}
	}
	return false
}

// shared reports whether every tenant loads the template's file.
func (t template) shared() bool {
	return !t.uses(fieldTenant) && !t.uses(fieldCluster)
}

// narrows reports whether the template picks clusters by a value other
// than their tenant, environment or name: fleet, region, hub or a record
// key.
func (t template) narrows() bool {
	for _, p := range t.parts {
		switch p.field {
		case fieldFleet, fieldRegion, fieldHub, fieldRecord:
			return true
		}
	}
	return false
}

// scope names the level of the template's files for a campaign's level
// (rollout.LabelLevel.Scope): "cluster" when it uses {cluster}; the value
// it narrows by ("fleet", "region", "hub" or "record.KEY") when it uses one;
// else "env", "tenant" or, with no placeholder, "global".
func (t template) scope() string {
	switch {
	case t.uses(fieldCluster):
		return "cluster"
	case t.narrows():
		for _, p := range t.parts {
			switch p.field {
			case fieldFleet, fieldRegion, fieldHub:
				return p.field
			case fieldRecord:
				return recordPrefix + p.record.String()
			}
		}
	case t.uses(fieldEnv):
		return "env"
	case t.uses(fieldTenant):
		return "tenant"
	}
	return "global"
}
