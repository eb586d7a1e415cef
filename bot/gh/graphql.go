package gh

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// graphqlPath is the path of GitHub's GraphQL endpoint for a REST API root:
// /graphql on github.com, /api/graphql beside GitHub Enterprise Server's
// /api/v3/.
func graphqlPath(restRoot string) string {
	root := strings.TrimSuffix(restRoot, "/")
	if api, ok := strings.CutSuffix(root, "/api/v3"); ok {
		return api + "/api/graphql"
	}
	return root + "/graphql"
}

// graphqlError is one entry of a GraphQL answer's "errors".
type graphqlError struct {
	Type    string   `json:"type"`
	Message string   `json:"message"`
	Path    []string `json:"path"`
}

// graphql sends one GraphQL document with its variables and decodes the
// answer's data into out. GitHub answers a document that fails in part with
// 200, the data it could give and the errors; those come back as they are,
// for the caller to read with the data.
// https://docs.github.com/graphql/guides/forming-calls-with-graphql
func (c *Client) graphql(ctx context.Context, op, query string, vars map[string]any, out any) ([]graphqlError, error) {
	base, err := url.Parse(c.gh.BaseURL())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	u := url.URL{Scheme: base.Scheme, Host: base.Host, Path: graphqlPath(base.Path)}
	req, err := c.gh.NewRequest(ctx, "POST", u.String(), map[string]any{"query": query, "variables": vars})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var answer struct {
		Data   json.RawMessage `json:"data"`
		Errors []graphqlError  `json:"errors"`
	}
	if _, err := c.gh.Do(req, &answer); err != nil {
		return nil, mapError(op, err)
	}
	if len(answer.Data) == 0 || string(answer.Data) == "null" {
		if len(answer.Errors) == 0 {
			return nil, fmt.Errorf("%s: github answered no data and no error", op)
		}
		return answer.Errors, nil
	}
	if err := json.Unmarshal(answer.Data, out); err != nil {
		return nil, fmt.Errorf("%s: decode data: %w", op, err)
	}
	return answer.Errors, nil
}

// FileChange is one file of a commit written through GraphQL: its new
// content, or Delete to remove it.
type FileChange struct {
	Path    string
	Content []byte
	Delete  bool
}

// BranchCommit is what CommitOnNewBranch did.
type BranchCommit struct {
	// SHA is the commit written on the branch.
	SHA string
	// Created is true when this call created the branch; false when the
	// branch was there already, at the base.
	Created bool
}

// commitOnNewBranch creates the branch at the base and appends the commit
// to it, in one document: GitHub runs a document's mutations in order, and
// the commit's expectedHeadOid holds it to a branch still at the base. A
// branch left at the base (by a call cut short) takes the commit all the
// same; a branch anywhere else takes nothing.
const commitOnNewBranch = `mutation($ref: CreateRefInput!, $commit: CreateCommitOnBranchInput!) {
  createRef(input: $ref) { ref { name } }
  createCommitOnBranch(input: $commit) { commit { oid } }
}`

// CommitOnNewBranch creates branch at base and writes files on it as one
// commit, in one call: GraphQL's createRef and createCommitOnBranch, which
// GitHub signs (Verified) as the App's. repoID is the repository's node id.
// The message's first line is the commit's headline, the rest its body.
// When the branch already points elsewhere, nothing is written and the
// error matches ErrConflict.
// https://docs.github.com/graphql/reference/mutations#createref
// https://docs.github.com/graphql/reference/mutations#createcommitonbranch
func (c *Client) CommitOnNewBranch(ctx context.Context, owner, repo, repoID, branch, base, message string, files []FileChange) (BranchCommit, error) {
	op := fmt.Sprintf("commit on new branch %s in %s", branch, repoPath(owner, repo))
	headline, body, _ := strings.Cut(message, "\n")
	additions, deletions := []map[string]any{}, []map[string]any{}
	for _, f := range files {
		if f.Delete {
			deletions = append(deletions, map[string]any{"path": f.Path})
			continue
		}
		additions = append(additions, map[string]any{"path": f.Path, "contents": base64.StdEncoding.EncodeToString(f.Content)})
	}
	vars := map[string]any{
		"ref": map[string]any{"repositoryId": repoID, "name": "refs/heads/" + branch, "oid": base},
		"commit": map[string]any{
			"branch":          map[string]any{"repositoryNameWithOwner": repoPath(owner, repo), "branchName": branch},
			"expectedHeadOid": base,
			"message":         map[string]any{"headline": headline, "body": strings.TrimLeft(body, "\n")},
			"fileChanges":     map[string]any{"additions": additions, "deletions": deletions},
		},
	}
	var data struct {
		CreateRef *struct {
			Ref *struct{ Name string } `json:"ref"`
		} `json:"createRef"`
		CreateCommitOnBranch *struct {
			Commit *struct{ OID string } `json:"commit"`
		} `json:"createCommitOnBranch"`
	}
	errs, err := c.graphql(ctx, op, commitOnNewBranch, vars, &data)
	if err != nil {
		return BranchCommit{}, err
	}
	if cc := data.CreateCommitOnBranch; cc != nil && cc.Commit != nil && cc.Commit.OID != "" {
		created := data.CreateRef != nil && data.CreateRef.Ref != nil
		return BranchCommit{SHA: cc.Commit.OID, Created: created}, nil
	}
	return BranchCommit{}, graphqlFailure(op, errs)
}

// graphqlFailure is the error of a mutation that wrote nothing: a *Error
// whose kind follows GitHub's error types (STALE_DATA: the branch moved,
// ErrConflict; NOT_FOUND: ErrNotFound; UNPROCESSABLE: ErrInvalid).
func graphqlFailure(op string, errs []graphqlError) error {
	if len(errs) == 0 {
		return fmt.Errorf("%s: github wrote no commit and gave no error", op)
	}
	msgs := make([]string, 0, len(errs))
	var kind error
	for _, e := range errs {
		msgs = append(msgs, e.Message)
		// The branch having moved says most; else the first kind.
		if k := graphqlKind(e.Type); kind == nil || errors.Is(k, ErrConflict) {
			kind = k
		}
	}
	return &Error{Op: op, Status: 200, Message: strings.Join(msgs, "; "), kind: kind}
}

// graphqlKind maps a GraphQL error type to this package's sentinels.
func graphqlKind(typ string) error {
	switch typ {
	case "STALE_DATA":
		return ErrConflict
	case "NOT_FOUND":
		return ErrNotFound
	case "UNPROCESSABLE":
		return ErrInvalid
	}
	return nil
}
