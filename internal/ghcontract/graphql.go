package ghcontract

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// GraphQL is GitHub's GraphQL schema, ready to check the documents sent to
// POST /graphql and the answers they get. It is safe for concurrent use.
type GraphQL struct {
	schema *ast.Schema
}

// LoadGraphQL reads GitHub's schema in the schema definition language (the
// schema.graphql of @octokit/graphql-schema). The published schema defines
// a few fields twice, identically (EnterpriseOwnerInfo's
// repositoryDeployKeySetting, for one), which the GraphQL specification
// does not allow: the later definition is dropped.
func LoadGraphQL(path string) (*GraphQL, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read graphql schema: %w", err)
	}
	doc, err := parser.ParseSchemas(validator.Prelude, &ast.Source{Name: path, Input: string(data)})
	if err != nil {
		return nil, fmt.Errorf("parse graphql schema %s: %w", path, err)
	}
	for _, def := range doc.Definitions {
		def.Fields = firstOfEach(def.Fields)
	}
	schema, err := validator.ValidateSchemaDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("load graphql schema %s: %w", path, err)
	}
	return &GraphQL{schema: schema}, nil
}

// firstOfEach keeps the first definition of each field name.
func firstOfEach(fields ast.FieldList) ast.FieldList {
	seen := make(map[string]bool, len(fields))
	out := fields[:0]
	for _, f := range fields {
		if !seen[f.Name] {
			seen[f.Name] = true
			out = append(out, f)
		}
	}
	return out
}

// WithGraphQL checks POST /graphql (below the prefix; /api/graphql beside a
// prefix of /api/v3) against g instead of the REST description.
func WithGraphQL(g *GraphQL) Option {
	return func(o *options) { o.graphql = g }
}

// graphqlRequest is the body of a POST /graphql.
type graphqlRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

const graphqlOperation = "graphql"

// isGraphQL tells whether a request goes to the GraphQL endpoint.
func (s *Spec) isGraphQL(method, path string) bool {
	if s.opts.graphql == nil || !strings.EqualFold(method, "POST") {
		return false
	}
	want := s.opts.prefix + "/graphql"
	if api, ok := strings.CutSuffix(s.opts.prefix, "/v3"); ok {
		want = api + "/graphql"
	}
	return path == want
}

// document parses and validates a request's document and variables.
func (g *GraphQL) document(body []byte, mm *Mismatch) (*ast.QueryDocument, *ast.OperationDefinition) {
	var in graphqlRequest
	if err := json.Unmarshal(body, &in); err != nil {
		mm.add(Problem{Where: "request body", Message: "not a GraphQL request: " + err.Error()})
		return nil, nil
	}
	doc, errs := gqlparser.LoadQueryWithRules(g.schema, in.Query, rules.NewDefaultRules())
	for _, e := range errs {
		mm.add(Problem{Where: "request body", Pointer: "/query", Message: gqlMessage(e)})
	}
	if len(errs) > 0 {
		return nil, nil
	}
	op := doc.Operations.ForName(in.OperationName)
	if op == nil {
		mm.add(Problem{Where: "request body", Pointer: "/operationName", Message: fmt.Sprintf("the document has no single operation named %q", in.OperationName)})
		return nil, nil
	}
	if _, err := validator.VariableValues(g.schema, op, in.Variables); err != nil {
		mm.add(Problem{Where: "request body", Pointer: "/variables", Message: gqlMessage(err)})
	}
	return doc, op
}

// gqlMessage reads a gqlparser error with its path and location.
func gqlMessage(err error) string {
	var e *gqlerror.Error
	if errors.As(err, &e) {
		msg := e.Message
		if len(e.Path) > 0 {
			msg = e.Path.String() + ": " + msg
		}
		if len(e.Locations) > 0 {
			msg += fmt.Sprintf(" (line %d, column %d)", e.Locations[0].Line, e.Locations[0].Column)
		}
		return msg
	}
	return err.Error()
}

// checkRequest checks a document and its variables against the schema.
func (g *GraphQL) checkRequest(path string, body []byte) error {
	mm := &Mismatch{Method: "POST", Path: path, OperationID: graphqlOperation}
	g.document(body, mm)
	return mm.orNil()
}

// checkResponse checks an answer against the document that asked for it:
// status 200 (or an HTTP error with GitHub's REST error body), "data" shaped
// as the selection says, field by field, and "errors" each with a message.
func (g *GraphQL) checkResponse(path string, reqBody []byte, status int, body []byte) error {
	mm := &Mismatch{Method: "POST", Path: path, OperationID: graphqlOperation, Status: status}
	if status != 200 {
		var e struct {
			Message *string `json:"message"`
		}
		if json.Unmarshal(body, &e) != nil || e.Message == nil {
			mm.add(Problem{Where: "response body", Message: "an HTTP error carries GitHub's error body with a message"})
		}
		return mm.orNil()
	}
	var out struct {
		Data   json.RawMessage   `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		mm.add(Problem{Where: "response body", Message: "not JSON: " + err.Error()})
		return mm
	}
	for i, raw := range out.Errors {
		var e struct {
			Message *string `json:"message"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Message == nil {
			mm.add(Problem{Where: "response body", Pointer: fmt.Sprintf("/errors/%d", i), Message: "an error has a message"})
		}
	}
	if len(out.Data) == 0 || string(out.Data) == "null" {
		if len(out.Errors) == 0 {
			mm.add(Problem{Where: "response body", Message: "neither data nor errors"})
		}
		return mm.orNil()
	}
	doc, op := g.document(reqBody, &Mismatch{})
	if op == nil {
		return mm.orNil() // the request's own mismatch says why
	}
	var data any
	if err := json.Unmarshal(out.Data, &data); err != nil {
		mm.add(Problem{Where: "response body", Pointer: "/data", Message: err.Error()})
		return mm
	}
	root := g.schema.Query
	if op.Operation == ast.Mutation {
		root = g.schema.Mutation
	}
	g.checkSelection(doc, root, op.SelectionSet, data, "/data", mm)
	return mm.orNil()
}

// checkSelection checks that value is an object of type def holding exactly
// the selected fields, each of its declared type.
func (g *GraphQL) checkSelection(doc *ast.QueryDocument, def *ast.Definition, set ast.SelectionSet, value any, ptr string, mm *Mismatch) {
	obj, ok := value.(map[string]any)
	if !ok {
		mm.add(Problem{Where: "response body", Pointer: ptr, Message: fmt.Sprintf("got %s, want an object of type %s", jsonKind(value), def.Name)})
		return
	}
	selected := map[string]bool{}
	for _, f := range selectedFields(doc, set) {
		key := f.Alias
		if key == "" {
			key = f.Name
		}
		selected[key] = true
		v, has := obj[key]
		if !has {
			mm.add(Problem{Where: "response body", Pointer: ptr + "/" + key, Message: "a selected field is missing"})
			continue
		}
		if f.Definition == nil {
			continue // __typename and the like
		}
		g.checkValue(doc, f.Definition.Type, f.SelectionSet, v, ptr+"/"+key, mm)
	}
	for key := range obj {
		if !selected[key] {
			mm.add(Problem{Where: "response body", Pointer: ptr + "/" + key, Message: "a field no one selected"})
		}
	}
}

// checkValue checks one value against a field's type.
func (g *GraphQL) checkValue(doc *ast.QueryDocument, typ *ast.Type, set ast.SelectionSet, v any, ptr string, mm *Mismatch) {
	if v == nil {
		if typ.NonNull {
			mm.add(Problem{Where: "response body", Pointer: ptr, Message: "null for a non-null " + typ.String()})
		}
		return
	}
	if typ.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			mm.add(Problem{Where: "response body", Pointer: ptr, Message: fmt.Sprintf("got %s, want a list %s", jsonKind(v), typ.String())})
			return
		}
		for i, e := range list {
			g.checkValue(doc, typ.Elem, set, e, fmt.Sprintf("%s/%d", ptr, i), mm)
		}
		return
	}
	def := g.schema.Types[typ.NamedType]
	if def == nil {
		return
	}
	switch def.Kind {
	case ast.Object, ast.Interface, ast.Union:
		g.checkSelection(doc, def, set, v, ptr, mm)
	case ast.Enum:
		if s, ok := v.(string); !ok || def.EnumValues.ForName(s) == nil {
			mm.add(Problem{Where: "response body", Pointer: ptr, Message: fmt.Sprintf("%v is not a value of %s", v, def.Name)})
		}
	case ast.Scalar:
		want := "string"
		switch def.Name {
		case "Int", "Float":
			want = "number"
		case "Boolean":
			want = "boolean"
		}
		if got := jsonKind(v); got != want {
			mm.add(Problem{Where: "response body", Pointer: ptr, Message: fmt.Sprintf("got %s, want %s (%s)", got, want, def.Name)})
		}
	}
}

// selectedFields lists a selection set's fields, fragments spread.
func selectedFields(doc *ast.QueryDocument, set ast.SelectionSet) []*ast.Field {
	var out []*ast.Field
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			out = append(out, sel)
		case *ast.InlineFragment:
			out = append(out, selectedFields(doc, sel.SelectionSet)...)
		case *ast.FragmentSpread:
			if sel.Definition != nil {
				out = append(out, selectedFields(doc, sel.Definition.SelectionSet)...)
			}
		}
	}
	return out
}

// jsonKind names a decoded JSON value's kind.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}
