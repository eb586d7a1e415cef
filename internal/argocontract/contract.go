// Package argocontract checks HTTP exchanges with an Argo CD API against
// Argo CD's Swagger 2.0 description: the tests of the fake Argo CD and of
// the argocd gate hold both sides to it. Only tests import it.
package argocontract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// SwaggerPath is where Argo CD's Swagger 2.0 description of its REST API is
// kept, relative to the module's root.
const SwaggerPath = "internal/fakeargocd/testdata/swagger.json"

// schemaBase is the made-up address of the translated definitions. The
// .invalid domain cannot resolve, so the compiler never fetches anything.
const schemaBase = "https://argocd-contract.invalid/definitions.json"

// Contract checks HTTP exchanges against a Swagger 2.0 description: the
// path and method must be described, every query parameter declared with
// the right type and multiplicity, and the response body must match the
// schema of its status (or of "default"). It is stricter than Swagger on
// one point: an object may carry only the properties its definition
// declares, so neither the fake nor the gate can come to rely on a field
// Argo CD does not document.
type Contract struct {
	path  string
	paths map[string]map[string]operation // path template -> method -> operation

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema
}

type operation struct {
	ID         string                  `json:"operationId"`
	Parameters []parameter             `json:"parameters"`
	Responses  map[string]responseSpec `json:"responses"`
}

type parameter struct {
	Name     string     `json:"name"`
	In       string     `json:"in"`
	Type     string     `json:"type"`
	Required bool       `json:"required"`
	Enum     []string   `json:"enum"`
	Items    *parameter `json:"items"`
}

type responseSpec struct {
	Schema *struct {
		Ref string `json:"$ref"`
	} `json:"schema"`
}

// LoadContract reads the Swagger 2.0 description at path.
func LoadContract(path string) (*Contract, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read argo cd api description: %w", err)
	}
	var doc struct {
		Swagger     string                          `json:"swagger"`
		Paths       map[string]map[string]operation `json:"paths"`
		Definitions map[string]json.RawMessage      `json:"definitions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if doc.Swagger != "2.0" {
		return nil, fmt.Errorf("%s: swagger is %q, want 2.0", path, doc.Swagger)
	}
	defs := make(map[string]any, len(doc.Definitions))
	for name, raw := range doc.Definitions {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: definitions/%s: %w", path, name, err)
		}
		if defs[name], err = translate(v); err != nil {
			return nil, fmt.Errorf("%s: definitions/%s: %w", path, name, err)
		}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	if err := c.AddResource(schemaBase, map[string]any{"definitions": defs}); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			if m != strings.ToLower(m) {
				return nil, fmt.Errorf("%s: paths/%s: method %q is not lower-case", path, p, m)
			}
		}
	}
	return &Contract{path: path, paths: doc.Paths, compiler: c, schemas: map[string]*jsonschema.Schema{}}, nil
}

// annotations are Swagger keys that say nothing about validity.
var annotations = map[string]bool{
	"description": true, "title": true, "example": true, "default": true,
	"discriminator": true, "externalDocs": true, "xml": true, "readOnly": true,
}

// translate turns a Swagger 2.0 schema object into JSON Schema draft 7:
// references into #/definitions stay as they are (the translated
// definitions sit under the same pointer), annotations go, only date-time
// of the formats is asserted (int32, int64 and byte describe sizes and
// encodings), and an object with properties but no additionalProperties
// is closed.
func translate(v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema is %T, want an object", v)
	}
	if ref, ok := m["$ref"].(string); ok {
		if !strings.HasPrefix(ref, "#/definitions/") {
			return nil, fmt.Errorf("$ref %q does not name a definition", ref)
		}
		return map[string]any{"$ref": ref}, nil
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
				if tp[name], err = translate(p); err != nil {
					return nil, fmt.Errorf("properties/%s: %w", name, err)
				}
			}
			out[k] = tp
		case "items", "additionalProperties":
			if b, isBool := val.(bool); isBool {
				out[k] = b
				continue
			}
			if out[k], err = translate(val); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		case "allOf":
			list, ok := val.([]any)
			if !ok {
				return nil, fmt.Errorf("allOf is %T, want an array", val)
			}
			tl := make([]any, len(list))
			for i, s := range list {
				if tl[i], err = translate(s); err != nil {
					return nil, fmt.Errorf("allOf/%d: %w", i, err)
				}
			}
			out[k] = tl
		case "format":
			if val == "date-time" {
				out[k] = val
			}
		default:
			out[k] = val
		}
	}
	_, hasProps := out["properties"]
	_, hasAdditional := out["additionalProperties"]
	_, hasAllOf := out["allOf"]
	if hasProps && !hasAdditional && !hasAllOf {
		out["additionalProperties"] = false
	}
	return out, nil
}

// schema compiles the definition name once.
func (c *Contract) schema(name string) (*jsonschema.Schema, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.schemas[name]; ok {
		return s, nil
	}
	s, err := c.compiler.Compile(schemaBase + "#/definitions/" + name)
	if err != nil {
		return nil, fmt.Errorf("compile definitions/%s: %w", name, err)
	}
	c.schemas[name] = s
	return s, nil
}

// find returns the operation serving method and path, preferring the
// template with the most literal segments, and the path parameters.
func (c *Contract) find(method, path string) (string, operation, map[string]string, error) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	best, bestLiterals := "", -1
	var bestParams map[string]string
	for tmpl, ops := range c.paths {
		if _, ok := ops[strings.ToLower(method)]; !ok {
			continue
		}
		parts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(parts) != len(segs) {
			continue
		}
		literals, params, ok := 0, map[string]string{}, true
		for i, p := range parts {
			if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
				if segs[i] == "" {
					ok = false
					break
				}
				v, err := url.PathUnescape(segs[i])
				if err != nil {
					ok = false
					break
				}
				params[p[1:len(p)-1]] = v
				continue
			}
			if p != segs[i] {
				ok = false
				break
			}
			literals++
		}
		if ok && (literals > bestLiterals || literals == bestLiterals && tmpl < best) {
			best, bestLiterals, bestParams = tmpl, literals, params
		}
	}
	if best == "" {
		return "", operation{}, nil, fmt.Errorf("%s %s: no operation in %s", method, path, c.path)
	}
	return best, c.paths[best][strings.ToLower(method)], bestParams, nil
}

// CheckRequest checks that r is an operation of the description with only
// declared query parameters, each of the declared type, and every required
// parameter present.
func (c *Contract) CheckRequest(r *http.Request) error {
	tmpl, op, params, err := c.find(r.Method, r.URL.Path)
	if err != nil {
		return fmt.Errorf("request %w", err)
	}
	where := fmt.Sprintf("request %s %s (%s %s)", r.Method, r.URL.RequestURI(), op.ID, tmpl)
	query := r.URL.Query()
	var problems []string
	for name, values := range query {
		i := slices.IndexFunc(op.Parameters, func(p parameter) bool { return p.In == "query" && p.Name == name })
		if i < 0 {
			problems = append(problems, fmt.Sprintf("query parameter %q is not declared", name))
			continue
		}
		p := op.Parameters[i]
		if p.Type != "array" && len(values) > 1 {
			problems = append(problems, fmt.Sprintf("query parameter %q is given %d times, it takes one value", name, len(values)))
		}
		item := p
		if p.Type == "array" && p.Items != nil {
			item = *p.Items
		}
		for _, v := range values {
			if msg := valueProblem(item, v); msg != "" {
				problems = append(problems, fmt.Sprintf("query parameter %q: %s", name, msg))
			}
		}
	}
	for _, p := range op.Parameters {
		switch {
		case p.In == "path":
			if msg := valueProblem(p, params[p.Name]); msg != "" {
				problems = append(problems, fmt.Sprintf("path parameter %q: %s", p.Name, msg))
			}
		case p.In == "query" && p.Required && !query.Has(p.Name):
			problems = append(problems, fmt.Sprintf("required query parameter %q is missing", p.Name))
		}
	}
	if r.Method == http.MethodGet && r.ContentLength > 0 {
		problems = append(problems, "a GET request carries a body")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", where, strings.Join(problems, "; "))
	}
	return nil
}

// valueProblem says why v is not a value of p's type, or "".
func valueProblem(p parameter, v string) string {
	switch p.Type {
	case "integer":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Sprintf("%q is not an integer", v)
		}
	case "number":
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Sprintf("%q is not a number", v)
		}
	case "boolean":
		if v != "true" && v != "false" {
			return fmt.Sprintf("%q is not true or false", v)
		}
	}
	if p.In == "path" && v == "" {
		return "is empty"
	}
	if len(p.Enum) > 0 && !slices.Contains(p.Enum, v) {
		return fmt.Sprintf("%q is not one of %s", v, strings.Join(p.Enum, ", "))
	}
	return ""
}

// CheckResponse checks that body, answered with status to method and path,
// matches the schema the description gives that status (or "default").
func (c *Contract) CheckResponse(method, path string, status int, header http.Header, body []byte) error {
	tmpl, op, _, err := c.find(method, path)
	if err != nil {
		return fmt.Errorf("response to %w", err)
	}
	where := fmt.Sprintf("response %d to %s %s (%s %s)", status, method, path, op.ID, tmpl)
	spec, ok := op.Responses[strconv.Itoa(status)]
	if !ok {
		if spec, ok = op.Responses["default"]; !ok {
			return fmt.Errorf("%s: status %d is not described", where, status)
		}
	}
	if spec.Schema == nil {
		if len(bytes.TrimSpace(body)) > 0 {
			return fmt.Errorf("%s: the description gives no body, got %d bytes", where, len(body))
		}
		return nil
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("%s: Content-Type is %q, want application/json", where, ct)
	}
	name, ok := strings.CutPrefix(spec.Schema.Ref, "#/definitions/")
	if !ok {
		return fmt.Errorf("%s: schema %q does not name a definition", where, spec.Schema.Ref)
	}
	sch, err := c.schema(name)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: body is not JSON: %w", where, err)
	}
	if err := sch.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("%s: body does not match definitions/%s: %s", where, name, leafMessages(ve))
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// printer words validation errors in English.
var printer = message.NewPrinter(language.English)

// leafMessages lists the innermost causes of a validation error, each with
// the JSON pointer of the bad value.
func leafMessages(e *jsonschema.ValidationError) string {
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, "/"+strings.Join(e.InstanceLocation, "/")+": "+e.ErrorKind.LocalizedString(printer))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(e)
	slices.Sort(out)
	return strings.Join(slices.Compact(out), "; ")
}

// Wrap returns a handler that checks every request h receives and every
// response it writes, calling report with each mismatch. The traffic
// itself passes through unchanged.
func (c *Contract) Wrap(h http.Handler, report func(error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := c.CheckRequest(r); err != nil {
			report(err)
		}
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if err := c.CheckResponse(r.Method, r.URL.Path, rec.status, rec.header, rec.body.Bytes()); err != nil {
			report(err)
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

// recorder keeps a response so it can be checked before it is sent.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}
