package gh

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v88/github"
)

// Error is an answer GitHub gave with an error status. It wraps ErrNotFound,
// ErrConflict or ErrInvalid when the status means one of them.
type Error struct {
	// Op is what the client was doing, e.g. "create ref refs/heads/x in
	// acme/fleet".
	Op string
	// Status is the HTTP status.
	Status int
	// Message is GitHub's explanation, with the messages of its
	// validation errors.
	Message string

	kind  error
	cause error
}

// Error reads "<op>: <sentinel>: <message>", or "<op>: github answered
// <status>: <message>" when the status means none of the sentinels.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.kind != nil {
		b.WriteString(e.kind.Error())
		if e.Message != "" && !strings.EqualFold(e.Message, e.kind.Error()) {
			b.WriteString(": ")
			b.WriteString(e.Message)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "github answered %d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" && !strings.EqualFold(e.Message, http.StatusText(e.Status)) {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap returns the sentinel the status means, if any, and the cause.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// mapError translates an error of go-github or ghinstallation into this
// package's terms, naming op.
func mapError(op string, err error) error {
	if err == nil {
		return nil
	}
	// The transport chain turns every rate-limit refusal into a
	// *RateLimitError, so go-github's own rate-limit errors never arise.
	var own *RateLimitError
	if errors.As(err, &own) {
		return fmt.Errorf("%s: %w", op, own)
	}
	var resp *github.ErrorResponse
	if errors.As(err, &resp) && resp.Response != nil {
		msg := responseMessage(resp)
		return &Error{Op: op, Status: resp.Response.StatusCode, Message: msg, kind: kindOf(resp.Response.StatusCode), cause: err}
	}
	var token *ghinstallation.HTTPError
	if errors.As(err, &token) && token.Response != nil {
		status := token.Response.StatusCode
		msg := fmt.Sprintf("installation %d token: %s", token.InstallationID, token.Response.Status)
		return &Error{Op: op, Status: status, Message: msg, kind: kindOf(status), cause: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// kindOf returns the sentinel a status means.
func kindOf(status int) error {
	switch status {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusConflict:
		return ErrConflict
	case http.StatusUnprocessableEntity:
		return ErrInvalid
	}
	return nil
}

// responseMessage joins GitHub's message with the messages of its validation
// errors, dropping the generic "Validation Failed" when they say more.
func responseMessage(r *github.ErrorResponse) string {
	var details []string
	for _, e := range r.Errors {
		switch {
		case e.Message != "":
			details = append(details, e.Message)
		case e.Code != "":
			details = append(details, strings.TrimSpace(strings.Trim(e.Resource+"."+e.Field, ".")+" "+e.Code))
		}
	}
	if len(details) == 0 {
		return r.Message
	}
	joined := strings.Join(details, "; ")
	if r.Message == "" || strings.EqualFold(r.Message, "Validation Failed") {
		return joined
	}
	return r.Message + ": " + joined
}
