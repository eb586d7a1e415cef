// Package iam holds the AWS IAM policies fleetbot's docs give; its test
// checks them against the AWS calls the code makes.
package iam

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

// principal says under which policy the calls of a source file run: the
// bot's role, a tenant's verify role, or whoever runs `fleetbot store init`.
// A file with AWS calls that is not listed fails the test, so a new caller
// is placed on purpose.
var principal = map[string]map[string]string{ // file -> service -> policy file
	"rollout/store/dynamostore/deliveries.go":  {"dynamodb": "fleetbot-policy.json"},
	"rollout/store/dynamostore/dynamostore.go": {"dynamodb": "fleetbot-policy.json"},
	"rollout/store/dynamostore/leases.go":      {"dynamodb": "fleetbot-policy.json"},
	"rollout/store/dynamostore/locks.go":       {"dynamodb": "fleetbot-policy.json"},
	"rollout/store/dynamostore/parts.go":       {"dynamodb": "fleetbot-policy.json"},
	"rollout/store/dynamostore/records.go":     {"dynamodb": "fleetbot-policy.json"},
	"rollout/store/dynamostore/table.go":       {"dynamodb": "store-init-policy.json"},
	// The eks gate assumes each tenant's role with the bot's own
	// credentials, then reads EKS as that role.
	"rollout/gate/eks.go": {"sts": "fleetbot-policy.json", "eks": "tenant-verify-policy.json"},
	// The preflight gate reads EKS as the same role.
	"rollout/gate/preflight.go": {"eks": "tenant-verify-policy.json"},
}

// unscoped are the actions IAM cannot limit to a resource: a statement
// granting them must name every resource ("*"), and may grant nothing
// else. EKS's add-on catalogue is not a resource of any account.
var unscoped = map[string]bool{"eks:DescribeAddonVersions": true}

// permissionPolicies are the policies that grant actions; each must grant
// exactly what the code calls under it.
var permissionPolicies = []string{"fleetbot-policy.json", "tenant-verify-policy.json", "store-init-policy.json"}

const sdk = "github.com/aws/aws-sdk-go-v2/"

// transactActions are the IAM actions a TransactWriteItems item needs, by
// the item's field.
var transactActions = map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}

// call is one AWS action the code needs, where.
type call struct {
	action string // service:Operation
	pos    string
}

// awsCalls finds the AWS actions a Go file needs: every operation input
// (service.XxxInput{...}), each item kind of a transaction, and AssumeRole
// through stscreds.
func awsCalls(t *testing.T, fset *token.FileSet, f *ast.File) []call {
	t.Helper()
	imports := map[string]string{} // local name -> path
	for _, im := range f.Imports {
		p, err := strconv.Unquote(im.Path.Value)
		require.NoError(t, err)
		name := p[strings.LastIndex(p, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = p
	}
	var out []call
	add := func(n ast.Node, action string) {
		out = append(out, call{action: action, pos: fset.Position(n.Pos()).String()})
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			sel, ok := n.Type.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			path := imports[pkg.Name]
			service, isService := strings.CutPrefix(path, sdk+"service/")
			switch {
			case service == "dynamodb" && sel.Sel.Name == "TransactWriteItemsInput":
				// Not an IAM action: each item of the transaction is
				// authorised as its own kind, below.
			case isService && !strings.Contains(service, "/") && strings.HasSuffix(sel.Sel.Name, "Input"):
				add(n, service+":"+strings.TrimSuffix(sel.Sel.Name, "Input"))
			case path == sdk+"service/dynamodb/types" && sel.Sel.Name == "TransactWriteItem":
				for _, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						key := kv.Key.(*ast.Ident).Name
						require.Contains(t, transactActions, key, "%s: a transaction item of an unknown kind", fset.Position(kv.Pos()))
						add(kv, "dynamodb:"+transactActions[key])
					}
				}
			}
		case *ast.SelectorExpr:
			if pkg, ok := n.X.(*ast.Ident); ok && imports[pkg.Name] == sdk+"credentials/stscreds" && n.Sel.Name == "NewAssumeRoleProvider" {
				add(n, "sts:AssumeRole")
			}
		}
		return true
	})
	return out
}

// codeActions returns, per policy file, the actions the module's code
// needs under it, with where each is called.
func codeActions(t *testing.T, root string) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			// Test fakes and tools speak AWS's protocols; they call nothing.
			if strings.HasPrefix(d.Name(), ".") || rel == "tools" || strings.HasPrefix(rel, "internal/fake") || rel == "internal/testenv" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, c := range awsCalls(t, fset, f) {
			service := c.action[:strings.Index(c.action, ":")]
			policy, ok := principal[rel][service]
			if !ok {
				t.Errorf("%s calls %s, under no known role: add the file to principal and the action to a policy", c.pos, c.action)
				continue
			}
			if out[policy] == nil {
				out[policy] = map[string][]string{}
			}
			out[policy][c.action] = append(out[policy][c.action], c.pos)
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// policy is the part of an IAM policy document the test reads.
type policy struct {
	Version   string
	Statement []struct {
		Sid       string
		Effect    string
		Action    stringOrList
		Resource  stringOrList
		Principal map[string]stringOrList
		Condition map[string]map[string]stringOrList
	}
}

// stringOrList is an IAM field that holds one string or a list of them.
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

func readPolicy(t *testing.T, name string) policy {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var p policy
	require.NoError(t, dec.Decode(&p), name)
	require.Equal(t, "2012-10-17", p.Version, name)
	return p
}

// TestPoliciesGrantWhatTheCodeCalls: every AWS action the code calls is
// granted by the policy of the role it runs under, and each policy grants
// only those actions: no wildcard, nothing unused, every resource named.
func TestPoliciesGrantWhatTheCodeCalls(t *testing.T) {
	t.Parallel()
	need := codeActions(t, testenv.ModuleRoot(t))
	require.NotEmpty(t, need["fleetbot-policy.json"], "the scan finds the store's calls")
	for _, name := range permissionPolicies {
		p := readPolicy(t, name)
		granted := map[string]bool{}
		for _, st := range p.Statement {
			require.Equal(t, "Allow", st.Effect, "%s %s", name, st.Sid)
			require.NotEmpty(t, st.Resource, "%s %s names its resources", name, st.Sid)
			for _, r := range st.Resource {
				if r != "*" {
					continue
				}
				for _, a := range st.Action {
					assert.True(t, unscoped[a], "%s %s: a resource of any kind for %s, which IAM can scope", name, st.Sid, a)
				}
			}
			for _, a := range st.Action {
				assert.NotContains(t, a, "*", "%s %s: a wildcard action", name, st.Sid)
				granted[a] = true
			}
		}
		for action, where := range need[name] {
			assert.True(t, granted[action], "%s does not grant %s, called at %s", name, action, strings.Join(where, ", "))
		}
		for _, action := range slices.Sorted(maps.Keys(granted)) {
			_, used := need[name][action]
			assert.True(t, used, "%s grants %s, which no code calls under it", name, action)
		}
	}
}

// TestTrustPolicies: the bot's role trusts EKS Pod Identity or the
// cluster's OIDC provider for its service account only, and a tenant's
// verify role trusts the bot's role, with the external id the campaign's
// eks gate passes.
func TestTrustPolicies(t *testing.T) {
	t.Parallel()
	pod := readPolicy(t, "fleetbot-trust-pod-identity.json").Statement[0]
	assert.Equal(t, stringOrList{"pods.eks.amazonaws.com"}, pod.Principal["Service"])
	assert.Equal(t, stringOrList{"sts:AssumeRole", "sts:TagSession"}, pod.Action)
	assert.Contains(t, pod.Condition["StringEquals"], "aws:RequestTag/kubernetes-service-account")

	irsa := readPolicy(t, "fleetbot-trust-irsa.json").Statement[0]
	assert.Equal(t, stringOrList{"sts:AssumeRoleWithWebIdentity"}, irsa.Action)
	assert.Equal(t, stringOrList{"system:serviceaccount:${Namespace}:${ServiceAccount}"}, irsa.Condition["StringEquals"]["${OidcProvider}:sub"])

	tenant := readPolicy(t, "tenant-verify-trust.json").Statement[0]
	assert.Equal(t, stringOrList{"arn:aws:iam::${HubAccountId}:role/fleetbot"}, tenant.Principal["AWS"])
	assert.Contains(t, tenant.Action, "sts:AssumeRole")
	assert.Contains(t, tenant.Condition["StringEquals"], "sts:ExternalId")

	// The bot may assume exactly the role name the trust is written for.
	bot := readPolicy(t, "fleetbot-policy.json")
	var assume []string
	for _, st := range bot.Statement {
		if slices.Contains(st.Action, "sts:AssumeRole") {
			assume = append(assume, st.Resource...)
		}
	}
	assert.Equal(t, []string{"arn:aws:iam::*:role/fleetbot-verify"}, assume)
}

// TestDocsShowThePolicies: docs/iam.md shows each policy file as it is.
func TestDocsShowThePolicies(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "docs", "iam.md"))
	require.NoError(t, err)
	files, err := filepath.Glob("*.json")
	require.NoError(t, err)
	require.Len(t, files, 6)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Contains(t, string(doc), "`deploy/iam/"+f+"`", "docs/iam.md names %s", f)
		assert.Contains(t, string(doc), "```json\n"+string(b)+"```\n", "docs/iam.md shows %s as it is", f)
	}
}
