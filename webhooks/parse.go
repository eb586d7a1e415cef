package webhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// ErrUnhandled reports that fleetbot does not act on an event: the intake
// answers such a delivery and drops it.
var ErrUnhandled = errors.New("event not handled")

// PayloadError reports a payload of a handled event that cannot be decoded:
// not JSON, a field of the wrong type, or a required field missing. Retrying
// the same payload cannot succeed.
type PayloadError struct {
	Event    string // X-GitHub-Event
	Delivery string // X-GitHub-Delivery
	Field    string // dotted path of the field, empty when the JSON itself is broken
	Reason   string
}

// Error names the event, the delivery, the field and what is wrong with it.
func (e *PayloadError) Error() string {
	var b strings.Builder
	b.WriteString(e.Event)
	b.WriteString(" delivery ")
	if e.Delivery == "" {
		b.WriteString("(no id)")
	} else {
		b.WriteString(e.Delivery)
	}
	if e.Field != "" {
		b.WriteString(": field ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Handles reports whether Parse decodes the named event rather than
// returning ErrUnhandled.
func Handles(name string) bool {
	_, ok := decoders[name]
	return ok
}

// decoders turns a payload into its event; one per handled event name.
var decoders = map[string]func(payload []byte, m Meta) (Event, error){
	"pull_request":              decodePullRequest,
	"pull_request_review":       decodeReview,
	"issue_comment":             decodeComment,
	"check_run":                 decodeCheckRun,
	"check_suite":               decodeCheckSuite,
	"status":                    decodeStatus,
	"push":                      decodePush,
	"installation":              decodeInstallation,
	"installation_repositories": decodeInstallationRepositories,
}

// Parse decodes the payload of a delivery of the event called name (the
// X-GitHub-Event header) into a pointer to one of the event types:
// *PullRequest, *Review, *Comment, *CheckRun, *CheckSuite, *Status, *Push,
// *Installation or *InstallationRepositories. An event fleetbot does not act
// on returns an error matching ErrUnhandled; a payload that cannot be decoded
// returns a *PayloadError naming the event and the field.
func Parse(name, delivery string, payload []byte) (Event, error) {
	decode, ok := decoders[name]
	if !ok {
		return nil, fmt.Errorf("%s delivery %s: %w", name, delivery, ErrUnhandled)
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		return nil, &PayloadError{Event: name, Delivery: delivery, Reason: "payload is empty"}
	}
	ev, err := decode(payload, Meta{Delivery: delivery, Name: name})
	if err != nil {
		return nil, payloadError(name, delivery, err)
	}
	return ev, nil
}

// fieldError is a required field missing from a payload.
type fieldError struct{ field string }

func (e *fieldError) Error() string { return "field " + e.field + " is missing" }

// payloadError turns a decoding error into a *PayloadError.
func payloadError(name, delivery string, err error) error {
	pe := &PayloadError{Event: name, Delivery: delivery, Reason: err.Error()}
	var (
		fe *fieldError
		te *json.UnmarshalTypeError
		se *json.SyntaxError
	)
	switch {
	case errors.As(err, &fe):
		pe.Field, pe.Reason = fe.field, "missing"
	case errors.As(err, &te) && te.Field == "":
		pe.Reason = fmt.Sprintf("payload is a JSON %s, not an object", te.Value)
	case errors.As(err, &te):
		// An envelope field is named after the embedded struct too.
		pe.Field = strings.TrimPrefix(te.Field, "envelope.")
		pe.Reason = fmt.Sprintf("is a JSON %s, want %s", te.Value, jsonKind(te.Type))
	case errors.As(err, &se):
		pe.Reason = fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se.Error())
	}
	return pe
}

// jsonKind names the JSON type that decodes into t.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	default:
		return "object"
	}
}

// The wire types below hold only what fleetbot reads. Pointers mark the
// objects a payload must carry, so a missing one is told from an empty one.

// envelope holds the fields every payload shares; each decoder embeds it.
type envelope struct {
	Action       string            `json:"action"`
	Installation *wireInstallation `json:"installation"`
	Repository   wireRepo          `json:"repository"`
	Sender       wireUser          `json:"sender"`
}

// meta completes m, which names the delivery and the event, with the
// envelope's fields.
func (e *envelope) meta(m Meta) Meta {
	m.Action = e.Action
	m.Owner = e.Repository.Owner.Login
	m.Repo = e.Repository.Name
	m.Sender = e.Sender.Login
	if e.Installation != nil {
		m.Installation = e.Installation.ID
	}
	return m
}

type wireUser struct {
	Login string `json:"login"`
}

type wireRepo struct {
	Name          string   `json:"name"`
	FullName      string   `json:"full_name"`
	Owner         wireUser `json:"owner"`
	DefaultBranch string   `json:"default_branch"`
}

type wireRef struct {
	Ref string `json:"ref"`
	SHA string `json:"sha"`
}

type wirePull struct {
	Number         int      `json:"number"`
	State          string   `json:"state"`
	Merged         bool     `json:"merged"`
	MergeCommitSHA string   `json:"merge_commit_sha"`
	Title          string   `json:"title"`
	User           wireUser `json:"user"`
	Head           wireRef  `json:"head"`
	Base           wireRef  `json:"base"`
}

func decodePullRequest(payload []byte, m Meta) (Event, error) {
	var p struct {
		envelope
		Number      int       `json:"number"`
		PullRequest *wirePull `json:"pull_request"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	if p.PullRequest == nil {
		return nil, &fieldError{"pull_request"}
	}
	pr := p.PullRequest
	number := p.Number
	if number == 0 {
		number = pr.Number
	}
	return &PullRequest{
		Meta:           p.meta(m),
		Number:         number,
		State:          pr.State,
		Merged:         pr.Merged,
		MergeCommitSHA: pr.MergeCommitSHA,
		HeadRef:        pr.Head.Ref,
		HeadSHA:        pr.Head.SHA,
		BaseRef:        pr.Base.Ref,
		Title:          pr.Title,
		User:           pr.User.Login,
	}, nil
}

func decodeReview(payload []byte, m Meta) (Event, error) {
	var p struct {
		envelope
		Review *struct {
			ID       int64    `json:"id"`
			State    string   `json:"state"`
			User     wireUser `json:"user"`
			CommitID string   `json:"commit_id"`
		} `json:"review"`
		PullRequest *wirePull `json:"pull_request"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	switch {
	case p.Review == nil:
		return nil, &fieldError{"review"}
	case p.PullRequest == nil:
		return nil, &fieldError{"pull_request"}
	}
	return &Review{
		Meta:     p.meta(m),
		Number:   p.PullRequest.Number,
		HeadRef:  p.PullRequest.Head.Ref,
		ReviewID: p.Review.ID,
		State:    strings.ToLower(p.Review.State),
		User:     p.Review.User.Login,
		CommitID: p.Review.CommitID,
	}, nil
}

func decodeComment(payload []byte, m Meta) (Event, error) {
	var p struct {
		envelope
		Issue *struct {
			Number      int             `json:"number"`
			PullRequest json.RawMessage `json:"pull_request"`
		} `json:"issue"`
		Comment *struct {
			ID   int64    `json:"id"`
			Body string   `json:"body"`
			User wireUser `json:"user"`
		} `json:"comment"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	switch {
	case p.Issue == nil:
		return nil, &fieldError{"issue"}
	case p.Comment == nil:
		return nil, &fieldError{"comment"}
	}
	return &Comment{
		Meta:        p.meta(m),
		Number:      p.Issue.Number,
		PullRequest: len(p.Issue.PullRequest) > 0 && string(p.Issue.PullRequest) != "null",
		CommentID:   p.Comment.ID,
		Body:        p.Comment.Body,
		User:        p.Comment.User.Login,
		Commands:    ParseCommands(p.Comment.Body),
	}, nil
}

func decodeCheckRun(payload []byte, m Meta) (Event, error) {
	var p struct {
		envelope
		CheckRun *struct {
			ID           int64  `json:"id"`
			Name         string `json:"name"`
			Status       string `json:"status"`
			Conclusion   string `json:"conclusion"`
			HeadSHA      string `json:"head_sha"`
			PullRequests []struct {
				Number int `json:"number"`
			} `json:"pull_requests"`
		} `json:"check_run"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	if p.CheckRun == nil {
		return nil, &fieldError{"check_run"}
	}
	cr := p.CheckRun
	ev := &CheckRun{Meta: p.meta(m), ID: cr.ID, Name: cr.Name, Status: cr.Status, Conclusion: cr.Conclusion, HeadSHA: cr.HeadSHA}
	for _, pr := range cr.PullRequests {
		ev.PullRequests = append(ev.PullRequests, pr.Number)
	}
	return ev, nil
}

func decodeCheckSuite(payload []byte, m Meta) (Event, error) {
	var p struct {
		envelope
		CheckSuite *struct {
			ID         int64  `json:"id"`
			Status     string `json:"status"`
			Conclusion string `json:"conclusion"`
			HeadSHA    string `json:"head_sha"`
			HeadBranch string `json:"head_branch"`
		} `json:"check_suite"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	if p.CheckSuite == nil {
		return nil, &fieldError{"check_suite"}
	}
	cs := p.CheckSuite
	return &CheckSuite{Meta: p.meta(m), ID: cs.ID, Status: cs.Status, Conclusion: cs.Conclusion, HeadSHA: cs.HeadSHA, HeadBranch: cs.HeadBranch}, nil
}

func decodeStatus(payload []byte, m Meta) (Event, error) {
	var p struct {
		envelope
		SHA      *string `json:"sha"`
		Context  string  `json:"context"`
		State    string  `json:"state"`
		Branches []struct {
			Name string `json:"name"`
		} `json:"branches"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	if p.SHA == nil {
		return nil, &fieldError{"sha"}
	}
	ev := &Status{Meta: p.meta(m), SHA: *p.SHA, Context: p.Context, State: p.State}
	for _, b := range p.Branches {
		ev.Branches = append(ev.Branches, b.Name)
	}
	return ev, nil
}

func decodePush(payload []byte, m Meta) (Event, error) {
	var p struct {
		envelope
		Ref     *string `json:"ref"`
		Before  string  `json:"before"`
		After   string  `json:"after"`
		Deleted bool    `json:"deleted"`
		Commits []struct {
			Added    []string `json:"added"`
			Modified []string `json:"modified"`
			Removed  []string `json:"removed"`
		} `json:"commits"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	if p.Ref == nil {
		return nil, &fieldError{"ref"}
	}
	ev := &Push{Meta: p.meta(m), Ref: *p.Ref, Before: p.Before, After: p.After, Deleted: p.Deleted, DefaultBranch: p.Repository.DefaultBranch}
	var added, modified, removed union
	for _, c := range p.Commits {
		ev.Added = added.add(ev.Added, c.Added)
		ev.Modified = modified.add(ev.Modified, c.Modified)
		ev.Removed = removed.add(ev.Removed, c.Removed)
	}
	return ev, nil
}

// union collects paths once each, in the order they first appear.
type union map[string]bool

func (u *union) add(list, paths []string) []string {
	if *u == nil {
		*u = union{}
	}
	for _, p := range paths {
		if !(*u)[p] {
			(*u)[p] = true
			list = append(list, p)
		}
	}
	return list
}

// wireInstallation is the installation object; the account is set in the
// installation events only.
type wireInstallation struct {
	ID      int64    `json:"id"`
	Account wireUser `json:"account"`
}

// repoNames returns "owner/name" of each repository an installation event
// lists; the owner is the installation's account when full_name is absent.
func repoNames(account string, repos []wireRepo) []string {
	var out []string
	for _, r := range repos {
		name := r.FullName
		if name == "" {
			name = account + "/" + r.Name
		}
		out = append(out, name)
	}
	return out
}

func decodeInstallation(payload []byte, m Meta) (Event, error) {
	var p struct {
		envelope
		Repositories []wireRepo `json:"repositories"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	if p.Installation == nil {
		return nil, &fieldError{"installation"}
	}
	account := p.Installation.Account.Login
	return &Installation{Meta: p.meta(m), Account: account, Repositories: repoNames(account, p.Repositories)}, nil
}

func decodeInstallationRepositories(payload []byte, m Meta) (Event, error) {
	var p struct {
		envelope
		Added   []wireRepo `json:"repositories_added"`
		Removed []wireRepo `json:"repositories_removed"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	if p.Installation == nil {
		return nil, &fieldError{"installation"}
	}
	account := p.Installation.Account.Login
	return &InstallationRepositories{
		Meta:    p.meta(m),
		Account: account,
		Added:   repoNames(account, p.Added),
		Removed: repoNames(account, p.Removed),
	}, nil
}
