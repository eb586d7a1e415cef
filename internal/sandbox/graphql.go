package sandbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/fleetbot/fleetbot/internal/sandbox/gitrepo"
)

// The sandbox's GraphQL endpoint answers the mutations fleetbot sends, as
// GitHub does: createRef and createCommitOnBranch, run in the document's
// order. Anything else gets a GraphQL error naming it. GitHub answers 200
// to a document that fails, with the errors beside the data; so does the
// sandbox. Tests check each document against GitHub's GraphQL schema
// (internal/ghcontract).
// https://docs.github.com/graphql/guides/forming-calls-with-graphql

// gqlError is one entry of "errors", with GitHub's type.
type gqlError struct {
	Type    string   `json:"type,omitempty"`
	Path    []string `json:"path,omitempty"`
	Message string   `json:"message"`
}

func (e *gqlError) Error() string { return e.Message }

func gqlErrorf(typ, format string, args ...any) *gqlError {
	return &gqlError{Type: typ, Message: fmt.Sprintf(format, args...)}
}

// graphqlRoutes registers POST /graphql.
func (s *Server) graphqlRoutes() {
	s.mux.HandleFunc("POST /graphql", s.serveGraphQL)
}

func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	who, err := s.authenticate(r, accessUser)
	if err != nil {
		s.writeError(w, r, meter{}, err)
		return
	}
	// GitHub keeps a budget of its own for GraphQL; the sandbox counts
	// these calls against the installation's one budget, which only
	// makes a budget test stricter.
	budget := meter{key: who.budget(), counted: true}
	if !s.limits.admit(&budget) {
		s.refuse(w, r, who, budget.key)
		return
	}
	var in struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		s.writeError(w, r, budget, errorf(http.StatusBadRequest, "Problems parsing JSON"))
		return
	}
	data, errs := s.runGraphQL(r.Context(), who, in.Query, in.OperationName, in.Variables)
	out := map[string]any{}
	if data != nil {
		out["data"] = data
	}
	if len(errs) > 0 {
		out["errors"] = errs
	}
	s.writeJSON(w, r, budget, http.StatusOK, out)
}

// runGraphQL parses the document and runs its mutation's fields in order.
func (s *Server) runGraphQL(ctx context.Context, who *principal, query, name string, vars map[string]any) (map[string]any, []*gqlError) {
	doc, perr := parser.ParseQuery(&ast.Source{Input: query})
	if perr != nil {
		return nil, []*gqlError{{Message: perr.Error()}}
	}
	var op *ast.OperationDefinition
	switch {
	case name != "":
		op = doc.Operations.ForName(name)
	case len(doc.Operations) == 1:
		op = doc.Operations[0]
	}
	if op == nil {
		return nil, []*gqlError{{Message: "the document must name one operation to run (operationName)"}}
	}
	if op.Operation != ast.Mutation {
		return nil, []*gqlError{{Message: "the sandbox answers the mutations createRef and createCommitOnBranch only, not a " + string(op.Operation)}}
	}
	data := map[string]any{}
	var errs []*gqlError
	for _, f := range fields(doc, op.SelectionSet) {
		key := f.Alias
		if key == "" {
			key = f.Name
		}
		input, err := inputArg(f, vars)
		var payload map[string]any
		if err == nil {
			switch f.Name {
			case "createRef":
				payload, err = s.gqlCreateRef(ctx, who, input)
			case "createCommitOnBranch":
				payload, err = s.gqlCreateCommit(ctx, who, input)
			default:
				err = gqlErrorf("", "the sandbox does not answer the mutation %s (only createRef and createCommitOnBranch)", f.Name)
			}
		}
		if err == nil {
			data[key], err = project(doc, payload, f.SelectionSet, f.Name)
		}
		if err != nil {
			var ge *gqlError
			if !errors.As(err, &ge) {
				ge = &gqlError{Message: err.Error()}
			}
			ge.Path = []string{key}
			errs = append(errs, ge)
			data[key] = nil
		}
	}
	return data, errs
}

// fields lists the fields of a selection set, fragments spread.
func fields(doc *ast.QueryDocument, set ast.SelectionSet) []*ast.Field {
	var out []*ast.Field
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			out = append(out, sel)
		case *ast.InlineFragment:
			out = append(out, fields(doc, sel.SelectionSet)...)
		case *ast.FragmentSpread:
			if def := doc.Fragments.ForName(sel.Name); def != nil {
				out = append(out, fields(doc, def.SelectionSet)...)
			}
		}
	}
	return out
}

// inputArg resolves a mutation's input argument with the variables.
func inputArg(f *ast.Field, vars map[string]any) (map[string]any, error) {
	arg := f.Arguments.ForName("input")
	if arg == nil {
		return nil, gqlErrorf("", "%s needs an input argument", f.Name)
	}
	v, err := arg.Value.Value(vars)
	if err != nil {
		return nil, gqlErrorf("", "%s input: %v", f.Name, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, gqlErrorf("", "%s input must be an object", f.Name)
	}
	return m, nil
}

// project keeps of value what the selection set asks for, under each
// field's alias; where names the value in errors.
func project(doc *ast.QueryDocument, value any, set ast.SelectionSet, where string) (any, error) {
	if value == nil || len(set) == 0 {
		return value, nil
	}
	m, ok := value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is a scalar: it takes no selection", where)
	}
	out := map[string]any{}
	for _, f := range fields(doc, set) {
		key := f.Alias
		if key == "" {
			key = f.Name
		}
		v, ok := m[f.Name]
		if !ok {
			return nil, fmt.Errorf("the sandbox does not answer the field %s.%s", where, f.Name)
		}
		p, err := project(doc, v, f.SelectionSet, where+"."+f.Name)
		if err != nil {
			return nil, err
		}
		out[key] = p
	}
	return out, nil
}

// str reads a string field of an input object.
func str(in map[string]any, key string) string {
	v, _ := in[key].(string)
	return v
}

// gqlRepo finds a repository the caller may see, by node id or by
// "owner/name", and runs f under its git lock and the state lock.
func (s *Server) gqlRepo(ctx context.Context, who *principal, id, nameWithOwner string, f func(c *call) (map[string]any, error)) (map[string]any, error) {
	s.mu.Lock()
	var rs *repoState
	for _, r := range s.st.Repos {
		if (id != "" && nodeID("Repository", r.ID) == id) || (id == "" && r.fullName() == nameWithOwner) {
			rs = r
			break
		}
	}
	s.mu.Unlock()
	if rs == nil || !who.canSee(rs.Owner) {
		what := nameWithOwner
		if id != "" {
			what = "with id " + strconv.Quote(id)
		}
		return nil, gqlErrorf("NOT_FOUND", "Could not resolve to a Repository %s.", what)
	}
	repo, err := gitrepo.Open(gitrepo.RepoPath(s.reposRoot(), rs.Owner, rs.Name))
	if err != nil {
		return nil, err
	}
	var out map[string]any
	err = repo.WithLock(ctx, func(ctx context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		var ferr error
		out, ferr = f(&call{who: who, ctx: ctx, rs: rs, repo: repo})
		if ferr != nil {
			return ferr
		}
		return s.save()
	})
	return out, err
}

// gqlRef is a Ref object.
func (s *Server) gqlRef(c *call, name, sha string) map[string]any {
	short := strings.TrimPrefix(name, "refs/heads/")
	return map[string]any{
		"id": "REF_" + base64.RawStdEncoding.EncodeToString([]byte(c.rs.fullName()+":"+name)), "name": short,
		"prefix": strings.TrimSuffix(name, short), "target": map[string]any{"oid": sha, "__typename": "Commit"},
	}
}

// gqlCreateRef: createRef(input: {repositoryId, name, oid}).
func (s *Server) gqlCreateRef(ctx context.Context, who *principal, in map[string]any) (map[string]any, error) {
	name, oid := str(in, "name"), str(in, "oid")
	return s.gqlRepo(ctx, who, str(in, "repositoryId"), "", func(c *call) (map[string]any, error) {
		if !validRef(name) {
			return nil, gqlErrorf("UNPROCESSABLE", "%q is not a valid ref name.", name)
		}
		if typ, err := c.repo.ObjectType(c.ctx, oid); err != nil || typ != "commit" {
			return nil, gqlErrorf("UNPROCESSABLE", "Could not resolve to a commit with oid %q.", oid)
		}
		err := c.repo.UpdateRef(c.ctx, name, oid, zeroSHA)
		switch {
		case errors.Is(err, gitrepo.ErrStale):
			return nil, gqlErrorf("UNPROCESSABLE", "A ref named %q already exists in the repository.", name)
		case errors.Is(err, gitrepo.ErrInvalid):
			return nil, gqlErrorf("UNPROCESSABLE", "%q is not a valid ref name.", name)
		case err != nil:
			return nil, err
		}
		s.refsChanged(c.ctx, c.rs, c.repo, c.who.login, []gitrepo.RefUpdate{{Name: name, Old: zeroSHA, New: oid}})
		return map[string]any{"clientMutationId": in["clientMutationId"], "ref": s.gqlRef(c, name, oid)}, nil
	})
}

// gqlCreateCommit: createCommitOnBranch(input: {branch, expectedHeadOid,
// message, fileChanges}). The commit's parent is the branch's head, which
// must be expectedHeadOid; the App's commits are committed by GitHub and
// signed, as on GitHub.
func (s *Server) gqlCreateCommit(ctx context.Context, who *principal, in map[string]any) (map[string]any, error) {
	branch, _ := in["branch"].(map[string]any)
	if str(branch, "id") != "" {
		return nil, gqlErrorf("", "the sandbox finds a branch by repositoryNameWithOwner and branchName, not by id")
	}
	nwo, name := str(branch, "repositoryNameWithOwner"), strings.TrimPrefix(str(branch, "branchName"), "refs/heads/")
	return s.gqlRepo(ctx, who, "", nwo, func(c *call) (map[string]any, error) {
		ref := "refs/heads/" + name
		head, err := c.repo.ResolveRef(c.ctx, ref)
		if err != nil {
			return nil, gqlErrorf("NOT_FOUND", "A ref named %q does not exist in %s.", ref, nwo)
		}
		if want := str(in, "expectedHeadOid"); want != head {
			return nil, gqlErrorf("STALE_DATA", "Expected branch to point to %q but it did not. Pull and try again.", want)
		}
		ci, err := c.repo.Commit(c.ctx, head)
		if err != nil {
			return nil, err
		}
		changes, err := fileChanges(c, in["fileChanges"])
		if err != nil {
			return nil, err
		}
		tree, err := c.repo.WriteTree(c.ctx, ci.Tree, changes)
		if errors.Is(err, gitrepo.ErrInvalid) {
			return nil, gqlErrorf("UNPROCESSABLE", "%v", err)
		}
		if err != nil {
			return nil, err
		}
		msg, _ := in["message"].(map[string]any)
		message := str(msg, "headline")
		if body := str(msg, "body"); body != "" {
			message += "\n\n" + body
		}
		author := s.signature(c.who)
		committer := author
		if c.who.inst != nil {
			committer = gitrepo.Signature{Name: "GitHub", Email: webFlowEmail, When: author.When}
		}
		sha, err := c.repo.WriteCommit(c.ctx, gitrepo.CommitInfo{Tree: tree, Parents: []string{head},
			Author: author, Committer: committer, Message: message})
		if err != nil {
			return nil, err
		}
		if err := c.repo.UpdateRef(c.ctx, ref, sha, head); err != nil {
			if errors.Is(err, gitrepo.ErrStale) {
				return nil, gqlErrorf("STALE_DATA", "Expected branch to point to %q but it did not. Pull and try again.", head)
			}
			return nil, err
		}
		s.refsChanged(c.ctx, c.rs, c.repo, c.who.login, []gitrepo.RefUpdate{{Name: ref, Old: head, New: sha}})
		commit := map[string]any{"oid": sha, "url": s.api("/%s/commit/%s", c.rs.fullName(), sha), "message": message,
			"messageHeadline": str(msg, "headline"), "messageBody": str(msg, "body")}
		return map[string]any{"clientMutationId": in["clientMutationId"], "commit": commit, "ref": s.gqlRef(c, ref, sha)}, nil
	})
}

// fileChanges reads FileChanges: additions write blobs, deletions remove
// paths. Contents are base64, as the schema's Base64String says.
func fileChanges(c *call, v any) ([]gitrepo.TreeChange, error) {
	fc, _ := v.(map[string]any)
	var out []gitrepo.TreeChange
	adds, _ := fc["additions"].([]any)
	for i, a := range adds {
		add, _ := a.(map[string]any)
		content, err := base64.StdEncoding.DecodeString(str(add, "contents"))
		if err != nil {
			return nil, gqlErrorf("", "fileChanges.additions[%d].contents is not base64: %v", i, err)
		}
		sha, err := c.repo.WriteBlob(c.ctx, content)
		if err != nil {
			return nil, err
		}
		out = append(out, gitrepo.TreeChange{Path: str(add, "path"), Mode: "100644", SHA: sha})
	}
	dels, _ := fc["deletions"].([]any)
	for _, d := range dels {
		del, _ := d.(map[string]any)
		out = append(out, gitrepo.TreeChange{Path: str(del, "path"), Mode: "100644"})
	}
	return out, nil
}
