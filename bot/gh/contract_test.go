package gh

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fleetbot/fleetbot/internal/ghcontract"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openapi is GitHub's REST description as plain JSON values, for what
// ghcontract does not do: serving documented examples, and listing request
// fields the description does not name (its schemas allow extra fields, so
// a misspelt field would pass validation).
type openapi struct{ doc map[string]any }

var description struct {
	once sync.Once
	api  *openapi
	err  error
}

func loadOpenAPI(t *testing.T) *openapi {
	t.Helper()
	dir := testenv.NodeModule(t, "@octokit/openapi")
	description.once.Do(func() {
		data, err := os.ReadFile(filepath.Join(dir, "generated", "api.github.com.json"))
		if err != nil {
			description.err = err
			return
		}
		var doc map[string]any
		description.err = json.Unmarshal(data, &doc)
		description.api = &openapi{doc: doc}
	})
	require.NoError(t, description.err)
	return description.api
}

// resolve follows local $refs.
func (o *openapi) resolve(v any) map[string]any {
	m, _ := v.(map[string]any)
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = o.doc
		for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			next, _ := cur.(map[string]any)
			cur = next[strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")]
		}
		m, _ = cur.(map[string]any)
	}
	return m
}

func (o *openapi) operation(template, method string) map[string]any {
	paths := o.doc["paths"].(map[string]any)
	item, _ := paths[template].(map[string]any)
	return o.resolve(item[strings.ToLower(method)])
}

// example returns the status and body of the first documented success of an
// operation, preferring the named example when there are several.
func (o *openapi) example(op map[string]any, prefer string) (int, []byte, bool) {
	responses, _ := op["responses"].(map[string]any)
	codes := make([]string, 0, len(responses))
	for code := range responses {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		status, err := strconv.Atoi(code)
		if err != nil || status < 200 || status > 299 {
			continue
		}
		resp := o.resolve(responses[code])
		content, _ := resp["content"].(map[string]any)
		media := o.resolve(content["application/json"])
		if media == nil {
			return status, nil, true
		}
		if ex, ok := media["example"]; ok {
			body, _ := json.Marshal(ex)
			return status, body, true
		}
		examples, _ := media["examples"].(map[string]any)
		names := make([]string, 0, len(examples))
		for name := range examples {
			names = append(names, name)
		}
		sort.Strings(names)
		if i := slices.Index(names, prefer); i > 0 {
			names[0], names[i] = names[i], names[0]
		}
		if len(names) > 0 {
			value := o.resolve(examples[names[0]])["value"]
			if ref, ok := value.(map[string]any); ok && ref["$ref"] != nil {
				// The value names a shared example, whose own value it is.
				value = o.resolve(ref)["value"]
			}
			body, _ := json.Marshal(value)
			return status, body, true
		}
	}
	return 0, nil, false
}

// requestSchema is the JSON schema of an operation's request body.
func (o *openapi) requestSchema(op map[string]any) map[string]any {
	body := o.resolve(op["requestBody"])
	content, _ := body["content"].(map[string]any)
	media := o.resolve(content["application/json"])
	return o.resolve(media["schema"])
}

// variants is s and every schema it combines, resolved.
func (o *openapi) variants(s map[string]any) []map[string]any {
	if s == nil {
		return nil
	}
	out := []map[string]any{s}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := s[key].([]any)
		for _, v := range list {
			out = append(out, o.variants(o.resolve(v))...)
		}
	}
	return out
}

// undocumented lists the JSON pointers of fields in value that schema does
// not name.
func (o *openapi) undocumented(schema map[string]any, value any, ptr string) []string {
	var bad []string
	switch v := value.(type) {
	case map[string]any:
		props := map[string]map[string]any{}
		for _, s := range o.variants(schema) {
			ps, _ := s["properties"].(map[string]any)
			for k, p := range ps {
				if _, seen := props[k]; !seen {
					props[k] = o.resolve(p)
				}
			}
		}
		for k, field := range v {
			sub, ok := props[k]
			if !ok {
				bad = append(bad, ptr+"/"+k)
				continue
			}
			bad = append(bad, o.undocumented(sub, field, ptr+"/"+k)...)
		}
	case []any:
		var items map[string]any
		for _, s := range o.variants(schema) {
			if it := o.resolve(s["items"]); it != nil {
				items = it
				break
			}
		}
		for i, el := range v {
			bad = append(bad, o.undocumented(items, el, ptr+"/"+strconv.Itoa(i))...)
		}
	}
	sort.Strings(bad)
	return bad
}

// knownBadExamples are operations whose documented example does not fit
// GitHub's own response schema; the client is not at fault there (the
// ghcontract package tests the same defects).
var knownBadExamples = map[string]string{
	"repos/get-collaborator-permission-level": "the example's user omits role_name, which the schema requires",
	"apps/list-installations":                 "the inline schema says account is allOf [Simple User, Enterprise]; no account is both",
	"repos/get":                               "the example predates the required property language",
	"pulls/list":                              "team examples lack the required property type",
	"pulls/get":                               "team examples lack the required property type",
	"pulls/create":                            "team examples lack the required property type",
	"pulls/update":                            "team examples lack the required property type",
	"pulls/request-reviewers":                 "team examples lack the required property type",
	"repos/list-pull-requests-associated-with-commit": "team examples lack the required property type",
	"repos/get-status-checks-protection":              "the example omits checks, which the schema requires",
}

// sameRoute lists GitHub templates that name one route twice; labels use the
// one GitHub's documentation shows.
var sameRoute = map[string]string{
	"/repos/{owner}/{repo}/compare/{base}...{head}": "/repos/{owner}/{repo}/compare/{basehead}",
}

// unescapeContent repairs the file example of repos/get-content, whose base64
// content holds a backslash and an "n" where GitHub sends line breaks.
func unescapeContent(t *testing.T, body []byte) []byte {
	t.Helper()
	var file map[string]any
	require.NoError(t, json.Unmarshal(body, &file))
	content, ok := file["content"].(string)
	require.True(t, ok, "the file example has content")
	file["content"] = strings.ReplaceAll(content, `\n`, "\n")
	out, err := json.Marshal(file)
	require.NoError(t, err)
	return out
}

// TestClientAgainstGitHubDescription sends every API call, and the App's
// own calls, through ghcontract's checking transport to a fake that answers
// with GitHub's documented examples: every request must be one GitHub
// documents, name only documented fields, and be labelled with GitHub's own
// route template; every documented example must decode.
func TestClientAgainstGitHubDescription(t *testing.T) {
	t.Parallel()
	spec := ghcontract.Default(t)
	api := loadOpenAPI(t)

	type seen struct{ label, template string }
	var (
		mu       sync.Mutex
		problems []string
		routes   []seen
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/graphql" {
			// GraphQL documents no examples: the case's own answer,
			// which the transport checks against the document's
			// selection in GitHub's schema.
			mu.Lock()
			routes = append(routes, seen{route(r.URL.EscapedPath()), "/graphql"})
			mu.Unlock()
			for _, tc := range apiCases {
				if tc.path == "/graphql" {
					reply(w, tc.status, tc.answer)
					return
				}
			}
		}
		op, _, err := spec.Match(r.Method, r.URL.EscapedPath())
		if err != nil {
			reply(w, 404, `{"message":"Not Found"}`)
			return
		}
		mu.Lock()
		routes = append(routes, seen{route(r.URL.EscapedPath()), op.Template})
		mu.Unlock()
		status, body, ok := api.example(api.operation(op.Template, op.Method), "response-if-content-is-a-file")
		if !ok {
			reply(w, 500, `{"message":"no documented example"}`)
			return
		}
		if op.ID == "repos/get-content" {
			body = unescapeContent(t, body)
		}
		if body == nil {
			w.WriteHeader(status)
			return
		}
		reply(w, status, string(body))
	}))
	t.Cleanup(srv.Close)

	report := func(err error) {
		var mm *ghcontract.Mismatch
		if errors.As(err, &mm) && mm.Status != 0 {
			if _, known := knownBadExamples[mm.OperationID]; known {
				return
			}
		}
		mu.Lock()
		problems = append(problems, err.Error())
		mu.Unlock()
	}
	fieldCheck := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.GetBody != nil {
			rc, err := r.GetBody()
			require.NoError(t, err)
			var body any
			require.NoError(t, json.NewDecoder(rc).Decode(&body))
			_ = rc.Close()
			if op, _, err := spec.Match(r.Method, r.URL.EscapedPath()); err == nil {
				schema := api.requestSchema(api.operation(op.Template, op.Method))
				for _, p := range api.undocumented(schema, body, "") {
					report(errors.New(r.Method + " " + op.Template + ": request field " + p + " is not documented"))
				}
			}
		}
		return http.DefaultTransport.RoundTrip(r)
	})

	_, key := appKey(t)
	app, err := NewApp(Config{
		BaseURL:    srv.URL + "/",
		AppID:      testAppID,
		PrivateKey: key,
		Transport:  spec.Transport(fieldCheck, report),
		Retry:      RetryPolicy{MaxAttempts: 1},
	})
	require.NoError(t, err)
	_, err = app.Installations(t.Context())
	require.NoError(t, err)
	_, err = app.InstallationFor(t.Context(), "acme", "fleet")
	require.NoError(t, err)
	c := installation(t, app, 1)
	for _, tc := range apiCases {
		_, err := tc.call(t.Context(), c)
		assert.NoError(t, err, "%s against the documented example", tc.name)
	}

	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, problems)
	require.NotEmpty(t, routes)
	for _, r := range routes {
		want := r.template
		if alias, ok := sameRoute[want]; ok {
			want = alias
		}
		assert.Equal(t, want, r.label, "metric label of a request GitHub routes to %s", r.template)
	}
}

func TestUndocumentedFieldsAreFound(t *testing.T) {
	t.Parallel()
	api := loadOpenAPI(t)
	schema := api.requestSchema(api.operation("/repos/{owner}/{repo}/git/trees", "POST"))
	var body any
	require.NoError(t, json.Unmarshal([]byte(`{"base_tree":"t","tree":[{"path":"a","mode":"100644","type":"blob","sha":null,"shaa":"x"}],"basetree":"t"}`), &body))
	assert.Equal(t, []string{"/basetree", "/tree/0/shaa"}, api.undocumented(schema, body, ""))
}
