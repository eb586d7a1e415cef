package ghcontract

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"testing"
)

// botOperations are the operations fleetbot calls and the sandbox serves.
var botOperations = []string{
	"repos/get", "repos/get-content", "git/create-blob", "git/get-blob", "git/create-tree",
	"git/get-tree", "git/create-commit", "git/get-commit", "git/get-ref", "git/create-ref",
	"git/update-ref", "git/delete-ref", "git/list-matching-refs", "repos/compare-commits",
	"pulls/list", "pulls/get", "pulls/create", "pulls/update", "pulls/list-files", "pulls/merge",
	"pulls/request-reviewers", "pulls/list-requested-reviewers", "pulls/list-reviews",
	"pulls/create-review", "issues/add-labels", "issues/list-comments", "issues/create-comment",
	"issues/update-comment", "reactions/create-for-issue-comment", "checks/create", "checks/update",
	"checks/list-for-ref", "repos/create-commit-status", "repos/list-commit-statuses-for-ref",
	"repos/get-combined-status-for-ref", "repos/get-collaborator-permission-level",
	"teams/get-membership-for-user-in-org", "apps/get-authenticated", "apps/list-installations",
	"apps/create-installation-access-token", "apps/get-repo-installation",
	"apps/list-repos-accessible-to-installation", "repos/create-in-org",
	"repos/create-for-authenticated-user", "issues/create", "issues/get", "issues/update",
}

// knownMismatch is an example in GitHub's description that does not match
// its own schema: the pointers of the bad values and why.
type knownMismatch struct {
	pointers []string
	reason   string
}

const (
	teamType     = "GitHub added the required property type to the team schema but not to its examples"
	discussions  = "GitHub made has_discussions required in the repository schema but the example predates it"
	allOfAccount = "the inline schema of this response says account is allOf [Simple User, Enterprise] " +
		"where components/schemas/installation says anyOf; no account can be both, so real responses fail too"
)

// knownExampleMismatches are the examples of botOperations that fail
// against their own schema in @octokit/openapi 23.0.2. TestExamples fails
// on any other mismatch, on a different set of bad values for one of
// these, and on an entry that has started to pass.
var knownExampleMismatches = map[string]knownMismatch{
	"repos/get response 200 application/json default-response": {
		[]string{"/language", "/source/language"},
		"the example omits language, which the full-repository schema requires (nullable)",
	},
	"pulls/list response 200 application/json default":                     {[]string{"/0/requested_teams/0/type"}, teamType},
	"pulls/get response 200 application/json default":                      {[]string{"/requested_teams/0/type"}, teamType},
	"pulls/create response 201 application/json default":                   {[]string{"/requested_teams/0/type"}, teamType},
	"pulls/update response 200 application/json default":                   {[]string{"/requested_teams/0/type"}, teamType},
	"pulls/request-reviewers response 201 application/json default":        {[]string{"/requested_teams/0/type"}, teamType},
	"pulls/list-requested-reviewers response 200 application/json default": {[]string{"/teams/0/type"}, teamType},
	"repos/get-collaborator-permission-level response 200 application/json response-if-user-has-admin-permissions": {
		[]string{"/user/role_name"},
		"the example's user omits role_name, which the collaborator schema requires",
	},
	"apps/list-installations response 200 application/json default": {
		[]string{"/0/account/created_at", "/0/account/name", "/0/account/slug", "/0/account/updated_at"}, allOfAccount,
	},
	"repos/create-in-org response 201 application/json default":                 {[]string{"/has_discussions"}, discussions},
	"repos/create-for-authenticated-user response 201 application/json default": {[]string{"/has_discussions"}, discussions},
}

// example is one documented example body of an operation.
type example struct {
	name   string // "pulls/get response 200 application/json default"
	status int    // 0 for a request body
	media  string
	body   []byte
}

func TestExamples(t *testing.T) {
	s := Default(t)
	passed, total := 0, 0
	seen := map[string]bool{}
	for _, id := range botOperations {
		op, ok := s.Operation(id)
		if !ok {
			t.Errorf("operation %s is not in the description", id)
			continue
		}
		for _, ex := range examplesOf(t, s.doc, op) {
			total++
			var err error
			h := http.Header{"Content-Type": {ex.media}}
			if ex.status == 0 {
				mm := &Mismatch{Method: op.Method, Path: op.Template, OperationID: op.ID}
				if err = s.doc.checkRequestBody(op, h, ex.body, mm); err == nil {
					err = mm.orNil()
				}
			} else {
				err = s.doc.checkResponse(op, op.Template, ex.status, h, ex.body)
			}
			want, known := knownExampleMismatches[ex.name]
			switch {
			case err == nil && known:
				t.Errorf("%s: passes now; remove it from knownExampleMismatches (%s)", ex.name, want.reason)
			case err == nil:
				passed++
			case !known:
				t.Errorf("%s: %v", ex.name, err)
			default:
				seen[ex.name] = true
				if got := pointers(err); !slices.Equal(got, want.pointers) {
					t.Errorf("%s: bad values at %q, want %q (%s):\n%v", ex.name, got, want.pointers, want.reason, err)
				}
			}
		}
	}
	if total == 0 {
		t.Fatal("found no examples")
	}
	for name := range knownExampleMismatches {
		if !seen[name] {
			t.Errorf("%s: listed in knownExampleMismatches but no such failing example was found", name)
		}
	}
	t.Logf("%d of %d documented examples of %d operations pass; %d are known mismatches",
		passed, total, len(botOperations), len(knownExampleMismatches))
}

// pointers lists the JSON pointers of a *Mismatch's problems.
func pointers(err error) []string {
	var mm *Mismatch
	if !errors.As(err, &mm) {
		return []string{err.Error()}
	}
	out := make([]string, len(mm.Problems))
	for i, p := range mm.Problems {
		out[i] = p.Pointer
	}
	return out
}

// examplesOf lists the example bodies of op's request and responses.
func examplesOf(t *testing.T, d *document, op *Operation) []example {
	t.Helper()
	var out []example
	add := func(prefix string, status int, content map[string]rawMedia) {
		for _, media := range sortedKeys(content) {
			m := content[media]
			if len(m.Example) > 0 {
				out = append(out, example{name: prefix + " " + media + " example", status: status, media: media, body: m.Example})
			}
			for _, name := range sortedKeys(m.Examples) {
				raw, err := d.resolve(m.Examples[name], "examples")
				if err != nil {
					t.Fatalf("%s %s example %s: %v", prefix, media, name, err)
				}
				var ex struct {
					Value json.RawMessage `json:"value"`
				}
				if err := json.Unmarshal(raw, &ex); err != nil {
					t.Fatalf("%s %s example %s: %v", prefix, media, name, err)
				}
				// A few entries hold their value as a reference to another
				// example, {"value": {"$ref": ...}}: follow it.
				if value, err := d.resolve(ex.Value, "examples"); err == nil && string(value) != string(ex.Value) {
					if err := json.Unmarshal(value, &ex); err != nil {
						t.Fatalf("%s %s example %s: %v", prefix, media, name, err)
					}
				}
				if len(ex.Value) > 0 {
					out = append(out, example{name: prefix + " " + media + " " + name, status: status, media: media, body: ex.Value})
				}
			}
		}
	}
	if len(op.raw.RequestBody) > 0 {
		var rb rawBody
		raw, err := d.resolve(op.raw.RequestBody, "requestBodies")
		if err == nil {
			err = json.Unmarshal(raw, &rb)
		}
		if err != nil {
			t.Fatalf("%s request body: %v", op.ID, err)
		}
		add(op.ID+" request", 0, rb.Content)
	}
	for _, key := range sortedKeys(op.raw.Responses) {
		status, err := strconv.Atoi(key)
		if err != nil {
			continue // default or a range: no single status to send
		}
		var rb rawBody
		raw, err := d.resolve(op.raw.Responses[key], "responses")
		if err == nil {
			err = json.Unmarshal(raw, &rb)
		}
		if err != nil {
			t.Fatalf("%s response %s: %v", op.ID, key, err)
		}
		add(op.ID+" response "+key, status, rb.Content)
	}
	return out
}
