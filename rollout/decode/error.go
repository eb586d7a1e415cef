package decode

import (
	"strconv"
	"strings"
)

// Error is one problem in a file: the file, the line, the field's path
// (such as spec.strategy.order[1]) and what is wrong.
type Error struct {
	File string
	Line int // 0 when the YAML parser could not say
	// Field is the dotted path of the field; empty for the file as a whole.
	Field  string
	Reason string
}

// Error writes the problem as "file:line: field: reason".
func (e *Error) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	what := e.Message()
	if where == "" { // a value built in code has no file
		return what
	}
	return where + ": " + what
}

// Message writes the problem without its place: "field: reason".
func (e *Error) Message() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Errors holds every problem found in one file, in line order.
type Errors []*Error

// Error writes one problem a line.
func (l Errors) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each Error.
func (l Errors) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}
