package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

func (s *Server) issueRoutes() {
	s.handle("GET /repos/{owner}/{repo}/issues", accessUser, s.listIssues)
	s.handle("POST /repos/{owner}/{repo}/issues", accessUser, s.createIssue)
	s.handle("GET /repos/{owner}/{repo}/issues/{number}", accessUser, s.getIssue)
	s.handle("PATCH /repos/{owner}/{repo}/issues/{number}", accessUser, s.editIssue)
	// GET .../issues/{number}/comments, .../issues/{number}/labels and
	// .../issues/comments/{id} overlap as mux patterns; one route sorts them.
	s.handle("GET /repos/{owner}/{repo}/issues/{a}/{b}", accessUser, s.issueSubGet)
	s.handle("POST /repos/{owner}/{repo}/issues/{number}/labels", accessUser, s.addLabels)
	s.handle("GET /repos/{owner}/{repo}/issues/comments", accessUser, s.listRepoComments)
	s.handle("POST /repos/{owner}/{repo}/issues/{number}/comments", accessUser, s.createComment)
	s.handle("PATCH /repos/{owner}/{repo}/issues/comments/{id}", accessUser, s.editComment)
	s.handle("POST /repos/{owner}/{repo}/issues/comments/{id}/reactions", accessUser, s.createReaction)
	s.handle("GET /repos/{owner}/{repo}/labels", accessUser, s.listLabels)
	s.handle("POST /repos/{owner}/{repo}/labels", accessUser, s.createLabel)
}

func (s *Server) issueSubGet(c *call) (int, any, error) {
	a, b := c.r.PathValue("a"), c.r.PathValue("b")
	switch {
	case a == "comments":
		c.r.SetPathValue("id", b)
		return s.getComment(c)
	case b == "comments":
		c.r.SetPathValue("number", a)
		return s.listComments(c)
	case b == "labels":
		c.r.SetPathValue("number", a)
		return s.listIssueLabels(c)
	}
	return 0, nil, errNotFound
}

// issue returns the issue or pull request the route's {number} names.
func (c *call) issue() (*issue, error) {
	n, err := c.intParam("number")
	if err != nil {
		return nil, err
	}
	is := c.rs.issue(int(n))
	if is == nil {
		return nil, errNotFound
	}
	return is, nil
}

// createIssue: POST /repos/{owner}/{repo}/issues (docs: issues/issues#create-an-issue).
func (s *Server) createIssue(c *call) (int, any, error) {
	var in struct {
		Title  string   `json:"title"`
		Body   string   `json:"body"`
		Labels []string `json:"labels"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Title == "" {
		return 0, nil, invalid("Issue", "title", "missing_field", "")
	}
	if err := tooLong("Issue", &in.Body); err != nil {
		return 0, nil, err
	}
	if err := labelTooLong(in.Labels...); err != nil {
		return 0, nil, err
	}
	now := s.now()
	is := &issue{ID: s.st.newID(), Number: c.rs.NextNumber, Title: in.Title, Body: in.Body, User: c.who.login,
		State: "open", Labels: []string{}, CreatedAt: now, UpdatedAt: now}
	for _, name := range in.Labels {
		is.Labels = append(is.Labels, s.ensureLabel(c.rs, name).Name)
	}
	c.rs.NextNumber++
	c.rs.Issues = append(c.rs.Issues, is)
	o := s.issueJSON(c.rs, is)
	s.emit("issues", "opened", c.rs, c.who.login, obj{"issue": o})
	return http.StatusCreated, o, nil
}

// listIssues: GET /repos/{owner}/{repo}/issues (docs: issues/issues#list-repository-issues).
// Pull requests are listed too, as GitHub lists them; state, labels (every
// one named), creator, sort and direction filter and order them.
func (s *Server) listIssues(c *call) (int, any, error) {
	q := c.r.URL.Query()
	state := q.Get("state")
	switch state {
	case "":
		state = "open"
	case "open", "closed", "all":
	default:
		return 0, nil, invalid("Issue", "state", "invalid", "state must be open, closed or all")
	}
	var labels []string
	if l := q.Get("labels"); l != "" {
		labels = strings.Split(l, ",")
	}
	creator := q.Get("creator")
	var matched []*issue
	for _, is := range c.rs.Issues {
		if (state != "all" && is.State != state) || (creator != "" && !equalFold(creator, is.User)) {
			continue
		}
		if !slices.ContainsFunc(labels, func(want string) bool {
			return !slices.ContainsFunc(is.Labels, func(have string) bool { return equalFold(have, strings.TrimSpace(want)) })
		}) {
			matched = append(matched, is)
		}
	}
	sortIssues(matched, q.Get("sort"), q.Get("direction"))
	page := paginate(c, s.cfg.BaseURL, matched)
	out := make([]obj, 0, len(page))
	for _, is := range page {
		out = append(out, s.issueJSON(c.rs, is))
	}
	return http.StatusOK, out, nil
}

// sortIssues orders issues or pull requests as GitHub's lists do: by
// creation (the default) or last update, newest first unless direction is
// asc; a sort other than by creation is newest first by default.
func sortIssues(list []*issue, key, direction string) {
	desc := direction != "asc"
	if direction == "" && key != "" && key != "created" {
		desc = true
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		less := a.Number < b.Number
		if key == "updated" {
			less = a.UpdatedAt.Before(b.UpdatedAt) || a.UpdatedAt.Equal(b.UpdatedAt) && a.Number < b.Number
		}
		if desc {
			return !less
		}
		return less
	})
}

// getIssue: GET /repos/{owner}/{repo}/issues/{issue_number} (docs: issues/issues#get-an-issue).
func (s *Server) getIssue(c *call) (int, any, error) {
	is, err := c.issue()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.issueJSON(c.rs, is), nil
}

// editIssue: PATCH /repos/{owner}/{repo}/issues/{issue_number} (docs: issues/issues#update-an-issue).
func (s *Server) editIssue(c *call) (int, any, error) {
	is, err := c.issue()
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Title       *string `json:"title"`
		Body        *string `json:"body"`
		State       *string `json:"state"`
		StateReason *string `json:"state_reason"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if err := tooLong("Issue", in.Body); err != nil {
		return 0, nil, err
	}
	reason := ""
	if in.StateReason != nil {
		reason = *in.StateReason
		if !slices.Contains([]string{"completed", "not_planned", "duplicate", "reopened"}, reason) {
			return 0, nil, invalid("Issue", "state_reason", "invalid", "state_reason must be completed, not_planned, duplicate or reopened")
		}
	}
	event := "issues"
	if is.Pull != nil {
		event = "pull_request"
	}
	changes := editText(is, in.Title, in.Body)
	action := ""
	if in.State != nil && *in.State != is.State {
		switch {
		case *in.State == "closed":
			now := s.now()
			if is.Pull != nil {
				is.Pull.BaseSHA, is.Pull.HeadSHA = s.heads(c.ctx, c.repo, is)
			} else {
				// GitHub closes an issue as completed unless told otherwise.
				is.StateReason = reason
				if reason == "" || reason == "reopened" {
					is.StateReason = "completed"
				}
			}
			is.State, is.ClosedAt, action = "closed", &now, "closed"
		case *in.State == "open" && (is.Pull == nil || !is.Pull.Merged):
			is.State, is.ClosedAt, action = "open", nil, "reopened"
			if is.Pull == nil {
				is.StateReason = "reopened"
			}
		default:
			return 0, nil, invalid("Issue", "state", "invalid", "state must be open or closed")
		}
	}
	if len(changes) > 0 || action != "" {
		is.UpdatedAt = s.now()
	}
	payload := func() obj {
		if is.Pull != nil {
			return obj{"number": is.Number, "pull_request": s.pullJSON(c.ctx, c.rs, c.repo, is)}
		}
		return obj{"issue": s.issueJSON(c.rs, is)}
	}
	if len(changes) > 0 {
		p := payload()
		p["changes"] = changes
		s.emit(event, "edited", c.rs, c.who.login, p)
	}
	if action != "" {
		s.emit(event, action, c.rs, c.who.login, payload())
	}
	return http.StatusOK, s.issueJSON(c.rs, is), nil
}

// editText sets the title and body that are given and differ, and returns
// the changes as webhooks report them.
func editText(is *issue, title, body *string) obj {
	changes := obj{}
	if title != nil && *title != is.Title {
		changes["title"] = obj{"from": is.Title}
		is.Title = *title
	}
	if body != nil && *body != is.Body {
		changes["body"] = obj{"from": is.Body}
		is.Body = *body
	}
	return changes
}

// ensureLabel returns the label named name, creating it with GitHub's
// default colour when it does not exist.
func (s *Server) ensureLabel(rs *repoState, name string) *label {
	if l := rs.label(name); l != nil {
		return l
	}
	l := &label{ID: s.st.newID(), Name: name, Color: "ededed"}
	rs.Labels = append(rs.Labels, l)
	return l
}

// addLabels: POST .../issues/{issue_number}/labels (docs: issues/labels#add-labels-to-an-issue).
// The body is {"labels": [...]} or a bare array of names.
func (s *Server) addLabels(c *call) (int, any, error) {
	is, err := c.issue()
	if err != nil {
		return 0, nil, err
	}
	var raw json.RawMessage
	if err := c.decode(&raw); err != nil {
		return 0, nil, err
	}
	var names []string
	if json.Unmarshal(raw, &names) != nil {
		var in struct {
			Labels []json.RawMessage `json:"labels"`
		}
		if json.Unmarshal(raw, &in) != nil || in.Labels == nil {
			return 0, nil, invalid("Label", "labels", "missing_field", "")
		}
		for _, l := range in.Labels {
			var name string
			var named struct{ Name string }
			switch {
			case json.Unmarshal(l, &name) == nil:
			case json.Unmarshal(l, &named) == nil:
				name = named.Name
			}
			if name == "" {
				return 0, nil, invalid("Label", "labels", "invalid", "labels must be names")
			}
			names = append(names, name)
		}
	}
	if err := labelTooLong(names...); err != nil {
		return 0, nil, err
	}
	var added []*label
	for _, name := range names {
		l := s.ensureLabel(c.rs, name)
		if !slices.ContainsFunc(is.Labels, func(n string) bool { return equalFold(n, l.Name) }) {
			is.Labels = append(is.Labels, l.Name)
			added = append(added, l)
		}
	}
	if len(added) > 0 {
		is.UpdatedAt = s.now()
	}
	for _, l := range added {
		p := obj{"label": s.labelJSON(c.rs, l)}
		if is.Pull != nil {
			p["number"], p["pull_request"] = is.Number, s.pullJSON(c.ctx, c.rs, c.repo, is)
			s.emit("pull_request", "labeled", c.rs, c.who.login, p)
		} else {
			p["issue"] = s.issueJSON(c.rs, is)
			s.emit("issues", "labeled", c.rs, c.who.login, p)
		}
	}
	return http.StatusOK, s.labelsJSON(c.rs, is.Labels), nil
}

// listIssueLabels: GET .../issues/{issue_number}/labels (docs: issues/labels#list-labels-for-an-issue).
func (s *Server) listIssueLabels(c *call) (int, any, error) {
	is, err := c.issue()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, paginate(c, s.cfg.BaseURL, s.labelsJSON(c.rs, is.Labels)), nil
}

// listLabels: GET /repos/{owner}/{repo}/labels (docs: issues/labels#list-labels-for-a-repository).
func (s *Server) listLabels(c *call) (int, any, error) {
	out := make([]obj, 0, len(c.rs.Labels))
	for _, l := range c.rs.Labels {
		out = append(out, s.labelJSON(c.rs, l))
	}
	return http.StatusOK, paginate(c, s.cfg.BaseURL, out), nil
}

// createLabel: POST /repos/{owner}/{repo}/labels (docs: issues/labels#create-a-label).
func (s *Server) createLabel(c *call) (int, any, error) {
	var in struct {
		Name        string `json:"name"`
		Color       string `json:"color"`
		Description string `json:"description"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Name == "" {
		return 0, nil, invalid("Label", "name", "missing_field", "")
	}
	if utf8.RuneCountInString(in.Name) > maxLabel {
		return 0, nil, invalid("Label", "name", "custom", fmt.Sprintf("name is too long (maximum is %d characters)", maxLabel))
	}
	if c.rs.label(in.Name) != nil {
		return 0, nil, invalid("Label", "name", "already_exists", "")
	}
	if in.Color == "" {
		in.Color = "ededed"
	}
	l := &label{ID: s.st.newID(), Name: in.Name, Color: in.Color, Description: in.Description}
	c.rs.Labels = append(c.rs.Labels, l)
	return http.StatusCreated, s.labelJSON(c.rs, l), nil
}

// listComments: GET .../issues/{issue_number}/comments (docs: issues/comments#list-issue-comments).
func (s *Server) listComments(c *call) (int, any, error) {
	is, err := c.issue()
	if err != nil {
		return 0, nil, err
	}
	var out []obj
	for _, cm := range c.rs.Comments {
		if cm.Number == is.Number {
			out = append(out, s.commentJSON(c.rs, cm))
		}
	}
	if out == nil {
		out = []obj{}
	}
	return http.StatusOK, paginate(c, s.cfg.BaseURL, out), nil
}

// listRepoComments: GET /repos/{owner}/{repo}/issues/comments (docs:
// issues/comments#list-issue-comments-for-a-repository). The comments on
// every issue and pull request, since (updated at or after) filtering
// them, by creation (the default) or last update, ascending unless
// direction is desc.
func (s *Server) listRepoComments(c *call) (int, any, error) {
	q := c.r.URL.Query()
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return 0, nil, invalid("IssueComment", "since", "invalid", "since must be an ISO 8601 timestamp: YYYY-MM-DDTHH:MM:SSZ")
		}
		since = t
	}
	key, dir := q.Get("sort"), q.Get("direction")
	switch {
	case key != "" && key != "created" && key != "updated":
		return 0, nil, invalid("IssueComment", "sort", "invalid", "sort must be created or updated")
	case dir != "" && dir != "asc" && dir != "desc":
		return 0, nil, invalid("IssueComment", "direction", "invalid", "direction must be asc or desc")
	}
	var list []*comment
	for _, cm := range c.rs.Comments {
		if !cm.UpdatedAt.Before(since) {
			list = append(list, cm)
		}
	}
	less := func(a, b *comment) bool {
		if key == "updated" && !a.UpdatedAt.Equal(b.UpdatedAt) {
			return a.UpdatedAt.Before(b.UpdatedAt)
		}
		return a.ID < b.ID
	}
	sort.SliceStable(list, func(i, j int) bool {
		if dir == "desc" {
			return less(list[j], list[i])
		}
		return less(list[i], list[j])
	})
	page := paginate(c, s.cfg.BaseURL, list)
	out := make([]obj, 0, len(page))
	for _, cm := range page {
		out = append(out, s.commentJSON(c.rs, cm))
	}
	return http.StatusOK, out, nil
}

func (s *Server) commentPayload(c *call, is *issue, cm *comment) obj {
	return obj{"issue": s.issueJSON(c.rs, is), "comment": s.commentJSON(c.rs, cm)}
}

// createComment: POST .../issues/{issue_number}/comments (docs: issues/comments#create-an-issue-comment).
func (s *Server) createComment(c *call) (int, any, error) {
	is, err := c.issue()
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Body string `json:"body"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Body == "" {
		return 0, nil, invalid("IssueComment", "body", "missing_field", "")
	}
	if err := tooLong("IssueComment", &in.Body); err != nil {
		return 0, nil, err
	}
	now := s.now()
	cm := &comment{ID: s.st.newID(), Number: is.Number, User: c.who.login, Body: in.Body, CreatedAt: now, UpdatedAt: now,
		Reactions: []*reaction{}}
	c.rs.Comments = append(c.rs.Comments, cm)
	is.UpdatedAt = now
	s.emit("issue_comment", "created", c.rs, c.who.login, s.commentPayload(c, is, cm))
	return http.StatusCreated, s.commentJSON(c.rs, cm), nil
}

// comment returns the comment the route's {id} names.
func (c *call) comment() (*comment, error) {
	id, err := c.intParam("id")
	if err != nil {
		return nil, err
	}
	cm := c.rs.comment(id)
	if cm == nil {
		return nil, errNotFound
	}
	return cm, nil
}

// getComment: GET .../issues/comments/{comment_id} (docs: issues/comments#get-an-issue-comment).
func (s *Server) getComment(c *call) (int, any, error) {
	cm, err := c.comment()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.commentJSON(c.rs, cm), nil
}

// editComment: PATCH .../issues/comments/{comment_id} (docs: issues/comments#update-an-issue-comment).
func (s *Server) editComment(c *call) (int, any, error) {
	cm, err := c.comment()
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Body string `json:"body"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Body == "" {
		return 0, nil, invalid("IssueComment", "body", "missing_field", "")
	}
	if err := tooLong("IssueComment", &in.Body); err != nil {
		return 0, nil, err
	}
	from := cm.Body
	cm.Body, cm.UpdatedAt = in.Body, s.now()
	p := s.commentPayload(c, c.rs.issue(cm.Number), cm)
	p["changes"] = obj{"body": obj{"from": from}}
	s.emit("issue_comment", "edited", c.rs, c.who.login, p)
	return http.StatusOK, s.commentJSON(c.rs, cm), nil
}

// reactionContents are the reactions GitHub accepts.
var reactionContents = []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}

// createReaction: POST .../issues/comments/{comment_id}/reactions (docs:
// reactions/reactions#create-reaction-for-an-issue-comment). A reaction the
// user already gave answers 200 with it, a new one 201.
func (s *Server) createReaction(c *call) (int, any, error) {
	cm, err := c.comment()
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Content string `json:"content"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if !slices.Contains(reactionContents, in.Content) {
		return 0, nil, invalid("Reaction", "content", "invalid", "content is not a valid reaction")
	}
	status := http.StatusOK
	idx := slices.IndexFunc(cm.Reactions, func(r *reaction) bool { return r.User == c.who.login && r.Content == in.Content })
	var r *reaction
	if idx >= 0 {
		r = cm.Reactions[idx]
	} else {
		r = &reaction{ID: s.st.newID(), User: c.who.login, Content: in.Content, CreatedAt: s.now()}
		cm.Reactions = append(cm.Reactions, r)
		status = http.StatusCreated
	}
	return status, obj{"id": r.ID, "node_id": nodeID("Reaction", r.ID), "user": s.userJSON(r.User),
		"content": r.Content, "created_at": ts(r.CreatedAt)}, nil
}
