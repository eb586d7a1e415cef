package ghcontract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Spec is GitHub's REST API description, ready to check traffic. Its methods
// are safe for concurrent use; schemas are compiled on first use and kept.
type Spec struct {
	doc  *document
	opts options
}

// Operation is one documented pair of HTTP method and path template.
type Operation struct {
	// ID is GitHub's operationId, such as "pulls/get".
	ID string
	// Method is the upper-case HTTP method.
	Method string
	// Template is the documented path, such as
	// "/repos/{owner}/{repo}/pulls/{pull_number}".
	Template string
	// ForGitHubApps is GitHub's x-github.enabledForGitHubApps: a GitHub
	// App's installation token may call the operation.
	ForGitHubApps bool
	// Description is GitHub's description of the operation (Markdown). It
	// is where GitHub says that an operation takes the App's own JWT ("You
	// must use a [JWT](...)"), which x-github does not record.
	Description string

	raw rawOperation
}

// Option changes how a Spec matches and filters traffic.
type Option func(*options)

type options struct {
	prefix  string
	skips   []func(*http.Request) bool
	graphql *GraphQL
}

// WithPrefix strips an API prefix, such as "/api/v3" on GitHub Enterprise
// Server, from every path before it is matched. A path outside the prefix is
// a mismatch unless a WithSkip function skips its request.
func WithPrefix(prefix string) Option {
	return func(o *options) { o.prefix = strings.TrimSuffix(prefix, "/") }
}

// WithSkip leaves requests for which skip returns true unchecked by
// Middleware and Transport: routes that are not part of the REST API, such
// as git's smart HTTP (/OWNER/REPO.git/...) or a webhook receiver. Several
// WithSkip options add up: a request any of them skips is skipped.
func WithSkip(skip func(*http.Request) bool) Option {
	return func(o *options) { o.skips = append(o.skips, skip) }
}

// With returns a Spec that shares s's description and compiled schemas but
// uses opts in place of s's options.
func (s *Spec) With(opts ...Option) *Spec {
	n := &Spec{doc: s.doc}
	for _, o := range opts {
		o(&n.opts)
	}
	return n
}

func (s *Spec) skipped(r *http.Request) bool {
	for _, skip := range s.opts.skips {
		if skip(r) {
			return true
		}
	}
	return false
}

// document is the parsed description. Only the parts that every check needs
// are decoded at Load; schemas stay raw until an operation asks for them.
type document struct {
	path       string
	routes     []*route
	operations map[string]*Operation // by operationId
	components rawComponents

	mu       sync.Mutex // guards compiler
	compiler *jsonschema.Compiler
	schemas  sync.Map // cache key -> *schemaEntry
}

type rawDocument struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components rawComponents                         `json:"components"`
}

type rawComponents struct {
	Schemas       map[string]json.RawMessage `json:"schemas"`
	Parameters    map[string]json.RawMessage `json:"parameters"`
	Responses     map[string]json.RawMessage `json:"responses"`
	RequestBodies map[string]json.RawMessage `json:"requestBodies"`
	Examples      map[string]json.RawMessage `json:"examples"`
}

// rawParameter is an OpenAPI parameter object.
type rawParameter struct {
	Name         string          `json:"name"`
	In           string          `json:"in"`
	Required     bool            `json:"required"`
	MultiSegment bool            `json:"x-multi-segment"`
	Schema       json.RawMessage `json:"schema"`
}

type rawOperation struct {
	OperationID string                     `json:"operationId"`
	Description string                     `json:"description"`
	Parameters  []json.RawMessage          `json:"parameters"`
	RequestBody json.RawMessage            `json:"requestBody"`
	Responses   map[string]json.RawMessage `json:"responses"`
	XGitHub     struct {
		EnabledForGitHubApps bool `json:"enabledForGitHubApps"`
	} `json:"x-github"`
}

var methods = map[string]string{
	"get": http.MethodGet, "put": http.MethodPut, "post": http.MethodPost,
	"delete": http.MethodDelete, "options": http.MethodOptions, "head": http.MethodHead,
	"patch": http.MethodPatch, "trace": http.MethodTrace,
}

// Load reads an OpenAPI 3.0 description of GitHub's REST API, such as
// generated/api.github.com.json from the npm package @octokit/openapi.
func Load(path string, opts ...Option) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load openapi description: %w", err)
	}
	doc, err := parse(path, data)
	if err != nil {
		return nil, err
	}
	return (&Spec{doc: doc}).With(opts...), nil
}

func parse(path string, data []byte) (*document, error) {
	var raw rawDocument
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("load openapi description %s: %w", path, locate(data, err))
	}
	if !strings.HasPrefix(raw.OpenAPI, "3.0") {
		return nil, fmt.Errorf("load openapi description %s: field openapi is %q, want 3.0.x", path, raw.OpenAPI)
	}
	if len(raw.Paths) == 0 {
		return nil, fmt.Errorf("load openapi description %s: field paths is empty", path)
	}
	doc := &document{path: path, operations: map[string]*Operation{}, components: raw.Components}
	templates := make([]string, 0, len(raw.Paths))
	for t := range raw.Paths {
		templates = append(templates, t)
	}
	sort.Strings(templates)
	for _, t := range templates {
		rt, err := newRoute(t)
		if err != nil {
			return nil, fmt.Errorf("load openapi description %s: paths[%q]: %w", path, t, err)
		}
		for key, body := range raw.Paths[t] {
			m, ok := methods[key]
			if !ok {
				continue // path-item fields such as summary or parameters
			}
			op := &Operation{Method: m, Template: t}
			if err := json.Unmarshal(body, &op.raw); err != nil {
				return nil, fmt.Errorf("load openapi description %s: paths[%q].%s: %w", path, t, key, err)
			}
			if op.raw.OperationID == "" {
				return nil, fmt.Errorf("load openapi description %s: paths[%q].%s: field operationId is missing", path, t, key)
			}
			if prev, dup := doc.operations[op.raw.OperationID]; dup {
				return nil, fmt.Errorf("load openapi description %s: paths[%q].%s: operationId %q is also used by %s %s",
					path, t, key, op.raw.OperationID, prev.Method, prev.Template)
			}
			op.ID = op.raw.OperationID
			op.ForGitHubApps = op.raw.XGitHub.EnabledForGitHubApps
			op.Description = op.raw.Description
			for i, rp := range op.raw.Parameters {
				par, err := doc.parameter(rp)
				if err != nil {
					return nil, fmt.Errorf("load openapi description %s: paths[%q].%s.parameters[%d]: %w", path, t, key, i, err)
				}
				if par.In == "path" && par.MultiSegment {
					rt.markMulti(par.Name)
				}
			}
			doc.operations[op.ID] = op
			rt.ops[m] = op
		}
		doc.routes = append(doc.routes, rt)
	}
	doc.compiler = newCompiler(doc)
	return doc, nil
}

// locate adds the line and column to a JSON syntax error.
func locate(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var off int64
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	default:
		return err
	}
	// Offset counts the bytes read, the bad one last; point at that one.
	off = max(min(off, int64(len(data)))-1, 0)
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// Operation returns the operation with GitHub's operationId id, such as
// "pulls/get".
func (s *Spec) Operation(id string) (*Operation, bool) {
	op, ok := s.doc.operations[id]
	return op, ok
}

func routeMismatch(method, path, msg string) *Mismatch {
	return &Mismatch{Method: method, Path: path, Problems: []Problem{{Where: "route", Message: msg}}}
}

// Match finds the operation for method and path. The path is the escaped
// path of a request URL, without query; the API prefix of WithPrefix is
// stripped first. It returns the operation and its path parameters,
// unescaped. The error is a *Mismatch naming the method and path when
// GitHub documents no such operation. When several templates match, the one with the most literal
// segments wins, so /repos/o/r/commits/main/status is
// /repos/{owner}/{repo}/commits/{ref}/status and not /commits/{ref} with the
// multi-segment ref "main/status".
func (s *Spec) Match(method, path string) (*Operation, map[string]string, error) {
	method = strings.ToUpper(method)
	p := path
	if s.opts.prefix != "" {
		rest, ok := strings.CutPrefix(p, s.opts.prefix)
		if !ok || (rest != "" && rest[0] != '/') {
			return nil, nil, routeMismatch(method, path, "path is outside the API prefix "+s.opts.prefix)
		}
		p = rest
	}
	segs := splitPath(p)
	var best, bestAny *route
	var bestParams map[string]string
	for _, rt := range s.doc.routes {
		params, ok := rt.match(segs)
		if !ok {
			continue
		}
		if bestAny == nil || rt.before(bestAny) {
			bestAny = rt
		}
		if _, has := rt.ops[method]; has && (best == nil || rt.before(best)) {
			best, bestParams = rt, params
		}
	}
	switch {
	case best != nil:
		return best.ops[method], bestParams, nil
	case bestAny != nil:
		return nil, nil, routeMismatch(method, path, fmt.Sprintf("GitHub documents %s for %s but not %s",
			strings.Join(bestAny.methods(), ", "), bestAny.template, method))
	default:
		return nil, nil, routeMismatch(method, path, "GitHub documents no operation for this path")
	}
}
