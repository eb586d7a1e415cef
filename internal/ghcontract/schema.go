package ghcontract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// base is the made-up address under which translated schemas live in the
// compiler. The .invalid domain cannot resolve, so nothing is ever fetched.
const base = "https://ghcontract.invalid/"

// direction says which side of an exchange a schema checks. OpenAPI 3.0
// requires a readOnly property in responses only and a writeOnly property in
// requests only, so one component translates differently for each side.
type direction string

const (
	request  direction = "request"
	response direction = "response"
)

// componentURL is where the schema #/components/schemas/name lives for dir.
func componentURL(dir direction, name string) string {
	return base + string(dir) + "/components/schemas/" + url.PathEscape(name)
}

// formats are the OpenAPI formats that are asserted. Others that GitHub
// uses, such as int64, describe a size and not a syntax.
var formats = map[string]bool{
	"date-time": true, "date": true, "email": true, "uri": true, "uri-template": true,
	"uuid": true, "ipv4": true, "ipv6": true, "hostname": true,
}

// annotations are OpenAPI keys that say nothing about validity.
var annotations = map[string]bool{
	"description": true, "title": true, "example": true, "examples": true, "default": true,
	"deprecated": true, "discriminator": true, "externalDocs": true, "xml": true,
	"readOnly": true, "writeOnly": true, "nullable": true,
}

// translate turns an OpenAPI 3.0 schema object, decoded by
// jsonschema.UnmarshalJSON, into JSON Schema 2020-12 for dir.
func translate(v any, dir direction) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		if _, isBool := v.(bool); isBool {
			return v, nil
		}
		return nil, fmt.Errorf("schema is %T, want an object", v)
	}
	nullable, _ := m["nullable"].(bool)
	if ref, ok := m["$ref"].(string); ok {
		// OpenAPI 3.0 ignores the siblings of $ref; GitHub puts only
		// descriptions and nullable there, and means nullable.
		target, err := refURL(ref, dir)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"$ref": target}
		if nullable {
			return orNull(out), nil
		}
		return out, nil
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		if annotations[k] || strings.HasPrefix(k, "x-") {
			continue
		}
		var err error
		switch k {
		case "properties":
			props, ok := val.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("properties is %T, want an object", val)
			}
			tp := make(map[string]any, len(props))
			for name, p := range props {
				if tp[name], err = translate(p, dir); err != nil {
					return nil, fmt.Errorf("properties/%s: %w", name, err)
				}
			}
			out[k] = tp
		case "items", "not", "additionalProperties":
			if out[k], err = translate(val, dir); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		case "allOf", "anyOf", "oneOf":
			list, ok := val.([]any)
			if !ok {
				return nil, fmt.Errorf("%s is %T, want an array", k, val)
			}
			tl := make([]any, len(list))
			for i, s := range list {
				if tl[i], err = translate(s, dir); err != nil {
					return nil, fmt.Errorf("%s/%d: %w", k, i, err)
				}
			}
			out[k] = tl
		case "required":
			out[k] = required(m, val, dir)
		case "format":
			if f, _ := val.(string); formats[f] {
				out[k] = f
			}
		case "exclusiveMinimum", "exclusiveMaximum":
			// OpenAPI 3.0 makes these booleans that turn minimum or maximum
			// exclusive; JSON Schema gives them the bound itself.
			if b, _ := val.(bool); b {
				bound := map[string]string{"exclusiveMinimum": "minimum", "exclusiveMaximum": "maximum"}[k]
				if n, ok := m[bound]; ok {
					out[k] = n
				}
			}
		default:
			out[k] = val
		}
	}
	if b, _ := m["exclusiveMinimum"].(bool); b {
		delete(out, "minimum")
	}
	if b, _ := m["exclusiveMaximum"].(bool); b {
		delete(out, "maximum")
	}
	if nullable {
		return allowNull(out), nil
	}
	return out, nil
}

// allowNull widens a translated schema to accept null as well.
func allowNull(s map[string]any) any {
	for _, k := range []string{"$ref", "allOf", "anyOf", "oneOf", "not"} {
		if _, ok := s[k]; ok {
			return orNull(s)
		}
	}
	switch t := s["type"].(type) {
	case string:
		s["type"] = []any{t, "null"}
	case []any:
		s["type"] = append(t, "null")
	}
	if enum, ok := s["enum"].([]any); ok && !containsNull(enum) {
		s["enum"] = append(enum, nil)
	}
	return s
}

func orNull(s map[string]any) map[string]any {
	return map[string]any{"anyOf": []any{map[string]any{"type": "null"}, s}}
}

func containsNull(list []any) bool {
	for _, v := range list {
		if v == nil {
			return true
		}
	}
	return false
}

// required drops the properties that dir never carries: readOnly ones from
// requests, writeOnly ones from responses.
func required(schema map[string]any, val any, dir direction) any {
	list, ok := val.([]any)
	if !ok {
		return val
	}
	props, _ := schema["properties"].(map[string]any)
	hidden := "readOnly"
	if dir == response {
		hidden = "writeOnly"
	}
	out := make([]any, 0, len(list))
	for _, name := range list {
		n, _ := name.(string)
		if p, ok := props[n].(map[string]any); ok {
			if h, _ := p[hidden].(bool); h {
				continue
			}
		}
		out = append(out, name)
	}
	return out
}

// refURL rewrites a reference into the description to the compiler's
// address for that component.
func refURL(ref string, dir direction) (string, error) {
	name, ok := strings.CutPrefix(ref, "#/components/schemas/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("$ref %q does not name a schema in #/components/schemas", ref)
	}
	return componentURL(dir, unescapePointer(name)), nil
}

func unescapePointer(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
}

// loader hands the compiler translated components of the description on
// demand, so only the schemas an operation reaches are ever decoded.
type loader struct{ doc *document }

func (l loader) Load(u string) (any, error) {
	rest, ok := strings.CutPrefix(u, base)
	if !ok {
		return nil, fmt.Errorf("load schema %s: outside the openapi description", u)
	}
	dir, name, ok := strings.Cut(rest, "/components/schemas/")
	if !ok || (dir != string(request) && dir != string(response)) {
		return nil, fmt.Errorf("load schema %s: not a component schema", u)
	}
	name, err := url.PathUnescape(name)
	if err != nil {
		return nil, fmt.Errorf("load schema %s: %w", u, err)
	}
	raw, ok := l.doc.components.Schemas[name]
	if !ok {
		return nil, fmt.Errorf("load schema %s: #/components/schemas/%s is not in %s", u, name, l.doc.path)
	}
	v, err := decode(raw)
	if err != nil {
		return nil, fmt.Errorf("load schema #/components/schemas/%s: %w", name, err)
	}
	out, err := translate(v, direction(dir))
	if err != nil {
		return nil, fmt.Errorf("translate #/components/schemas/%s: %w", name, err)
	}
	return out, nil
}

func newCompiler(doc *document) *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(loader{doc: doc})
	return c
}

// decode reads JSON the way the validator wants it: numbers as json.Number.
func decode(data []byte) (any, error) {
	return jsonschema.UnmarshalJSON(bytes.NewReader(data))
}

// schemaEntry is one compiled schema, compiled once.
type schemaEntry struct {
	once sync.Once
	sch  *jsonschema.Schema
	err  error
}

// compile returns the compiled schema named key, building its JSON Schema
// with build the first time. The compiler is not safe for concurrent use,
// so compilation is serialised; validation is not.
func (d *document) compile(key string, build func() (any, error)) (*jsonschema.Schema, error) {
	e, _ := d.schemas.LoadOrStore(key, &schemaEntry{})
	entry := e.(*schemaEntry)
	entry.once.Do(func() {
		doc, err := build()
		if err != nil {
			entry.err = fmt.Errorf("schema of %s: %w", key, err)
			return
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		u := base + "operations/" + url.PathEscape(key)
		if err := d.compiler.AddResource(u, doc); err != nil {
			entry.err = fmt.Errorf("schema of %s: %w", key, err)
			return
		}
		if entry.sch, err = d.compiler.Compile(u); err != nil {
			entry.err = fmt.Errorf("compile schema of %s: %w", key, err)
		}
	})
	return entry.sch, entry.err
}

// resolve follows $ref chains to an entry of a components section, such as
// #/components/responses/not_found.
func (d *document) resolve(raw json.RawMessage, section string) (json.RawMessage, error) {
	var table map[string]json.RawMessage
	switch section {
	case "parameters":
		table = d.components.Parameters
	case "responses":
		table = d.components.Responses
	case "requestBodies":
		table = d.components.RequestBodies
	case "examples":
		table = d.components.Examples
	default:
		return nil, fmt.Errorf("resolve: unknown components section %q", section)
	}
	for range 8 {
		var r struct {
			Ref string `json:"$ref"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		if r.Ref == "" {
			return raw, nil
		}
		prefix := "#/components/" + section + "/"
		name, ok := strings.CutPrefix(r.Ref, prefix)
		if !ok {
			return nil, fmt.Errorf("$ref %q does not start with %s", r.Ref, prefix)
		}
		if raw, ok = table[unescapePointer(name)]; !ok {
			return nil, fmt.Errorf("$ref %q names nothing in %s", r.Ref, d.path)
		}
	}
	return nil, fmt.Errorf("$ref chain in components/%s is longer than 8", section)
}

// parameter decodes a parameter object, following its $ref.
func (d *document) parameter(raw json.RawMessage) (rawParameter, error) {
	var p rawParameter
	raw, err := d.resolve(raw, "parameters")
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, err
	}
	if p.Name == "" || p.In == "" {
		return p, fmt.Errorf("parameter has no name or no in")
	}
	return p, nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
