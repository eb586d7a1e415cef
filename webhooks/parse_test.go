package webhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

// fieldCheck ties a field of a parsed event to the payload value it comes
// from: path is a dotted path into the payload, where "name[]" walks every
// element of the array name; want, when set, turns what the path finds into
// what the field holds.
type fieldCheck struct {
	field string
	path  string
	got   func(Event) any
	want  func(found any) any
}

func pr(e Event) *PullRequest                  { return e.(*PullRequest) }
func rv(e Event) *Review                       { return e.(*Review) }
func cm(e Event) *Comment                      { return e.(*Comment) }
func crun(e Event) *CheckRun                   { return e.(*CheckRun) }
func cs(e Event) *CheckSuite                   { return e.(*CheckSuite) }
func st(e Event) *Status                       { return e.(*Status) }
func ps(e Event) *Push                         { return e.(*Push) }
func inst(e Event) *Installation               { return e.(*Installation) }
func irepos(e Event) *InstallationRepositories { return e.(*InstallationRepositories) }

var metaChecks = []fieldCheck{
	{"Action", "action", func(e Event) any { return e.Info().Action }, nil},
	{"Installation", "installation.id", func(e Event) any { return e.Info().Installation }, nil},
	{"Owner", "repository.owner.login", func(e Event) any { return e.Info().Owner }, nil},
	{"Repo", "repository.name", func(e Event) any { return e.Info().Repo }, nil},
	{"Sender", "sender.login", func(e Event) any { return e.Info().Sender }, nil},
}

var eventChecks = map[string][]fieldCheck{
	"pull_request": {
		{"Number", "number", func(e Event) any { return pr(e).Number }, nil},
		{"Number", "pull_request.number", func(e Event) any { return pr(e).Number }, nil},
		{"State", "pull_request.state", func(e Event) any { return pr(e).State }, nil},
		{"Merged", "pull_request.merged", func(e Event) any { return pr(e).Merged }, nil},
		{"MergeCommitSHA", "pull_request.merge_commit_sha", func(e Event) any { return pr(e).MergeCommitSHA }, nil},
		{"HeadRef", "pull_request.head.ref", func(e Event) any { return pr(e).HeadRef }, nil},
		{"HeadSHA", "pull_request.head.sha", func(e Event) any { return pr(e).HeadSHA }, nil},
		{"BaseRef", "pull_request.base.ref", func(e Event) any { return pr(e).BaseRef }, nil},
		{"Title", "pull_request.title", func(e Event) any { return pr(e).Title }, nil},
		{"User", "pull_request.user.login", func(e Event) any { return pr(e).User }, nil},
	},
	"pull_request_review": {
		{"Number", "pull_request.number", func(e Event) any { return rv(e).Number }, nil},
		{"HeadRef", "pull_request.head.ref", func(e Event) any { return rv(e).HeadRef }, nil},
		{"ReviewID", "review.id", func(e Event) any { return rv(e).ReviewID }, nil},
		{"State", "review.state", func(e Event) any { return rv(e).State }, lower},
		{"User", "review.user.login", func(e Event) any { return rv(e).User }, nil},
		{"CommitID", "review.commit_id", func(e Event) any { return rv(e).CommitID }, nil},
	},
	"issue_comment": {
		{"Number", "issue.number", func(e Event) any { return cm(e).Number }, nil},
		{"PullRequest", "issue.pull_request", func(e Event) any { return cm(e).PullRequest }, present},
		{"CommentID", "comment.id", func(e Event) any { return cm(e).CommentID }, nil},
		{"Body", "comment.body", func(e Event) any { return cm(e).Body }, nil},
		{"User", "comment.user.login", func(e Event) any { return cm(e).User }, nil},
		{"Commands", "comment.body", func(e Event) any { return cm(e).Commands }, commands},
	},
	"check_run": {
		{"ID", "check_run.id", func(e Event) any { return crun(e).ID }, nil},
		{"Name", "check_run.name", func(e Event) any { return crun(e).Name }, nil},
		{"Status", "check_run.status", func(e Event) any { return crun(e).Status }, nil},
		{"Conclusion", "check_run.conclusion", func(e Event) any { return crun(e).Conclusion }, nil},
		{"HeadSHA", "check_run.head_sha", func(e Event) any { return crun(e).HeadSHA }, nil},
		{"PullRequests", "check_run.pull_requests[].number", func(e Event) any { return crun(e).PullRequests }, nil},
	},
	"check_suite": {
		{"ID", "check_suite.id", func(e Event) any { return cs(e).ID }, nil},
		{"Status", "check_suite.status", func(e Event) any { return cs(e).Status }, nil},
		{"Conclusion", "check_suite.conclusion", func(e Event) any { return cs(e).Conclusion }, nil},
		{"HeadSHA", "check_suite.head_sha", func(e Event) any { return cs(e).HeadSHA }, nil},
		{"HeadBranch", "check_suite.head_branch", func(e Event) any { return cs(e).HeadBranch }, nil},
	},
	"status": {
		{"SHA", "sha", func(e Event) any { return st(e).SHA }, nil},
		{"Context", "context", func(e Event) any { return st(e).Context }, nil},
		{"State", "state", func(e Event) any { return st(e).State }, nil},
		{"Branches", "branches[].name", func(e Event) any { return st(e).Branches }, nil},
	},
	"push": {
		{"Ref", "ref", func(e Event) any { return ps(e).Ref }, nil},
		{"Before", "before", func(e Event) any { return ps(e).Before }, nil},
		{"After", "after", func(e Event) any { return ps(e).After }, nil},
		{"Deleted", "deleted", func(e Event) any { return ps(e).Deleted }, nil},
		{"DefaultBranch", "repository.default_branch", func(e Event) any { return ps(e).DefaultBranch }, nil},
		{"Added", "commits[].added[]", func(e Event) any { return ps(e).Added }, distinct},
		{"Modified", "commits[].modified[]", func(e Event) any { return ps(e).Modified }, distinct},
		{"Removed", "commits[].removed[]", func(e Event) any { return ps(e).Removed }, distinct},
	},
	"installation": {
		{"Account", "installation.account.login", func(e Event) any { return inst(e).Account }, nil},
		{"Repositories", "repositories[].full_name", func(e Event) any { return inst(e).Repositories }, nil},
	},
	"installation_repositories": {
		{"Account", "installation.account.login", func(e Event) any { return irepos(e).Account }, nil},
		{"Added", "repositories_added[].full_name", func(e Event) any { return irepos(e).Added }, nil},
		{"Removed", "repositories_removed[].full_name", func(e Event) any { return irepos(e).Removed }, nil},
	},
}

func lower(v any) any {
	s, _ := v.(string)
	return strings.ToLower(s)
}

func present(v any) any { return v != nil }

func commands(v any) any {
	s, _ := v.(string)
	return ParseCommands(s)
}

// distinct keeps the first of each equal value.
func distinct(v any) any {
	list, _ := v.([]any)
	var out []any
	for _, x := range list {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// lookup follows a dotted path through a decoded JSON document. A segment
// "name[]" maps the rest of the path over the array's elements and
// flattens the results. A missing field is nil.
func lookup(doc any, path string) any {
	if path == "" {
		return doc
	}
	seg, rest, _ := strings.Cut(path, ".")
	name, each := strings.CutSuffix(seg, "[]")
	obj, _ := doc.(map[string]any)
	v := obj[name]
	if !each {
		return lookup(v, rest)
	}
	var out []any
	list, _ := v.([]any)
	for _, x := range list {
		found := lookup(x, rest)
		if sub, ok := found.([]any); ok && strings.Contains(rest, "[]") {
			out = append(out, sub...)
			continue
		}
		out = append(out, found)
	}
	return out
}

// normal turns a Go value into what its JSON decodes to, with empty arrays
// and null alike, so a field and the payload value it came from compare.
func normal(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %#v: %v", v, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	if list, ok := out.([]any); ok && len(list) == 0 {
		return nil
	}
	return out
}

// example is one payload of the examples package.
type example struct {
	Name     string            `json:"name"`
	Examples []json.RawMessage `json:"examples"`
}

func loadExamples(t testing.TB) []example {
	t.Helper()
	dir := testenv.NodeModule(t, "@octokit/webhooks-examples")
	raw, err := os.ReadFile(filepath.Join(dir, "api.github.com", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all []example
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatalf("decode webhook examples: %v", err)
	}
	return all
}

// TestParseOctokitExamples parses every example payload GitHub's Octokit
// project publishes: each handled event decodes, and its fields hold the
// payload's values; every other event is ErrUnhandled.
func TestParseOctokitExamples(t *testing.T) {
	t.Parallel()
	counts := map[string]int{}
	unhandled := 0
	for _, group := range loadExamples(t) {
		for i, payload := range group.Examples {
			id := fmt.Sprintf("%s-%d", group.Name, i)
			ev, err := Parse(group.Name, id, payload)
			checks, handled := eventChecks[group.Name]
			if !handled {
				if !errors.Is(err, ErrUnhandled) || ev != nil {
					t.Errorf("%s example %d: Parse() = %v, %v; want ErrUnhandled", group.Name, i, ev, err)
				}
				if Handles(group.Name) {
					t.Errorf("Handles(%q) = true, want false", group.Name)
				}
				unhandled++
				continue
			}
			if err != nil {
				t.Errorf("%s example %d: %v", group.Name, i, err)
				continue
			}
			counts[group.Name]++
			if m := ev.Info(); m.Delivery != id || m.Name != group.Name {
				t.Errorf("%s example %d: Meta names delivery %q event %q", group.Name, i, m.Delivery, m.Name)
			}
			dec := json.NewDecoder(bytes.NewReader(payload))
			dec.UseNumber()
			var doc any
			if err := dec.Decode(&doc); err != nil {
				t.Fatal(err)
			}
			for _, c := range append(slices.Clone(metaChecks), checks...) {
				found := lookup(doc, c.path)
				if c.want != nil {
					found = c.want(found)
				}
				got := c.got(ev)
				if found == nil {
					if v := reflect.ValueOf(got); !v.IsZero() {
						t.Errorf("%s example %d: %s = %#v, want zero: %s is absent", group.Name, i, c.field, got, c.path)
					}
					continue
				}
				if g, w := normal(t, got), normal(t, found); !reflect.DeepEqual(g, w) {
					t.Errorf("%s example %d: %s = %v, want %v from %s", group.Name, i, c.field, g, w, c.path)
				}
			}
		}
	}
	for name := range eventChecks {
		if counts[name] == 0 {
			t.Errorf("no example of %s was parsed", name)
		}
		if !Handles(name) {
			t.Errorf("Handles(%q) = false", name)
		}
	}
	if unhandled == 0 {
		t.Error("no example of an unhandled event was tried")
	}
	t.Logf("parsed %v; %d examples of other events are unhandled", counts, unhandled)
}

func TestParseUnhandled(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"ping", "issues", "workflow_run", "", "PUSH"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ev, err := Parse(name, "d1", []byte(`{}`))
			if !errors.Is(err, ErrUnhandled) || ev != nil {
				t.Fatalf("Parse(%q) = %v, %v; want ErrUnhandled", name, ev, err)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, event, payload string
		field                string
		wantIn               string
	}{
		{"empty", "push", "  ", "", "payload is empty"},
		{"not JSON", "pull_request", `{"action": `, "", "invalid JSON"},
		{"trailing garbage", "status", `{"sha":"a"} x`, "", "invalid JSON"},
		{"an array", "check_run", `[1,2]`, "", "payload is a JSON array, not an object"},
		{"wrong type", "pull_request", `{"pull_request":{"number":"7"}}`, "pull_request.number", "is a JSON string, want integer"},
		{"wrong type in envelope", "push", `{"ref":"refs/heads/main","installation":{"id":"x"}}`, "installation.id", "want integer"},
		{"wrong type in a list", "push", `{"ref":"r","commits":[{"added":[1]}]}`, "commits.added", "is a JSON number, want string"},
		{"object for a string", "issue_comment", `{"issue":{"number":1},"comment":{"body":{}}}`, "comment.body", "want string"},
		{"missing pull_request", "pull_request", `{"action":"opened","number":1}`, "pull_request", "missing"},
		{"missing review", "pull_request_review", `{"pull_request":{}}`, "review", "missing"},
		{"missing pull request of a review", "pull_request_review", `{"review":{}}`, "pull_request", "missing"},
		{"missing issue", "issue_comment", `{"comment":{}}`, "issue", "missing"},
		{"missing comment", "issue_comment", `{"issue":{}}`, "comment", "missing"},
		{"missing check_run", "check_run", `{}`, "check_run", "missing"},
		{"null check_suite", "check_suite", `{"check_suite":null}`, "check_suite", "missing"},
		{"missing sha", "status", `{"state":"success"}`, "sha", "missing"},
		{"missing ref", "push", `{"after":"x"}`, "ref", "missing"},
		{"missing installation", "installation", `{"action":"created"}`, "installation", "missing"},
		{"missing installation of repositories", "installation_repositories", `{"repositories_added":[]}`, "installation", "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := Parse(tt.event, "d-7", []byte(tt.payload))
			var pe *PayloadError
			if !errors.As(err, &pe) || ev != nil {
				t.Fatalf("Parse() = %v, %v; want a *PayloadError", ev, err)
			}
			if pe.Event != tt.event || pe.Delivery != "d-7" || pe.Field != tt.field {
				t.Errorf("PayloadError = %+v, want event %s, delivery d-7, field %q", pe, tt.event, tt.field)
			}
			msg := err.Error()
			for _, want := range []string{tt.event, "d-7", tt.field, tt.wantIn} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			if errors.Is(err, ErrUnhandled) {
				t.Errorf("error %q matches ErrUnhandled", msg)
			}
		})
	}
}

// TestParseFields checks, on payloads written for the purpose, what the
// examples do not show: the union of pushed files, merged pull requests,
// comment commands, upper-case review states and repositories without
// full_name.
func TestParseFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, event, payload string
		want                 Event
	}{
		{
			"push union", "push", `{
				"ref": "refs/heads/main", "before": "b", "after": "a",
				"repository": {"name": "fleet", "owner": {"login": "acme"}, "default_branch": "main"},
				"installation": {"id": 42}, "sender": {"login": "dev"},
				"commits": [
					{"added": ["x.yaml", "y.yaml"], "modified": ["m.yaml"], "removed": []},
					{"added": ["y.yaml", "z.yaml"], "modified": ["m.yaml", "x.yaml"], "removed": ["old.yaml"]}
				]}`,
			&Push{
				Meta: Meta{Delivery: "d", Name: "push", Installation: 42, Owner: "acme", Repo: "fleet", Sender: "dev"},
				Ref:  "refs/heads/main", Before: "b", After: "a", DefaultBranch: "main",
				Added: []string{"x.yaml", "y.yaml", "z.yaml"}, Modified: []string{"m.yaml", "x.yaml"}, Removed: []string{"old.yaml"},
			},
		},
		{
			"merged pull request", "pull_request", `{
				"action": "closed", "number": 9,
				"pull_request": {"number": 9, "state": "closed", "merged": true, "merge_commit_sha": "abc",
					"title": "Wave 1", "user": {"login": "fleetbot[bot]"},
					"head": {"ref": "fleetbot/w1", "sha": "h"}, "base": {"ref": "main", "sha": "b"}}}`,
			&PullRequest{
				Meta:   Meta{Delivery: "d", Name: "pull_request", Action: "closed"},
				Number: 9, State: "closed", Merged: true, MergeCommitSHA: "abc",
				HeadRef: "fleetbot/w1", HeadSHA: "h", BaseRef: "main", Title: "Wave 1", User: "fleetbot[bot]",
			},
		},
		{
			"comment with commands on a pull request", "issue_comment", `{
				"action": "created",
				"issue": {"number": 3, "pull_request": {"url": "u"}},
				"comment": {"id": 11, "user": {"login": "alice"}, "body": "ok\r\n/fleet skip c1 --reason \"bad node\"\r\n"}}`,
			&Comment{
				Meta:   Meta{Delivery: "d", Name: "issue_comment", Action: "created"},
				Number: 3, PullRequest: true, CommentID: 11, User: "alice",
				Body:     "ok\r\n/fleet skip c1 --reason \"bad node\"\r\n",
				Commands: []Command{{Line: 2, Name: "skip", Args: []string{"c1", "--reason", "bad node"}, Raw: `/fleet skip c1 --reason "bad node"`}},
			},
		},
		{
			"comment on an issue", "issue_comment",
			`{"action":"created","issue":{"number":4,"pull_request":null},"comment":{"id":1,"body":"hi"}}`,
			&Comment{Meta: Meta{Delivery: "d", Name: "issue_comment", Action: "created"}, Number: 4, CommentID: 1, Body: "hi"},
		},
		{
			"upper-case review state", "pull_request_review",
			`{"action":"submitted","review":{"id":5,"state":"APPROVED","user":{"login":"bob"},"commit_id":"c"},"pull_request":{"number":2,"head":{"ref":"h"}}}`,
			&Review{Meta: Meta{Delivery: "d", Name: "pull_request_review", Action: "submitted"}, Number: 2, HeadRef: "h", ReviewID: 5, State: "approved", User: "bob", CommitID: "c"},
		},
		{
			"repositories without full_name", "installation_repositories",
			`{"action":"added","installation":{"id":8,"account":{"login":"acme"}},"repositories_added":[{"name":"fleet"},{"name":"x","full_name":"acme/x"}]}`,
			&InstallationRepositories{Meta: Meta{Delivery: "d", Name: "installation_repositories", Action: "added", Installation: 8}, Account: "acme", Added: []string{"acme/fleet", "acme/x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.event, "d", []byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse()\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// FuzzParse feeds any payload to every handled event: Parse never panics,
// and returns either an event naming the delivery or a *PayloadError.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"pull_request":{"number":1}}`, `{"ref":"r","commits":[{"added":["a","a"]}]}`,
		`{"issue":{"pull_request":{}},"comment":{"body":"/fleet x"}}`, `{"installation":{"id":1e3}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		for name := range eventChecks {
			ev, err := Parse(name, "d", []byte(payload))
			var pe *PayloadError
			switch {
			case err == nil && ev != nil:
				if m := ev.Info(); m.Name != name || m.Delivery != "d" {
					t.Fatalf("%s: Meta = %+v", name, m)
				}
			case errors.As(err, &pe) && ev == nil:
				if pe.Event != name {
					t.Fatalf("%s: error names event %q", name, pe.Event)
				}
			default:
				t.Fatalf("%s: Parse() = %v, %v", name, ev, err)
			}
		}
	})
}
