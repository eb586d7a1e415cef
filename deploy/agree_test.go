package deploy

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/internal/ghcontract"
	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/webhooks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// What each call and event of the bot needs from the App's permissions.
// GitHub's OpenAPI description says which operations an App may call but
// not with which permission, so these tables hold what GitHub's
// documentation says: "Permissions required for GitHub Apps"
// (https://docs.github.com/rest/authentication/permissions-required-for-github-apps),
// each endpoint's "Fine-grained access tokens" section, and for events
// "Webhook events and payloads" (https://docs.github.com/webhooks/webhook-events-and-payloads).
// A requirement is "permission:level"; "a | b" means either will do.

// installationNeeds maps each REST operation the bot calls with an
// installation token, as "METHOD template" of GitHub's description, to the
// permission it needs.
var installationNeeds = map[string]string{
	"GET /repos/{owner}/{repo}":                                                     "metadata:read",
	"GET /repos/{owner}/{repo}/git/ref/{ref}":                                       "contents:read",
	"POST /repos/{owner}/{repo}/git/refs":                                           "contents:write",
	"PATCH /repos/{owner}/{repo}/git/refs/{ref}":                                    "contents:write",
	"GET /repos/{owner}/{repo}/git/commits/{commit_sha}":                            "contents:read",
	"POST /repos/{owner}/{repo}/git/commits":                                        "contents:write",
	"POST /repos/{owner}/{repo}/git/blobs":                                          "contents:write",
	"POST /repos/{owner}/{repo}/git/trees":                                          "contents:write",
	"GET /repos/{owner}/{repo}/compare/{base}...{head}":                             "contents:read",
	"GET /repos/{owner}/{repo}/contents/{path}":                                     "contents:read",
	"PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge":                           "contents:write",
	"GET /repos/{owner}/{repo}/pulls":                                               "pull_requests:read",
	"POST /repos/{owner}/{repo}/pulls":                                              "pull_requests:write",
	"GET /repos/{owner}/{repo}/pulls/{pull_number}":                                 "pull_requests:read | contents:read",
	"PATCH /repos/{owner}/{repo}/pulls/{pull_number}":                               "pull_requests:write",
	"POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers":            "pull_requests:write",
	"GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews":                         "pull_requests:read",
	"GET /repos/{owner}/{repo}/issues":                                              "issues:read",
	"POST /repos/{owner}/{repo}/issues":                                             "issues:write",
	"GET /repos/{owner}/{repo}/issues/{issue_number}":                               "issues:read",
	"PATCH /repos/{owner}/{repo}/issues/{issue_number}":                             "issues:write",
	"POST /repos/{owner}/{repo}/issues/{issue_number}/labels":                       "issues:write | pull_requests:write",
	"GET /repos/{owner}/{repo}/issues/comments":                                     "issues:read | pull_requests:read",
	"GET /repos/{owner}/{repo}/issues/{issue_number}/comments":                      "issues:read | pull_requests:read",
	"POST /repos/{owner}/{repo}/issues/{issue_number}/comments":                     "issues:write | pull_requests:write",
	"PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}":                      "issues:write | pull_requests:write",
	"POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions":             "issues:write",
	"GET /repos/{owner}/{repo}/commits/{ref}/check-runs":                            "checks:read",
	"POST /repos/{owner}/{repo}/check-runs":                                         "checks:write",
	"PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}":                         "checks:write",
	"GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls":                          "pull_requests:read | contents:read",
	"GET /repos/{owner}/{repo}/pulls/{pull_number}/files":                           "pull_requests:read",
	"GET /repos/{owner}/{repo}/commits/{ref}/statuses":                              "statuses:read",
	"POST /repos/{owner}/{repo}/statuses/{sha}":                                     "statuses:write",
	"GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks": "administration:read",
	"GET /orgs/{org}/teams/{team_slug}/memberships/{username}":                      "members:read",
}

// graphqlNeeds maps each GraphQL mutation the bot sends, as "mutation
// NAME", to the permission it needs (GitHub's GraphQL reference names none
// per mutation: these are the permissions of the REST operations that do
// the same: creating a ref, writing a commit).
var graphqlNeeds = map[string]string{
	"mutation createRef":            "contents:write",
	"mutation createCommitOnBranch": "contents:write",
}

// eventNeeds maps each event the App subscribes to to the permission GitHub
// asks for before it lets an App subscribe ("To subscribe to this event, a
// GitHub App must have at least read-level access for ...").
var eventNeeds = map[string]string{
	"push":                "contents:read",
	"pull_request":        "pull_requests:read",
	"pull_request_review": "pull_requests:read",
	"issue_comment":       "issues:read",
	"check_run":           "checks:read",
	"check_suite":         "checks:read",
	"status":              "statuses:read",
}

// alwaysDelivered are the events GitHub sends every App about its own
// installations; an App cannot subscribe to them, and needs no permission.
var alwaysDelivered = []string{"installation", "installation_repositories"}

// otherNeeds are what the bot does with an installation token outside the
// REST API.
var otherNeeds = map[string]string{
	// bot/app.go: the mirror fetches each repository over HTTPS with the
	// installation token as the password of x-access-token.
	"git fetch over HTTPS": "contents:read",
}

// TestSubscribedEventsAreTheHandledOnes holds the manifest's events to what
// the webhook intake decodes, over every event GitHub's Octokit examples
// name: each handled event is subscribed (or one GitHub always delivers),
// and no other event is.
func TestSubscribedEventsAreTheHandledOnes(t *testing.T) {
	t.Parallel()
	m, err := AppManifest()
	require.NoError(t, err)

	var handled []string
	for _, name := range githubEvents(t) {
		if webhooks.Handles(name) {
			handled = append(handled, name)
		}
	}
	require.NotEmpty(t, handled)
	for _, name := range alwaysDelivered {
		assert.Contains(t, handled, name, "%s is in alwaysDelivered but the intake does not handle it", name)
		assert.NotContains(t, m.DefaultEvents, name, "%s: GitHub delivers it to every App; it cannot be subscribed", name)
	}
	for _, name := range handled {
		if !slices.Contains(alwaysDelivered, name) {
			assert.Contains(t, m.DefaultEvents, name, "the intake handles %s, but %s does not subscribe to it", name, ManifestFile)
		}
	}
	for _, name := range m.DefaultEvents {
		assert.True(t, webhooks.Handles(name), "%s subscribes to %s, which the intake does not handle", ManifestFile, name)
	}
	assert.ElementsMatch(t, m.DefaultEvents, slices.Collect(maps.Keys(eventNeeds)), "eventNeeds lists the subscribed events, no more, no less")
	assert.True(t, slices.IsSorted(m.DefaultEvents), "%s lists its events sorted", ManifestFile)
}

// githubEvents are the event names of GitHub's webhooks, from the
// @octokit/webhooks-examples package.
func githubEvents(t *testing.T) []string {
	t.Helper()
	path := filepath.Join(testenv.NodeModule(t, "@octokit/webhooks-examples"), "api.github.com", "index.json")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var groups []struct {
		Name string `json:"name"`
	}
	require.NoError(t, json.Unmarshal(data, &groups), path)
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		names = append(names, g.Name)
	}
	require.Greater(t, len(names), 40, "events in %s", path)
	return names
}

// TestCalledOperationsAreOpenToApps runs every GitHub call the bot can make
// (see botCalls) and checks what GitHub's description says of each
// operation sent: one made with the App's JWT is one GitHub says takes that
// JWT, every other is open to installation tokens and has its permission in
// installationNeeds, and installationNeeds holds no operation the bot does
// not call.
func TestCalledOperationsAreOpenToApps(t *testing.T) {
	t.Parallel()
	calls := botCalls(t)
	var installation []string
	for key, c := range calls {
		if c.jwt {
			assert.Contains(t, c.op.Description, "You must use a [JWT]",
				"%s (%s) is called with the App's JWT; GitHub's description does not say it takes one", key, c.op.ID)
			continue
		}
		installation = append(installation, key)
		if c.op == nil {
			if _, ok := graphqlNeeds[key]; !ok {
				t.Errorf("%s is sent with an installation token: add the permission it needs to graphqlNeeds", key)
			}
			continue
		}
		assert.True(t, c.op.ForGitHubApps, "%s (%s): GitHub's description says an installation token may not call it", key, c.op.ID)
		if _, ok := installationNeeds[key]; !ok {
			t.Errorf("%s (%s) is called with an installation token: add the permission it needs to installationNeeds", key, c.op.ID)
		}
	}
	for key := range installationNeeds {
		if !slices.Contains(installation, key) {
			t.Errorf("installationNeeds holds %s, which the bot does not call", key)
		}
	}
	for key := range graphqlNeeds {
		if !slices.Contains(installation, key) {
			t.Errorf("graphqlNeeds holds %s, which the bot does not send", key)
		}
	}
}

// TestPermissionsAreWhatTheCallsAndEventsNeed proves the manifest grants
// every permission the bot's calls and events need, at the level they need
// it, and nothing more: no permission granted could be lowered (write to
// read, read to none) without leaving a call or an event short.
func TestPermissionsAreWhatTheCallsAndEventsNeed(t *testing.T) {
	t.Parallel()
	m, err := AppManifest()
	require.NoError(t, err)
	granted := map[string]level{}
	for perm, l := range m.DefaultPermissions {
		granted[perm] = parseLevel(t, ManifestFile+" default_permissions."+perm, l)
	}

	var needs []need
	for key, c := range botCalls(t) {
		switch {
		case c.jwt:
		case c.op == nil:
			needs = append(needs, parseNeed(t, key, graphqlNeeds[key]))
		default:
			needs = append(needs, parseNeed(t, key, installationNeeds[key]))
		}
	}
	for _, event := range m.DefaultEvents {
		needs = append(needs, parseNeed(t, "event "+event, eventNeeds[event]))
	}
	for what, spec := range otherNeeds {
		needs = append(needs, parseNeed(t, what, spec))
	}

	for _, n := range needs {
		assert.True(t, n.metBy(granted), "%s needs %s; %s grants %v", n.what, n.spec, ManifestFile, m.DefaultPermissions)
	}
	for perm, l := range granted {
		lower := maps.Clone(granted)
		if l == write {
			lower[perm] = read
		} else {
			delete(lower, perm)
		}
		var short []string
		for _, n := range needs {
			if !n.metBy(lower) {
				short = append(short, n.what)
			}
		}
		assert.NotEmpty(t, short, "%s grants %s:%s, more than any call or event needs: %s would do",
			ManifestFile, perm, l, describe(lower[perm]))
	}
}

// level is a permission's access: none, read or write.
type level int

const (
	none level = iota
	read
	write
)

func (l level) String() string { return [...]string{"none", "read", "write"}[l] }

func describe(l level) string {
	if l == none {
		return "no access"
	}
	return l.String()
}

func parseLevel(t *testing.T, where, s string) level {
	t.Helper()
	switch s {
	case "read":
		return read
	case "write":
		return write
	}
	t.Fatalf("%s: level %q, want read or write", where, s)
	return none
}

// need is what one call or event needs: any one of its alternatives.
type need struct {
	what, spec string
	anyOf      []map[string]level
}

func parseNeed(t *testing.T, what, spec string) need {
	t.Helper()
	if spec == "" {
		t.Fatalf("%s: no permission recorded for it", what)
	}
	n := need{what: what, spec: spec}
	for _, alt := range strings.Split(spec, " | ") {
		perm, l, ok := strings.Cut(alt, ":")
		if !ok || perm == "" {
			t.Fatalf("%s: %q is not permission:level", what, alt)
		}
		n.anyOf = append(n.anyOf, map[string]level{perm: parseLevel(t, what, l)})
	}
	return n
}

func (n need) metBy(granted map[string]level) bool {
	for _, alt := range n.anyOf {
		ok := true
		for perm, l := range alt {
			ok = ok && granted[perm] >= l
		}
		if ok {
			return true
		}
	}
	return false
}

// call is one operation the client sent, and whether it was signed with
// the App's JWT rather than an installation token.
// call is one operation the bot calls: op is nil for a GraphQL mutation.
type call struct {
	op  *ghcontract.Operation
	jwt bool
}

var calls struct {
	once sync.Once
	got  map[string]call
	errs []string
}

// installationToken is what the fake GitHub mints; a request carrying it
// was made as the installation, any other as the App.
const installationToken = "ghs_fleetbotdeploytest"

// botCalls runs every GitHub call the bot can make against a fake GitHub
// and returns the operations they sent, keyed "METHOD template" as GitHub's
// description routes them. The bot reaches GitHub only through
// bot.AppGitHub: API, which finds the repository's installation and returns
// its bot.Client (every method of which is called with sample arguments),
// and GitAuth, the installation token the mirror fetches with.
func botCalls(t *testing.T) map[string]call {
	t.Helper()
	spec := ghcontract.Default(t)
	calls.once.Do(func() { calls.got, calls.errs = collectCalls(spec) })
	for _, e := range calls.errs {
		t.Error(e)
	}
	require.NotEmpty(t, calls.got)
	return calls.got
}

type sent struct{ method, path, auth, body string }

func collectCalls(spec *ghcontract.Spec) (map[string]call, []string) {
	var (
		mu            sync.Mutex
		reqs          []sent
		installations int
		errs          []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		reqs = append(reqs, sent{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), string(body)})
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/repos/") && strings.HasSuffix(r.URL.Path, "/installation"):
			// Each repository is an installation of its own, so each call
			// below mints its own token.
			installations++
			fmt.Fprintf(w, `{"id":%d}`, installations)
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/app/installations/") && strings.HasSuffix(r.URL.Path, "/access_tokens"):
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"token":%q,"expires_at":%q}`, installationToken, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		default:
			// Any answer will do: the calls are made for the requests they send.
			fmt.Fprint(w, `{}`)
		}
	}))
	defer srv.Close()

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, []string{err.Error()}
	}
	app, err := gh.NewApp(gh.Config{
		BaseURL:    srv.URL + "/",
		AppID:      1,
		PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		Retry:      gh.RetryPolicy{MaxAttempts: 1},
	})
	if err != nil {
		return nil, []string{err.Error()}
	}
	github := bot.NewAppGitHub(app)
	record := func(f func() error) []sent {
		mu.Lock()
		before := len(reqs)
		mu.Unlock()
		if err := f(); err != nil {
			errs = append(errs, err.Error())
		}
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(reqs[before:])
	}

	own := record(func() error {
		_, _, err := github.GitAuth(context.Background(), "acme", "git")
		return err
	})
	if !slices.ContainsFunc(own, isMint) {
		errs = append(errs, fmt.Sprintf("bot.AppGitHub.GitAuth minted no installation token: %v", own))
	}
	client := reflect.TypeOf((*bot.Client)(nil)).Elem()
	for i := range client.NumMethod() {
		name := client.Method(i).Name
		own := record(func() error {
			api, err := github.API(context.Background(), "acme", "repo-"+name)
			if err != nil {
				return fmt.Errorf("bot.AppGitHub.API: %w", err)
			}
			return callWithSamples(reflect.ValueOf(api), name)
		})
		if !slices.ContainsFunc(own, func(r sent) bool { return !isMint(r) && !isFind(r) }) {
			errs = append(errs, fmt.Sprintf("bot.Client.%s sent no request of its own with sample arguments: make sample give it arguments that call GitHub", name))
		}
	}

	got := map[string]call{}
	for _, r := range reqs {
		if r.path == "/graphql" {
			names, err := mutations(r.body)
			if err != nil {
				errs = append(errs, err.Error())
			}
			for _, name := range names {
				got["mutation "+name] = call{jwt: !strings.Contains(r.auth, installationToken)}
			}
			continue
		}
		op, _, err := spec.Match(r.method, r.path)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		key := op.Method + " " + op.Template
		jwt := !strings.Contains(r.auth, installationToken)
		if prev, seen := got[key]; seen && prev.jwt != jwt {
			errs = append(errs, key+" is called both as the App and as an installation")
		}
		got[key] = call{op: op, jwt: jwt}
	}
	return got, errs
}

// mutations names the top-level fields of a GraphQL request's mutation.
func mutations(body string) ([]string, error) {
	var in struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		return nil, fmt.Errorf("graphql request: %w", err)
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: in.Query})
	if err != nil {
		return nil, fmt.Errorf("graphql request: %w", err)
	}
	var names []string
	for _, op := range doc.Operations {
		if op.Operation != ast.Mutation {
			return nil, fmt.Errorf("graphql request: a %s; the bot sends mutations only", op.Operation)
		}
		for _, sel := range op.SelectionSet {
			if f, ok := sel.(*ast.Field); ok {
				names = append(names, f.Name)
			}
		}
	}
	return names, nil
}

// isMint and isFind tell the App's own requests: minting an installation
// token, and finding a repository's installation.
func isMint(r sent) bool { return strings.HasSuffix(r.path, "/access_tokens") }
func isFind(r sent) bool { return strings.HasSuffix(r.path, "/installation") }

// callWithSamples calls recv's method name with a background context and a
// sample of every other argument. Its results are not looked at.
func callWithSamples(recv reflect.Value, name string) error {
	m := recv.MethodByName(name)
	args := []reflect.Value{reflect.ValueOf(context.Background())}
	for i := 1; i < m.Type().NumIn(); i++ {
		v, err := sample(m.Type().In(i))
		if err != nil {
			return fmt.Errorf("%s.%s argument %d: %w", recv.Type(), name, i, err)
		}
		args = append(args, v)
	}
	m.Call(args)
	return nil
}

// sample is a value of t with every field set: "x", 1, true, one element
// per slice. Fields of other packages' structs that are not exported stay
// zero.
func sample(t reflect.Type) (reflect.Value, error) {
	v := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		e, err := sample(t.Elem())
		if err != nil {
			return v, err
		}
		v.Set(reflect.Append(v, e))
	case reflect.Pointer:
		e, err := sample(t.Elem())
		if err != nil {
			return v, err
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(e)
		v.Set(p)
	case reflect.Struct:
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				continue
			}
			f, err := sample(t.Field(i).Type)
			if err != nil {
				return v, fmt.Errorf("field %s: %w", t.Field(i).Name, err)
			}
			v.Field(i).Set(f)
		}
	default:
		return v, fmt.Errorf("no sample for a %s", t)
	}
	return v, nil
}
