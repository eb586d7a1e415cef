package ghcontract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// rawBody is a request body or response object: its media types.
type rawBody struct {
	Required bool                `json:"required"`
	Content  map[string]rawMedia `json:"content"`
}

type rawMedia struct {
	Schema   json.RawMessage            `json:"schema"`
	Example  json.RawMessage            `json:"example"`
	Examples map[string]json.RawMessage `json:"examples"`
}

// CheckRequest checks a request the bot sends, or the sandbox receives,
// against its operation: the path parameters, the documented query
// parameters (required ones must be there; types and enums must fit) and
// the JSON body, whose bytes body holds because r.Body may have been read.
// It returns a *Mismatch, or nil when the request is one GitHub documents.
func (s *Spec) CheckRequest(r *http.Request, body []byte) error {
	return s.checkRequest(r.Method, r.URL, r.Header, body)
}

// CheckResponse checks a response to r: status must be documented for the
// operation (or covered by a default), and body must fit that status's JSON
// schema. A body where GitHub documents none, and no body where it
// documents one, are mismatches too; 204, 304 and HEAD carry no body.
func (s *Spec) CheckResponse(r *http.Request, status int, h http.Header, body []byte) error {
	if s.isGraphQL(r.Method, r.URL.EscapedPath()) {
		return fmt.Errorf("%s %s: a GraphQL answer is checked against its document: use Middleware or Transport", r.Method, r.URL.EscapedPath())
	}
	return s.checkResponse(r.Method, r.URL, nil, status, h, body)
}

func (s *Spec) checkRequest(method string, u *url.URL, h http.Header, body []byte) error {
	if s.isGraphQL(method, u.EscapedPath()) {
		return s.opts.graphql.checkRequest(u.EscapedPath(), body)
	}
	op, params, err := s.Match(method, u.EscapedPath())
	if err != nil {
		return err
	}
	mm := &Mismatch{Method: op.Method, Path: u.EscapedPath(), OperationID: op.ID}
	ps, err := s.doc.parameters(op)
	if err != nil {
		return fmt.Errorf("%s %s (%s): %w", op.Method, mm.Path, op.ID, err)
	}
	for _, in := range []string{"path", "query"} {
		var values url.Values
		if in == "path" {
			values = url.Values{}
			for k, v := range params {
				values.Set(k, v)
			}
		} else {
			values = u.Query()
		}
		if err := s.doc.checkParams(op, in, ps, values, mm); err != nil {
			return err
		}
	}
	if err := s.doc.checkRequestBody(op, h, body, mm); err != nil {
		return err
	}
	return mm.orNil()
}

func (s *Spec) checkResponse(method string, u *url.URL, reqBody []byte, status int, h http.Header, body []byte) error {
	if s.isGraphQL(method, u.EscapedPath()) {
		return s.opts.graphql.checkResponse(u.EscapedPath(), reqBody, status, body)
	}
	op, _, err := s.Match(method, u.EscapedPath())
	if err != nil {
		return err
	}
	return s.doc.checkResponse(op, u.EscapedPath(), status, h, body)
}

// checkResponse checks a response of op; path is only for the report.
func (d *document) checkResponse(op *Operation, path string, status int, h http.Header, body []byte) error {
	mm := &Mismatch{Method: op.Method, Path: path, OperationID: op.ID, Status: status}
	key, raw, ok := responseFor(op, status)
	if !ok && rateLimited(status, h) {
		// GitHub refuses any request this way once the primary rate limit
		// is spent, and documents it once for the whole API, not per
		// operation.
		// https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
		content := map[string]rawMedia{"application/json": {Schema: json.RawMessage(`{"$ref":"#/components/schemas/basic-error"}`)}}
		if err := d.checkBody(op, "rate limit "+strconv.Itoa(status), response, "response body", content, h.Get("Content-Type"), body, mm); err != nil {
			return err
		}
		return mm.orNil()
	}
	if !ok {
		mm.add(Problem{Where: "status", Message: fmt.Sprintf("%d is not documented; GitHub documents %s",
			status, strings.Join(sortedKeys(op.raw.Responses), ", "))})
		return mm
	}
	raw, err := d.resolve(raw, "responses")
	if err != nil {
		return fmt.Errorf("%s %s (%s) response %s: %w", op.Method, mm.Path, op.ID, key, err)
	}
	var rb rawBody
	if err := json.Unmarshal(raw, &rb); err != nil {
		return fmt.Errorf("%s %s (%s) response %s: %w", op.Method, mm.Path, op.ID, key, err)
	}
	empty := len(bytes.TrimSpace(body)) == 0
	if status == http.StatusNoContent || status == http.StatusNotModified || status < 200 || op.Method == http.MethodHead {
		if !empty {
			mm.add(Problem{Where: "response body", Message: fmt.Sprintf("status %d carries no body, got %d bytes", status, len(body))})
		}
		return mm.orNil()
	}
	if len(rb.Content) == 0 {
		if !empty {
			mm.add(Problem{Where: "response body", Message: fmt.Sprintf("GitHub documents no body for status %s, got %d bytes", key, len(body))})
		}
		return mm.orNil()
	}
	if empty {
		mm.add(Problem{Where: "response body", Message: fmt.Sprintf("empty; GitHub documents %s", strings.Join(sortedKeys(rb.Content), ", "))})
		return mm.orNil()
	}
	if err := d.checkBody(op, "response "+key, response, "response body", rb.Content, h.Get("Content-Type"), body, mm); err != nil {
		return err
	}
	return mm.orNil()
}

// rateLimited reports whether a response is GitHub's refusal of a request
// over the primary rate limit: 403 or 429 with X-RateLimit-Remaining 0.
func rateLimited(status int, h http.Header) bool {
	return (status == http.StatusForbidden || status == http.StatusTooManyRequests) && h.Get("X-RateLimit-Remaining") == "0"
}

// responseFor picks the documented response for status: its own code, then
// a range such as 4XX, then default.
func responseFor(op *Operation, status int) (string, json.RawMessage, bool) {
	for _, key := range []string{strconv.Itoa(status), strconv.Itoa(status/100) + "XX", "default"} {
		if raw, ok := op.raw.Responses[key]; ok {
			return key, raw, true
		}
	}
	return "", nil, false
}

func (d *document) checkRequestBody(op *Operation, h http.Header, body []byte, mm *Mismatch) error {
	var rb rawBody
	if len(op.raw.RequestBody) > 0 {
		raw, err := d.resolve(op.raw.RequestBody, "requestBodies")
		if err != nil {
			return fmt.Errorf("%s %s (%s) request body: %w", op.Method, mm.Path, op.ID, err)
		}
		if err := json.Unmarshal(raw, &rb); err != nil {
			return fmt.Errorf("%s %s (%s) request body: %w", op.Method, mm.Path, op.ID, err)
		}
	}
	empty := len(bytes.TrimSpace(body)) == 0
	switch {
	case empty && rb.Required:
		mm.add(Problem{Where: "request body", Message: fmt.Sprintf("missing; GitHub requires %s", strings.Join(sortedKeys(rb.Content), ", "))})
		return nil
	case empty:
		return nil
	case len(rb.Content) == 0:
		mm.add(Problem{Where: "request body", Message: fmt.Sprintf("GitHub documents no body for this operation, got %d bytes", len(body))})
		return nil
	}
	return d.checkBody(op, "request", request, "request body", rb.Content, h.Get("Content-Type"), body, mm)
}

// checkBody validates body against the schema of the media type that
// contentType selects from content.
func (d *document) checkBody(op *Operation, part string, dir direction, where string,
	content map[string]rawMedia, contentType string, body []byte, mm *Mismatch,
) error {
	media, ok, why := pickMedia(content, contentType)
	if !ok {
		mm.add(Problem{Where: where, Message: why})
		return nil
	}
	if !isJSON(media) || len(content[media].Schema) == 0 {
		return nil // GitHub documents no JSON schema for it: nothing to check
	}
	return d.checkJSON(op, part, dir, where, media, content[media].Schema, body, mm)
}

func (d *document) checkJSON(op *Operation, part string, dir direction, where, media string,
	schema json.RawMessage, body []byte, mm *Mismatch,
) error {
	sch, err := d.compile(op.ID+" "+part+" "+media, func() (any, error) {
		v, err := decode(schema)
		if err != nil {
			return nil, err
		}
		return translate(v, dir)
	})
	if err != nil {
		return err
	}
	v, err := decode(body)
	if err != nil {
		mm.add(Problem{Where: where, Message: "not JSON: " + err.Error()})
		return nil
	}
	mm.addValidation(where, sch.Validate(v))
	return nil
}

// pickMedia chooses the documented media type for a Content-Type header.
// No header means JSON; GitHub's vendor types such as
// application/vnd.github.raw+json are JSON and use the JSON schema when
// they are not documented on their own.
func pickMedia(content map[string]rawMedia, contentType string) (string, bool, string) {
	ct := "application/json"
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return "", false, fmt.Sprintf("content type %q: %v", contentType, err)
		}
		ct = mt
	}
	if _, ok := content[ct]; ok {
		return ct, true, ""
	}
	if isJSON(ct) {
		if _, ok := content["application/json"]; ok {
			return "application/json", true, ""
		}
		for _, k := range sortedKeys(content) {
			if isJSON(k) {
				return k, true, ""
			}
		}
	}
	return "", false, fmt.Sprintf("content type %s is not documented; GitHub documents %s", ct, strings.Join(sortedKeys(content), ", "))
}

// isJSON reports whether a media type carries JSON. GitHub's
// application/vnd.github.object is JSON too, without saying so.
func isJSON(mediaType string) bool {
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json") ||
		mediaType == "application/vnd.github.object"
}

// paramSpec is the parameters of an operation, by where they go.
type paramSpec map[string][]rawParameter // "path" or "query" -> parameters

func (d *document) parameters(op *Operation) (paramSpec, error) {
	ps := paramSpec{}
	for i, raw := range op.raw.Parameters {
		p, err := d.parameter(raw)
		if err != nil {
			return nil, fmt.Errorf("parameters[%d]: %w", i, err)
		}
		ps[p.In] = append(ps[p.In], p)
	}
	return ps, nil
}

// checkParams validates the values of the parameters in "path" or "query"
// as one object whose properties are the parameters, so that one compiled
// schema checks them all and the pointers name them.
func (d *document) checkParams(op *Operation, in string, ps paramSpec, values url.Values, mm *Mismatch) error {
	list := ps[in]
	if len(list) == 0 {
		return nil
	}
	sch, err := d.compile(op.ID+" "+in+" parameters", func() (any, error) {
		props := map[string]any{}
		var req []any
		for _, p := range list {
			s := map[string]any{}
			if len(p.Schema) > 0 {
				v, err := decode(p.Schema)
				if err != nil {
					return nil, fmt.Errorf("parameter %s: %w", p.Name, err)
				}
				t, err := translate(v, request)
				if err != nil {
					return nil, fmt.Errorf("parameter %s: %w", p.Name, err)
				}
				s, _ = t.(map[string]any)
			}
			props[p.Name] = s
			if p.Required || in == "path" {
				req = append(req, p.Name)
			}
		}
		return map[string]any{"type": "object", "properties": props, "required": req}, nil
	})
	if err != nil {
		return err
	}
	obj := map[string]any{}
	for _, p := range list {
		vs, ok := values[p.Name]
		if !ok {
			continue
		}
		obj[p.Name] = typed(p.Schema, vs)
	}
	mm.addValidation(in+" parameter", sch.Validate(obj))
	return nil
}

// typed turns the text of a parameter into the JSON value its schema
// describes, so that "abc" for an integer fails as a string and "30" passes.
func typed(schema json.RawMessage, vs []string) any {
	var s struct {
		Type  string `json:"type"`
		Items struct {
			Type string `json:"type"`
		} `json:"items"`
	}
	_ = json.Unmarshal(schema, &s) //nolint:errcheck // an odd schema leaves the value a string, which the schema then judges
	if s.Type == "array" {
		out := make([]any, len(vs))
		for i, v := range vs {
			out[i] = scalar(s.Items.Type, v)
		}
		return out
	}
	return scalar(s.Type, vs[0])
}

func scalar(typ, v string) any {
	switch typ {
	case "integer", "number":
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return json.Number(v)
		}
	case "boolean":
		if b, err := strconv.ParseBool(v); err == nil && (v == "true" || v == "false") {
			return b
		}
	}
	return v
}

// IsMismatch reports whether err is, or wraps, a *Mismatch.
func IsMismatch(err error) bool {
	var mm *Mismatch
	return errors.As(err, &mm)
}
