package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/fleetbot/fleetbot/rollout"
)

// ErrAPIUnusable reports an operations API that cannot be used as
// configured: it is off on the server, or the token is wrong. Callers
// treat it as a configuration problem.
var ErrAPIUnusable = errors.New("operations API unusable")

// ErrUnanswered reports a request the server answered with no result of an
// operation: it could not be reached, or answered something the client has
// no meaning for. An operation sent may or may not have been taken; asking
// again is safe.
var ErrUnanswered = errors.New("no answer from the operations API")

// OpsClient calls the operations API of a running `fleetbot serve`, and
// answers as Bot.State and Bot.Operate do, so a caller tells a refusal, an
// unknown campaign and a failed action apart in the same way.
type OpsClient struct {
	base  *url.URL
	token []byte
	http  *http.Client
}

// NewOpsClient returns a client of the serve answering at baseURL (such as
// https://fleetbot.example.com/) with the bearer token; hc nil is
// http.DefaultClient.
func NewOpsClient(baseURL string, token []byte, hc *http.Client) (*OpsClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want an http(s) URL such as https://fleetbot.example.com/", baseURL)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &OpsClient{base: u, token: token, http: hc}, nil
}

// State is Bot.State through the API: ok false for a campaign the server
// does not know.
func (c *OpsClient) State(ctx context.Context, name string) (rollout.State, bool, error) {
	var st rollout.State
	code, body, err := c.do(ctx, http.MethodGet, name, "/state", nil)
	switch {
	case err != nil:
		return st, false, err
	case code == http.StatusNotFound && answered(body):
		return st, false, nil
	case code != http.StatusOK:
		return st, false, c.unexpected(code, body)
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, false, fmt.Errorf("campaign %s: %w: state: %w", name, ErrUnanswered, err)
	}
	return st, true, nil
}

// Commands is Bot.Commands through the API.
func (c *OpsClient) Commands(ctx context.Context, name string) ([]CommandRecord, error) {
	code, body, err := c.do(ctx, http.MethodGet, name, "/commands", nil)
	switch {
	case err != nil:
		return nil, err
	case code == http.StatusNotFound:
		return nil, fmt.Errorf("campaign %s: %w", name, ErrNoCampaign)
	case code != http.StatusOK:
		return nil, c.unexpected(code, body)
	}
	var list []CommandRecord
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("campaign %s: %w: commands: %w", name, ErrUnanswered, err)
	}
	return list, nil
}

// Operate is Bot.Operate through the API, also returning the state before
// the operation: a refused or ignored operation returns a
// *rollout.EventError with the machine's reason (matching rollout.ErrIgnored
// when ignored), an unknown campaign ErrNoCampaign, and an operation taken
// whose actions failed another error (joined to the EventError when it was
// ignored).
func (c *OpsClient) Operate(ctx context.Context, name string, ev rollout.Event) (before, after rollout.State, err error) {
	op, err := OperationOf(ev)
	if err != nil {
		return before, after, fmt.Errorf("campaign %s: %w", name, err)
	}
	payload, err := json.Marshal(op)
	if err != nil {
		return before, after, fmt.Errorf("campaign %s: %w", name, err)
	}
	code, body, err := c.do(ctx, http.MethodPost, name, "/operations", payload)
	switch {
	case err != nil:
		return before, after, err
	case code == http.StatusNotFound:
		return before, after, fmt.Errorf("campaign %s: %w", name, ErrNoCampaign)
	case code != http.StatusOK && code != http.StatusConflict && code != http.StatusBadGateway:
		return before, after, c.unexpected(code, body)
	}
	var res OperationResult
	if err := json.Unmarshal(body, &res); err != nil {
		return before, after, fmt.Errorf("campaign %s: %w: result: %w", name, ErrUnanswered, err)
	}
	if res.Before != nil {
		before = *res.Before
	}
	if res.State != nil {
		after = *res.State
	}
	var errs []error
	switch res.Outcome {
	case OutcomeNotTaken:
		return before, after, fmt.Errorf("campaign %s: %s %w: server: %s", name, op.Kind, ErrNotTaken, res.Error)
	case OutcomeRefused:
		errs = append(errs, &rollout.EventError{Campaign: name, Event: op.Kind, Phase: after.Phase, Reason: res.Reason})
	case OutcomeIgnored:
		errs = append(errs, &rollout.EventError{Campaign: name, Event: op.Kind, Phase: after.Phase, Reason: res.Reason, Err: rollout.ErrIgnored})
	}
	if res.ActionsError != "" {
		errs = append(errs, fmt.Errorf("server: %s", res.ActionsError))
	}
	if len(errs) == 1 {
		return before, after, errs[0]
	}
	return before, after, errors.Join(errs...)
}

// do sends one request and reads the answer.
func (c *OpsClient) do(ctx context.Context, method, name, suffix string, payload []byte) (int, []byte, error) {
	u := c.base.JoinPath("api/v1/campaigns", name) // JoinPath escapes the name
	u.Path += suffix
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", ErrUnanswered, err)
	}
	req.Header.Set("Authorization", "Bearer "+string(c.token))
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", ErrUnanswered, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: read answer: %w", ErrUnanswered, err)
	}
	return resp.StatusCode, body, nil
}

// answered reports whether body is an answer of the API ({"error": ...}),
// telling an unknown campaign from a route the server does not have (a
// serve older than the client).
func answered(body []byte) bool {
	var e apiError
	return json.Unmarshal(body, &e) == nil && e.Error != ""
}

// unexpected turns an answer the client has no meaning for into an error
// quoting the server's.
func (c *OpsClient) unexpected(code int, body []byte) error {
	var e apiError
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	switch code {
	case http.StatusUnauthorized, http.StatusServiceUnavailable:
		return fmt.Errorf("%w: %s answered %d: %s", ErrAPIUnusable, c.base.Redacted(), code, msg)
	}
	return fmt.Errorf("%w: %s answered %d: %s", ErrUnanswered, c.base.Redacted(), code, msg)
}
