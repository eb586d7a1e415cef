package ghcontract

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Mismatch reports traffic that GitHub's description does not allow.
type Mismatch struct {
	// Method and Path are the request's, the path as sent.
	Method, Path string
	// OperationID is GitHub's operationId; empty when no operation matched.
	OperationID string
	// Status is the response's status code; 0 for a request.
	Status int
	// Problems lists what is wrong, ordered by where and pointer.
	Problems []Problem
}

// Problem is one thing wrong in a request or response.
type Problem struct {
	// Where names the part: "route", "status", "path parameter",
	// "query parameter", "request body" or "response body".
	Where string
	// Pointer is the JSON pointer of the bad value within Where; for a
	// parameter it is "/" and the parameter's name. Empty for the whole part.
	Pointer string
	// Message says what the description wanted.
	Message string
}

// Error lists the problems under the method, path, operation and status.
func (m *Mismatch) Error() string {
	var sb strings.Builder
	sb.WriteString(m.Method + " " + m.Path)
	if m.OperationID != "" {
		sb.WriteString(" (" + m.OperationID + ")")
	}
	if m.Status != 0 {
		fmt.Fprintf(&sb, " response %d", m.Status)
	}
	sb.WriteString(":")
	sep := " "
	if len(m.Problems) > 1 {
		sep = "\n\t"
	}
	for _, p := range m.Problems {
		sb.WriteString(sep + p.String())
	}
	return sb.String()
}

// String reads as "response body /head/sha: got number, want string".
func (p Problem) String() string {
	switch {
	case p.Where == "route":
		return p.Message
	case p.Pointer == "":
		return p.Where + ": " + p.Message
	case strings.HasSuffix(p.Where, "parameter"):
		return p.Where + " " + strings.TrimPrefix(p.Pointer, "/") + ": " + p.Message
	default:
		return p.Where + " " + p.Pointer + ": " + p.Message
	}
}

func (m *Mismatch) add(p Problem) { m.Problems = append(m.Problems, p) }

func (m *Mismatch) orNil() error {
	if len(m.Problems) == 0 {
		return nil
	}
	slices.SortStableFunc(m.Problems, func(a, b Problem) int {
		if c := strings.Compare(a.Where, b.Where); c != 0 {
			return c
		}
		if c := strings.Compare(a.Pointer, b.Pointer); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	m.Problems = slices.Compact(m.Problems)
	return m
}

var printer = message.NewPrinter(language.English)

// addValidation turns the validator's tree of errors into problems, one per
// bad value.
func (m *Mismatch) addValidation(where string, err error) {
	if err == nil {
		return
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		m.add(Problem{Where: where, Message: err.Error()})
		return
	}
	for _, p := range leaves(ve) {
		p.Where = where
		m.add(p)
	}
}

func pointer(loc []string) string {
	var sb strings.Builder
	for _, tok := range loc {
		sb.WriteString("/" + strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1"))
	}
	return sb.String()
}

// leaves collects the innermost failures of e. Where the value had to
// match one of several alternatives (anyOf, oneOf, and nullable references),
// it reports the alternative that got furthest into the value, since that
// is almost always the one meant; when every alternative failed on the
// value's type alone, it reports one problem listing all the types wanted.
func leaves(e *jsonschema.ValidationError) []Problem {
	loc := pointer(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		out := make([]Problem, 0, len(k.Missing))
		for _, name := range k.Missing {
			out = append(out, Problem{Pointer: pointer(append(slices.Clone(e.InstanceLocation), name)), Message: "required property is missing"})
		}
		return out
	case *kind.AdditionalProperties:
		out := make([]Problem, 0, len(k.Properties))
		for _, name := range k.Properties {
			out = append(out, Problem{Pointer: pointer(append(slices.Clone(e.InstanceLocation), name)), Message: "property is not allowed"})
		}
		return out
	case *kind.AnyOf, *kind.OneOf:
		if len(e.Causes) > 0 {
			return alternatives(e)
		}
	}
	if len(e.Causes) == 0 {
		return []Problem{{Pointer: loc, Message: e.ErrorKind.LocalizedString(printer)}}
	}
	var out []Problem
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

func alternatives(e *jsonschema.ValidationError) []Problem {
	var wants []string
	sameType := true
	var got string
	best, bestDepth := []Problem(nil), -1
	for _, c := range e.Causes {
		ps := leaves(c)
		if t, ok := typeOnly(c, e.InstanceLocation); ok && (got == "" || got == t.Got) {
			got = t.Got
			wants = append(wants, t.Want...)
		} else {
			sameType = false
		}
		if d := depth(ps); d > bestDepth || (d == bestDepth && len(ps) < len(best)) {
			best, bestDepth = ps, d
		}
	}
	if sameType && got != "" {
		return []Problem{{Pointer: pointer(e.InstanceLocation), Message: fmt.Sprintf("got %s, want %s", got, strings.Join(wants, " or "))}}
	}
	return best
}

// typeOnly reports whether e failed only because the value at loc had the
// wrong type.
func typeOnly(e *jsonschema.ValidationError, loc []string) (*kind.Type, bool) {
	if t, ok := e.ErrorKind.(*kind.Type); ok && slices.Equal(e.InstanceLocation, loc) {
		return t, true
	}
	if len(e.Causes) != 1 {
		return nil, false
	}
	return typeOnly(e.Causes[0], loc)
}

func depth(ps []Problem) int {
	d := 0
	for _, p := range ps {
		d = max(d, strings.Count(p.Pointer, "/"))
	}
	return d
}
